-- Version history of file items (WoodWing Enterprise numbers versions major.minor). Each version keeps its own
-- stored file and may keep stored thumb and preview renditions. The current version's native file is also the
-- item's blob_key. Versions have no state of their own: they are trashed, restored and purged with their item.
-- No foreign key to items: a per-row trigger on every purge is what 0007 removed; the purge statements delete
-- an item's versions in the same statement as the item (db/trash-repository.ts).
create table item_versions (
  tenant_id bigint not null,
  item_id bigint not null,
  major integer not null check (major >= 0),
  minor integer not null check (minor >= 0),
  blob_key text not null,
  size bigint not null check (size >= 0),
  content_type text,
  thumb_blob_key text,
  preview_blob_key text,
  comment text not null default '',
  created_at timestamptz not null default now(),
  created_by bigint,
  primary key (tenant_id, item_id, major, minor)
);

-- Enterprise's "Read" file-access right (open or download an object's file), granted by default as there.
alter table access add column can_read boolean not null default true;

-- Dialog Setup "Query Result Columns for Trash Can": null means the standard set.
alter table tenants add column trash_columns text[];
