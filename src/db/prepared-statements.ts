/**
 * Statements sent again and again become named prepared statements, as JDBC drivers do past a threshold
 * (pgjdbc's prepareThreshold): a one-item restore spent 2.3 ms planning its four statements and 0.6 ms running
 * them. Only parameterised statements whose arrays hold at most one element are named (or whose longer arrays
 * are marked planNeutral): a batch is planned for its actual arrays each time, since a plan cached for one item
 * is not one for 10,000. Texts are counted in a
 * bounded table, so statements built with varying text never grow the server's per-connection cache.
 */
const THRESHOLD = 3
const MAX_TEXTS = 2_000
const MAX_NAMED = 200

const seen = new Map<string, number>()
const names = new Map<string, string>()

/** Arrays marked by planNeutral. */
const neutral = new WeakSet<readonly unknown[]>()

/**
 * Marks an array parameter whose length does not change how its statement is best run, such as a path of names
 * the statement walks one level at a time by key: unlike a batch's ids it does not keep the statement from being
 * named (a srv.asmx DeleteDocument by a two-name path was planned afresh on every request).
 */
export function planNeutral<T extends readonly unknown[]>(values: T): T {
  neutral.add(values)
  return values
}

const small = (values: readonly unknown[]) =>
  values.every((value) => !Array.isArray(value) || value.length <= 1 || neutral.has(value))

/** The name to send this statement under, or undefined to send it unnamed (planned afresh). */
export function preparedName(text: string, values: readonly unknown[] | undefined): string | undefined {
  if (!values || values.length === 0 || !small(values)) return undefined
  const name = names.get(text)
  if (name !== undefined) return name
  const count = (seen.get(text) ?? 0) + 1
  if (count < THRESHOLD) {
    if (seen.size < MAX_TEXTS || seen.has(text)) seen.set(text, count)
    return undefined
  }
  if (names.size >= MAX_NAMED) return undefined
  seen.delete(text)
  const named = `trashd_${names.size + 1}`
  names.set(text, named)
  return named
}
