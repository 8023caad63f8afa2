-- The same event for many lots in three set-based statements, for the closer: when ten
-- thousand lots end in the same second, record_lot_event's three statements per lot
-- (the lot's event count, the event, the notification) were half of the closing's time
-- in the database (Docs/benchmarks.md, "Close storm"). Same rows, same payloads as
-- record_lot_event (SQL/0005), which stays for callers that still name it. The caller
-- holds the lots' row locks, so each lot's numbers stay gap-free and in commit order.
CREATE FUNCTION record_lot_events(p_lots uuid[], p_kind text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_notified bigint;
BEGIN
    WITH counted AS (
        UPDATE lots SET event_count = event_count + 1 WHERE id = ANY (p_lots)
        RETURNING id, event_count
    ), made AS (
        -- `lots` as this statement found it: the state earlier statements of the
        -- transaction left (the close), with the new event number from `counted`.
        INSERT INTO lot_events (lot_id, seq, kind, status, current_price, bid_count, reserve_met, minimum_next_bid,
                                ends_at, hammer_price)
        SELECT l.id, c.event_count, p_kind, lot_effective_status(l.status, l.starts_at), l.current_price, l.bid_count,
               COALESCE(l.current_price >= l.reserve, false),
               lot_minimum_next_bid(l.format, l.starting_price, l.current_price, l.increments),
               l.ends_at, l.hammer_price
        FROM counted c JOIN lots l ON l.id = c.id
        RETURNING *
    ), notified AS (
        -- Times as epoch microseconds: no time zone or format for the listener to guess.
        SELECT pg_notify('lot_events', json_build_object(
            'lotId', e.lot_id, 'seq', e.seq, 'kind', e.kind, 'status', e.status, 'currentPrice', e.current_price,
            'bidCount', e.bid_count, 'reserveMet', e.reserve_met, 'minimumNextBid', e.minimum_next_bid,
            'endsAtMicros', floor(extract(epoch FROM e.ends_at) * 1000000)::bigint, 'hammerPrice', e.hammer_price)::text)
        FROM made e
    )
    SELECT count(*) INTO v_notified FROM notified;
END
$$;
