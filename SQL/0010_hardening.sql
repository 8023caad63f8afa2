-- Hardening (issue 13).
--
-- A lot the closer cannot close is set aside as 'close-failed' with the reason, so it
-- neither spins nor holds back the lots behind it; an operator decides what happens
-- to it (Docs/operations.md). A failure that may pass is retried a few times, the lot
-- queued behind those that never failed (close_attempts).
ALTER TABLE lots DROP CONSTRAINT lots_status_check;
ALTER TABLE lots ADD CONSTRAINT lots_status_check
    CHECK (status IN ('scheduled', 'closed', 'sold', 'unsold', 'pending-approval', 'defaulted', 'cancelled', 'close-failed'));
ALTER TABLE lots ADD COLUMN close_failure text;
ALTER TABLE lots ADD COLUMN close_attempts integer NOT NULL DEFAULT 0;
ALTER TABLE lots ADD CONSTRAINT lots_close_failure_explained
    CHECK ((status = 'close-failed') = (close_failure IS NOT NULL));

-- A lot's fees are frozen when it is created (domain rules section 4). Lots made
-- before this keep the fees their consignor's policy holds now, which is what they
-- would have been invoiced at.
ALTER TABLE lots ADD COLUMN fees jsonb;
UPDATE lots l SET fees = c.policy -> 'fees' FROM consignors c WHERE c.id = l.consignor_id;
ALTER TABLE lots ALTER COLUMN fees SET NOT NULL;

-- Stored answers for Idempotency-Key expire (24 h by default); the sweep finds them by age.
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
