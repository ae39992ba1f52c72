import type { IncomingMessage } from 'node:http'
import type { FastifyRequest } from 'fastify'
import type { ErrorCode } from '../../core/errors.js'

/** What a door found out about a request while serving it: its operation, and the core's error codes. */
export interface RequestNotes {
  operation?: string
  errors: ErrorCode[]
}

/**
 * Kept on the request's IncomingMessage, which every hook and handler of the request shares, under a symbol of
 * this module: a WeakMap entry per request cost more to add and to collect than the request's other notes.
 */
const NOTES = Symbol('request notes')

type Noted = IncomingMessage & { [NOTES]?: RequestNotes }

function notesOf(request: FastifyRequest): RequestNotes {
  const raw = request.raw as Noted
  let found = raw[NOTES]
  if (found === undefined) {
    found = { errors: [] }
    raw[NOTES] = found
  }
  return found
}

/**
 * The door's name for the operation a request asks for (an IPS operation, an srv.asmx method, an Enterprise
 * request): called by a door once it has recognised one of its own operations, so that the label stays bounded.
 * Requests without one are labelled with their route (`POST /api/v1/items/trash`).
 */
export function noteOperation(request: FastifyRequest, operation: string) {
  notesOf(request).operation = operation
}

/** A core error code a request ran into (thrown, or an item's result in a batch). */
export function noteCoreError(request: FastifyRequest, code: ErrorCode) {
  notesOf(request).errors.push(code)
}

/** What the doors noted about a request (read once it is answered); undefined when they noted nothing. */
export function notedOf(request: FastifyRequest): RequestNotes | undefined {
  return (request.raw as Noted)[NOTES]
}
