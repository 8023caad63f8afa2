-- Bank reconciliation: the bank's statement lines as uploaded, and which recorded
-- receipt or payout each was matched to. A line is stored once (its fingerprint and
-- its occurrence among identical lines of a file), and a book item is matched once.

CREATE TABLE bank_lines (
    id            uuid PRIMARY KEY,
    seq           bigserial UNIQUE,
    upload_id     uuid NOT NULL,
    line_no       integer NOT NULL CHECK (line_no >= 1),
    currency      char(3) NOT NULL,
    booked_on     date NOT NULL,
    -- Money in is positive, money out negative.
    amount        bigint NOT NULL CHECK (amount BETWEEN -10000000000000 AND 10000000000000 AND amount <> 0),
    reference     text NOT NULL CHECK (length(reference) <= 200),
    counterparty  text NOT NULL CHECK (length(counterparty) <= 200),
    fingerprint   text NOT NULL,
    occurrence    integer NOT NULL CHECK (occurrence >= 1),
    uploaded_by   uuid NOT NULL REFERENCES users (id),
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (currency, fingerprint, occurrence)
);

CREATE TABLE reconciliation_matches (
    bank_line_id  uuid PRIMARY KEY REFERENCES bank_lines (id),
    book_kind     text NOT NULL CHECK (book_kind IN ('deposit', 'payment', 'deposit-refund')),
    book_id       uuid NOT NULL,
    rule          text NOT NULL CHECK (rule IN ('reference', 'amount-and-date')),
    matched_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (book_kind, book_id)
);
