-- The session an operation's request came with, as events name it (an md5 tag of its ticket, never the ticket):
-- what one client's ticket did can be found and undone as a whole, whoever else acted as the same user meanwhile.
alter table operations add column session text;
create index operations_session_idx on operations (tenant_id, session, started_at desc, id desc)
  where session is not null;
