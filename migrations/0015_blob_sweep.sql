-- The orphan sweep (trashd sweep) walks the blob store and the rows that hold files, a bounded page per run, and
-- keeps where each walk stopped so that the next run goes on from there. It runs across tenants: an object's key
-- does not say whose it is.
create table sweep_progress (
  walk text primary key check (walk in ('objects', 'rows')),
  -- the last object key (objects) or 'tenant_id:item_id' (rows) done; null: start over
  position text,
  updated_at timestamptz not null default now()
);

-- "is this key referenced by any row?", once per listed object
create index items_blob_key_idx on items (blob_key) where blob_key is not null;
create index item_versions_blob_key_idx on item_versions (blob_key);
create index item_versions_thumb_blob_key_idx on item_versions (thumb_blob_key) where thumb_blob_key is not null;
create index item_versions_preview_blob_key_idx on item_versions (preview_blob_key)
  where preview_blob_key is not null;
