-- The stored-file index leaves out rows being purged. Marking a row for purge writes a new version of it, and each
-- index that takes the new version gets an entry; this one is keyed by a random file key, so its entries land on
-- leaf pages all over the index (a page image in the WAL for most of them after a checkpoint). The marked row is
-- deleted once its file is removed; until then the sweep still counts its file as held (sweep-repository.ts
-- referencedKeys reads the rows being purged through items_purging_idx).
drop index items_blob_key_idx;
create index items_blob_key_idx on items (blob_key) where blob_key is not null and state <> 'purging';
