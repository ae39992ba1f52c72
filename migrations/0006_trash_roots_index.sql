-- Trash listings show unit roots (a trashed folder once, not its subtree). Paging them newest first, and
-- counting what a user may see, reads this index alone (the included columns answer the visibility test).
create index items_trash_roots_idx on items (tenant_id, deleted_at desc, id desc)
  include (state, deleted_by, owner_id, brand_id)
  where state in ('trashed', 'emptied') and id = trash_root;
