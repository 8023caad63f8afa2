-- The bid decision as one server-side function, so a bid costs one round trip while
-- it holds the lot's row lock; and the lot's public events (price, extended, closed),
-- numbered per lot, for the Server-Sent Events stream and its Last-Event-ID resume.
--
-- place_bid mirrors GavelCore.Auction.place rule for rule (domain rules section 5).
-- The Swift engine stays the reference: the tests replay every stored bid through it
-- and compare, so the two cannot drift apart unnoticed.

-- The step above a price, from a lot's increment table ([{below, step}], last below null).
CREATE FUNCTION lot_increment(increments jsonb, price bigint) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$
    SELECT COALESCE(
        (SELECT (band ->> 'step')::bigint
         FROM jsonb_array_elements(increments) WITH ORDINALITY AS t(band, position)
         WHERE band ->> 'below' IS NULL OR price < (band ->> 'below')::bigint
         ORDER BY position LIMIT 1),
        (increments -> -1 ->> 'step')::bigint,
        1)
$$;

-- What the next bid must reach: the start before any bid, then price + increment
-- (English); sealed and fixed-price lots always show their start.
CREATE FUNCTION lot_minimum_next_bid(format text, starting_price bigint, current_price bigint, increments jsonb)
RETURNS bigint LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN current_price IS NULL OR format <> 'english' THEN starting_price
        ELSE current_price + lot_increment(increments, current_price)
    END
$$;

ALTER TABLE lots ADD COLUMN event_count integer NOT NULL DEFAULT 0;

-- Each event carries the lot's public state at that moment. Nothing here names a
-- bidder or a maximum; the stream hides sealed prices while bidding runs.
CREATE TABLE lot_events (
    lot_id           uuid NOT NULL REFERENCES lots (id),
    seq              integer NOT NULL CHECK (seq >= 1),
    kind             text NOT NULL CHECK (kind IN ('price', 'extended', 'closed')),
    status           text NOT NULL,
    current_price    bigint,
    bid_count        integer NOT NULL,
    reserve_met      boolean NOT NULL,
    minimum_next_bid bigint NOT NULL,
    ends_at          timestamptz NOT NULL,
    hammer_price     bigint,
    created_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (lot_id, seq)
);

-- Appends an event with the lot's current public state and tells every listening
-- instance. The caller holds the lot's row lock, so per-lot numbers are gap-free and
-- in commit order; NOTIFY is delivered only if the transaction commits.
CREATE FUNCTION record_lot_event(p_lot uuid, p_kind text) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    e lot_events%ROWTYPE;
BEGIN
    UPDATE lots SET event_count = event_count + 1 WHERE id = p_lot;
    INSERT INTO lot_events (lot_id, seq, kind, status, current_price, bid_count, reserve_met, minimum_next_bid,
                            ends_at, hammer_price)
    SELECT l.id, l.event_count, p_kind, lot_effective_status(l.status, l.starts_at), l.current_price, l.bid_count,
           COALESCE(l.current_price >= l.reserve, false),
           lot_minimum_next_bid(l.format, l.starting_price, l.current_price, l.increments),
           l.ends_at, l.hammer_price
    FROM lots l WHERE l.id = p_lot
    RETURNING * INTO e;
    -- Times as epoch microseconds: no time zone or format for the listener to guess.
    PERFORM pg_notify('lot_events', json_build_object(
        'lotId', e.lot_id, 'seq', e.seq, 'kind', e.kind, 'status', e.status, 'currentPrice', e.current_price,
        'bidCount', e.bid_count, 'reserveMet', e.reserve_met, 'minimumNextBid', e.minimum_next_bid,
        'endsAtMicros', floor(extract(epoch FROM e.ends_at) * 1000000)::bigint, 'hammerPrice', e.hammer_price)::text);
    RETURN e.seq;
END
$$;

