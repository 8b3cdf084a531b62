// Package download is the SM-DP+'s authority for ES9+ (SGP.22 §5.6, §3.1.3): it runs the common
// mutual authentication with the eUICC, checks eligibility, binds and protects the profile into a
// Bound Profile Package, and moves the profile through its states as the download proceeds.
//
// Its functions take and return the DER values the ES9+ JSON binding carries, so the HTTP layer
// only decodes JSON and base64. Every failure is a *status.Error with the SGP.22 subject and reason
// code of the check that failed. Each download attempt is an RSP session in a session.Store, so
// consecutive calls of one download may be served by different replicas.
package download
