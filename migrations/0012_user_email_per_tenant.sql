-- IPS users sign in with their e-mail address as well as their login. An address names one user of a tenant; the
-- same address may belong to users of several tenants (a person in several companies). Leading with the address
-- serves the sign-in lookup, which does not know the tenant yet.
create unique index users_email_tenant_key on users (lower(email), tenant_id) where email is not null;
