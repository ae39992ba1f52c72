import { CoreError, type ErrorCode, ErrorCodes } from '../../core/errors.js'

/**
 * A door's answer to each core error code. A Record rather than a switch with a default: a code added to the
 * core does not build until every door says how it answers it.
 */
export type ErrorMap<T> = Readonly<Record<ErrorCode, T>>

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
