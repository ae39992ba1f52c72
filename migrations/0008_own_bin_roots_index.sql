-- srv.asmx EmptyRecycleBin pages a user's own bin by id (trash-repository ownBinRoots). Without this index every
-- page of a 100,000-item bin read and sorted the tenant's whole trash (~160 ms a page of 2,000).
create index items_own_bin_roots_idx on items (tenant_id, deleted_by, id)
  where state in ('trashed', 'emptied') and id = trash_root;
