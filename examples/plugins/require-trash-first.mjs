/**
 * Example server plug-in (load it with PLUGINS=examples/plugins/require-trash-first.mjs).
 *
 * House rule: objects go to the Trash Can before anyone deletes them permanently. A permanent DeleteObjects
 * from the Workflow area is refused as a whole; emptying the Trash Can and deleting from it work as usual.
 *
 * @type {import('../../src/core/plugins.js').ServerPlugin}
 */
const plugin = {
  name: 'require-trash-first',
  before(request) {
    if (request.operation === 'DeleteObjects' && request.permanent && request.areas.includes('Workflow')) {
      return { veto: 'Objects must be in the Trash Can before they can be deleted permanently' }
    }
    return undefined
  },
}

export default plugin
