// Package reliability holds tender's end-to-end reliability suite: tests
// that check the contracts of DESIGN.md §5 against a real server, from the
// outside, the way a payments client sees them. It has no code of its own;
// everything is in its _test.go files.
//
//   - TestCrash_SIGKILL builds the tender binary, runs `tender serve` as a
//     child process on a SQLite file, drives 16 concurrent card flows
//     (payment method, intent with capture false, pay, partial capture,
//     partial refund) with an idempotency key on every request, kills the
//     process with SIGKILL at seeded random moments, restarts it on the same
//     database, retries every unanswered request with its key and body, and
//     finishes every interrupted flow. It then checks that every
//     acknowledged answer replays byte for byte, that every acknowledged
//     object exists in its acknowledged or a later legal state with exactly
//     the amounts its flow asked for, that no intent has two successful
//     payments, and that list, search and the database's own rows hold each
//     object exactly once. Finally it runs `tender ledger verify` on the
//     database and checks that the ledger holds exactly one payment and one
//     refund per flow, for the flow's amounts. The seed is logged;
//     TENDER_CRASH_SEED replays it.
//     runCrash takes any --db value, so a PostgreSQL run is a few lines.
//   - TestIdempotency_Concurrent sends 50 concurrent requests with one key
//     (a create, then a pay) and checks that they make one effect, and
//     checks key reuse with another body or path, short keys and the
//     Idempotent-Replayed header.
//   - TestIsolation checks that no key sees another organization's, another
//     account's or another mode's objects, and the 401/403/404 answers.
//   - TestNoCardNumbersStored runs flows with every sim test card and bank
//     accounts, then scans the raw database files and the debug logs for
//     the numbers and for the API keys.
//   - TestBadInput sends odd bytes that reach the database (invalid UTF-8,
//     NUL, non-ASCII idempotency keys): never a 5xx.
//
// TestColdStart_ConcurrentReads bursts concurrent reads at freshly started
// servers, which once stalled every reader connection.
//
// PostgreSQL variants run when TENDER_TEST_POSTGRES_URL is set and are
// skipped, with the reason logged, otherwise. The package is meant to
// finish within about three minutes on two cores.
package reliability
