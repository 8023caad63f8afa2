-- Refusals without the lot's lock (issue 18, the hot lot; Docs/benchmarks.md).
--
-- place_bid took the lot's row lock before deciding anything, so a refused bid (most of
-- the bids on a contested lot: quotes made stale by the others) locked the row, which
-- gave its transaction an ID and a commit to flush, and held the lock through that
-- flush: decisions on one lot went one WAL flush at a time, refusals included. Now the
-- checks run first on the lot as last committed; only a bid that passes them takes the
-- lock and runs them again on the locked state. The rules, their order and the answers
-- are those of SQL/0017; the rest of the function is unchanged.

CREATE OR REPLACE FUNCTION place_bid(p_bid uuid, p_lot uuid, p_bidder uuid, p_amount bigint, p_at timestamptz DEFAULT NULL)
RETURNS TABLE (
    answer text, answer_detail bigint, placed_sequence bigint, new_price bigint, new_leader uuid,
    new_ends_at timestamptz, was_extended boolean, next_minimum bigint, lot_format text, placed_at timestamptz,
    events text
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
    v_next bigint;
    v_events text;
    v_locked boolean;
    v_eligible boolean := false;
BEGIN
    -- The same checks twice: first on the lot as last committed, without its row lock,
    -- then under the lock on the state the bid will change. A refusal on the first pass
    -- holds at that moment of the request (a price only rises, a closed lot stays closed),
    -- and it writes nothing: no row lock, no transaction ID, no WAL flush at commit. On
    -- a contested lot most bids are refused, and each used to hold the lot's lock through
    -- its own commit's flush while the next bidders queued behind it.
    FOREACH v_locked IN ARRAY ARRAY[false, true] LOOP
        IF v_locked THEN
            SELECT * INTO l FROM lots WHERE id = p_lot FOR UPDATE;
        ELSE
            SELECT * INTO l FROM lots WHERE id = p_lot;
        END IF;
        IF NOT FOUND THEN
            RETURN QUERY SELECT 'lot-not-found', NULL::bigint, NULL::bigint, NULL::bigint, NULL::uuid, NULL::timestamptz,
                                NULL::boolean, NULL::bigint, NULL::text, NULL::timestamptz, NULL::text;
            RETURN;
        END IF;
        -- Read after the lock is granted: a bid that waited behind the closer sees the lot closed.
        v_now := COALESCE(p_at, clock_timestamp());
        lot_format := l.format;
        IF NOT v_locked AND l.status = 'scheduled' AND v_now >= l.ends_at THEN
            -- Past its end as last committed; but a bid inside the soft-close window may be
            -- committing its extension right now, and only the lock waits for it.
            CONTINUE;
        END IF;
        IF l.status <> 'scheduled' OR v_now < l.starts_at OR v_now >= l.ends_at OR (l.format = 'fixed' AND l.bid_count > 0) THEN
            answer := 'lot-not-open';
            RETURN NEXT;
            RETURN;
        END IF;
        IF NOT v_eligible THEN
            -- Who may bid at all comes before what this bidder did on this vehicle (domain rules
            -- section 5's order): a verified identity where the lot asks for one, with its dealer
            -- licence in force; then not a party related to the consignor.
            IF l.require_verified AND NOT EXISTS (
                SELECT 1 FROM bidder_verifications v
                WHERE v.bidder_id = p_bidder AND (v.licence_expires_on IS NULL OR v.licence_expires_on >= (v_now AT TIME ZONE 'UTC')::date)
            ) THEN
                answer := 'bidder-not-verified';
                RETURN NEXT;
                RETURN;
            END IF;
            IF EXISTS (
                SELECT 1 FROM bidder_verifications v
                WHERE v.bidder_id = p_bidder
                  AND (v.id_number IN (SELECT jsonb_array_elements_text(c.excluded_id_numbers)
                                       FROM vehicles vh JOIN cases c ON c.id = vh.case_id WHERE vh.id = l.vehicle_id)
                       OR EXISTS (SELECT 1 FROM bidder_verifications o JOIN users u ON u.id = o.bidder_id
                                  WHERE o.id_number = v.id_number AND u.consignor_id = l.consignor_id))
            ) THEN
                answer := 'bidder-related-party';
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
            v_eligible := true;
        END IF;

        v_minimum := lot_minimum_next_bid(l.format, l.starting_price, l.current_price, l.increments);
        -- A priority holder that does not lead may meet the current price itself (SPC 2016
        -- rules art. 19; domain rules section 11).
        IF l.format = 'english' AND l.current_price IS NOT NULL AND l.leader_id IS DISTINCT FROM p_bidder
           AND p_bidder = ANY (l.priority_holders) THEN
            v_minimum := l.current_price;
        END IF;
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
    END LOOP;

    v_sequence := nextval('bid_sequence');
    INSERT INTO lot_maxima (lot_id, bidder_id, amount, sequence) VALUES (p_lot, p_bidder, p_amount, v_sequence)
    ON CONFLICT (lot_id, bidder_id) DO UPDATE SET amount = EXCLUDED.amount, sequence = EXCLUDED.sequence;
    v_ends_at := l.ends_at;

    IF l.format = 'english' THEN
        SELECT (array_agg(r.bidder_id ORDER BY r.n))[1], (array_agg(r.amount ORDER BY r.n))[1], (array_agg(r.amount ORDER BY r.n))[2]
        INTO v_first_bidder, v_first, v_second
        FROM lot_ranked_maxima(p_lot, l.priority_holders, 2) WITH ORDINALITY AS r (bidder_id, amount, sequence, n);
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
        SELECT r.bidder_id INTO v_leader FROM lot_ranked_maxima(p_lot, l.priority_holders, 1) r LIMIT 1;
        v_price := l.starting_price;
    ELSE
        -- Fixed price: the first bid at the price buys the vehicle and ends the lot now.
        v_price := l.starting_price;
        v_leader := p_bidder;
        v_ends_at := v_now;
    END IF;

    v_next := lot_minimum_next_bid(l.format, l.starting_price, v_price, l.increments);
    INSERT INTO bids (id, lot_id, bidder_id, sequence, max_amount, price_after, leader_after, ends_at_after, placed_at)
    VALUES (p_bid, p_lot, p_bidder, v_sequence, p_amount, v_price, v_leader, v_ends_at, v_now);
    -- The lot row is written once: its new state and the numbers of its new events.
    UPDATE lots SET current_price = v_price, leader_id = v_leader, bid_count = bid_count + 1, ends_at = v_ends_at,
                    event_count = event_count + CASE WHEN v_extended THEN 2 ELSE 1 END
    WHERE id = p_lot;
    INSERT INTO lot_aliases (lot_id, bidder_id, number)
    SELECT p_lot, p_bidder, COALESCE(max(a.number), 0) + 1 FROM lot_aliases a WHERE a.lot_id = p_lot
    ON CONFLICT (lot_id, bidder_id) DO NOTHING;
    -- The events, with the state the bid left (what record_lot_event would read back),
    -- and their notification payloads for the instance to send once the bid has
    -- committed: a NOTIFY here would hold PostgreSQL's notification lock from this
    -- commit to its end, one bid's flush after another (D36).
    WITH made AS (
        INSERT INTO lot_events (lot_id, seq, kind, status, current_price, bid_count, reserve_met, minimum_next_bid,
                                ends_at, hammer_price)
        SELECT p_lot, l.event_count + k.n, k.kind, lot_effective_status(l.status, l.starts_at), v_price, l.bid_count + 1,
               COALESCE(v_price >= l.reserve, false), v_next, v_ends_at, l.hammer_price
        FROM (VALUES (1, 'price'), (2, 'extended')) AS k (n, kind)
        WHERE k.n = 1 OR v_extended
        RETURNING *
    )
    -- The payload record_lot_event sends; times as epoch microseconds.
    SELECT string_agg(json_build_object(
               'lotId', made.lot_id, 'seq', made.seq, 'kind', made.kind, 'status', made.status,
               'currentPrice', made.current_price, 'bidCount', made.bid_count, 'reserveMet', made.reserve_met,
               'minimumNextBid', made.minimum_next_bid, 'endsAtMicros', floor(extract(epoch FROM made.ends_at) * 1000000)::bigint,
               'hammerPrice', made.hammer_price)::text, E'\n' ORDER BY made.seq)
    INTO v_events FROM made;

    answer := 'accepted';
    placed_sequence := v_sequence;
    new_price := v_price;
    new_leader := v_leader;
    new_ends_at := v_ends_at;
    was_extended := v_extended;
    next_minimum := v_next;
    placed_at := v_now;
    events := v_events;
    RETURN NEXT;
END
$$;
