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
