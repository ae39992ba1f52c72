/**
 * Ids on the wire: 1 to 15 digits, so that every id fits a JavaScript number exactly (2^53 has 16 digits) and
 * a longer run of digits is refused, not rounded to another item's id.
 */
const ID = /^\d{1,15}$/

/** The number a string of 1 to 15 digits writes (0 included), or null. */
export function parseId(text: string): number | null {
  return ID.test(text) ? Number(text) : null
}

/** An id that can name a record: as parseId, without 0. */
export function parseRecordId(text: string): number | null {
  const id = parseId(text)
  return id === null || id === 0 ? null : id
}

/**
 * The first of each group of items that name the same thing, in request order: a client that sends an id
 * twice (or two handles of one asset) gets one answer for it, under the form it gave first.
 */
export function firstOfEach<T, K>(items: Iterable<T>, key: (item: T) => K): T[] {
  const seen = new Set<K>()
  const kept: T[] = []
  for (const item of items) {
    const k = key(item)
    if (seen.has(k)) continue
    seen.add(k)
    kept.push(item)
  }
  return kept
}