-- Decides and records one bid. Returns one row: `answer` is 'accepted' or the refusal
-- code, with `answer_detail` the amount the refusal quotes (the minimum next bid, the
-- bidder's current maximum, the deposit or the fixed price).
-- `p_at` is for the edge tests alone (a bid at exactly endsAt, at exactly the start of
-- the soft-close window); Gavel never passes it, so the decision time is the
-- database's clock read after the lock.
CREATE FUNCTION place_bid(p_bid uuid, p_lot uuid, p_bidder uuid, p_amount bigint, p_at timestamptz DEFAULT NULL)
RETURNS TABLE (
    answer text, answer_detail bigint, placed_sequence bigint, new_price bigint, new_leader uuid,
    new_ends_at timestamptz, was_extended boolean, next_minimum bigint, lot_format text, placed_at timestamptz
)
LANGUAGE plpgsql AS $$
DECLARE
    l lots%ROWTYPE;
    v_now timestamptz;
    v_own bigint;
    v_minimum bigint;
    v_sequence bigint;
    v_first_bidder uuid;
    v_first bigint;
    v_second bigint;
    v_price bigint;
    v_leader uuid;
    v_ends_at timestamptz;
    v_extended boolean := false;
BEGIN
    SELECT * INTO l FROM lots WHERE id = p_lot FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'lot-not-found', NULL::bigint, NULL::bigint, NULL::bigint, NULL::uuid, NULL::timestamptz,
                            NULL::boolean, NULL::bigint, NULL::text, NULL::timestamptz;
        RETURN;
    END IF;
    -- Read after the lock is granted: a bid that waited behind the closer sees the lot closed.
    v_now := COALESCE(p_at, clock_timestamp());
    lot_format := l.format;
    IF l.status <> 'scheduled' OR v_now < l.starts_at OR v_now >= l.ends_at OR (l.format = 'fixed' AND l.bid_count > 0) THEN
        answer := 'lot-not-open';
        RETURN NEXT;
        RETURN;
    END IF;
    -- A bar says more than a missing deposit: a barred bidder could not fix it with one.
    IF EXISTS (SELECT 1 FROM bidder_bars b WHERE b.bidder_id = p_bidder AND b.vehicle_id = l.vehicle_id) THEN
        answer := 'bidder-barred';
        RETURN NEXT;
        RETURN;
    END IF;
    IF l.deposit_amount > 0 AND NOT EXISTS (
        SELECT 1 FROM deposits d
        WHERE d.lot_id = p_lot AND d.bidder_id = p_bidder AND d.status = 'held' AND d.amount >= l.deposit_amount
    ) THEN
        answer := 'deposit-required';
        answer_detail := l.deposit_amount;
        RETURN NEXT;
        RETURN;
    END IF;

    v_minimum := lot_minimum_next_bid(l.format, l.starting_price, l.current_price, l.increments);
    SELECT m.amount INTO v_own FROM lot_maxima m WHERE m.lot_id = p_lot AND m.bidder_id = p_bidder;
    IF l.format = 'english' AND l.leader_id = p_bidder AND v_own IS NOT NULL THEN
        -- The leader may only raise their own maximum.
        IF p_amount <= v_own THEN
            answer := 'bid-not-higher';
            answer_detail := v_own;
            RETURN NEXT;
            RETURN;
        END IF;
    ELSIF p_amount < v_minimum THEN
        answer := 'bid-too-low';
        answer_detail := v_minimum;
        RETURN NEXT;
        RETURN;
    END IF;
    IF l.format = 'fixed' AND p_amount <> l.starting_price THEN
        answer := 'not-the-fixed-price';
        answer_detail := l.starting_price;
        RETURN NEXT;
        RETURN;
    END IF;

    v_sequence := nextval('bid_sequence');
    INSERT INTO lot_maxima (lot_id, bidder_id, amount, sequence) VALUES (p_lot, p_bidder, p_amount, v_sequence)
    ON CONFLICT (lot_id, bidder_id) DO UPDATE SET amount = EXCLUDED.amount, sequence = EXCLUDED.sequence;
    v_ends_at := l.ends_at;

    IF l.format = 'english' THEN
        SELECT m.bidder_id, m.amount INTO v_first_bidder, v_first
        FROM lot_maxima m WHERE m.lot_id = p_lot ORDER BY m.amount DESC, m.sequence ASC LIMIT 1;
        SELECT m.amount INTO v_second
        FROM lot_maxima m WHERE m.lot_id = p_lot ORDER BY m.amount DESC, m.sequence ASC OFFSET 1 LIMIT 1;
        IF v_second IS NULL THEN
            v_price := l.starting_price;
        ELSE
            v_price := LEAST(v_first, v_second + lot_increment(l.increments, v_second));
        END IF;
        IF v_first >= l.reserve AND v_price < l.reserve THEN
            v_price := l.reserve;
        END IF;
        -- The public price never goes down (a leader raising their own maximum leaves it).
        v_price := GREATEST(v_price, COALESCE(l.current_price, v_price));
        v_leader := v_first_bidder;
        -- Soft close: a bid in the window moves the end to now + extension, never earlier.
        IF v_now >= l.ends_at - make_interval(secs => l.extension_window_seconds)
           AND v_now + make_interval(secs => l.extension_seconds) > l.ends_at THEN
            v_ends_at := v_now + make_interval(secs => l.extension_seconds);
            v_extended := true;
        END IF;
    ELSIF l.format = 'sealed' THEN
        SELECT m.bidder_id INTO v_leader
        FROM lot_maxima m WHERE m.lot_id = p_lot ORDER BY m.amount DESC, m.sequence ASC LIMIT 1;
        v_price := l.starting_price;
    ELSE
        -- Fixed price: the first bid at the price buys the vehicle and ends the lot now.
        v_price := l.starting_price;
        v_leader := p_bidder;
        v_ends_at := v_now;
    END IF;

    INSERT INTO bids (id, lot_id, bidder_id, sequence, max_amount, price_after, leader_after, ends_at_after, placed_at)
    VALUES (p_bid, p_lot, p_bidder, v_sequence, p_amount, v_price, v_leader, v_ends_at, v_now);
    UPDATE lots SET current_price = v_price, leader_id = v_leader, bid_count = bid_count + 1, ends_at = v_ends_at
    WHERE id = p_lot;
    INSERT INTO lot_aliases (lot_id, bidder_id, number)
    SELECT p_lot, p_bidder, COALESCE(max(a.number), 0) + 1 FROM lot_aliases a WHERE a.lot_id = p_lot
    ON CONFLICT (lot_id, bidder_id) DO NOTHING;
    PERFORM record_lot_event(p_lot, 'price');
    IF v_extended THEN
        PERFORM record_lot_event(p_lot, 'extended');
    END IF;

    answer := 'accepted';
    placed_sequence := v_sequence;
    new_price := v_price;
    new_leader := v_leader;
    new_ends_at := v_ends_at;
    was_extended := v_extended;
    next_minimum := lot_minimum_next_bid(l.format, l.starting_price, v_price, l.increments);
    placed_at := v_now;
    RETURN NEXT;
END
$$;
