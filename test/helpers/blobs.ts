/** Keys a blob store must refuse before they reach its storage: paths, traversal, empty, not one of its own. */
export const HOSTILE_BLOB_KEYS = [
  '../../etc/passwd',
  '/etc/passwd',
  '..',
  '',
  'a/b',
  '00000000-0000-0000-0000-000000000000/../x',
  '00000000-0000-0000-0000-00000000000G',
  'AAAAAAAA-0000-0000-0000-000000000000',
]
