-- Foundation: consignors with their policy, users and their API tokens,
-- the append-only audit trail, and stored answers for Idempotency-Key.

CREATE TABLE consignors (
    id          uuid PRIMARY KEY,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    currency    char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    policy      jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    id            uuid PRIMARY KEY,
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    role          text NOT NULL CHECK (role IN ('admin', 'manager', 'appraiser', 'finance', 'bidder')),
    consignor_id  uuid REFERENCES consignors (id),
    created_at    timestamptz NOT NULL DEFAULT now(),
    -- A manager acts for exactly one consignor; no other role is bound to one.
    CONSTRAINT manager_has_consignor CHECK ((role = 'manager') = (consignor_id IS NOT NULL))
);

CREATE INDEX users_consignor ON users (consignor_id) WHERE consignor_id IS NOT NULL;

-- Only the SHA-256 of a token is kept; the token itself is shown once at creation.
CREATE TABLE api_tokens (
    token_sha256  text PRIMARY KEY CHECK (token_sha256 ~ '^[0-9a-f]{64}$'),
    user_id       uuid NOT NULL REFERENCES users (id),
    created_at    timestamptz NOT NULL DEFAULT now(),
    revoked_at    timestamptz
);

CREATE INDEX api_tokens_user ON api_tokens (user_id);

CREATE TABLE audit_log (
    seq         bigserial PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    actor_id    uuid,
    actor_name  text NOT NULL,
    action      text NOT NULL,
    entity_type text NOT NULL,
    entity_id   uuid NOT NULL,
    before      jsonb,
    after       jsonb,
    request_id  text
);

CREATE INDEX audit_log_entity ON audit_log (entity_id, seq);

-- The audit trail is evidence: PostgreSQL itself refuses to change or remove it.
CREATE FUNCTION audit_log_is_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER audit_log_no_update_or_delete
    BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only();

CREATE TRIGGER audit_log_no_truncate
    BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_is_append_only();

-- The first answer to a POST with an Idempotency-Key, replayed for a retry.
CREATE TABLE idempotency_keys (
    user_id          uuid NOT NULL REFERENCES users (id),
    key              text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    request_sha256   text NOT NULL,
    response_status  integer,
    response_body    text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);
