-- A REST request that names an Idempotency-Key: the first answer to it, replayed to retries of the same request
-- by the same user for a day. A row without a status is a request still being answered.
create table idempotency_keys (
  tenant_id bigint not null references tenants (id) on delete cascade,
  user_id bigint not null,
  key text not null,
  -- what the request asked (method, path, body), so that the key reused for another request is refused
  fingerprint text not null,
  status integer,
  content_type text,
  body text,
  created_at timestamptz not null default now(),
  primary key (tenant_id, user_id, key)
);
