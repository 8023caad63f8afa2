-- Every case to an end, and the money out (domain rules section 10).
--
-- Cases move open -> ready -> settled -> closed, or are redeemed (then closed) or
-- withdrawn; vehicles are returned to the consignor or released to the borrower; lots
-- are cancelled with a reason. Money the case owes leaves by recorded payouts; money
-- it is owed arrives as case receipts (the borrower's payments before the sale, a
-- redemption, the consignor paying what it owes its case).

ALTER TABLE cases DROP CONSTRAINT cases_status_check;
ALTER TABLE cases ADD CONSTRAINT cases_status_check
    CHECK (status IN ('open', 'settled', 'redeemed', 'closed', 'withdrawn'));
ALTER TABLE cases ADD COLUMN closed_at timestamptz;

ALTER TABLE vehicles DROP CONSTRAINT vehicles_status_check;
ALTER TABLE vehicles ADD CONSTRAINT vehicles_status_check
    CHECK (status IN ('in-stock', 'sold', 'returned', 'released'));
-- Why a vehicle went back to the consignor (unsaleable, recalled, court order, ...).
ALTER TABLE vehicles ADD COLUMN disposal_reason text CHECK (length(disposal_reason) BETWEEN 1 AND 500);
ALTER TABLE vehicles ADD COLUMN disposed_at timestamptz;
ALTER TABLE vehicles ADD CONSTRAINT vehicles_return_explained
    CHECK (status <> 'returned' OR disposal_reason IS NOT NULL);

ALTER TABLE lots ADD COLUMN cancel_reason text CHECK (length(cancel_reason) BETWEEN 1 AND 500);
ALTER TABLE lots ADD COLUMN cancelled_by uuid REFERENCES users (id);
ALTER TABLE lots ADD COLUMN cancelled_at timestamptz;
-- A lot cancelled before this migration has no recorded reason; every later one has.
ALTER TABLE lots ADD CONSTRAINT lots_cancel_explained
    CHECK (status <> 'cancelled' OR cancel_reason IS NOT NULL OR cancelled_at IS NULL);

-- A statement is 'reversed' when finance reopens its case before money moved on it.
ALTER TABLE settlement_statements DROP CONSTRAINT settlement_statements_status_check;
ALTER TABLE settlement_statements ADD CONSTRAINT settlement_statements_status_check
    CHECK (status IN ('final', 'superseded', 'reversed'));
ALTER TABLE settlement_statements ADD COLUMN interest_to date;
ALTER TABLE settlement_statements ADD COLUMN kind text NOT NULL DEFAULT 'sale' CHECK (kind IN ('sale', 'redemption'));

CREATE OR REPLACE FUNCTION settlement_statement_is_final() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR NEW.body IS DISTINCT FROM OLD.body OR NEW.surplus <> OLD.surplus
       OR NEW.deficiency <> OLD.deficiency OR NEW.settlement_date <> OLD.settlement_date OR NEW.case_id <> OLD.case_id
       OR NEW.interest_to IS DISTINCT FROM OLD.interest_to OR NEW.kind <> OLD.kind
       OR NOT (OLD.status = 'final' AND NEW.status IN ('superseded', 'reversed')) THEN
        RAISE EXCEPTION 'settlement statements are final: issue a correction instead'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;

ALTER TABLE surplus_refunds ADD COLUMN paid_on date;
ALTER TABLE surplus_refunds ADD CONSTRAINT surplus_refunds_paid_dated CHECK (status <> 'paid' OR paid_at IS NOT NULL);

-- Money a case receives other than a buyer's payment.
CREATE TABLE case_receipts (
    id           uuid PRIMARY KEY,
    seq          bigserial UNIQUE,
    case_id      uuid NOT NULL REFERENCES cases (id),
    kind         text NOT NULL CHECK (kind IN ('borrower-payment', 'redemption', 'consignor-payment')),
    currency     char(3) NOT NULL,
    amount       minor_units NOT NULL CHECK (amount > 0),
    reference    text NOT NULL CHECK (length(reference) BETWEEN 1 AND 200),
    received_on  date NOT NULL,
    recorded_by  uuid NOT NULL REFERENCES users (id),
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX case_receipts_case ON case_receipts (case_id, seq);
-- A case is redeemed once.
CREATE UNIQUE INDEX case_receipts_one_redemption ON case_receipts (case_id) WHERE kind = 'redemption';

-- Money paid out of what a case owes: the lender's share, a junior's distribution, a
-- vendor's expense, a defaulted buyer's part payment.
CREATE TABLE payouts (
    id           uuid PRIMARY KEY,
    seq          bigserial UNIQUE,
    case_id      uuid NOT NULL REFERENCES cases (id),
    kind         text NOT NULL CHECK (kind IN ('consignor', 'lienholder', 'vendor', 'buyer-refund')),
    payee        text NOT NULL CHECK (length(payee) BETWEEN 1 AND 200),
    currency     char(3) NOT NULL,
    amount       minor_units NOT NULL CHECK (amount > 0),
    reference    text NOT NULL CHECK (length(reference) BETWEEN 1 AND 200),
    paid_on      date NOT NULL,
    recorded_by  uuid NOT NULL REFERENCES users (id),
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payouts_case ON payouts (case_id, kind, payee);

-- Who paid a deficiency recovery: the borrower or a named guarantor.
ALTER TABLE deficiency_recoveries ADD COLUMN payer text CHECK (length(payer) BETWEEN 1 AND 200);

ALTER TABLE reconciliation_matches DROP CONSTRAINT reconciliation_matches_book_kind_check;
ALTER TABLE reconciliation_matches ADD CONSTRAINT reconciliation_matches_book_kind_check
    CHECK (book_kind IN ('deposit', 'payment', 'deposit-refund', 'surplus-payout', 'deficiency-recovery',
                         'case-receipt', 'payout'));

-- A token stops working at once when its user is revoked.
ALTER TABLE users ADD COLUMN revoked_at timestamptz;

-- `ready` is not stored: an open case with vehicles, every one of them disposed of
-- (sold and paid, returned or released), reads as ready, as a scheduled lot reads as
-- open from its start. Adding a vehicle makes it open again by itself.
CREATE FUNCTION case_effective_status(case_id uuid, status text) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN status = 'open'
                     AND EXISTS (SELECT 1 FROM vehicles v WHERE v.case_id = $1)
                     AND NOT EXISTS (SELECT 1 FROM vehicles v WHERE v.case_id = $1 AND v.status = 'in-stock')
                THEN 'ready' ELSE status END
$$;

-- Users and consignors are listed in the order made (GET /v1/users, /v1/consignors).
ALTER TABLE users ADD COLUMN seq bigserial UNIQUE;
ALTER TABLE consignors ADD COLUMN seq bigserial UNIQUE;

-- The lender's daily hand-over (POST /v1/cases/import): a file is imported once per
-- consignor; the same file again answers what the first import answered.
CREATE TABLE case_imports (
    consignor_id  uuid NOT NULL REFERENCES consignors (id),
    file_sha256   text NOT NULL CHECK (file_sha256 ~ '^[0-9a-f]{64}$'),
    answer        jsonb NOT NULL,
    imported_by   uuid NOT NULL REFERENCES users (id),
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consignor_id, file_sha256)
);
