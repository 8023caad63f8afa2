-- The database's share of a payment, with no HTTP and no Gavel: pgbench does what
-- Invoices.pay does (D37), in the same two statements: the read through
-- invoice_for_payment (SQL/0028), then record_invoice_payment (SQL/0020) with the rows a
-- payment in full writes: the payment, the seller fee's expense, the vehicle released,
-- the invoice's balance, two journal entries of two lines each and the audit record.
-- Each transaction pays the next unpaid invoice of bench_invoices in full, once. Run by
-- Benchmarks/run after the storm (the audit's documents are the invoice's row, about
-- the size of Gavel's):
--   pgbench -n -c 8 -j 2 -t N -f Benchmarks/payment.sql -D admin="'<admin user id>'"
SELECT quote_literal(b.id) AS inv FROM bench_invoices b WHERE b.n = (SELECT nextval('bench_invoice_order')) \gset
SELECT f.paid AS read_paid, f.amount_due AS due, quote_literal(f.case_id) AS case_id, quote_literal(f.lot_id) AS lot_id,
       quote_literal(f.currency) AS currency, f.price * (f.lot_fees::jsonb ->> 'sellerFeeBp')::bigint / 10000 AS fee,
       quote_literal(to_jsonb(f)::text) AS before
FROM invoice_for_payment(:inv) f \gset
WITH k AS (SELECT gen_random_uuid() AS payment, gen_random_uuid() AS expense,
                  gen_random_uuid() AS payment_entry, gen_random_uuid() AS fee_entry)
SELECT record_invoice_payment(
    :inv, 'open', :read_paid, :due, 'paid', true,
    k.payment, :due - :read_paid, 'BENCH', current_date, :admin,
    k.expense, :fee, :case_id, :lot_id,
    ARRAY[k.payment_entry, k.fee_entry], ARRAY['payment:' || k.payment, 'seller-fee:' || :inv],
    ARRAY['payment', 'seller-fee'], ARRAY[:case_id, :case_id]::text[], ARRAY[:currency, :currency]::text[],
    ARRAY['invoice payment', 'seller fee'],
    ARRAY[k.payment_entry, k.payment_entry, k.fee_entry, k.fee_entry], ARRAY[1, 2, 1, 2],
    ARRAY['cash', 'buyer-receivables', 'case-expenses:' || :case_id, 'seller-fee-revenue'],
    ARRAY[:due - :read_paid, 0, :fee, 0]::bigint[], ARRAY[0, :due - :read_paid, 0, :fee]::bigint[],
    ARRAY[:admin]::text[], ARRAY['bench'], ARRAY['invoice.payment'], ARRAY['invoice'], ARRAY[:inv]::uuid[],
    ARRAY[:before]::text[], ARRAY[:before]::text[], ARRAY['']::text[])
FROM k;
