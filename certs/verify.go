package certs

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Roots is a set of trusted CI certificates indexed by subject key identifier, which is the
// CI public key identifier (CI PKID) SGP.22 exchanges in euiccCiPKIdListForVerification,
// euiccCiPKIdListForSigning and euiccCiPKIdToBeUsed (SGP.22 §5.6.1). Build it once and share it:
// it is not changed by verification, but Add must not run concurrently with other methods.
type Roots struct {
	bySKI map[string]*Certificate
	list  []*Certificate
}

// NewRoots returns the set of the given CI certificates, each checked as Add does.
func NewRoots(cis ...*Certificate) (*Roots, error) {
	r := &Roots{bySKI: make(map[string]*Certificate)}
	for _, ci := range cis {
		if err := r.Add(ci); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Add adds a CI certificate after checking that it is self-signed and fits the SGP.22 CI profile
// (CA, keyCertSign, CI policy, subject key identifier). Validity is checked at verification time.
// Adding the same certificate twice is a no-op; a different one with the same CI PKID is an error.
func (r *Roots) Add(ci *Certificate) error {
	if ci == nil {
		return errNilCertificate
	}
	if err := checkSelfSigned(ci); err != nil {
		return &VerifyError{Role: RoleCI, Subject: ci.Subject.String(), Err: err}
	}
	if r.bySKI == nil {
		r.bySKI = make(map[string]*Certificate)
	}
	if old, ok := r.bySKI[string(ci.SubjectKeyId)]; ok {
		if bytes.Equal(old.Raw, ci.Raw) {
			return nil
		}
		return &VerifyError{Role: RoleCI, Subject: ci.Subject.String(),
			Err: errorf(ErrProfileViolation, "another CI already has the PKID %x", ci.SubjectKeyId)}
	}
	r.bySKI[string(ci.SubjectKeyId)] = ci
	r.list = append(r.list, ci)
	return nil
}

// Lookup returns the CI whose subject key identifier is pkid.
func (r *Roots) Lookup(pkid []byte) (*Certificate, bool) {
	if r == nil {
		return nil, false
	}
	ci, ok := r.bySKI[string(pkid)]
	return ci, ok
}

// PKIDs returns the CI PKIDs in the order the CIs were added.
func (r *Roots) PKIDs() [][]byte {
	if r == nil {
		return nil
	}
	out := make([][]byte, len(r.list))
	for i, ci := range r.list {
		out[i] = bytes.Clone(ci.SubjectKeyId)
	}
	return out
}

// Certificates returns the CI certificates in the order they were added.
func (r *Roots) Certificates() []*Certificate {
	if r == nil {
		return nil
	}
	return append([]*Certificate(nil), r.list...)
}

// issuerOf finds the CI that issued c: by authority key identifier (SGP.22 chains by key
// identifiers), or, when c has none, by issuer name, preferring a CI whose key verifies c.
func (r *Roots) issuerOf(c *Certificate) (*Certificate, bool) {
	if r == nil {
		return nil, false
	}
	if len(c.AuthorityKeyId) > 0 {
		return r.Lookup(c.AuthorityKeyId)
	}
	var candidate *Certificate
	for _, ci := range r.list {
		if sameName(c, ci) {
			if c.CheckSignatureFrom(ci) == nil {
				return ci, true
			}
			if candidate == nil {
				candidate = ci
			}
		}
	}
	return candidate, candidate != nil
}

// VerifyOptions are the parameters of a chain verification.
type VerifyOptions struct {
	// Now is the time at which every certificate of the chain must be valid. It is required:
	// the caller's clock is used, never the wall clock implicitly.
	Now time.Time

	// CIPKID, when set, is the only CI the chain may end at: for the ES9+ server, the
	// euiccCiPKIdToBeUsed chosen in InitiateAuthentication (SGP.22 §5.6.1, §5.6.3).
	CIPKID []byte

	// DNSName, when set, must be one of the certificate's subjectAltName DNS names
	// (exact match, ignoring case and a trailing dot; no wildcards). For DPtls/DStls.
	DNSName string

	// EUMSignatures, when set, remembers EUM certificates whose CI signature verified, so that
	// VerifyEUICCChain verifies each EUM's signature once rather than on every call.
	EUMSignatures *VerifiedSignatures

	// RequireEIDCheckDigits also requires the EID's two check digits to be right (SGP.29 §2.2).
	// Off by default: SGP.22 asks only for the EUM range check, and SGP.26 test material
	// carries EIDs with wrong check digits.
	RequireEIDCheckDigits bool
}

// EUICCIdentity is what a verified eUICC certificate chain establishes.
type EUICCIdentity struct {
	EID    string // from the eUICC certificate's subject serialNumber
	CIPKID []byte // subject key identifier of the CI the chain ends at
	CI     *Certificate
	EUM    *Certificate
	EUICC  *Certificate
}

// ServerIdentity is what a verified SM-DP+ (or SM-DS) certificate establishes.
type ServerIdentity struct {
	Role Role
	// OID is the subjectAltName registeredID: the SM-DP+ OID (smdpOid in SGP.22 messages).
	// It is nil for a TLS certificate without one.
	OID         asn1.ObjectIdentifier
	DNSNames    []string
	CIPKID      []byte
	CI          *Certificate
	Certificate *Certificate
}

var (
	errNilCertificate = errors.New("certs: nil certificate")
	errNoTime         = errors.New("certs: VerifyOptions.Now is not set")
)

// VerifyEUICCChain verifies the chain CI → EUM → eUICC as the SM-DP+ does in AuthenticateClient
// (SGP.22 §5.6.3) with the certificate rules of §4.5.2: the EUM's CI is found in roots by the
// EUM's authority key identifier; each certificate must be issued by its parent (key identifiers,
// else names) and carry a valid signature from it, be valid at opts.Now, and have the key usage,
// basic constraints and policy (id-rspRole) of its role. Finally the EID (subject serialNumber)
// must be 32 digits and start with one of the EUM's permitted prefixes, when the EUM lists any
// (nameConstraints directoryName serialNumber, variant O; or the permittedEins extension,
// variants Ov3/A/B/C). RFC 5280 name-constraint processing is not applied; see Certificate.
//
// Checks run top-down (CI, EUM, eUICC) and the first failure is returned as a *VerifyError
// naming the failing certificate's role and wrapping one of the sentinel errors.
func VerifyEUICCChain(euicc, eum *Certificate, roots *Roots, opts VerifyOptions) (*EUICCIdentity, error) {
	if euicc == nil || eum == nil {
		return nil, errNilCertificate
	}
	if opts.Now.IsZero() {
		return nil, errNoTime
	}
	ci, err := chooseCI(eum, RoleEUM, roots, opts)
	if err != nil {
		return nil, err
	}
	if err := checkValidity(ci, opts.Now); err != nil {
		return nil, fail(RoleCI, ci, err)
	}
	if err := checkIssued(eum, RoleEUM, ci, opts.Now, opts.EUMSignatures); err != nil {
		return nil, fail(RoleEUM, eum, err)
	}
	if ci.MaxPathLen == 0 {
		return nil, fail(RoleCI, ci, errorf(ErrProfileViolation, "CI path length 0 allows no EUM below it"))
	}
	if err := checkIssued(euicc, RoleEUICC, eum, opts.Now, nil); err != nil {
		return nil, fail(RoleEUICC, euicc, err)
	}
	if err := checkEID(euicc.EID, eum.PermittedEIDPrefixes, opts.RequireEIDCheckDigits); err != nil {
		return nil, fail(RoleEUICC, euicc, err)
	}
	return &EUICCIdentity{EID: euicc.EID, CIPKID: bytes.Clone(ci.SubjectKeyId), CI: ci, EUM: eum, EUICC: euicc}, nil
}

// VerifyServerCertificate verifies an SM-DP+ (or SM-DS) certificate issued directly by a CI in
// roots, for role RoleDPAuth, RoleDPPb, RoleDPTLS, RoleDSAuth or RoleDSTLS: the eUICC side of
// SGP.22 §5.6.1/§5.6.3 (CERT.DPauth, CERT.DPpb) and the TLS client side (CERT.DP.TLS), with the
// certificate rules of §4.5.2. Failures are *VerifyError values like VerifyEUICCChain's.
func VerifyServerCertificate(cert *Certificate, role Role, roots *Roots, opts VerifyOptions) (*ServerIdentity, error) {
	if cert == nil {
		return nil, errNilCertificate
	}
	switch role {
	case RoleDPAuth, RoleDPPb, RoleDPTLS, RoleDSAuth, RoleDSTLS:
	default:
		return nil, fmt.Errorf("certs: VerifyServerCertificate: %v is not a server role", role)
	}
	if opts.Now.IsZero() {
		return nil, errNoTime
	}
	ci, err := chooseCI(cert, role, roots, opts)
	if err != nil {
		return nil, err
	}
	if err := checkValidity(ci, opts.Now); err != nil {
		return nil, fail(RoleCI, ci, err)
	}
	if err := checkIssued(cert, role, ci, opts.Now, nil); err != nil {
		return nil, fail(role, cert, err)
	}
	if opts.DNSName != "" && !matchDNSName(cert.DNSNames, opts.DNSName) {
		return nil, fail(role, cert, errorf(ErrHostnameMismatch, "%q not in %q", opts.DNSName, cert.DNSNames))
	}
	id := &ServerIdentity{Role: role, DNSNames: cert.DNSNames, CIPKID: bytes.Clone(ci.SubjectKeyId), CI: ci, Certificate: cert}
	if len(cert.RegisteredIDs) == 1 {
		id.OID = cert.RegisteredIDs[0]
	}
	return id, nil
}

// VerifyCI checks a CI certificate on its own: self-signed, the CI profile, valid at opts.Now.
func VerifyCI(ci *Certificate, opts VerifyOptions) error {
	if ci == nil {
		return errNilCertificate
	}
	if opts.Now.IsZero() {
		return errNoTime
	}
	if err := checkSelfSigned(ci); err != nil {
		return fail(RoleCI, ci, err)
	}
	if err := checkValidity(ci, opts.Now); err != nil {
		return fail(RoleCI, ci, err)
	}
	return nil
}

func fail(role Role, c *Certificate, err error) error {
	return &VerifyError{Role: role, Subject: c.Subject.String(), Err: err}
}

// chooseCI finds the trusted CI that issued c and applies opts.CIPKID.
func chooseCI(c *Certificate, role Role, roots *Roots, opts VerifyOptions) (*Certificate, error) {
	ci, ok := roots.issuerOf(c)
	if !ok {
		if len(c.AuthorityKeyId) > 0 {
			return nil, fail(role, c, errorf(ErrUnknownCI, "no trusted CI with PKID %x", c.AuthorityKeyId))
		}
		return nil, fail(role, c, errorf(ErrUnknownCI, "no trusted CI named %q", c.Issuer.String()))
	}
	if len(opts.CIPKID) > 0 && !bytes.Equal(ci.SubjectKeyId, opts.CIPKID) {
		return nil, fail(role, c, errorf(ErrUnknownCI, "issued under CI %x, not the required CI %x", ci.SubjectKeyId, opts.CIPKID))
	}
	return ci, nil
}

// checkSelfSigned checks a CI: issuer = subject, its own key verifies it, and the CI profile.
func checkSelfSigned(ci *Certificate) error {
	if !bytes.Equal(ci.RawIssuer, ci.RawSubject) {
		return errorf(ErrUnknownIssuer, "CI is not self-issued")
	}
	if err := ci.CheckSignatureFrom(ci); err != nil {
		return err
	}
	return checkProfile(ci, RoleCI)
}

// checkIssued checks c, to be used in role, against its issuer parent: linkage, signature,
// validity at now, then the SGP.22 profile of the role. sigs, when not nil, may remember the
// signature.
func checkIssued(c *Certificate, role Role, parent *Certificate, now time.Time, sigs *VerifiedSignatures) error {
	if len(c.AuthorityKeyId) > 0 {
		if !bytes.Equal(c.AuthorityKeyId, parent.SubjectKeyId) {
			return errorf(ErrUnknownIssuer, "authority key identifier %x is not the issuer's key identifier %x",
				c.AuthorityKeyId, parent.SubjectKeyId)
		}
	} else if !sameName(c, parent) {
		return errorf(ErrUnknownIssuer, "issuer %q is not %q", c.Issuer.String(), parent.Subject.String())
	}
	if err := sigs.check(c, parent); err != nil {
		return err
	}
	if err := checkValidity(c, now); err != nil {
		return err
	}
	return checkProfile(c, role)
}

// sameName reports whether c's issuer names parent's subject: the same DER, or the same
// attributes once decoded (an issuer may re-encode a string type).
func sameName(c, parent *Certificate) bool {
	return bytes.Equal(c.RawIssuer, parent.RawSubject) || c.Issuer.String() == parent.Subject.String()
}

// checkValidity applies RFC 5280 §4.1.2.5: notBefore ≤ now ≤ notAfter.
func checkValidity(c *Certificate, now time.Time) error {
	if now.Before(c.NotBefore) {
		return errorf(ErrNotYetValid, "valid from %s, now is %s", c.NotBefore.Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	if now.After(c.NotAfter) {
		return errorf(ErrExpired, "expired %s, now is %s", c.NotAfter.Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	return nil
}

// checkProfile checks the SGP.22 §4.5.2 profile of a certificate used in role.
func checkProfile(c *Certificate, role Role) error {
	if got := c.Role(); got != role {
		return errorf(ErrWrongRole, "policies %v give role %v, want %v", c.PolicyIdentifiers, got, role)
	}
	if c.Version != 3 {
		return errorf(ErrProfileViolation, "X.509 version %d, want 3", c.Version)
	}
	if len(c.SubjectKeyId) == 0 {
		return errorf(ErrProfileViolation, "no subject key identifier")
	}
	switch role {
	case RoleCI:
		if len(c.AuthorityKeyId) > 0 && !bytes.Equal(c.AuthorityKeyId, c.SubjectKeyId) {
			return errorf(ErrProfileViolation, "self-signed CI with a foreign authority key identifier")
		}
		return checkCA(c)
	case RoleEUM:
		if len(c.AuthorityKeyId) == 0 {
			return errorf(ErrProfileViolation, "no authority key identifier")
		}
		return checkCA(c)
	}

	// End-entity roles.
	if len(c.AuthorityKeyId) == 0 {
		return errorf(ErrProfileViolation, "no authority key identifier")
	}
	if c.IsCA {
		return errorf(ErrProfileViolation, "end-entity certificate is a CA")
	}
	if c.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
		return errorf(ErrProfileViolation, "key usage lacks digitalSignature")
	}
	if c.KeyUsage&(x509.KeyUsageCertSign|x509.KeyUsageCRLSign) != 0 {
		return errorf(ErrProfileViolation, "end-entity key usage allows signing certificates or CRLs")
	}
	switch role {
	case RoleDPAuth, RoleDPPb, RoleDSAuth:
		if len(c.RegisteredIDs) != 1 {
			return errorf(ErrProfileViolation, "want one subjectAltName registeredID (the server OID), have %d", len(c.RegisteredIDs))
		}
	case RoleDPTLS, RoleDSTLS:
		if len(c.DNSNames) == 0 {
			return errorf(ErrProfileViolation, "no subjectAltName DNS name")
		}
		if len(c.RegisteredIDs) > 1 {
			return errorf(ErrProfileViolation, "more than one subjectAltName registeredID")
		}
		if !hasOID(c.ExtKeyUsage, OIDExtKeyUsageServerAuth) {
			return errorf(ErrProfileViolation, "extended key usage lacks serverAuth")
		}
	}
	return nil
}

func checkCA(c *Certificate) error {
	if !c.BasicConstraintsValid || !c.IsCA {
		return errorf(ErrProfileViolation, "not a CA (basicConstraints)")
	}
	if c.KeyUsage&x509.KeyUsageCertSign == 0 {
		return errorf(ErrProfileViolation, "key usage lacks keyCertSign")
	}
	return nil
}

// checkEID checks an eUICC certificate's EID against the EUM's permitted prefixes.
func checkEID(eid string, prefixes []string, checkDigits bool) error {
	if len(eid) != EIDLength || !allDigits(eid) {
		return errorf(ErrInvalidEID, "subject serialNumber %q is not a 32-digit EID", eid)
	}
	if len(prefixes) > 0 {
		ok := false
		for _, p := range prefixes {
			if strings.HasPrefix(eid, p) {
				ok = true
				break
			}
		}
		if !ok {
			return errorf(ErrEIDOutOfRange, "EID %s does not start with any of %q", eid, prefixes)
		}
	}
	if checkDigits && !ValidEID(eid) {
		return errorf(ErrInvalidEID, "EID %s has wrong check digits", eid)
	}
	return nil
}

func hasOID(list []asn1.ObjectIdentifier, oid asn1.ObjectIdentifier) bool {
	for _, o := range list {
		if o.Equal(oid) {
			return true
		}
	}
	return false
}

func matchDNSName(names []string, host string) bool {
	host = strings.TrimSuffix(host, ".")
	for _, n := range names {
		if strings.EqualFold(strings.TrimSuffix(n, "."), host) {
			return true
		}
	}
	return false
}
