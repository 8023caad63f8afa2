-- A settlement's two reads of the case's money and vehicles were planned afresh each
-- time (pg_stat_statements with track_planning: 0.50 and 0.28 ms of planning against
-- 0.06 ms of execution each, the largest part of a settlement's reads). As PL/pgSQL
-- functions they keep their plans for the connection's life; the queries are the ones
-- SettlementRepository.facts sent, the sales still found through the case's invoices
-- (see there: the statistics of paid invoices mislead a plan that starts from them).

-- The case's money as a statement needs it, in one call: the hammer of its paid sales,
-- its open invoices, forfeited deposits, expenses by kind, the borrower's payments, its
-- redemption (the first, if any) and the day the last sale's money arrived (interest
-- stops then, domain rules section 8).
CREATE FUNCTION settlement_money(p_case uuid)
RETURNS TABLE (paid_hammer bigint, open_invoices integer, forfeited_deposits bigint, expenses_by_kind text,
               borrower_payments bigint, redemption_amount bigint, redemption_received_on text,
               last_proceeds_received_on text)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    SELECT (SELECT COALESCE(sum(i.price) FILTER (WHERE i.status = 'paid'), 0)::bigint FROM invoices i WHERE i.case_id = p_case),
           (SELECT count(*) FILTER (WHERE i.status = 'open')::int FROM invoices i WHERE i.case_id = p_case),
           (SELECT COALESCE(sum(d.amount), 0)::bigint FROM deposits d JOIN lots l ON l.id = d.lot_id
            JOIN vehicles v ON v.id = l.vehicle_id WHERE v.case_id = p_case AND d.status = 'forfeited'),
           (SELECT COALESCE(json_object_agg(e.kind, e.total), '{}')::text
            FROM (SELECT x.kind, sum(x.amount)::bigint AS total FROM expenses x WHERE x.case_id = p_case GROUP BY x.kind) e),
           (SELECT COALESCE(sum(r.amount), 0)::bigint FROM case_receipts r WHERE r.case_id = p_case AND r.kind = 'borrower-payment'),
           redemption.amount::bigint, redemption.received_on::text,
           (SELECT max(last.received_on)::text FROM invoices i
            CROSS JOIN LATERAL (SELECT p.received_on FROM payments p WHERE p.invoice_id = i.id ORDER BY p.seq DESC LIMIT 1) last
            WHERE i.case_id = p_case AND i.status = 'paid')
    FROM (SELECT 1) one
    LEFT JOIN LATERAL (SELECT r.amount, r.received_on FROM case_receipts r
                       WHERE r.case_id = p_case AND r.kind = 'redemption' ORDER BY r.seq LIMIT 1) redemption ON true;
END
$$;

CREATE FUNCTION settlement_vehicles(p_case uuid)
RETURNS TABLE (vin text, description text, status text, price bigint, sale_date text)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    SELECT v.vin, v.year::text || ' ' || v.make || ' ' || v.model, v.status,
           sale.price::bigint, (sale.paid_at AT TIME ZONE 'UTC')::date::text
    FROM vehicles v LEFT JOIN (
        SELECT l.vehicle_id, i.price, i.paid_at FROM invoices i JOIN lots l ON l.id = i.lot_id
        WHERE i.case_id = p_case AND i.status = 'paid'
    ) sale ON sale.vehicle_id = v.id
    WHERE v.case_id = p_case ORDER BY v.seq;
END
$$;
