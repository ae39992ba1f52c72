/** The ports: what the core needs from outside, one file each under ports/, implemented in db/ and storage/. */
export * from './ports/blob-store.js'
export type * from './ports/operation-store.js'
export type * from './ports/purge-store.js'
export type * from './ports/stores.js'
export type * from './ports/sweep-store.js'
export type * from './ports/unit-of-work.js'
export type * from './ports/user-store.js'
