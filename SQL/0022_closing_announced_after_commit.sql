-- The closer's events announced as a bid's are (D36): written in the closing transaction
-- as record_lot_events writes them (SQL/0018), with their notification payloads answered
-- instead of sent. The instance sends them once the transaction has committed, so the
-- closing transactions of a storm (twelve at once over three instances) no longer wait
-- for one another on PostgreSQL's notification lock from commit to end.
CREATE FUNCTION record_lot_events_to_announce(p_lots uuid[], p_kind text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_payloads text;
BEGIN
    WITH counted AS (
        UPDATE lots SET event_count = event_count + 1 WHERE id = ANY (p_lots)
        RETURNING id, event_count
    ), made AS (
        INSERT INTO lot_events (lot_id, seq, kind, status, current_price, bid_count, reserve_met, minimum_next_bid,
                                ends_at, hammer_price)
        SELECT l.id, c.event_count, p_kind, lot_effective_status(l.status, l.starts_at), l.current_price, l.bid_count,
               COALESCE(l.current_price >= l.reserve, false),
               lot_minimum_next_bid(l.format, l.starting_price, l.current_price, l.increments),
               l.ends_at, l.hammer_price
        FROM counted c JOIN lots l ON l.id = c.id
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
