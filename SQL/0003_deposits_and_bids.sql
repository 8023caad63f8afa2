-- Bidder deposits and bids. A lot's public state (price, leader, bid count, end)
-- lives on its row, which every bid locks; each bidder's current maximum has a row
-- of its own so the two highest come from an index, not a scan of the bid history.

CREATE TABLE deposits (
    id           uuid PRIMARY KEY,
    seq          bigserial UNIQUE,
    lot_id       uuid NOT NULL REFERENCES lots (id),
    bidder_id    uuid NOT NULL REFERENCES users (id),
    amount       minor_units NOT NULL CHECK (amount > 0),
    reference    text NOT NULL CHECK (length(reference) BETWEEN 1 AND 200),
    status       text NOT NULL DEFAULT 'held'
                 CHECK (status IN ('held', 'refund-due', 'refunded', 'applied', 'forfeited')),
    recorded_by  uuid NOT NULL REFERENCES users (id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

-- One deposit in force per bidder and lot.
CREATE UNIQUE INDEX deposits_one_held ON deposits (lot_id, bidder_id) WHERE status = 'held';
CREATE INDEX deposits_bidder ON deposits (bidder_id, seq);

ALTER TABLE lots
    ADD COLUMN current_price minor_units,
    ADD COLUMN leader_id uuid REFERENCES users (id),
    ADD COLUMN bid_count integer NOT NULL DEFAULT 0;

-- Every accepted bid, in the order the lot's row lock admitted them.
CREATE SEQUENCE bid_sequence;

CREATE TABLE bids (
    id            uuid PRIMARY KEY,
    lot_id        uuid NOT NULL REFERENCES lots (id),
    bidder_id     uuid NOT NULL REFERENCES users (id),
    sequence      bigint NOT NULL UNIQUE,
    max_amount    minor_units NOT NULL,
    price_after   minor_units NOT NULL,
    leader_after  uuid NOT NULL REFERENCES users (id),
    ends_at_after timestamptz NOT NULL,
    placed_at     timestamptz NOT NULL
);

CREATE INDEX bids_lot ON bids (lot_id, sequence);

-- Each bidder's latest maximum (or sealed amount) on a lot.
CREATE TABLE lot_maxima (
    lot_id     uuid NOT NULL REFERENCES lots (id),
    bidder_id  uuid NOT NULL REFERENCES users (id),
    amount     minor_units NOT NULL,
    sequence   bigint NOT NULL,
    PRIMARY KEY (lot_id, bidder_id)
);

CREATE INDEX lot_maxima_rank ON lot_maxima (lot_id, amount DESC, sequence ASC);

-- "Bidder 3": a stable per-lot alias, so the public history never names anyone.
CREATE TABLE lot_aliases (
    lot_id     uuid NOT NULL REFERENCES lots (id),
    bidder_id  uuid NOT NULL REFERENCES users (id),
    number     integer NOT NULL,
    PRIMARY KEY (lot_id, bidder_id),
    UNIQUE (lot_id, number)
);

-- Bidders who defaulted on a vehicle may not bid on it again (filled by defaults).
CREATE TABLE bidder_bars (
    bidder_id   uuid NOT NULL REFERENCES users (id),
    vehicle_id  uuid NOT NULL REFERENCES vehicles (id),
    reason      text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (bidder_id, vehicle_id)
);
