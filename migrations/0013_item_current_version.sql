-- Enterprise events carry the object's version (DeleteObject #4, RestoreObject #23). A purged item's versions are
-- gone by the time its event is read, so the audit row keeps the version as it keeps brand and deleter; the item
-- keeps its current version number (null: a file without history, version 0.1) so writing it costs nothing.
alter table items add column version text;
alter table audit add column item_version text;
update items i set version = latest.major || '.' || latest.minor
  from (select distinct on (tenant_id, item_id) tenant_id, item_id, major, minor
          from item_versions order by tenant_id, item_id, major desc, minor desc) latest
 where i.tenant_id = latest.tenant_id and i.id = latest.item_id;
