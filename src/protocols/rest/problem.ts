import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { ZodError } from 'zod'
import { CoreError, type ErrorCode } from '../../core/errors.js'
import { isUnavailable, logUnavailable } from '../kit/errors.js'

/** HTTP status for each core error code on the REST door. */
export const STATUS_OF: Record<ErrorCode, number> = {
  NOT_FOUND: 404,
  NOT_IN_TRASH: 409,
  ALREADY_TRASHED: 409,
  ALREADY_EMPTIED: 409,
  NOT_RESTORABLE: 409,
  ACCESS_DENIED: 403,
  TOP_LEVEL_FOLDER: 403,
  ADMIN_ONLY: 403,
  ORIGINAL_LOCATION_GONE: 409,
  TARGET_NOT_FOUND: 404,
  STORAGE_FAILURE: 502,
  LEGAL_HOLD: 409,
  INVALID_INPUT: 422,
  NAME_TAKEN: 409,
  IN_USE: 409,
  AUTHENTICATION_FAILED: 401,
  SESSION_EXPIRED: 401,
  VETOED: 409,
  TOO_LARGE: 413,
  UNAVAILABLE: 503,
  BUSY: 429,
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
}

export interface Problem {
  type: string
  title: string
  status: number
  detail?: string
  code?: string
  errors?: { path: string; message: string }[]
}

export function problem(status: number, detail?: string, extra: Partial<Problem> = {}): Problem {
  return {
    type: 'about:blank',
    title: TITLES[status] ?? 'Error',
    status,
    ...(detail ? { detail } : {}),
    ...extra,
  }
}

export function sendProblem(reply: FastifyReply, body: Problem) {
  return reply.code(body.status).type('application/problem+json').send(body)
}

/** Problem documents for everything; 5xx never carry the error's own message, stack or SQL. */
export function problemErrorHandler(
  error: FastifyError | Error,
  request: FastifyRequest,
  reply: FastifyReply,
) {
  if (error instanceof ZodError) {
    return sendProblem(
      reply,
      problem(422, 'Request does not match the schema', {
        errors: error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message })),
      }),
    )
  }
  if (error instanceof CoreError) {
    if (isUnavailable(error)) logUnavailable(request.log, error)
    if (error.code === 'UNAVAILABLE' || error.code === 'BUSY') reply.header('retry-after', '5')
    return sendProblem(reply, problem(STATUS_OF[error.code], error.message, { code: error.code }))
  }
  const status = (error as FastifyError).statusCode
  if (status && status >= 400 && status < 500) {
    return sendProblem(reply, problem(status, error.message, { code: (error as FastifyError).code }))
  }
  request.log.error({ err: error }, 'request failed')
  return sendProblem(reply, problem(500, 'An unexpected error occurred'))
}
