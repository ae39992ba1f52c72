-- Every request that trashes, restores, empties or purges, through any door, and every cleanup run is one
-- operation: who, through which door and client, when, and how it went. Its audit rows carry its id, so that what
-- one request did can be found, shown and undone as a whole. The id is made by the server before the work starts
-- (a cleanup run's id is shared by the rows of every tenant it touched).
create table operations (
  tenant_id bigint not null references tenants (id),
  id uuid not null,
  actor_id bigint,
  actor_login text,
  door text not null,
  action text not null,
  -- the client as it named itself: user agent, Enterprise ClientName, IPS appName
  client text,
  remote_address text,
  started_at timestamptz not null,
  finished_at timestamptz not null default clock_timestamp(),
  -- items (or units) addressed and how each ended; items changed (a folder's members included)
  requested integer not null default 0,
  ok_count integer not null default 0,
  warning_count integer not null default 0,
  error_count integer not null default 0,
  items integer not null default 0,
  -- the operation this one undid
  undo_of uuid,
  primary key (tenant_id, id)
);
-- a tenant's operations, newest first (keyset pages)
create index operations_recent_idx on operations (tenant_id, started_at desc, id desc);
create index operations_actor_idx on operations (tenant_id, actor_id, started_at desc, id desc);

-- A transaction acting for an operation sets trashd.operation_id; the audit rows it writes keep it.
alter table audit
  add column operation_id uuid default nullif(current_setting('trashd.operation_id', true), '')::uuid;
create index audit_operation_idx on audit (operation_id, id) where operation_id is not null;
