/// Tests whose claims are about wall-clock time: a lot closed within 2 s of its end, 20
/// bids a second, an idle timeout, a lease deadline, PostgreSQL away for 5 s, a process
/// stopped by SIGTERM. Their suites live in this namespace (next to their siblings, in the
/// same file), so their IDs contain `RealTime` and `./scripts/test` can run them one at a
/// time after everything else has run side by side: on two cores shared with a hundred
/// and fifty other tests, "within 2 s" would measure the machine, not Gavel.
enum RealTime {}
