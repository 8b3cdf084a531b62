// Package certs owns the SGP.22 public key infrastructure on both curves the specification allows,
// NIST P-256 and brainpoolP256r1 (SGP.22 §2.6.5, §4.5): parsing X.509 certificates and EC keys,
// verifying the CI → EUM → eUICC and CI → DPauth/DPpb/DPtls chains with SGP.22's own rules,
// and converting between the plain r‖s signatures used inside SGP.22 ASN.1 messages (BSI TR-03111)
// and the DER signatures used in X.509.
//
// Go's crypto/x509 refuses brainpool keys, so this package parses certificates and keys itself and
// uses crypto/ecdsa with a brainpool elliptic.Curve for signatures on that curve.
//
// The entry points are ParseCertificate, a Roots set of trusted CIs indexed by CI PKID, and
// VerifyEUICCChain / VerifyServerCertificate, which take the verification time from
// VerifyOptions.Now (never the wall clock) and fail with a *VerifyError wrapping one of the
// sentinel errors (ErrExpired, ErrUnknownCI, ErrBadSignature, ErrWrongRole, ErrEIDOutOfRange, …).
package certs
