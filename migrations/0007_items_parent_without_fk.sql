-- The self-referencing foreign key on items.parent_id fired one trigger per row on every insert and purge (a
-- 100,000-item folder purge ran 100,000 ON DELETE SET NULL lookups), and PostgreSQL plans those per-row checks
-- once per connection: planned while the table was small they scan it sequentially forever after. The purge
-- statement now detaches the children left behind in one set-based update instead (db/trash-repository.ts).
alter table items drop constraint items_tenant_id_parent_id_fkey;
