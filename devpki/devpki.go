package devpki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"net"
	"strings"
	"time"

	"github.com/smdpp/smdpp/certs"
)

// Defaults applied by [Generate] to zero-valued [Options] fields.
const (
	DefaultCurve       = "nist"
	DefaultEUMPrefix   = "89049999"
	DefaultEUICCCount  = 1
	DefaultCIValidity  = 30 * 365 * 24 * time.Hour
	DefaultValidity    = 5 * 365 * 24 * time.Hour
	DefaultTLSValidity = 365 * 24 * time.Hour
)

// MaxEUICCCount bounds Options.EUICCCount.
const MaxEUICCCount = 10000

// DefaultSMDPOID is the SM-DP+ identity used when Options.SMDPOID is empty: 2.999.10, the
// registeredID of the SGP.26 test SM-DP+ ("TEST SM-DP+").
var DefaultSMDPOID = asn1.ObjectIdentifier{2, 999, 10}

// The registeredID subjectAltNames of the CI and the EUM, the values of the SGP.26 test PKI.
var (
	ciOID  = asn1.ObjectIdentifier{2, 999, 1}
	eumOID = asn1.ObjectIdentifier{2, 999, 5}
)

// crlURIs are the CRL distribution points written into the CI, DP and EUM certificates, those of
// the SGP.26 test PKI (example.com, RFC 2606): the CI and DP certificates list both, the EUM only B.
var crlURIs = []string{"http://ci.test.example.com/CRL-A.crl", "http://ci.test.example.com/CRL-B.crl"}

// eUICCNotAfter is the notAfter of every eUICC certificate: 99991231235959Z, "no well-defined
// expiration date" (RFC 5280 §4.1.2.5). eUICC certificates live as long as the eUICC; the GSMA
// test eUICC certificates likewise expire in the year 7496.
var eUICCNotAfter = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)

// Subject names. They follow the shapes (attribute order and string types) of the GSMA test
// certificates but name this project, so the two hierarchies cannot be mistaken for each other.
// countryName ZZ is ISO 3166's user-assigned code.
const (
	ciCommonName    = "smdpp Test CI"
	ciOrgUnit       = "TESTCERT"
	organization    = "smdpp"
	country         = "ZZ"
	dpCommonName    = "smdpp TEST SM-DP+"
	eumOrg          = "smdpp Test EUM"
	eumCommonName   = "smdpp EUM Test"
	euiccCommonName = "smdpp Test eUICC"
)

// Options configures [Generate]. Zero values take the documented defaults.
type Options struct {
	// Curve is the curve of the hierarchy: "nist" (NIST P-256, the default) or "brainpool"
	// (brainpoolP256r1); see certs.CurveByName. The DPtls key is P-256 either way.
	Curve string

	// Now is the issuance time and every certificate's notBefore. Zero means time.Now().
	Now time.Time

	// DNSNames and IPAddresses are the DPtls subjectAltName host names and addresses. When both
	// are empty the certificate names localhost, 127.0.0.1 and ::1. The DPtls subject commonName
	// is the first DNS name, or else the first address.
	DNSNames    []string
	IPAddresses []net.IP

	// SMDPOID is the SM-DP+ OID (SGP.22 §4.5.2), the registeredID subjectAltName of DPauth, DPpb and
	// DPtls. Empty means DefaultSMDPOID, 2.999.10.
	SMDPOID asn1.ObjectIdentifier

	// EUMPrefix is the EID prefix the EUM may issue under, carried in its nameConstraints, and the
	// start of every generated EID: 8 to 16 decimal digits starting with "89" (SGP.29). Empty
	// means DefaultEUMPrefix.
	EUMPrefix string

	// EUICCCount is how many eUICC certificates to issue, each with a random EID under EUMPrefix.
	// Zero means DefaultEUICCCount; at most MaxEUICCCount.
	EUICCCount int

	// CIValidity is the lifetime of the CI certificate (default 30 years). Validity is that of the
	// DPauth, DPpb and EUM certificates (default 5 years) and TLSValidity that of DPtls (default
	// 1 year); neither may exceed CIValidity. eUICC certificates never expire (notAfter
	// 99991231235959Z, like the GSMA test eUICC certificates).
	CIValidity  time.Duration
	Validity    time.Duration
	TLSValidity time.Duration
}

