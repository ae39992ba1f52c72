/** The handles of every door now live in the protocol kit; REST reads them from here. */
export { allHandles, handles } from './kit/handles.js'
