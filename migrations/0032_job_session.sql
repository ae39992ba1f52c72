-- The session the request that asked for a job came with, as operations keep it (an md5 tag of its ticket, never
-- the ticket): the job's operation and audit rows carry it like those of any request of that session.
alter table jobs add column session text;