// Credential is a certificate with its private key.
type Credential struct {
	// Certificate is the DER X.509 certificate.
	Certificate []byte
	// Key is the private key of the certificate's subject.
	Key *ecdsa.PrivateKey
}

// EUICC is the credential of one eUICC, with the EID its certificate's subject serialNumber holds.
type EUICC struct {
	EID string
	Credential
}

// PKI is a generated development PKI. All certificates except DPtls's are on Curve; DPtls's key is
// P-256 and its certificate is signed by the CI.
type PKI struct {
	// Curve is the curve of the hierarchy.
	Curve elliptic.Curve

	CI     Credential // self-signed root, id-rspRole-ci
	DPauth Credential // SM-DP+ authentication, id-rspRole-dp-auth
	DPpb   Credential // SM-DP+ profile binding, id-rspRole-dp-pb
	DPtls  Credential // SM-DP+ TLS server, id-rspRole-dp-tls
	EUM    Credential // eUICC manufacturer, id-rspRole-eum
	EUICCs []EUICC    // issued by the EUM, id-rspRole-euicc
}

// settings are Options with defaults applied and validated.
type settings struct {
	curve       elliptic.Curve
	now         time.Time
	dnsNames    []string
	ips         []net.IP
	smdpOID     asn1.ObjectIdentifier
	eumPrefix   string
	euiccCount  int
	ciValidity  time.Duration
	validity    time.Duration
	tlsValidity time.Duration
}

func (o Options) settings() (settings, error) {
	s := settings{
		now:         o.Now,
		dnsNames:    o.DNSNames,
		ips:         o.IPAddresses,
		smdpOID:     o.SMDPOID,
		eumPrefix:   o.EUMPrefix,
		euiccCount:  o.EUICCCount,
		ciValidity:  o.CIValidity,
		validity:    o.Validity,
		tlsValidity: o.TLSValidity,
	}
	curveName := o.Curve
	if curveName == "" {
		curveName = DefaultCurve
	}
	if s.now.IsZero() {
		s.now = time.Now()
	}
	s.now = s.now.UTC().Truncate(time.Second)
	if len(s.dnsNames) == 0 && len(s.ips) == 0 {
		s.dnsNames = []string{"localhost"}
		s.ips = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	}
	if len(s.smdpOID) == 0 {
		s.smdpOID = DefaultSMDPOID
	}
	if s.eumPrefix == "" {
		s.eumPrefix = DefaultEUMPrefix
	}
	if s.euiccCount == 0 {
		s.euiccCount = DefaultEUICCCount
	}
	if s.ciValidity == 0 {
		s.ciValidity = DefaultCIValidity
	}
	if s.validity == 0 {
		s.validity = DefaultValidity
	}
	if s.tlsValidity == 0 {
		s.tlsValidity = DefaultTLSValidity
	}

	var err error
	if s.curve, err = certs.CurveByName(curveName); err != nil {
		return s, fmt.Errorf("devpki: %w", err)
	}
	for _, d := range s.dnsNames {
		if !validDNSName(d) {
			return s, fmt.Errorf("devpki: invalid DNS name %q", d)
		}
	}
	for _, ip := range s.ips {
		if ip.To4() == nil && ip.To16() == nil {
			return s, fmt.Errorf("devpki: invalid IP address %v", []byte(ip))
		}
	}
	if !validOID(s.smdpOID) {
		return s, fmt.Errorf("devpki: invalid SM-DP+ OID %v", s.smdpOID)
	}
	if len(s.eumPrefix) < 8 || len(s.eumPrefix) > 16 || !isDigits(s.eumPrefix) || !strings.HasPrefix(s.eumPrefix, "89") {
		return s, fmt.Errorf("devpki: EUM prefix %q is not 8 to 16 decimal digits starting with 89", s.eumPrefix)
	}
	if s.euiccCount < 0 || s.euiccCount > MaxEUICCCount {
		return s, fmt.Errorf("devpki: eUICC count %d is not between 1 and %d", s.euiccCount, MaxEUICCCount)
	}
	for _, v := range []struct {
		what string
		d    time.Duration
	}{{"CI validity", s.ciValidity}, {"validity", s.validity}, {"TLS validity", s.tlsValidity}} {
		if v.d < time.Second {
			return s, fmt.Errorf("devpki: %s %v is not positive", v.what, v.d)
		}
	}
	if s.validity > s.ciValidity || s.tlsValidity > s.ciValidity {
		return s, errors.New("devpki: a certificate would outlive the CI (Validity and TLSValidity must not exceed CIValidity)")
	}
	if end := s.now.Add(s.ciValidity); end.Year() > 9999 || end.Before(s.now) {
		return s, fmt.Errorf("devpki: CI validity %v runs past the year 9999", s.ciValidity)
	}
	return s, nil
}

