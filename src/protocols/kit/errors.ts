import type { ErrorCode } from '../../core/errors.js'

/**
 * A door's answer to each core error code. A Record rather than a switch with a default: a code added to the
 * core does not build until every door says how it answers it.
 */
export type ErrorMap<T> = Readonly<Record<ErrorCode, T>>
