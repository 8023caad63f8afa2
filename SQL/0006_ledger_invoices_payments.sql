-- Buyer-side money: a double-entry journal, invoices for sold lots, payments,
-- disposal expenses, and the deposit payout (domain rules sections 6, 7 and 9).

-- One entry per money event; `event_key` makes a second posting of the same event
-- impossible. Amounts are minor units of the entry's one currency.
CREATE TABLE journal_entries (
    id          uuid PRIMARY KEY,
    seq         bigserial UNIQUE,
    event_key   text NOT NULL UNIQUE,
    kind        text NOT NULL,
    case_id     uuid REFERENCES cases (id),
    currency    char(3) NOT NULL,
    memo        text NOT NULL,
    posted_at   timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX journal_entries_case ON journal_entries (case_id, seq);

CREATE TABLE journal_lines (
    entry_id  uuid NOT NULL REFERENCES journal_entries (id),
    line_no   integer NOT NULL,
    account   text NOT NULL CHECK (length(account) BETWEEN 1 AND 100),
    debit     minor_units NOT NULL,
    credit    minor_units NOT NULL,
    PRIMARY KEY (entry_id, line_no),
    -- Each line is a debit or a credit, never both, never nothing.
    CHECK ((debit > 0) <> (credit > 0))
);

CREATE INDEX journal_lines_account ON journal_lines (account);

-- Corrections are reversing entries: the database itself refuses to change history.
CREATE FUNCTION journal_is_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the journal is append-only (% on %): post a reversing entry instead', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER journal_entries_no_update_or_delete BEFORE UPDATE OR DELETE ON journal_entries
    FOR EACH ROW EXECUTE FUNCTION journal_is_append_only();
CREATE TRIGGER journal_entries_no_truncate BEFORE TRUNCATE ON journal_entries
    FOR EACH STATEMENT EXECUTE FUNCTION journal_is_append_only();
CREATE TRIGGER journal_lines_no_update_or_delete BEFORE UPDATE OR DELETE ON journal_lines
    FOR EACH ROW EXECUTE FUNCTION journal_is_append_only();
CREATE TRIGGER journal_lines_no_truncate BEFORE TRUNCATE ON journal_lines
    FOR EACH STATEMENT EXECUTE FUNCTION journal_is_append_only();

-- Checked at commit, when all of an entry's lines are in: at least two lines and
-- debits equal to credits. A line added to an old entry re-checks that entry.
CREATE FUNCTION journal_entry_is_balanced() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    entry uuid;
    lines integer;
    debits numeric;
    credits numeric;
BEGIN
    IF TG_TABLE_NAME = 'journal_entries' THEN
        entry := NEW.id;
    ELSE
        entry := NEW.entry_id;
    END IF;
    SELECT count(*), COALESCE(sum(debit), 0), COALESCE(sum(credit), 0) INTO lines, debits, credits
    FROM journal_lines WHERE entry_id = entry;
    IF lines < 2 OR debits <> credits THEN
        RAISE EXCEPTION 'journal entry % is not balanced: % lines, debits %, credits %', entry, lines, debits, credits
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER journal_entries_balanced AFTER INSERT ON journal_entries
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION journal_entry_is_balanced();
CREATE CONSTRAINT TRIGGER journal_lines_balanced AFTER INSERT ON journal_lines
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION journal_entry_is_balanced();

-- The buyer's invoice for a sold lot; one per lot.
CREATE TABLE invoices (
    id               uuid PRIMARY KEY,
    seq              bigserial UNIQUE,
    lot_id           uuid NOT NULL UNIQUE REFERENCES lots (id),
    case_id          uuid NOT NULL REFERENCES cases (id),
    bidder_id        uuid NOT NULL REFERENCES users (id),
    deposit_id       uuid REFERENCES deposits (id),
    currency         char(3) NOT NULL,
    price            minor_units NOT NULL,
    buyer_premium    minor_units NOT NULL,
    doc_fee          minor_units NOT NULL,
    total            minor_units NOT NULL,
    deposit_applied  minor_units NOT NULL,
    amount_due       minor_units NOT NULL,
    paid             minor_units NOT NULL DEFAULT 0,
    status           text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'paid', 'defaulted')),
    due_at           timestamptz NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    paid_at          timestamptz,
    defaulted_at     timestamptz,
    CHECK (total = price + buyer_premium + doc_fee),
    CHECK (amount_due = total - deposit_applied),
    CHECK (paid <= amount_due),
    CHECK (status <> 'paid' OR paid = amount_due)
);

CREATE INDEX invoices_overdue ON invoices (due_at) WHERE status = 'open';
CREATE INDEX invoices_case ON invoices (case_id);

CREATE TABLE payments (
    id           uuid PRIMARY KEY,
    seq          bigserial UNIQUE,
    invoice_id   uuid NOT NULL REFERENCES invoices (id),
    amount       minor_units NOT NULL CHECK (amount > 0),
    reference    text NOT NULL CHECK (length(reference) BETWEEN 1 AND 200),
    received_on  date NOT NULL,
    recorded_by  uuid NOT NULL REFERENCES users (id),
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX payments_invoice ON payments (invoice_id, seq);

-- Disposal expenses of a case; the seller fee is written here by Gavel when an
-- invoice is paid in full.
CREATE TABLE expenses (
    id           uuid PRIMARY KEY,
    seq          bigserial UNIQUE,
    case_id      uuid NOT NULL REFERENCES cases (id),
    kind         text NOT NULL CHECK (kind IN ('repossession', 'transport', 'storage', 'reconditioning', 'appraisal',
                                               'seller-fee', 'legal', 'other')),
    amount       minor_units NOT NULL CHECK (amount > 0),
    incurred_on  date NOT NULL,
    vendor       text CHECK (length(vendor) <= 200),
    reference    text CHECK (length(reference) <= 200),
    invoice_id   uuid UNIQUE REFERENCES invoices (id),
    recorded_by  uuid REFERENCES users (id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind = 'seller-fee') = (invoice_id IS NOT NULL))
);

CREATE INDEX expenses_case ON expenses (case_id, seq);

ALTER TABLE deposits
    ADD COLUMN payout_reference text CHECK (length(payout_reference) BETWEEN 1 AND 200),
    ADD COLUMN refunded_at timestamptz,
    ADD CONSTRAINT deposits_refund_has_reference CHECK ((status = 'refunded') = (payout_reference IS NOT NULL));

-- Paid in full: the buyer may collect the vehicle.
ALTER TABLE vehicles ADD COLUMN released_at timestamptz;
