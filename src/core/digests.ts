import * as crypto from 'node:crypto'

/**
 * Digests of short strings in one call (crypto.hash, Node.js 20.12 and later), without the Hash object and stream
 * that createHash makes (a few microseconds each, on every request that presents a ticket or remembered
 * credentials); the same bytes either way.
 */
type OneShot = (algorithm: string, data: string, encoding: 'hex' | 'buffer') => string | Buffer

// read from the module object: an older Node.js has no such export, and a named import of it would not load
const hash = (crypto as { hash?: unknown }).hash
const oneShot: OneShot =
  typeof hash === 'function'
    ? (hash as OneShot)
    : (algorithm, data, encoding) => {
        const digest = crypto.createHash(algorithm).update(data)
        return encoding === 'buffer' ? digest.digest() : digest.digest(encoding)
      }

/** The SHA-256 of a string's UTF-8 bytes, as bytes. */
export function sha256(data: string): Buffer {
  return oneShot('sha256', data, 'buffer') as Buffer
}

/** The SHA-256 of a string's UTF-8 bytes, in hexadecimal. */
export function sha256Hex(data: string): string {
  return oneShot('sha256', data, 'hex') as string
}

/** The MD5 of a string's UTF-8 bytes, in hexadecimal. */
export function md5Hex(data: string): string {
  return oneShot('md5', data, 'hex') as string
}