// Generate creates a new development PKI: fresh keys, a self-signed CI, and DPauth, DPpb, DPtls and
// EUM certificates issued by it, and opts.EUICCCount eUICC certificates issued by the EUM, each
// with a distinct random EID under opts.EUMPrefix with valid check digits (SGP.29 §2.2).
func Generate(opts Options) (*PKI, error) {
	s, err := opts.settings()
	if err != nil {
		return nil, err
	}
	p := &PKI{Curve: s.curve}

	// CI: CERT.CI.ECDSA.
	ciKey, err := newKey(s.curve, "CI")
	if err != nil {
		return nil, err
	}
	ciName := name{
		{typ: oidCommonName, value: ciCommonName},
		{typ: oidOrganizationalUnit, value: ciOrgUnit},
		{typ: oidOrganization, value: organization},
		{typ: oidCountry, value: country, printable: true},
	}
	ciKeyID := keyID(&ciKey.PublicKey)
	p.CI, err = issue("CI", ciKey, ciName, ciName, ciKey, s.now, s.now.Add(s.ciValidity), []extension{
		subjectKeyID(ciKeyID),
		basicConstraintsCA(-1),
		certificatePolicies(oidRoleCI, true),
		keyUsage(kuKeyCertSign | kuCRLSign),
		subjectAltName(nil, nil, ciOID),
		crlDistributionPoints(crlURIs...),
	})
	if err != nil {
		return nil, err
	}

	// DPauth and DPpb: CERT.DPauth.ECDSA and CERT.DPpb.ECDSA.
	dpName := name{
		{typ: oidOrganization, value: organization},
		{typ: oidCommonName, value: dpCommonName},
	}
	for _, r := range []struct {
		role   string
		policy asn1.ObjectIdentifier
		out    *Credential
	}{{"DPauth", oidRoleDPauth, &p.DPauth}, {"DPpb", oidRoleDPpb, &p.DPpb}} {
		key, err := newKey(s.curve, r.role)
		if err != nil {
			return nil, err
		}
		*r.out, err = issue(r.role, key, dpName, ciName, ciKey, s.now, s.now.Add(s.validity), []extension{
			authorityKeyID(ciKeyID),
			subjectKeyID(keyID(&key.PublicKey)),
			subjectAltName(nil, nil, s.smdpOID),
			keyUsage(kuDigitalSignature),
			certificatePolicies(r.policy, true),
			crlDistributionPoints(crlURIs...),
		})
		if err != nil {
			return nil, err
		}
	}

	// DPtls: CERT.DP.TLS, always a P-256 key.
	tlsKey, err := newKey(elliptic.P256(), "DPtls")
	if err != nil {
		return nil, err
	}
	tlsCN := s.dnsNames
	if len(tlsCN) == 0 {
		tlsCN = []string{s.ips[0].String()}
	}
	p.DPtls, err = issue("DPtls", tlsKey, name{
		{typ: oidOrganization, value: organization},
		{typ: oidCommonName, value: tlsCN[0]},
	}, ciName, ciKey, s.now, s.now.Add(s.tlsValidity), []extension{
		keyUsage(kuDigitalSignature),
		extKeyUsage(oidServerAuth, oidClientAuth),
		certificatePolicies(oidRoleDPtls, false),
		subjectKeyID(keyID(&tlsKey.PublicKey)),
		authorityKeyID(ciKeyID),
		subjectAltName(s.dnsNames, s.ips, s.smdpOID),
		crlDistributionPoints(crlURIs...),
	})
	if err != nil {
		return nil, err
	}

	// EUM: CERT.EUM.ECDSA, name-constrained to the EID prefix.
	eumKey, err := newKey(s.curve, "EUM")
	if err != nil {
		return nil, err
	}
	eumName := name{
		{typ: oidCountry, value: country, printable: true},
		{typ: oidOrganization, value: eumOrg},
		{typ: oidCommonName, value: eumCommonName},
	}
	eumKeyID := keyID(&eumKey.PublicKey)
	p.EUM, err = issue("EUM", eumKey, eumName, ciName, ciKey, s.now, s.now.Add(s.validity), []extension{
		authorityKeyID(ciKeyID),
		subjectKeyID(eumKeyID),
		keyUsage(kuKeyCertSign),
		certificatePolicies(oidRoleEUM, true),
		subjectAltName(nil, nil, eumOID),
		basicConstraintsCA(0),
		crlDistributionPoints(crlURIs[1]),
		nameConstraintsDirName(name{
			{typ: oidOrganization, value: eumOrg},
			{typ: oidSerialNumber, value: s.eumPrefix, printable: true},
		}),
	})
	if err != nil {
		return nil, err
	}

	// eUICCs: CERT.EUICC.ECDSA.
	eids, err := newEIDs(s.eumPrefix, s.euiccCount)
	if err != nil {
		return nil, err
	}
	for _, eid := range eids {
		key, err := newKey(s.curve, "eUICC")
		if err != nil {
			return nil, err
		}
		cred, err := issue("eUICC "+eid, key, name{
			{typ: oidCountry, value: country, printable: true},
			{typ: oidOrganization, value: eumOrg},
			{typ: oidSerialNumber, value: eid, printable: true},
			{typ: oidCommonName, value: euiccCommonName},
		}, eumName, eumKey, s.now, eUICCNotAfter, []extension{
			authorityKeyID(eumKeyID),
			subjectKeyID(keyID(&key.PublicKey)),
			keyUsage(kuDigitalSignature),
			certificatePolicies(oidRoleEUICC, true),
		})
		if err != nil {
			return nil, err
		}
		p.EUICCs = append(p.EUICCs, EUICC{EID: eid, Credential: cred})
	}
	return p, nil
}

