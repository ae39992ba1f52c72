import { CoreError, ErrorCodes } from '../../core/errors.js'

/**
 * Text a client sends that the database cannot store as it came: a NUL character (PostgreSQL's text cannot hold
 * U+0000, and refuses the whole statement), or an unpaired surrogate (no character at all: written to the
 * database as UTF-8 it would silently become U+FFFD, another value than the one sent). Every door checks what
 * it was sent with these functions before anything of the request reaches the core, and answers a refusal as its
 * own client error.
 */

/** A high surrogate not followed by a low one, or a low one not preceded by a high one (code units, no `u`). */
const UNPAIRED_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/

/** Whether `text` can be stored as sent: no NUL, no unpaired surrogate. */
export function isStorableText(text: string): boolean {
  return !text.includes('\u0000') && !UNPAIRED_SURROGATE.test(text)
}

/** How deep the walk below follows arrays and objects (a parsed JSON body is far shallower). */
const MAX_DEPTH = 64

/**
 * Where in `value` (a string, or arrays and plain objects of them, as a parsed query, form or JSON body) a text
 * that cannot be stored is: its path (`name`, `ids.3`, `` for `value` itself), or null when every one can be. Keys are checked as well as values. Linear in the value; no recursion (a deep body cannot overflow
 * the stack): what lies deeper than MAX_DEPTH is refused as unstorable, since no door takes such a value.
 */
export function unstorablePath(value: unknown): string | null {
  const pending: { value: unknown; path: string; depth: number }[] = [{ value, path: '', depth: 0 }]
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const { value: current, path, depth } = next
    if (typeof current === 'string') {
      if (!isStorableText(current)) return path
      continue
    }
    if (current === null || typeof current !== 'object' || Buffer.isBuffer(current)) continue
    if (depth >= MAX_DEPTH) return path
    const entries = Array.isArray(current) ? current.entries() : Object.entries(current)
    for (const [key, child] of entries) {
      const childPath = path === '' ? String(key) : `${path}.${key}`
      if (typeof key === 'string' && !isStorableText(key)) return childPath
      pending.push({ value: child, path: childPath, depth: depth + 1 })
    }
  }
  return null
}

/** The refusal of a value that cannot be stored, naming where it is (`where`: e.g. `query`, `body`, `Path`). */
export function unstorableError(where: string): CoreError {
  return new CoreError(
    ErrorCodes.INVALID_INPUT,
    `${where} holds a character that cannot be stored (NUL, or an unpaired surrogate)`,
    { where },
  )
}

/**
 * Throws the INVALID_INPUT refusal (unstorableError) when any part of `values` cannot be stored; each entry of
 * `values` is checked under its own name (e.g. `{ query, body }`, or a method's arguments by name).
 */
export function refuseUnstorable(values: Record<string, unknown>): void {
  for (const [name, value] of Object.entries(values)) {
    const path = unstorablePath(value)
    if (path !== null) throw unstorableError(path === '' ? name : `${name}.${path}`)
  }
}
