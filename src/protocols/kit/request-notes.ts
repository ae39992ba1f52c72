import type { IncomingMessage } from 'node:http'
import type { FastifyRequest } from 'fastify'
import type { ErrorCode } from '../../core/errors.js'

/** What a door found out about a request while serving it: its operation, and the core's error codes. */
export interface RequestNotes {
  operation?: string
  errors: ErrorCode[]
}

const notes = new WeakMap<IncomingMessage, RequestNotes>()

function notesOf(request: FastifyRequest): RequestNotes {
  let found = notes.get(request.raw)
  if (!found) {
    found = { errors: [] }
    notes.set(request.raw, found)
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
  return notes.get(request.raw)
}
