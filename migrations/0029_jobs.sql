-- A bulk undo (more units than JOB_THRESHOLD) runs as a job: answered 202 at once, done a page per transaction by
-- whichever instance holds its lease, resumable after a crash or restart on any instance (the page's work and the
-- job's progress commit together, so a page is done once or not at all).
create table jobs (
  tenant_id bigint not null references tenants (id) on delete cascade,
  id uuid not null,
  kind text not null,
  -- who asked, as the operation log names them; the job acts with that user's rights as they are when it runs
  actor_id bigint not null,
  door text not null,
  client text,
  remote_address text,
  -- the operations to undo, the one undone (undo of one operation), the filter that matched them
  params jsonb not null,
  -- the operation the job's work is recorded as (its audit rows carry it; its row is written when the job ends)
  operation_id uuid not null,
  status text not null default 'queued' check (status in ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
  total integer not null,
  done integer not null default 0,
  ok_count integer not null default 0,
  warning_count integer not null default 0,
  error_count integer not null default 0,
  skipped_count integer not null default 0,
  items integer not null default 0,
  -- the audit id the next page starts after; null once every page is done
  position bigint default 0,
  results integer not null default 0,
  cancel_requested boolean not null default false,
  lease_owner text,
  lease_until timestamptz,
  attempts integer not null default 0,
  error text,
  created_at timestamptz not null default clock_timestamp(),
  started_at timestamptz,
  finished_at timestamptz,
  primary key (tenant_id, id)
);
-- what a runner looks for: unfinished jobs, oldest first
create index jobs_unfinished_idx on jobs (created_at) where status in ('queued', 'running');

-- one row per unit the job restored, refused or left alone, in the order it went through them (results paged)
create table job_results (
  tenant_id bigint not null,
  job_id uuid not null,
  seq integer not null,
  result jsonb not null,
  primary key (tenant_id, job_id, seq),
  foreign key (tenant_id, job_id) references jobs (tenant_id, id) on delete cascade
);
