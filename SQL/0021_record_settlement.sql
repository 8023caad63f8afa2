-- A settlement statement's writes in one call (as a payment's, D37): the statement, its
-- journal entry, the surplus refund or the deficiency claim it opens, the case's new
-- status and the audit record. Everything written is decided in Swift (the waterfall,
-- the statement's JSON, the postings); the caller holds the case's lock. One call
-- instead of five statements, whose plans PL/pgSQL keeps for the connection's life.
CREATE FUNCTION record_settlement(
    p_statement uuid, p_case uuid, p_kind text, p_currency text, p_settlement_date date, p_interest_to date,
    p_body text, p_surplus bigint, p_deficiency bigint, p_supersedes uuid, p_issued_by uuid, p_case_status text,
    p_refund uuid, p_borrower text, p_claim uuid, p_debtors text,
    p_entry_ids uuid[], p_event_keys text[], p_kinds text[], p_entry_cases text[], p_currencies text[], p_memos text[],
    p_line_entries uuid[], p_line_numbers integer[], p_accounts text[], p_debits bigint[], p_credits bigint[],
    p_actor_ids text[], p_actor_names text[], p_actions text[], p_entity_types text[], p_entity_ids uuid[],
    p_befores text[], p_afters text[], p_request_ids text[]
) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO settlement_statements (id, case_id, kind, currency, settlement_date, interest_to, body, surplus, deficiency,
                                       supersedes, issued_by)
    VALUES (p_statement, p_case, p_kind, p_currency, p_settlement_date, p_interest_to, p_body::jsonb, p_surplus, p_deficiency,
            p_supersedes, p_issued_by);
    -- LedgerRepository.post's and AuditRepository.record's rows ('' for no case, actor,
    -- document or request: PostgresNIO has no arrays of optionals).
    INSERT INTO journal_entries (id, event_key, kind, case_id, currency, memo)
    SELECT t.id, t.event_key, t.kind, NULLIF(t.case_id, '')::uuid, t.currency, t.memo
    FROM unnest(p_entry_ids, p_event_keys, p_kinds, p_entry_cases, p_currencies, p_memos)
         AS t (id, event_key, kind, case_id, currency, memo);
    INSERT INTO journal_lines (entry_id, line_no, account, debit, credit)
    SELECT * FROM unnest(p_line_entries, p_line_numbers, p_accounts, p_debits, p_credits);
    IF p_surplus > 0 THEN
        INSERT INTO surplus_refunds (id, case_id, statement_id, currency, amount, borrower)
        VALUES (p_refund, p_case, p_statement, p_currency, p_surplus, p_borrower);
    END IF;
    IF p_deficiency > 0 THEN
        INSERT INTO deficiency_claims (id, case_id, statement_id, currency, amount, debtors)
        VALUES (p_claim, p_case, p_statement, p_currency, p_deficiency, p_debtors::jsonb);
    END IF;
    UPDATE cases SET status = p_case_status, closed_at = NULL WHERE id = p_case;
    INSERT INTO audit_log (actor_id, actor_name, action, entity_type, entity_id, before, after, request_id)
    SELECT NULLIF(t.actor_id, '')::uuid, t.actor_name, t.action, t.entity_type, t.entity_id,
           NULLIF(t.before, '')::jsonb, NULLIF(t.after, '')::jsonb, NULLIF(t.request_id, '')
    FROM unnest(p_actor_ids, p_actor_names, p_actions, p_entity_types, p_entity_ids, p_befores, p_afters, p_request_ids)
         WITH ORDINALITY AS t (actor_id, actor_name, action, entity_type, entity_id, before, after, request_id, n)
    ORDER BY t.n;
END
$$;
