-- Live events no longer ride on the writing transaction. PostgreSQL serialises the commit of every transaction
-- that issued NOTIFY (one lock on the notification queue, held to the end of commit): with the audit trigger, the
-- minimal single-item transaction committed at 363-613 per second instead of 2,300-8,000 on the same machine.
-- Each instance that has subscribers or publishers now follows the audit table itself (src/db/event-bus.ts).
drop trigger audit_notify on audit;
drop function audit_notify();

-- Which instance wrote a row (its connections' application_name), so that each instance publishes exactly its own
-- events to n-casting and RabbitMQ, and none twice.
alter table audit add column origin text default nullif(current_setting('application_name', true), '');
