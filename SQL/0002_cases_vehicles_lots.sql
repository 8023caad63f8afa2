-- Cases (defaulted loans), their repossessed vehicles, appraisals with
-- maker-checker approval, and lots: one vehicle offered in one round.

CREATE DOMAIN minor_units AS bigint CHECK (VALUE BETWEEN 0 AND 10000000000000);

CREATE TABLE cases (
    id                 uuid PRIMARY KEY,
    seq                bigserial UNIQUE,
    consignor_id       uuid NOT NULL REFERENCES consignors (id),
    loan_number        text NOT NULL CHECK (length(loan_number) BETWEEN 1 AND 100),
    borrower           jsonb NOT NULL,
    guarantors         jsonb NOT NULL,
    principal          minor_units NOT NULL,
    interest           minor_units NOT NULL,
    fees               minor_units NOT NULL,
    per_diem_interest  minor_units NOT NULL,
    balances_as_of     date NOT NULL,
    lienholders        jsonb NOT NULL,
    credits            jsonb NOT NULL,
    status             text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'settled')),
    created_at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (consignor_id, loan_number)
);

CREATE TABLE vehicles (
    id              uuid PRIMARY KEY,
    seq             bigserial UNIQUE,
    case_id         uuid NOT NULL REFERENCES cases (id),
    vin             text NOT NULL CHECK (vin ~ '^[A-HJ-NPR-Z0-9]{17}$'),
    make            text NOT NULL,
    model           text NOT NULL,
    year            integer NOT NULL,
    mileage_km      integer NOT NULL CHECK (mileage_km BETWEEN 0 AND 2000000),
    color           text,
    location        text,
    has_keys        boolean NOT NULL,
    title_status    text NOT NULL,
    repossessed_on  date NOT NULL,
    -- in-stock until sold and paid (sold) or handed back to the consignor (returned).
    status          text NOT NULL DEFAULT 'in-stock' CHECK (status IN ('in-stock', 'sold', 'returned')),
    created_at      timestamptz NOT NULL DEFAULT now()
);

-- A VIN is unique among vehicles not yet disposed of.
CREATE UNIQUE INDEX vehicles_vin_in_stock ON vehicles (vin) WHERE status = 'in-stock';
CREATE INDEX vehicles_case ON vehicles (case_id);

CREATE TABLE appraisals (
    id                      uuid PRIMARY KEY,
    vehicle_id              uuid NOT NULL REFERENCES vehicles (id),
    author_id               uuid NOT NULL REFERENCES users (id),
    method                  text NOT NULL CHECK (method IN ('comparables', 'manual')),
    status                  text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'approved', 'rejected', 'superseded')),
    valuation_date          date NOT NULL,
    condition_grade_tenths  integer NOT NULL CHECK (condition_grade_tenths BETWEEN 0 AND 50),
    damages                 jsonb NOT NULL,
    comparables             jsonb NOT NULL,
    base_value              minor_units,
    condition_bp            integer,
    damage_total            minor_units NOT NULL,
    market_value            minor_units NOT NULL,
    liquidation_value       minor_units NOT NULL CHECK (liquidation_value <= market_value),
    reason                  text,
    decided_by              uuid REFERENCES users (id),
    decided_at              timestamptz,
    rejection_reason        text,
    created_at              timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT manual_has_reason CHECK (method = 'comparables' OR reason IS NOT NULL),
    -- Maker-checker: whoever decides is not the author.
    CONSTRAINT checker_is_not_maker CHECK (decided_by IS NULL OR decided_by <> author_id)
);

-- A vehicle has at most one approved appraisal.
CREATE UNIQUE INDEX appraisals_one_approved ON appraisals (vehicle_id) WHERE status = 'approved';
CREATE INDEX appraisals_vehicle ON appraisals (vehicle_id, created_at);

CREATE TABLE lots (
    id                        uuid PRIMARY KEY,
    seq                       bigserial UNIQUE,
    vehicle_id                uuid NOT NULL REFERENCES vehicles (id),
    consignor_id              uuid NOT NULL REFERENCES consignors (id),
    appraisal_id              uuid NOT NULL REFERENCES appraisals (id),
    previous_lot_id           uuid REFERENCES lots (id),
    round                     integer NOT NULL CHECK (round >= 1),
    format                    text NOT NULL CHECK (format IN ('english', 'sealed', 'fixed')),
    -- 'scheduled' reads as 'open' from starts_at on (the database clock decides).
    status                    text NOT NULL DEFAULT 'scheduled'
                              CHECK (status IN ('scheduled', 'closed', 'sold', 'unsold', 'pending-approval', 'defaulted', 'cancelled')),
    currency                  char(3) NOT NULL,
    starts_at                 timestamptz NOT NULL,
    ends_at                   timestamptz NOT NULL,
    extension_window_seconds  integer NOT NULL CHECK (extension_window_seconds >= 1),
    extension_seconds         integer NOT NULL CHECK (extension_seconds >= 1),
    starting_price            minor_units NOT NULL,
    reserve                   minor_units NOT NULL,
    deposit_amount            minor_units NOT NULL,
    increments                jsonb NOT NULL,
    override_reason           text,
    created_by                uuid NOT NULL REFERENCES users (id),
    created_at                timestamptz NOT NULL DEFAULT now(),
    CHECK (starts_at < ends_at),
    CHECK (starting_price <= reserve),
    UNIQUE (vehicle_id, round)
);

-- One live lot per vehicle at a time.
CREATE UNIQUE INDEX lots_one_live_per_vehicle ON lots (vehicle_id)
    WHERE status IN ('scheduled', 'closed', 'pending-approval');
CREATE INDEX lots_consignor ON lots (consignor_id, seq);
CREATE INDEX lots_status ON lots (status, starts_at);

-- The status a lot shows: scheduled lots are open from starts_at on.
CREATE FUNCTION lot_effective_status(status text, starts_at timestamptz) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN status = 'scheduled' AND now() >= starts_at THEN 'open' ELSE status END
$$;
