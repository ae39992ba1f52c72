-- Events for the Enterprise door (DeleteObject #4, RestoreObject #23) and the REST event stream.
-- The audit table is the event log (id = cursor). An event carries the object's brand, issue, category and its
-- Deleted/Deleter at the time of the transition, so the audit row keeps them: a purged row is gone afterwards.
alter table audit
  add column item_brand_id bigint,
  add column item_issue_id bigint,
  add column item_category_id bigint,
  add column item_deleted_at timestamptz,
  add column item_deleted_by bigint;

-- Every committed batch of audit rows wakes the listeners of every server instance on this database. The payload
-- names the id range the statement wrote per tenant: ids are taken at insert, commits can land out of order, so a
-- listener reads exactly these rows instead of "everything after my cursor".
create function audit_notify() returns trigger language plpgsql as $$
begin
  perform pg_notify('trashd_audit', json_build_object('tenant', tenant_id, 'from', min(id), 'to', max(id))::text)
     from inserted group by tenant_id;
  return null;
end;
$$;

create trigger audit_notify after insert on audit
  referencing new table as inserted
  for each statement execute function audit_notify();

-- Enterprise QueryObjects over the Workflow area: a tenant's active items, newest modification first.
create index items_active_modified_idx on items (tenant_id, modified_at desc, id desc) where state = 'active';
