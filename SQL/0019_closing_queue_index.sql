-- The closer takes due lots in the order `close_attempts, ends_at` (a lot that failed to
-- close goes behind those that never did), but the index it had was on `ends_at` alone:
-- every sweep read and sorted every due lot to lock the first hundred. When ten thousand
-- lots end together that was 15 ms a batch, twelve closing transactions at a time
-- (Docs/benchmarks.md, "Close storm"). In the queue's own order the scan stops at the
-- first hundred it can lock.
CREATE INDEX lots_closing_queue ON lots (close_attempts, ends_at) WHERE status = 'scheduled';
DROP INDEX lots_due;
