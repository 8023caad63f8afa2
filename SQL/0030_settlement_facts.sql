-- A settlement's reads in one call: the case's money (settlement_money, SQL/0027), its
-- consignor (name, currency, policy: the allocation order and the statement's contact),
-- the ID of its current final statement if it has one (read whole only then, to be
-- superseded), and the database's clock (a statement is not dated in the future). Each
-- of the three was a round trip of its own, planned afresh.
CREATE FUNCTION settlement_facts(p_case uuid)
RETURNS TABLE (paid_hammer bigint, open_invoices integer, forfeited_deposits bigint, expenses_by_kind text,
               borrower_payments bigint, redemption_amount bigint, redemption_received_on text,
               last_proceeds_received_on text,
               consignor_id uuid, consignor_name text, consignor_currency text, consignor_policy text,
               current_statement uuid, database_now timestamptz)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    SELECT m.paid_hammer, m.open_invoices, m.forfeited_deposits, m.expenses_by_kind, m.borrower_payments,
           m.redemption_amount, m.redemption_received_on, m.last_proceeds_received_on,
           k.id, k.name, k.currency::text, k.policy::text,
           (SELECT s.id FROM settlement_statements s WHERE s.case_id = p_case AND s.status = 'final'),
           now()
    FROM settlement_money(p_case) m
    CROSS JOIN cases c JOIN consignors k ON k.id = c.consignor_id
    WHERE c.id = p_case;
END
$$;