// issue creates the certificate of role binding subject to key, signed by issuerKey on behalf of
// issuerName (the issuer's subject; for the self-signed CI, its own).
func issue(role string, key *ecdsa.PrivateKey, subject name, issuerName name, issuerKey *ecdsa.PrivateKey, notBefore, notAfter time.Time, exts []extension) (Credential, error) {
	serial, err := randomSerial()
	if err != nil {
		return Credential{}, err
	}
	der, err := createCertificate(&template{
		serial:     serial,
		issuer:     issuerName,
		subject:    subject,
		notBefore:  notBefore,
		notAfter:   notAfter,
		publicKey:  &key.PublicKey,
		extensions: exts,
	}, issuerKey)
	if err != nil {
		return Credential{}, fmt.Errorf("devpki: issuing %s certificate: %w", role, err)
	}
	return Credential{Certificate: der, Key: key}, nil
}

func newKey(c elliptic.Curve, role string) (*ecdsa.PrivateKey, error) {
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("devpki: generating %s key on %s: %w", role, c.Params().Name, err)
	}
	return k, nil
}

// newEIDs returns n distinct random EIDs starting with prefix, with check digits.
func newEIDs(prefix string, n int) ([]string, error) {
	free := certs.EIDLength - 2 - len(prefix)
	limit := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(free)), nil)
	seen := make(map[string]bool, n)
	out := make([]string, 0, n)
	for len(out) < n {
		r, err := rand.Int(rand.Reader, limit)
		if err != nil {
			return nil, fmt.Errorf("devpki: generating EID: %w", err)
		}
		eid := certs.EIDWithCheckDigits(fmt.Sprintf("%s%0*s", prefix, free, r.String()))
		if eid == "" {
			return nil, fmt.Errorf("devpki: cannot build an EID from prefix %q", prefix)
		}
		if !seen[eid] {
			seen[eid] = true
			out = append(out, eid)
		}
	}
	return out, nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// validOID reports whether oid can be DER-encoded (X.690 §8.19).
func validOID(oid asn1.ObjectIdentifier) bool {
	if len(oid) < 2 || oid[0] < 0 || oid[0] > 2 || (oid[0] < 2 && oid[1] >= 40) {
		return false
	}
	for _, v := range oid {
		if v < 0 {
			return false
		}
	}
	return true
}

// validDNSName accepts host names of letters, digits and hyphens in dot-separated labels of 1 to
// 63 characters, optionally starting with a "*" wildcard label.
func validDNSName(d string) bool {
	if d == "" || len(d) > 253 {
		return false
	}
	for i, label := range strings.Split(d, ".") {
		if i == 0 && label == "*" {
			continue
		}
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for j := 0; j < len(label); j++ {
			c := label[j]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}
