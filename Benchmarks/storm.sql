-- The close-storm fixture of Benchmarks/run: :count lots, each on a vehicle of its own in
-- a case of its own (copies of the template lot's case), all ending :seconds seconds from
-- now, each led at its starting price (which is also its reserve) by the template lot's
-- leader, with that maximum stored. Closing them sells them and issues their invoices;
-- paying those makes the cases ready to settle, so the same lots feed the payment and
-- settlement benchmarks.
--   psql "$URL" -v template=LOT_ID -v count=10000 -v seconds=5 -f Benchmarks/storm.sql
\set ON_ERROR_STOP on
BEGIN;
CREATE TEMP TABLE storm_source ON COMMIT DROP AS
    SELECT l.*, v.case_id AS template_case FROM lots l JOIN vehicles v ON v.id = l.vehicle_id WHERE l.id = :'template';
CREATE TEMP TABLE storm_ids ON COMMIT DROP AS
    SELECT g, gen_random_uuid() AS case_id, gen_random_uuid() AS vehicle_id, gen_random_uuid() AS lot_id
    FROM generate_series(1, :count) g;

INSERT INTO cases (id, consignor_id, loan_number, borrower, guarantors, principal, interest, fees, per_diem_interest,
                   balances_as_of, lienholders, credits)
SELECT i.case_id, c.consignor_id, 'STORM-' || i.g, c.borrower, c.guarantors, c.principal, c.interest, c.fees,
       c.per_diem_interest, c.balances_as_of, c.lienholders, c.credits
FROM storm_ids i, storm_source s JOIN cases c ON c.id = s.template_case;

INSERT INTO vehicles (id, case_id, vin, make, model, year, mileage_km, has_keys, title_status, repossessed_on)
SELECT i.vehicle_id, i.case_id, 'S' || lpad(i.g::text, 16, '0'), 'Honda', 'Accord', 2019, 86000, true, 'clean', current_date
FROM storm_ids i;

INSERT INTO lots (id, vehicle_id, consignor_id, appraisal_id, round, format, status, currency, starts_at, ends_at,
                  extension_window_seconds, extension_seconds, starting_price, reserve, deposit_amount, increments,
                  created_by, current_price, leader_id, bid_count, fees)
SELECT i.lot_id, i.vehicle_id, s.consignor_id, s.appraisal_id, 1, 'english', 'scheduled', s.currency,
       now() - interval '1 hour', clock_timestamp() + make_interval(secs => :seconds), 300, 300,
       s.starting_price, s.starting_price, s.deposit_amount, s.increments, s.created_by,
       s.starting_price, s.leader_id, 1, s.fees
FROM storm_ids i, storm_source s;

INSERT INTO lot_maxima (lot_id, bidder_id, amount, sequence)
SELECT i.lot_id, s.leader_id, s.starting_price, nextval('bid_sequence') FROM storm_ids i, storm_source s;
COMMIT;
-- Intake never writes ten thousand cases in one statement: autovacuum would have analyzed
-- them long before the day they close. Without this the storm, and the payments and
-- settlements after it, run on plans made from the statistics of a database that held
-- the spread runs' seven cases of a thousand vehicles each: a read of one case's
-- vehicles then scans them all (6 ms of a 9 ms settlement, Docs/benchmarks.md).
ANALYZE cases, vehicles, lots, lot_maxima;
