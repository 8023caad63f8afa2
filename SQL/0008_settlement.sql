-- Case settlement: immutable statements (a correction supersedes, never edits),
-- surplus refunds owed to borrowers and deficiency claims against borrowers and
-- guarantors, with the recoveries on them (domain rules section 8).

CREATE TABLE settlement_statements (
    id               uuid PRIMARY KEY,
    seq              bigserial UNIQUE,
    case_id          uuid NOT NULL REFERENCES cases (id),
    currency         char(3) NOT NULL,
    settlement_date  date NOT NULL,
    -- The statement as issued, in the contract's shape; never changed afterwards.
    body             jsonb NOT NULL,
    surplus          minor_units NOT NULL,
    deficiency       minor_units NOT NULL,
    status           text NOT NULL DEFAULT 'final' CHECK (status IN ('final', 'superseded')),
    supersedes       uuid REFERENCES settlement_statements (id),
    issued_by        uuid NOT NULL REFERENCES users (id),
    issued_at        timestamptz NOT NULL DEFAULT now(),
    CHECK (surplus = 0 OR deficiency = 0)
);

CREATE UNIQUE INDEX settlement_one_final_per_case ON settlement_statements (case_id) WHERE status = 'final';

-- A statement's content is final: only its status may move, and only to superseded.
CREATE FUNCTION settlement_statement_is_final() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR NEW.body IS DISTINCT FROM OLD.body OR NEW.surplus <> OLD.surplus
       OR NEW.deficiency <> OLD.deficiency OR NEW.settlement_date <> OLD.settlement_date OR NEW.case_id <> OLD.case_id
       OR NOT (OLD.status = 'final' AND NEW.status = 'superseded') THEN
        RAISE EXCEPTION 'settlement statements are final: issue a correction instead'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER settlement_statements_final BEFORE UPDATE OR DELETE ON settlement_statements
    FOR EACH ROW EXECUTE FUNCTION settlement_statement_is_final();

CREATE TABLE surplus_refunds (
    id                uuid PRIMARY KEY,
    seq               bigserial UNIQUE,
    case_id           uuid NOT NULL REFERENCES cases (id),
    statement_id      uuid NOT NULL UNIQUE REFERENCES settlement_statements (id),
    currency          char(3) NOT NULL,
    amount            minor_units NOT NULL CHECK (amount > 0),
    borrower          text NOT NULL,
    status            text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'paid', 'cancelled')),
    payout_reference  text CHECK (length(payout_reference) BETWEEN 1 AND 200),
    paid_at           timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'paid') = (payout_reference IS NOT NULL))
);

CREATE TABLE deficiency_claims (
    id                uuid PRIMARY KEY,
    seq               bigserial UNIQUE,
    case_id           uuid NOT NULL REFERENCES cases (id),
    statement_id      uuid NOT NULL UNIQUE REFERENCES settlement_statements (id),
    currency          char(3) NOT NULL,
    amount            minor_units NOT NULL CHECK (amount > 0),
    recovered         minor_units NOT NULL DEFAULT 0,
    -- The borrower and every guarantor, jointly liable.
    debtors           jsonb NOT NULL,
    status            text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'settled', 'written-off', 'cancelled')),
    write_off_reason  text CHECK (length(write_off_reason) BETWEEN 1 AND 500),
    closed_at         timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    CHECK (recovered <= amount),
    CHECK ((status = 'settled') = (recovered = amount)),
    CHECK ((status = 'written-off') = (write_off_reason IS NOT NULL))
);

CREATE TABLE deficiency_recoveries (
    id           uuid PRIMARY KEY,
    seq          bigserial UNIQUE,
    claim_id     uuid NOT NULL REFERENCES deficiency_claims (id),
    amount       minor_units NOT NULL CHECK (amount > 0),
    reference    text NOT NULL CHECK (length(reference) BETWEEN 1 AND 200),
    received_on  date NOT NULL,
    recorded_by  uuid NOT NULL REFERENCES users (id),
    created_at   timestamptz NOT NULL DEFAULT now()
);
