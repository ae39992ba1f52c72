-- Delete logs (srv.asmx GetDeleteLog) select audit rows of a tenant by time range.
create index audit_tenant_at_idx on audit (tenant_id, at);
