import * as objects from './objects.js'
import {
  deleteObjects,
  logOff,
  logOn,
  type OperationInput,
  queryObjects,
  restoreObjects,
} from './operations.js'

/** The workflow services this server answers, by the name of the Body's first element. */
export const OPERATIONS: Record<string, (input: OperationInput) => Promise<string>> = {
  LogOn: logOn,
  LogOff: logOff,
  DeleteObjects: deleteObjects,
  RestoreObjects: restoreObjects,
  QueryObjects: queryObjects,
  GetObjects: objects.getObjects,
  ListVersions: objects.listVersions,
  GetVersion: objects.getVersion,
  GetDialog: objects.getDialog,
  GetDialog2: objects.getDialog2,
  SetObjectProperties: objects.setObjectProperties,
  NamedQuery: objects.namedQuery,
}
