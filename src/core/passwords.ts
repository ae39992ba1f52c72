import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto'

/** OWASP's scrypt parameters (Password Storage Cheat Sheet): N = 2^17, r = 8, p = 1. */
export const OWASP_SCRYPT_COST = 17
const R = 8
const P = 1
const KEY_LENGTH = 32
/** Stored hashes with larger parameters are refused rather than run (a forged row must not cost gigabytes). */
const MAX_COST = 20
const MAX_R = 16
const MAX_P = 4

/** New passwords need at least this many characters (OWASP ASVS 2.1.1). */
export const MIN_PASSWORD_LENGTH = 12

/** Why a new password is refused, or null when it is acceptable. */
export function passwordProblem(password: string): string | null {
  return [...password].length < MIN_PASSWORD_LENGTH
    ? `A password needs at least ${MIN_PASSWORD_LENGTH} characters`
    : null
}

function derive(password: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  // scrypt needs 128·N·r bytes; node refuses more than maxmem (32 MiB by default, less than N = 2^17 needs)
  return new Promise((resolve, reject) =>
    scrypt(password, salt, KEY_LENGTH, { N: n, r, p, maxmem: 256 * n * r }, (error, key) =>
      error ? reject(error) : resolve(key),
    ),
  )
}

interface StoredHash {
  n: number
  r: number
  p: number
  salt: Buffer
  key: Buffer
}

function parse(stored: string): StoredHash | null {
  const [scheme, n, r, p, salt, key] = stored.split('$')
  if (scheme !== 'scrypt' || !n || !r || !p || !salt || !key) return null
  const params = { n: Number(n), r: Number(r), p: Number(p) }
  const powerOfTwo = Number.isInteger(params.n) && params.n > 1 && (params.n & (params.n - 1)) === 0
  if (!powerOfTwo || params.n > 2 ** MAX_COST) return null
  if (!Number.isInteger(params.r) || params.r < 1 || params.r > MAX_R) return null
  if (!Number.isInteger(params.p) || params.p < 1 || params.p > MAX_P) return null
  return { ...params, salt: Buffer.from(salt, 'base64'), key: Buffer.from(key, 'base64') }
}

/**
 * scrypt password hashes as `scrypt$N$r$p$salt$hash` (base64): the parameters travel with the hash, so a
 * hash made with weaker ones is recognised and replaced at the next successful sign-in. `cost` is log2 N;
 * the default is OWASP's, and only tests that are not about hashing lower it (PASSWORD_HASH_COST).
 */
export class PasswordHasher {
  private readonly n: number
  private decoy: Promise<string> | null = null

  constructor(readonly cost: number = OWASP_SCRYPT_COST) {
    this.n = 2 ** cost
  }

  async hash(password: string): Promise<string> {
    const salt = randomBytes(16)
    const key = await derive(password, salt, this.n, R, P)
    return ['scrypt', this.n, R, P, salt.toString('base64'), key.toString('base64')].join('$')
  }

  async verify(password: string, stored: string): Promise<boolean> {
    const hash = parse(stored)
    if (!hash) return false
    const key = await derive(password, hash.salt, hash.n, hash.r, hash.p)
    return key.length === hash.key.length && timingSafeEqual(key, hash.key)
  }

  /** True when the stored hash was made with weaker parameters than today's. */
  needsRehash(stored: string): boolean {
    const hash = parse(stored)
    return hash === null || hash.n < this.n || hash.r < R || hash.p < P
  }

  /**
   * The work of verifying a password against a hash of today's parameters, always false: what a sign-in
   * with an unknown login costs, so that its answer time does not tell which logins exist.
   */
  async verifyNothing(password: string): Promise<false> {
    this.decoy ??= this.hash(randomBytes(16).toString('base64'))
    await this.verify(password, await this.decoy)
    return false
  }
}
