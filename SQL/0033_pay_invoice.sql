-- A payment in one round trip (issue 18, item 4), as place_bid is for a bid: the invoice
-- locked, the payment decided on it and written with its postings and audit record, or
-- refused with nothing written. It was two (D37): a read, a decision in Swift, then
-- record_invoice_payment (SQL/0020) writing only if the invoice was still as read.
--
-- The rules are GavelCore's, checked in the same order (Invoices.pay): the currency the
-- payer names, a receipt date not after the database's today (UTC), then
-- InvoiceBalance.paying (open, more than zero, no more than outstanding); paid in full,
-- the sale completes: the seller fee (Money.mulBp of the hammer by the lot's frozen
-- sellerFeeBp, half up) becomes a case expense and the vehicle is released. The entries
-- are Postings.paymentReceived and Postings.sellerFee; the audit record's documents are
-- the invoice as InvoiceAnswer writes it (invoice_document). PaymentRuleTests compares
-- the two sides.

-- The invoice as the API answers it (InvoiceAnswer, without the list's `overdue`).
CREATE FUNCTION invoice_document(i invoices) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', i.id, 'lotId', i.lot_id, 'caseId', i.case_id, 'bidderId', i.bidder_id, 'currency', i.currency::text,
        'price', i.price::bigint, 'buyerPremium', i.buyer_premium::bigint, 'docFee', i.doc_fee::bigint,
        'total', i.total::bigint, 'depositApplied', i.deposit_applied::bigint, 'amountDue', i.amount_due::bigint,
        'paid', i.paid::bigint, 'outstanding', (i.amount_due - i.paid)::bigint, 'status', i.status,
        'dueAt', to_char(i.due_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))
$$;

-- outcome: 'paid' (written; the columns are the invoice after it), 'no-invoice',
-- 'currency-mismatch' (currency: the invoice's), 'received-in-future', 'not-open'
-- (status: the invoice's), 'not-positive', 'overpayment' (outstanding), or
-- 'fees-unreadable' (the lot's frozen fees have no seller fee in its range).
CREATE FUNCTION pay_invoice(
    p_invoice uuid, p_amount bigint, p_reference text, p_received_on date, p_currency text, p_recorded_by uuid,
    p_payment uuid, p_expense uuid, p_payment_entry uuid, p_fee_entry uuid,
    p_actor_id uuid, p_actor_name text, p_request_id text
) RETURNS TABLE (outcome text, id uuid, lot_id uuid, case_id uuid, bidder_id uuid, deposit_id uuid, currency text,
                 price bigint, buyer_premium bigint, doc_fee bigint, total bigint, deposit_applied bigint,
                 amount_due bigint, paid bigint, status text, due_at timestamptz)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    inv invoices;
    before jsonb;
    fee_bp bigint;
    seller_fee bigint := 0;
    completes boolean;
    case_expenses text;
BEGIN
    SELECT * INTO inv FROM invoices i WHERE i.id = p_invoice FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'no-invoice', NULL::uuid, NULL::uuid, NULL::uuid, NULL::uuid, NULL::uuid, NULL::text,
            NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint, NULL::text,
            NULL::timestamptz;
        RETURN;
    END IF;
    outcome := CASE
        WHEN p_currency IS NOT NULL AND p_currency <> inv.currency::text THEN 'currency-mismatch'
        WHEN p_received_on > (now() AT TIME ZONE 'UTC')::date THEN 'received-in-future'
        WHEN inv.status <> 'open' THEN 'not-open'
        WHEN p_amount <= 0 THEN 'not-positive'
        WHEN p_amount > inv.amount_due - inv.paid THEN 'overpayment'
        ELSE 'paid' END;
    completes := outcome = 'paid' AND inv.paid + p_amount = inv.amount_due;
    IF completes THEN
        SELECT (l.fees ->> 'sellerFeeBp')::bigint INTO fee_bp FROM lots l WHERE l.id = inv.lot_id;
        IF fee_bp IS NULL OR fee_bp NOT BETWEEN 0 AND 10000 THEN
            outcome := 'fees-unreadable';
            completes := false;
        ELSE
            seller_fee := (inv.price * fee_bp + 5000) / 10000;
        END IF;
    END IF;
    IF outcome = 'paid' THEN
        before := invoice_document(inv);
        INSERT INTO payments (id, invoice_id, amount, reference, received_on, recorded_by)
        VALUES (p_payment, p_invoice, p_amount, p_reference, p_received_on, p_recorded_by);
        UPDATE invoices i SET paid = i.paid + p_amount, status = CASE WHEN completes THEN 'paid' ELSE 'open' END,
                              paid_at = CASE WHEN completes THEN now() END
        WHERE i.id = p_invoice
        RETURNING i.* INTO inv;
        INSERT INTO journal_entries (id, event_key, kind, case_id, currency, memo)
        VALUES (p_payment_entry, 'payment:' || p_payment, 'payment', inv.case_id, inv.currency, 'invoice payment');
        INSERT INTO journal_lines (entry_id, line_no, account, debit, credit)
        VALUES (p_payment_entry, 1, 'cash', p_amount, 0), (p_payment_entry, 2, 'buyer-receivables', 0, p_amount);
        IF completes THEN
            UPDATE vehicles v SET status = 'sold', released_at = now() WHERE v.id = (SELECT l.vehicle_id FROM lots l WHERE l.id = inv.lot_id);
            IF seller_fee > 0 THEN
                INSERT INTO expenses (id, case_id, kind, amount, incurred_on, invoice_id)
                VALUES (p_expense, inv.case_id, 'seller-fee', seller_fee, current_date, p_invoice);
                case_expenses := 'case-expenses:' || inv.case_id;
                INSERT INTO journal_entries (id, event_key, kind, case_id, currency, memo)
                VALUES (p_fee_entry, 'seller-fee:' || p_invoice, 'seller-fee', inv.case_id, inv.currency, 'seller fee');
                INSERT INTO journal_lines (entry_id, line_no, account, debit, credit)
                VALUES (p_fee_entry, 1, case_expenses, seller_fee, 0), (p_fee_entry, 2, 'seller-fee-revenue', 0, seller_fee);
            END IF;
        END IF;
        INSERT INTO audit_log (actor_id, actor_name, action, entity_type, entity_id, before, after, request_id)
        VALUES (p_actor_id, p_actor_name, 'invoice.payment', 'invoice', p_invoice, before, invoice_document(inv), p_request_id);
    END IF;
    RETURN QUERY SELECT outcome, inv.id, inv.lot_id, inv.case_id, inv.bidder_id, inv.deposit_id, inv.currency::text,
        inv.price::bigint, inv.buyer_premium::bigint, inv.doc_fee::bigint, inv.total::bigint, inv.deposit_applied::bigint,
        inv.amount_due::bigint, inv.paid::bigint, inv.status, inv.due_at;
END
$$;
