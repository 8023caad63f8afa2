-- Instances remember for a few seconds whose token a request carried. Any change to a
-- token (revocation) or a user (role, consignor) is announced on `callers_changed`
-- when it commits, so every instance forgets it at once: the token's digest for a
-- token, '' (forget everything) for a user or a TRUNCATE.

CREATE FUNCTION announce_caller_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_LEVEL = 'ROW' AND TG_TABLE_NAME = 'api_tokens' THEN
        PERFORM pg_notify('callers_changed', OLD.token_sha256);
    ELSE
        PERFORM pg_notify('callers_changed', '');
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER api_tokens_changed AFTER UPDATE OR DELETE ON api_tokens
    FOR EACH ROW EXECUTE FUNCTION announce_caller_change();
CREATE TRIGGER api_tokens_truncated AFTER TRUNCATE ON api_tokens
    FOR EACH STATEMENT EXECUTE FUNCTION announce_caller_change();
CREATE TRIGGER users_changed AFTER UPDATE OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION announce_caller_change();
CREATE TRIGGER users_truncated AFTER TRUNCATE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION announce_caller_change();
