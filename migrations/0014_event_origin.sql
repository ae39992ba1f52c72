-- Live updates for Enterprise clients (n-casting over UDP, RabbitMQ) are sent by the server instance that made the
-- change, once it has committed. The notification therefore names the instance whose connection wrote the rows
-- (its application_name), so that each instance publishes exactly its own events and none twice.
create or replace function audit_notify() returns trigger language plpgsql as $$
begin
  perform pg_notify('trashd_audit', json_build_object('tenant', tenant_id, 'from', min(id), 'to', max(id),
                    'origin', current_setting('application_name'))::text)
     from inserted group by tenant_id;
  return null;
end;
$$;

-- Enterprise events name the acting session (Ticket: the first 12 characters of the md5 of its ticket) so that a
-- client can tell its own changes, and the object's Format (its MIME type). A transaction that acts for a session
-- sets trashd.event_ticket; the rows it writes keep it without every statement passing it along.
alter table audit
  add column event_ticket text default nullif(current_setting('trashd.event_ticket', true), ''),
  add column item_format text;
