-- The database's share of a bid, with no HTTP and no Gavel: pgbench calls place_bid
-- (SQL/0005) itself, as Gavel does, for a random bidder on a random lot of the spread
-- benchmark, at the lot's minimum next bid as read just before (a race may make it
-- stale: then it is refused, as through the API). Run by Benchmarks/run:
--   pgbench -n -c 8 -j 2 -T 5 -f Benchmarks/place_bid.sql -D lots=N -D bidders=M
\set l random(1, :lots)
\set b random(1, :bidders)
SELECT answer FROM place_bid(
    gen_random_uuid(),
    (SELECT id FROM bench_lots WHERE n = :l),
    (SELECT id FROM bench_bidders WHERE n = :b),
    (SELECT lot_minimum_next_bid(l.format, l.starting_price, l.current_price, l.increments)
     FROM lots l JOIN bench_lots b ON b.id = l.id WHERE b.n = :l));
