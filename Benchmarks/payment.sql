-- The database's share of a payment, with no HTTP and no Gavel: pgbench makes the call
-- Invoices.pay makes, pay_invoice (SQL/0033), which locks the invoice, decides, and
-- writes what a payment in full writes: the payment, the invoice's balance, the seller
-- fee's expense, the vehicle released, two journal entries of two lines each and the
-- audit record. Each transaction pays the next unpaid invoice of bench_invoices in full,
-- once, in one statement. Run by Benchmarks/run after the storm:
--   pgbench -n -c 8 -j 2 -t N -f Benchmarks/payment.sql -D admin="'<admin user id>'"
SELECT p.outcome
FROM bench_invoices b,
     pay_invoice(b.id, b.amount_due, 'BENCH', current_date, NULL, :admin, gen_random_uuid(), gen_random_uuid(),
                 gen_random_uuid(), gen_random_uuid(), :admin, 'bench', NULL) p
WHERE b.n = (SELECT nextval('bench_invoice_order'));
