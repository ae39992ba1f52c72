/** Typed outcomes every door maps to its own wire (IPS fault codes, infoRouter strings, Enterprise Sxxxx, HTTP). */
export const ErrorCodes = {
  NOT_FOUND: 'NOT_FOUND',
  NOT_IN_TRASH: 'NOT_IN_TRASH',
  ALREADY_TRASHED: 'ALREADY_TRASHED',
  ALREADY_EMPTIED: 'ALREADY_EMPTIED',
  NOT_RESTORABLE: 'NOT_RESTORABLE',
  ACCESS_DENIED: 'ACCESS_DENIED',
  TOP_LEVEL_FOLDER: 'TOP_LEVEL_FOLDER',
  ADMIN_ONLY: 'ADMIN_ONLY',
  ORIGINAL_LOCATION_GONE: 'ORIGINAL_LOCATION_GONE',
  TARGET_NOT_FOUND: 'TARGET_NOT_FOUND',
  STORAGE_FAILURE: 'STORAGE_FAILURE',
  LEGAL_HOLD: 'LEGAL_HOLD',
  INVALID_INPUT: 'INVALID_INPUT',
  NAME_TAKEN: 'NAME_TAKEN',
  IN_USE: 'IN_USE',
  AUTHENTICATION_FAILED: 'AUTHENTICATION_FAILED',
  SESSION_EXPIRED: 'SESSION_EXPIRED',
  VETOED: 'VETOED',
  TOO_LARGE: 'TOO_LARGE',
  UNAVAILABLE: 'UNAVAILABLE',
  BUSY: 'BUSY',
} as const

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes]

const defaultMessages: Record<ErrorCode, string> = {
  NOT_FOUND: 'Item not found',
  NOT_IN_TRASH: 'Item is not in the trash',
  ALREADY_TRASHED: 'Item is already in the trash',
  ALREADY_EMPTIED: 'Item was already emptied from the trash',
  NOT_RESTORABLE: 'Item was emptied from the trash and can no longer be restored',
  ACCESS_DENIED: 'Access denied',
  TOP_LEVEL_FOLDER: 'Only an administrator may delete a top-level folder',
  ADMIN_ONLY: 'Only a tenant administrator may do this',
  ORIGINAL_LOCATION_GONE: 'The original location no longer exists',
  TARGET_NOT_FOUND: 'The restore target folder does not exist',
  STORAGE_FAILURE: 'Unable to delete file from storage',
  LEGAL_HOLD: 'Item is under legal hold and cannot be purged',
  INVALID_INPUT: 'Invalid input',
  NAME_TAKEN: 'An item with this name already exists here',
  IN_USE: 'Still referenced by items',
  AUTHENTICATION_FAILED: 'Authentication failed',
  SESSION_EXPIRED: 'Session expired or invalid ticket',
  VETOED: 'Refused by a server plug-in',
  TOO_LARGE: 'The content is larger than the upload limit',
  UNAVAILABLE: 'The database is not available at the moment; try again',
  BUSY: 'Too many of your requests of this kind are running; try again when one has ended',
}

export class CoreError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string = defaultMessages[code],
    readonly details?: Record<string, unknown>,
  ) {
    super(message)
    this.name = 'CoreError'
  }
}

export function defaultMessage(code: ErrorCode): string {
  return defaultMessages[code]
}
