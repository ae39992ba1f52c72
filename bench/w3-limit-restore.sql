-- W3's database limit for a single-item restore, written by hand (never recorded from trashd): the least SQL that
-- reaches the state a restore of one trashed top-level file leaves. One transaction (one statement): the item
-- row's state columns set as trashd's restore sets them, and the item's audit row (naming an operation of its own,
-- as trashd's do). No reads, no locks taken beyond the update's, no NOTIFY; run with PGOPTIONS='-c session_replication_role=replica' so that no trigger runs.
-- Variables (pgbench -D): n = -1, first (first id of the pool), clients, tenant_id, user_id, login, door.
-- Each transaction restores a different item: client c takes first + c, first + c + clients, …
\set n :n + 1
\set id :first + :client_id + :n * :clients
with restored as (
  update items
     set state = 'active', trash_root = null, modified_at = now(), modified_by = :user_id::bigint,
         purge_error = null, purge_attempts = 0
   where tenant_id = :tenant_id::bigint and id = :id::bigint
  returning *
)
insert into audit (tenant_id, actor_id, actor_login, door, action, item_id, item_kind, item_type, item_name,
                   item_path, unit_root, detail, item_brand_id, item_issue_id, item_category_id, item_deleted_at,
                   item_deleted_by, item_owner_id, item_version, item_format, operation_id)
select tenant_id, :user_id::bigint, :login::text, :door::text, 'restore', id, kind, type, name, original_path, id,
       jsonb_build_object('parentId', parent_id, 'name', name), brand_id, issue_id, category_id, deleted_at,
       deleted_by, owner_id, version, content_type, gen_random_uuid()
  from restored;
