-- A closed lot's row written once (as a bid's is, D36): the closer wrote each lot twice,
-- its outcome and then the number of its closed event, and each write of the wide lot
-- row adds an entry to every one of its eight indexes (the storm's lots fill their
-- pages, so no update stays on its page). The outcome now carries the event's number;
-- the event rows are written from the lots as the outcome left them.

-- Events for lots whose event_count already counts them (p_seqs: their numbers),
-- answered as notification payloads for the caller to send after commit. The one
-- definition of a batch's event rows and payloads.
CREATE FUNCTION lot_events_counted_to_announce(p_lots uuid[], p_seqs bigint[], p_kind text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_payloads text;
BEGIN
    WITH made AS (
        INSERT INTO lot_events (lot_id, seq, kind, status, current_price, bid_count, reserve_met, minimum_next_bid,
                                ends_at, hammer_price)
        SELECT l.id, t.seq, p_kind, lot_effective_status(l.status, l.starts_at), l.current_price, l.bid_count,
               COALESCE(l.current_price >= l.reserve, false),
               lot_minimum_next_bid(l.format, l.starting_price, l.current_price, l.increments),
               l.ends_at, l.hammer_price
        FROM unnest(p_lots, p_seqs) AS t (lot_id, seq) JOIN lots l ON l.id = t.lot_id
        RETURNING *
    )
    SELECT string_agg(json_build_object(
               'lotId', e.lot_id, 'seq', e.seq, 'kind', e.kind, 'status', e.status, 'currentPrice', e.current_price,
               'bidCount', e.bid_count, 'reserveMet', e.reserve_met, 'minimumNextBid', e.minimum_next_bid,
               'endsAtMicros', floor(extract(epoch FROM e.ends_at) * 1000000)::bigint, 'hammerPrice', e.hammer_price)::text,
           E'\n')
    INTO v_payloads FROM made e;
    RETURN v_payloads;
END
$$;

-- As before (SQL/0022), now counting the events and leaving their rows to the function above.
CREATE OR REPLACE FUNCTION record_lot_events_to_announce(p_lots uuid[], p_kind text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_lots uuid[];
    v_seqs bigint[];
BEGIN
    WITH counted AS (
        UPDATE lots SET event_count = event_count + 1 WHERE id = ANY (p_lots)
        RETURNING id, event_count
    )
    SELECT array_agg(id), array_agg(event_count) INTO v_lots, v_seqs FROM counted;
    RETURN lot_events_counted_to_announce(v_lots, v_seqs, p_kind);
END
$$;

-- The closer's batch: each lot's outcome ('' and -1 stand for no winner, price or
-- decision period: PostgresNIO has no arrays of optionals) with its closed event, in one
-- write of the row; answers the events' payloads. The close and a decision's due time
-- read the clock once.
CREATE FUNCTION close_lots(p_lots uuid[], p_statuses text[], p_winners text[], p_prices bigint[], p_hours bigint[])
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_lots uuid[];
    v_seqs bigint[];
BEGIN
    WITH closed AS (
        UPDATE lots l SET status = t.status, closed_at = c.at, winner_id = NULLIF(t.winner, '')::uuid,
                          hammer_price = NULLIF(t.price, -1), current_price = COALESCE(NULLIF(t.price, -1), l.current_price),
                          decision_due_at = CASE WHEN t.hours >= 0 THEN c.at + make_interval(hours => t.hours::int) END,
                          event_count = l.event_count + 1
        FROM unnest(p_lots, p_statuses, p_winners, p_prices, p_hours) AS t (lot_id, status, winner, price, hours),
             LATERAL (SELECT clock_timestamp() AS at) c
        WHERE l.id = t.lot_id
        RETURNING l.id, l.event_count
    )
    SELECT array_agg(id), array_agg(event_count) INTO v_lots, v_seqs FROM closed;
    RETURN lot_events_counted_to_announce(v_lots, v_seqs, 'closed');
END
$$;

-- The closer's batch read its lots' two highest maxima through lot_ranked_maxima, a
-- PL/pgSQL function called once per lot (the largest of its statements in a storm).
-- The rank (SQL/0014) now has one definition in SQL, which PostgreSQL inlines into the
-- query that calls it: the closer's batch reads with one plan for all its lots, and
-- lot_ranked_maxima (place_bid's, in rank order) answers from the same definition. With
-- no holders every maximum ranks last among equals and the rank index gives the order;
-- only equal amounts are sorted.
CREATE FUNCTION lot_top_maxima(p_lot uuid, p_holders uuid[], p_count integer)
RETURNS TABLE (bidder_id uuid, amount bigint, sequence bigint)
LANGUAGE sql STABLE AS $$
    SELECT m.bidder_id, m.amount::bigint, m.sequence FROM lot_maxima m WHERE m.lot_id = p_lot
    ORDER BY m.amount DESC, COALESCE(array_position(p_holders, m.bidder_id), 2147483647) ASC, m.sequence ASC
    LIMIT p_count
$$;

CREATE OR REPLACE FUNCTION lot_ranked_maxima(p_lot uuid, p_holders uuid[], p_count integer)
RETURNS TABLE (bidder_id uuid, amount bigint, sequence bigint)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN QUERY SELECT t.bidder_id, t.amount, t.sequence FROM lot_top_maxima(p_lot, p_holders, p_count) t;
END
$$;
