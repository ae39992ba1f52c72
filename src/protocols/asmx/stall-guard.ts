/**
 * Passes chunks on, and gives up on a reader that takes none for `ms`: a client that stops reading a long
 * streamed reply would otherwise hold what feeds it (a database connection) for as long as it keeps the socket
 * open. `onStall` should close the reply; the chunks' source is closed when the guard is.
 */
export async function* stallGuard<T>(
  chunks: AsyncIterable<T>,
  ms: number,
  onStall: () => void,
): AsyncGenerator<T> {
  for await (const chunk of chunks) {
    const timer = setTimeout(onStall, ms)
    try {
      yield chunk
    } finally {
      clearTimeout(timer)
    }
  }
}
