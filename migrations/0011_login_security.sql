-- A disabled user cannot sign in, and disabling ends the user's sessions.
alter table users add column disabled boolean not null default false;

-- Tickets are kept as their sha256 (hex): a copy of the table hands out no working ticket. Sessions also get an
-- absolute end besides the sliding expiry; the sessions open today keep working, hashed, for 12 hours at most.
alter table sessions rename column ticket to ticket_hash;
update sessions set ticket_hash = encode(sha256(convert_to(ticket_hash, 'UTF8')), 'hex');
alter table sessions add column ends_at timestamptz;
update sessions set ends_at = created_at + interval '12 hours';
alter table sessions alter column ends_at set not null;
create index sessions_user_idx on sessions (tenant_id, user_id);

-- Failed sign-ins and ticket checks, per login ('login:<lowercased login>') and per remote address
-- ('address:<ip>'), shared by every instance. Past a threshold each further failure locks the key for twice as
-- long as the one before (up to a maximum); failures are forgotten after an hour without one, or (a login's)
-- when it signs in.
create table login_failures (
  key text primary key,
  failures integer not null,
  last_failed_at timestamptz not null,
  locked_until timestamptz
);
create index login_failures_last_failed_idx on login_failures (last_failed_at);
