/** Display formats of the trash list (the user's locale; machine-readable values stay in <time datetime>). */

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' })
const dateOnly = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' })
const number = new Intl.NumberFormat()

export function formatDateTime(iso: string) {
  return dateTime.format(new Date(iso))
}

export function formatDate(iso: string) {
  return dateOnly.format(new Date(iso))
}

export function formatCount(n: number) {
  return number.format(n)
}

export function formatBytes(bytes: number) {
  if (bytes < 1024) return `${number.format(bytes)} B`
  const units = ['KB', 'MB', 'GB', 'TB']
  let value = bytes / 1024
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return `${value.toLocaleString(undefined, { maximumFractionDigits: value < 10 ? 1 : 0 })} ${units[unit]}`
}

/** "1 item", "3 items" */
export function items(n: number, noun = 'item', plural = `${noun}s`) {
  return `${formatCount(n)} ${n === 1 ? noun : plural}`
}

/** What a failed or skipped item result means to a person. */
export function describeProblem(code: string | undefined, message: string | undefined) {
  switch (code) {
    case 'ACCESS_DENIED':
    case 'ADMIN_ONLY':
      return 'access denied'
    case 'STORAGE_FAILURE':
      return 'storage failure: the file could not be removed, the item stays in the trash'
    case 'LEGAL_HOLD':
      return 'under legal hold'
    case 'NOT_FOUND':
      return 'no longer exists'
    case 'NOT_IN_TRASH':
      return 'no longer in the trash'
    case 'NOT_RESTORABLE':
      return 'emptied, cannot be restored'
    case 'ORIGINAL_LOCATION_GONE':
      return 'its original folder is gone'
    default:
      return (message ?? code ?? 'failed').replace(/\.$/, '').toLowerCase()
  }
}
