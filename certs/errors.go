package certs

import (
	"errors"
	"fmt"
)

// Sentinel errors for certificate parsing and SGP.22 chain verification. Every error this package
// returns from ParseCertificate, CheckSignatureFrom, NewRoots/Add and the Verify functions wraps
// exactly one of them, so callers test with errors.Is; the only exceptions are caller mistakes
// (a nil certificate, VerifyOptions.Now unset, a non-server role). The verification functions
// wrap it further in a *VerifyError naming the role of the certificate that failed, which is what
// the ES9+ layer needs to pick an SGP.22 status code (e.g. §5.6.3 AuthenticateClient: EUM
// certificate 8.1.2, eUICC certificate 8.1.3, reason 6.3 when expired and 6.1 otherwise;
// unknown CI 8.11.1/3.9).
var (
	// ErrMalformed: the DER is not a well-formed X.509 certificate (RFC 5280 §4.1), or a field or
	// extension inside it does not decode; trailing bytes at any level are malformed too.
	ErrMalformed = errors.New("certs: malformed certificate")

	// ErrUnsupportedAlgorithm: the key is not an EC key on P-256 or brainpoolP256r1, or the
	// signature algorithm is not ecdsa-with-SHA256 (SGP.22 §2.6.5).
	ErrUnsupportedAlgorithm = errors.New("certs: unsupported algorithm")

	// ErrUnhandledCriticalExtension: a critical extension this package does not process
	// (RFC 5280 §4.2: such a certificate must be rejected).
	ErrUnhandledCriticalExtension = errors.New("certs: unhandled critical extension")

	// ErrBadSignature: the certificate's signature does not verify under its issuer's key.
	ErrBadSignature = errors.New("certs: bad certificate signature")

	// ErrUnknownIssuer: the certificate was not issued by the certificate given as its parent:
	// its authority key identifier differs from the parent's subject key identifier or, without
	// an authority key identifier, its issuer name differs from the parent's subject name.
	ErrUnknownIssuer = errors.New("certs: certificate not issued by the given issuer")

	// ErrUnknownCI: the chain does not lead to a trusted CI: no CI in the Roots has the subject
	// key identifier the chain names (the CI PKID of SGP.22), or it is not the CI required by
	// VerifyOptions.CIPKID.
	ErrUnknownCI = errors.New("certs: unknown CI")

	// ErrExpired: the verification time is after the certificate's notAfter.
	ErrExpired = errors.New("certs: certificate expired")

	// ErrNotYetValid: the verification time is before the certificate's notBefore.
	ErrNotYetValid = errors.New("certs: certificate not yet valid")

	// ErrWrongRole: the certificate policies do not name the SGP.22 role (id-rspRole OID) the
	// certificate is used for, or name more than one role.
	ErrWrongRole = errors.New("certs: certificate has the wrong role")

	// ErrProfileViolation: the certificate breaks the SGP.22 §4.5.2 profile of its role in some other
	// way: key usage, basic constraints, path length, extended key usage, or a mandatory field
	// (subject or authority key identifier, SM-DP+ OID, DNS name) missing.
	ErrProfileViolation = errors.New("certs: certificate violates the SGP.22 profile")

	// ErrInvalidEID: the eUICC certificate's subject has no single serialNumber of 32 decimal
	// digits, or (with VerifyOptions.RequireEIDCheckDigits) its check digits are wrong.
	ErrInvalidEID = errors.New("certs: invalid EID in eUICC certificate")

	// ErrEIDOutOfRange: the EID does not start with any prefix (IIN) the EUM certificate permits.
	ErrEIDOutOfRange = errors.New("certs: EID outside the EUM's permitted range")

	// ErrHostnameMismatch: the TLS certificate does not list VerifyOptions.DNSName.
	ErrHostnameMismatch = errors.New("certs: certificate not valid for host name")
)

// VerifyError reports which certificate of a chain failed verification and why.
// Err wraps one of the sentinel errors above; Unwrap exposes it to errors.Is.
type VerifyError struct {
	Role    Role   // the role the failing certificate was being verified for
	Subject string // the failing certificate's subject name, for logs
	Err     error
}

func (e *VerifyError) Error() string {
	return fmt.Sprintf("%s certificate %q: %v", e.Role, e.Subject, e.Err)
}

func (e *VerifyError) Unwrap() error { return e.Err }

// errorf wraps a sentinel with detail: errorf(ErrMalformed, "bad %s", x) is "certs: malformed certificate: bad x".
func errorf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: %s", sentinel, fmt.Sprintf(format, args...))
}
