-- The event stream shows a subscriber only events of items it may see, which includes items it owns. A purged
-- row is gone by the time its event is read, so the audit row keeps the owner, as it keeps brand and deleter.
alter table audit add column item_owner_id bigint;
