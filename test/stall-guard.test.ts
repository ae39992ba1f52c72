import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { describe, expect, it } from 'vitest'
import { stallGuard } from '../src/protocols/asmx/stall-guard.js'

/** A source that records how far it was read and whether it was closed. */
function source(count: number) {
  const seen = { produced: 0, closed: false }
  async function* chunks() {
    try {
      for (let i = 0; i < count; i++) {
        seen.produced++
        yield `chunk ${i};`
      }
    } finally {
      seen.closed = true
    }
  }
  return { seen, chunks: chunks() }
}

describe('stallGuard', () => {
  it('passes every chunk on to a reader that keeps reading, and never calls onStall', async () => {
    const { seen, chunks } = source(50)
    let stalls = 0
    let text = ''
    for await (const chunk of stallGuard(chunks, 50, () => stalls++)) {
      text += chunk
      await new Promise((resolve) => setTimeout(resolve, 1))
    }
    await new Promise((resolve) => setTimeout(resolve, 80))
    expect(text).toBe(Array.from({ length: 50 }, (_, i) => `chunk ${i};`).join(''))
    expect(stalls).toBe(0)
    expect(seen.closed).toBe(true)
  })

  it('calls onStall when the reader stops taking chunks; closing the reply closes the source', async () => {
    const { seen, chunks } = source(1_000_000)
    const reply = Readable.from(
      stallGuard(chunks, 100, () => reply.destroy(new Error('stalled'))),
      { objectMode: false, highWaterMark: 64 },
    )
    // a writer that takes a few chunks and then never calls back: backpressure stops the reading
    let accepted = 0
    const stuck = new Writable({
      highWaterMark: 64,
      write(_chunk, _encoding, done) {
        accepted++
        if (accepted < 5) done()
      },
    })
    const started = Date.now()
    await expect(pipeline(reply, stuck)).rejects.toThrow('stalled')
    expect(Date.now() - started).toBeLessThan(5_000)
    expect(seen.closed).toBe(true)
    expect(seen.produced).toBeLessThan(100)
  })
})
