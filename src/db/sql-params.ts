/**
 * The positional parameters of one statement, numbered as they are added. Statements are composed of pieces
 * written in other functions (and files): each piece is handed the placeholders the builder gave its values,
 * never a `$n` written by hand, so adding a value cannot shift another piece's numbers.
 */
export class SqlParams {
  /** the values in placeholder order, as the driver takes them */
  readonly values: unknown[]

  constructor(values: unknown[] = []) {
    this.values = values
  }

  /** The placeholder (`$n`) of one more value. */
  add(value: unknown): string {
    this.values.push(value)
    return `$${this.values.length}`
  }
}

/**
 * The values of a statement with each array of numbers (ids, mostly) as PostgreSQL's array literal, one string
 * made by one join: the driver's own conversion quotes and escapes every element (several strings per element),
 * which for the id arrays of a 10,000-item batch was the largest share of what the batch allocated after the
 * rows it read. The same text reaches the server (`{1,2}` reads as `{"1","2"}` does). Answers `values` itself
 * when it holds no such array.
 */
export function withArrayLiterals(values: unknown[]): unknown[] {
  let out: unknown[] | undefined
  for (let i = 0; i < values.length; i++) {
    const value = values[i]
    if (!Array.isArray(value) || value.length < 2 || !value.every((n) => typeof n === 'number')) continue
    out ??= [...values]
    out[i] = `{${value.join(',')}}`
  }
  return out ?? values
}
