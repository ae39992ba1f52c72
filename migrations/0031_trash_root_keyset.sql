-- A unit's members in id order: a large unit is restored (and its rights checked) a keyset range at a time,
-- `trash_root = $root and id > $after order by id limit $n`, each range read from the index alone. The index it
-- replaces, on (tenant_id, trash_root), answered the same range by reading every member of the unit each time.
drop index items_trash_root_idx;
create index items_trash_root_idx on items (tenant_id, trash_root, id) where trash_root is not null;
