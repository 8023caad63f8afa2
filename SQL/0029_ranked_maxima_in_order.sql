-- lot_ranked_maxima (SQL/0024) answered lot_top_maxima's rows in the order its inlined
-- subquery sorted them. PostgreSQL keeps that order when nothing is joined to it, but
-- SQL promises no order without an ORDER BY, and place_bid takes the first row as the
-- leader: the order is now said, on the two rows (at most) the function answers.
CREATE OR REPLACE FUNCTION lot_ranked_maxima(p_lot uuid, p_holders uuid[], p_count integer)
RETURNS TABLE (bidder_id uuid, amount bigint, sequence bigint)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN QUERY SELECT t.bidder_id, t.amount, t.sequence FROM lot_top_maxima(p_lot, p_holders, p_count) t
                 ORDER BY t.amount DESC, COALESCE(array_position(p_holders, t.bidder_id), 2147483647) ASC, t.sequence ASC;
END
$$;
