-- Closing lots: the outcome, when it happened, and the deadline for a manager's
-- decision on a bid below the reserve.

ALTER TABLE lots
    ADD COLUMN closed_at timestamptz,
    ADD COLUMN winner_id uuid REFERENCES users (id),
    ADD COLUMN hammer_price minor_units,
    ADD COLUMN decision_due_at timestamptz;

CREATE INDEX lots_due ON lots (ends_at) WHERE status = 'scheduled';
CREATE INDEX lots_decision_due ON lots (decision_due_at) WHERE status = 'pending-approval';
