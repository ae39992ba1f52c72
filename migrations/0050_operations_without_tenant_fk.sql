-- An operation row's tenant was checked against tenants by a foreign key: one row lock (FOR KEY SHARE) on the
-- tenant's row per trash or restore, so every write of a tenant locked the same row, and concurrent writers
-- shared it through a multixact. Tenants are never deleted, and every operation row is written for a signed-in
-- actor's tenant or, by a lone statement, only when an item of that tenant changed; the audit table has never
-- had the key either.
alter table operations drop constraint operations_tenant_id_fkey;
