-- A settlement's reads under the case's lock in one call. They were four round trips,
-- each a query through PostgresNIO and a statement for PostgreSQL: the lock, the case as
-- CaseRepository reads it, the facts (settlement_facts, SQL/0030) and the vehicles with
-- their sales (settlement_vehicles, SQL/0027). Now the case's row is locked for update
-- (as CaseRepository.lockForSettlement does) and the same columns come back in one row,
-- the vehicles as a JSON array in the case's order. No row: there is no such case.
CREATE FUNCTION settlement_locked_read(p_case uuid)
RETURNS TABLE (id uuid, seq bigint, consignor_id uuid, loan_number text, borrower text, guarantors text,
               principal bigint, interest bigint, fees bigint, per_diem_interest bigint, balances_as_of text,
               lienholders text, credits text, status text, collateral_owner text, excluded_id_numbers text,
               currency text,
               paid_hammer bigint, open_invoices integer, forfeited_deposits bigint, expenses_by_kind text,
               borrower_payments bigint, redemption_amount bigint, redemption_received_on text,
               last_proceeds_received_on text, consignor_name text, consignor_currency text, consignor_policy text,
               current_statement uuid, database_now timestamptz, vehicles text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
    PERFORM 1 FROM cases c WHERE c.id = p_case FOR UPDATE;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    RETURN QUERY
    SELECT c.id, c.seq, c.consignor_id, c.loan_number, c.borrower::text, c.guarantors::text,
           c.principal::bigint, c.interest::bigint, c.fees::bigint, c.per_diem_interest::bigint, c.balances_as_of::text,
           c.lienholders::text, c.credits::text, case_effective_status(c.id, c.status), c.collateral_owner::text,
           c.excluded_id_numbers::text, f.consignor_currency,
           f.paid_hammer, f.open_invoices, f.forfeited_deposits, f.expenses_by_kind, f.borrower_payments,
           f.redemption_amount, f.redemption_received_on, f.last_proceeds_received_on,
           f.consignor_name, f.consignor_currency, f.consignor_policy, f.current_statement, f.database_now,
           (SELECT COALESCE(json_agg(json_build_object('vin', v.vin, 'description', v.description, 'status', v.status,
                                                       'price', v.price, 'saleDate', v.sale_date) ORDER BY v.n), '[]')::text
            FROM settlement_vehicles(p_case) WITH ORDINALITY AS v (vin, description, status, price, sale_date, n))
    FROM cases c CROSS JOIN settlement_facts(p_case) f
    WHERE c.id = p_case;
END
$$;
