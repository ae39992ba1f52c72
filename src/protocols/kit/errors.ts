import { CoreError, type ErrorCode, ErrorCodes } from '../../core/errors.js'

/**
 * A door's answer to each core error code. A Record rather than a switch with a default: a code added to the
 * core does not build until every door says how it answers it.
 */
export type ErrorMap<T> = Readonly<Record<ErrorCode, T>>

/**
 * The codes that have no per-item wording on any door's wire: a batch reports them for an item with the door's
 * generic item failure (IPS's "Operation failed", Enterprise's S1012, infoRouter's core message).
 */
export const GENERIC_ITEM_CODES = [
  ErrorCodes.ADMIN_ONLY,
  ErrorCodes.INVALID_INPUT,
  ErrorCodes.NAME_TAKEN,
  ErrorCodes.IN_USE,
  ErrorCodes.AUTHENTICATION_FAILED,
  ErrorCodes.SESSION_EXPIRED,
  ErrorCodes.VETOED,
  ErrorCodes.TOO_LARGE,
  ErrorCodes.UNAVAILABLE,
  ErrorCodes.BUSY,
] as const
export type GenericItemCode = (typeof GENERIC_ITEM_CODES)[number]

/**
 * A door's answer to each core code for one item of a batch: its own answer for every code outside
 * GENERIC_ITEM_CODES (required, so a new core code still breaks the build until the door answers it), and
 * `generic` for the generic codes it does not name.
 */
export function itemErrorMap<T>(
  own: Record<Exclude<ErrorCode, GenericItemCode>, T> & Partial<Record<GenericItemCode, T>>,
  generic: T,
): ErrorMap<T> {
  const map = { ...own } as Record<ErrorCode, T>
  for (const code of GENERIC_ITEM_CODES) if (!Object.hasOwn(own, code)) map[code] = generic
  return map
}

/** The database could not serve the request (no connection in time, a statement timeout, a dropped connection). */
export function isUnavailable(error: unknown): error is CoreError & { code: 'UNAVAILABLE' } {
  return error instanceof CoreError && error.code === ErrorCodes.UNAVAILABLE
}

/**
 * One warn line for a request answered as the database being unavailable, naming why: an outage to watch, not a
 * bug to debug (no stack, not at error level).
 */
export function logUnavailable(
  log: { warn(fields: object, message: string): void },
  error: CoreError,
  fields: object = {},
) {
  log.warn(
    { ...fields, cause: error.details?.cause, errorCode: error.details?.errorCode },
    'request answered as unavailable: the database cannot serve now',
  )
}
