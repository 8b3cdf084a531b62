// Package limits protects the SM-DP+ against clients that call too often or guess too much: a
// per-client token-bucket [RateLimiter] with an HTTP middleware answering 429 Too Many Requests,
// and [Attempts], a failure counter that locks a key out after too many failures within a
// window.
//
// SGP.22 leaves both to the SM-DP+. A matchingId is a bearer secret (SGP.22 §4.1 activation code,
// §5.6.3 AuthenticateClient): the download service is to count unknown matchingIds per client IP
// and per EID with [Attempts], and answer a locked client with subjectCode 8.2.6 / reasonCode 3.8
// (matchingId refused) without looking the order up. Confirmation codes (§5.6.2, §3.1.3.3) can be
// counted per order the same way.
//
// Both types are pure: they start no goroutines, take their clock as an option ([WithClock]) and
// keep at most [WithMaxKeys] keys, evicting the least recently used key of a shard when a new
// key arrives at the bound; forgetting a key is the same as never having seen it, so the bound
// trades precision for memory, never correctness of the counts that remain. The keys are split
// over independently locked shards, so the LRU order is per shard.
//
// Per process: in a deployment of several replicas each process counts on its own. A client whose
// requests a load balancer spreads over N replicas gets up to N times the rate, and up to N times
// the failures before it is locked out everywhere (a lockout applies only on the replica that
// counted it). Size the limits per replica with that in mind; a shared implementation on Redis
// is the later option when that is not good enough.
package limits
