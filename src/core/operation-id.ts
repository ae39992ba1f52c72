import { randomFillSync } from 'node:crypto'

/**
 * An operation's id: a UUID of version 7 (RFC 9562), its first 48 bits the time in milliseconds and the other 74
 * random. Its audit rows and its own row are found by it (audit_operation_idx, operations_pkey): ids that grow
 * with time put each new entry next to the last, where random ones put it on any page of an index that outgrows
 * memory, to be read, dirtied and written whole into the WAL after each checkpoint.
 */
const entropy = Buffer.alloc(16 * 256)
let next = entropy.length

export function newOperationId(now = Date.now()): string {
  if (next === entropy.length) {
    randomFillSync(entropy)
    next = 0
  }
  const bytes = entropy.subarray(next, next + 16)
  next += 16
  bytes.writeUIntBE(now, 0, 6)
  bytes[6] = 0x70 | (bytes[6]! & 0x0f)
  bytes[8] = 0x80 | (bytes[8]! & 0x3f)
  const hex = bytes.toString('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}
