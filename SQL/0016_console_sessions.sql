-- Console sessions (issue 17): a browser signs in with a user's API token once and gets
-- a session of its own, kept here by its SHA-256 only (as tokens are), with the CSRF
-- token its forms carry, expiring after a working day of disuse at most. A session dies
-- with its user's tokens: revocation deletes it, and a lookup refuses a revoked user.
CREATE TABLE console_sessions (
    token_sha256  text PRIMARY KEY CHECK (length(token_sha256) = 64),
    user_id       uuid NOT NULL REFERENCES users (id),
    csrf_token    text NOT NULL CHECK (length(csrf_token) BETWEEN 32 AND 128),
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL
);
CREATE INDEX console_sessions_user ON console_sessions (user_id);
CREATE INDEX console_sessions_expiry ON console_sessions (expires_at);
