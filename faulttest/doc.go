// Package faulttest holds fault-injection tests of the whole SM-DP+: they build the real smdpp
// binary, run it as a process, and break what it depends on while the test LPA downloads
// profiles into the virtual eUICC through a fault-injecting proxy:
//
//   - kill -9 of the server during each ES9+ function (SGP.22 §5.6), then a restart on the same
//     data directory and port;
//   - a restart of Redis, which holds the RSP sessions, in the middle of a download;
//   - a PostgreSQL outage in the middle of a download;
//   - the operator's HandleDownloadProgressInfo receiver (SGP.22 §5.3.5) down for a long time and
//     across a server restart.
//
// After each fault the tests check what must survive it: no order lost or corrupted (every
// profile in a valid state, DownloadAttempts equal to the BPPs recorded), every download either
// resumed or failed with an SGP.22 status, and every progress callback delivered afterwards, in
// order per ICCID. The package has no code besides its tests.
//
// The defects these tests first found (orders stranded in Downloaded by a lost session or a lost
// CancelSession, an installation result ignored after its session was lost) are fixed; the
// tests now fail on any of them. They need redis-server and PostgreSQL's
// initdb/pg_ctl (scripts/services.sh installs both): without them they are skipped, or fail
// under CI=true. Run as root, PostgreSQL runs as the postgres user.
package faulttest
