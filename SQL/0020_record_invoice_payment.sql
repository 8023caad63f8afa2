-- A payment's writes (D37) as a function: PL/pgSQL keeps each statement's plan for the
-- connection's life, where the same writes sent as one statement of text were parsed and
-- planned again for every payment. What to write is still decided in Swift (GavelCore:
-- the refusals, the new balance, the seller fee, the postings, the audit record); this
-- only writes it, and only if the invoice, under its row lock, still has the balance the
-- payer read. False: another payment or a default came first and nothing was written.
CREATE FUNCTION record_invoice_payment(
    p_invoice uuid, p_read_status text, p_read_paid bigint,
    p_paid bigint, p_status text, p_completes boolean,
    p_payment uuid, p_amount bigint, p_reference text, p_received_on date, p_recorded_by uuid,
    p_expense uuid, p_seller_fee bigint, p_case uuid, p_lot uuid,
    p_entry_ids uuid[], p_event_keys text[], p_kinds text[], p_entry_cases text[], p_currencies text[], p_memos text[],
    p_line_entries uuid[], p_line_numbers integer[], p_accounts text[], p_debits bigint[], p_credits bigint[],
    p_actor_ids text[], p_actor_names text[], p_actions text[], p_entity_types text[], p_entity_ids uuid[],
    p_befores text[], p_afters text[], p_request_ids text[]
) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    -- After waiting for another payer's lock, PostgreSQL checks the condition again on
    -- the row that payer left.
    PERFORM 1 FROM invoices WHERE id = p_invoice AND status = p_read_status AND paid = p_read_paid FOR UPDATE;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    INSERT INTO payments (id, invoice_id, amount, reference, received_on, recorded_by)
    VALUES (p_payment, p_invoice, p_amount, p_reference, p_received_on, p_recorded_by);
    IF p_seller_fee > 0 THEN
        INSERT INTO expenses (id, case_id, kind, amount, incurred_on, invoice_id)
        VALUES (p_expense, p_case, 'seller-fee', p_seller_fee, current_date, p_invoice);
    END IF;
    IF p_completes THEN
        UPDATE vehicles SET status = 'sold', released_at = now() WHERE id = (SELECT vehicle_id FROM lots WHERE id = p_lot);
    END IF;
    UPDATE invoices SET paid = p_paid, status = p_status, paid_at = CASE WHEN p_completes THEN now() END
    WHERE id = p_invoice;
    -- LedgerRepository.post's and AuditRepository.record's rows ('' for no case, actor,
    -- document or request: PostgresNIO has no arrays of optionals).
    INSERT INTO journal_entries (id, event_key, kind, case_id, currency, memo)
    SELECT t.id, t.event_key, t.kind, NULLIF(t.case_id, '')::uuid, t.currency, t.memo
    FROM unnest(p_entry_ids, p_event_keys, p_kinds, p_entry_cases, p_currencies, p_memos)
         AS t (id, event_key, kind, case_id, currency, memo);
    INSERT INTO journal_lines (entry_id, line_no, account, debit, credit)
    SELECT * FROM unnest(p_line_entries, p_line_numbers, p_accounts, p_debits, p_credits);
    INSERT INTO audit_log (actor_id, actor_name, action, entity_type, entity_id, before, after, request_id)
    SELECT NULLIF(t.actor_id, '')::uuid, t.actor_name, t.action, t.entity_type, t.entity_id,
           NULLIF(t.before, '')::jsonb, NULLIF(t.after, '')::jsonb, NULLIF(t.request_id, '')
    FROM unnest(p_actor_ids, p_actor_names, p_actions, p_entity_types, p_entity_ids, p_befores, p_afters, p_request_ids)
         WITH ORDINALITY AS t (actor_id, actor_name, action, entity_type, entity_id, before, after, request_id, n)
    ORDER BY t.n;
    RETURN true;
END
$$;
