-- A payment's read (D37: read, decide in Swift, write by one guarded call) was planned
-- afresh for every payment: a join of the invoice and its lot, 0.15 ms of planning
-- against 0.05 ms of execution (pg_stat_statements with track_planning). As a PL/pgSQL
-- function it keeps its plan for the connection's life. The invoice's columns as
-- InvoiceRepository reads them, its lot's frozen fees, and the database's clock.
CREATE FUNCTION invoice_for_payment(p_invoice uuid)
RETURNS TABLE (id uuid, lot_id uuid, case_id uuid, bidder_id uuid, deposit_id uuid, currency text, price bigint,
               buyer_premium bigint, doc_fee bigint, total bigint, deposit_applied bigint, amount_due bigint, paid bigint,
               status text, due_at timestamptz, lot_fees text, database_now timestamptz)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    SELECT i.id, i.lot_id, i.case_id, i.bidder_id, i.deposit_id, i.currency::text, i.price::bigint, i.buyer_premium::bigint,
           i.doc_fee::bigint, i.total::bigint, i.deposit_applied::bigint, i.amount_due::bigint, i.paid::bigint, i.status,
           i.due_at, l.fees::text, now()
    FROM invoices i JOIN lots l ON l.id = i.lot_id
    WHERE i.id = p_invoice;
END
$$;
