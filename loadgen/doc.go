// Package loadgen drives an SM-DP+ with many virtual eUICCs at once and measures it: full
// Profile downloads over real HTTPS (every ES9+ function of SGP.22 §3.1.3, handleNotification
// included, through the test LPA of package lpa and the virtual eUICC of package euicc), or
// ES9+.InitiateAuthentication alone to count what an open RSP session costs the server.
//
// A run reports downloads per second, p50/p95/p99 latencies per ES9+ function and per download,
// failures grouped by their SGP.22 subjectCode/reasonCode (§5.6, ServerError), the "crypto
// floor" — the CPU time of the public-key and BSP primitives one download needs on the server
// side, timed on this machine — and, for a server process on this machine, its CPU time per
// download read from /proc, set against that floor.
//
// The pieces:
//
//   - Identities: eUICC certificates issued under the server's own EUM (its CI must trust
//     them), minted once and cached on disk (MintEUICCs, LoadEUICCs).
//   - Orders: Prepare imports N copies of a TS.48 profile package, each with its own
//     Luhn-valid ICCID (RewriteICCID), and orders and releases them through package orders.
//   - Run: the workers, bounded in count and in time, against loopback targets only
//     (CheckLoopback); several targets share the calls of each download between them, so an
//     RSP session crosses replicas.
//   - MeasureFloor and ReadProcess: the crypto floor and the server's CPU and memory.
//
// Traffic goes only to 127.0.0.0/8, ::1 or localhost: Run refuses any other target.
package loadgen
