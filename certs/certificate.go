package certs

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"math/big"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Certificate is an X.509 v3 certificate of the SGP.22 PKI (SGP.22 §4.5.2), parsed by this
// package so that brainpoolP256r1 keys work as well as P-256 ones.
//
// Only what SGP.22 uses is decoded; every extension is also kept raw in Extensions.
type Certificate struct {
	Raw                     []byte // the whole certificate, DER
	RawTBSCertificate       []byte // the signed part
	RawSubjectPublicKeyInfo []byte
	RawIssuer               []byte // DER Name
	RawSubject              []byte // DER Name

	Version            int // 1, 2 or 3
	SerialNumber       *big.Int
	SignatureAlgorithm asn1.ObjectIdentifier // always OIDSignatureECDSA256 in a parsed certificate
	Signature          []byte                // DER Ecdsa-Sig-Value, as in the certificate
	Issuer             pkix.Name
	Subject            pkix.Name
	NotBefore          time.Time // UTC
	NotAfter           time.Time // UTC
	PublicKey          *ecdsa.PublicKey

	Extensions         []pkix.Extension        // every extension, in certificate order
	CriticalExtensions []asn1.ObjectIdentifier // the critical ones; all are handled by this package

	SubjectKeyId   []byte        // subjectKeyIdentifier; for a CI this is its CI PKID
	AuthorityKeyId []byte        // the keyIdentifier of authorityKeyIdentifier
	KeyUsage       x509.KeyUsage // 0 when the extension is absent

	BasicConstraintsValid bool // basicConstraints present
	IsCA                  bool
	MaxPathLen            int // pathLenConstraint; -1 when absent

	ExtKeyUsage       []asn1.ObjectIdentifier // extendedKeyUsage purposes
	PolicyIdentifiers []asn1.ObjectIdentifier // certificatePolicies; the id-rspRole OID gives the Role

	// From subjectAltName: registeredID names (the SM-DP+ OID, e.g. 2.999.10, of SGP.22) and DNS names.
	RegisteredIDs []asn1.ObjectIdentifier
	DNSNames      []string

	CRLDistributionPoints []string // URIs of the full names in cRLDistributionPoints

	// PermittedEIDPrefixes are the EID prefixes (IINs) an EUM certificate allows, from both forms
	// SGP.22 uses: the serialNumber attribute of directoryName permitted subtrees of nameConstraints
	// (variant O), and the GSMA permittedEins extension, OID 2.23.146.1.2.2.0 (variants Ov3/A/B/C).
	PermittedEIDPrefixes []string

	// EID is the subject serialNumber attribute, which in an eUICC certificate holds the EID.
	// It is empty when the subject has no serialNumber or more than one.
	EID string
}

// Object identifiers of the X.509 extensions (RFC 5280 §4.2), attributes and purposes this package reads.
var (
	oidExtSubjectKeyID          = asn1.ObjectIdentifier{2, 5, 29, 14}
	oidExtKeyUsage              = asn1.ObjectIdentifier{2, 5, 29, 15}
	oidExtSubjectAltName        = asn1.ObjectIdentifier{2, 5, 29, 17}
	oidExtBasicConstraints      = asn1.ObjectIdentifier{2, 5, 29, 19}
	oidExtNameConstraints       = asn1.ObjectIdentifier{2, 5, 29, 30}
	oidExtCRLDistributionPoints = asn1.ObjectIdentifier{2, 5, 29, 31}
	oidExtCertificatePolicies   = asn1.ObjectIdentifier{2, 5, 29, 32}
	oidExtAuthorityKeyID        = asn1.ObjectIdentifier{2, 5, 29, 35}
	oidExtExtKeyUsage           = asn1.ObjectIdentifier{2, 5, 29, 37}
	oidAttributeSerialNumber    = asn1.ObjectIdentifier{2, 5, 4, 5}

	// OIDExtPermittedEINs is the GSMA extension listing the EID prefixes an EUM may issue for
	// (PermittedEins ::= SEQUENCE OF PrintableString), used by SGP.22 v3 EUM certificates.
	OIDExtPermittedEINs = asn1.ObjectIdentifier{2, 23, 146, 1, 2, 2, 0}

	// Extended key usage purposes (RFC 5280 §4.2.1.12).
	OIDExtKeyUsageServerAuth = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 1}
	OIDExtKeyUsageClientAuth = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 2}
)

// Context-specific tags used below.
var (
	tagVersion         = cbasn1.Tag(0).Constructed().ContextSpecific()
	tagIssuerUniqueID  = cbasn1.Tag(1).ContextSpecific()
	tagSubjectUniqueID = cbasn1.Tag(2).ContextSpecific()
	tagExtensions      = cbasn1.Tag(3).Constructed().ContextSpecific()
	tagDNSName         = cbasn1.Tag(2).ContextSpecific()               // GeneralName dNSName [2] IA5String
	tagDirectoryName   = cbasn1.Tag(4).Constructed().ContextSpecific() // GeneralName directoryName [4] Name
	tagURI             = cbasn1.Tag(6).ContextSpecific()               // GeneralName uniformResourceIdentifier [6] IA5String
	tagRegisteredID    = cbasn1.Tag(8).ContextSpecific()               // GeneralName registeredID [8] OID
)

// ParseCertificatePEM parses the first "CERTIFICATE" block in PEM data; other blocks are skipped.
func ParseCertificatePEM(data []byte) (*Certificate, error) {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil, errorf(ErrMalformed, "no CERTIFICATE block in PEM data")
		}
		if block.Type == "CERTIFICATE" {
			return ParseCertificate(block.Bytes)
		}
	}
}

// ParseCertificate parses one DER X.509 certificate (RFC 5280 §4.1) with an EC key on P-256 or
// brainpoolP256r1, signed with ecdsa-with-SHA256 (SGP.22 §2.6.5, §4.5.2). It rejects trailing
// bytes at every level, duplicate extensions and critical extensions it does not handle.
// Errors wrap ErrMalformed, ErrUnsupportedAlgorithm or ErrUnhandledCriticalExtension.
//
// It checks no signature and no SGP.22 rule; see CheckSignatureFrom and the Verify functions.
func ParseCertificate(der []byte) (*Certificate, error) {
	der = bytes.Clone(der)
	c := &Certificate{MaxPathLen: -1}

	in := cryptobyte.String(der)
	var certElem, cert cryptobyte.String
	if !in.ReadASN1Element(&certElem, cbasn1.SEQUENCE) {
		return nil, errorf(ErrMalformed, "not a DER SEQUENCE")
	}
	if !in.Empty() {
		return nil, errorf(ErrMalformed, "trailing data after certificate")
	}
	c.Raw = certElem
	certElem.ReadASN1(&cert, cbasn1.SEQUENCE)

	var tbsElem, tbs, outerAlg cryptobyte.String
	var sig asn1.BitString
	if !cert.ReadASN1Element(&tbsElem, cbasn1.SEQUENCE) ||
		!cert.ReadASN1Element(&outerAlg, cbasn1.SEQUENCE) ||
		!cert.ReadASN1BitString(&sig) || !cert.Empty() {
		return nil, errorf(ErrMalformed, "certificate is not SEQUENCE {tbsCertificate, signatureAlgorithm, signatureValue}")
	}
	if sig.BitLength%8 != 0 {
		return nil, errorf(ErrMalformed, "signature is not whole bytes")
	}
	c.Signature = sig.Bytes
	c.RawTBSCertificate = tbsElem
	tbsElem.ReadASN1(&tbs, cbasn1.SEQUENCE)

	// version [0] EXPLICIT INTEGER DEFAULT v1
	c.Version = 1
	if tbs.PeekASN1Tag(tagVersion) {
		var v cryptobyte.String
		var n int64
		if !tbs.ReadASN1(&v, tagVersion) || !v.ReadASN1Integer(&n) || !v.Empty() || n < 0 || n > 2 {
			return nil, errorf(ErrMalformed, "bad version")
		}
		c.Version = int(n) + 1
	}
	c.SerialNumber = new(big.Int)
	if !tbs.ReadASN1Integer(c.SerialNumber) {
		return nil, errorf(ErrMalformed, "bad serial number")
	}
	if c.SerialNumber.Sign() < 0 {
		return nil, errorf(ErrMalformed, "negative serial number")
	}

	var innerAlg cryptobyte.String
	if !tbs.ReadASN1Element(&innerAlg, cbasn1.SEQUENCE) {
		return nil, errorf(ErrMalformed, "bad signature algorithm")
	}
	if !bytes.Equal(innerAlg, outerAlg) {
		return nil, errorf(ErrMalformed, "signature algorithm in tbsCertificate differs from the outer one")
	}
	var err error
	if c.SignatureAlgorithm, err = parseSignatureAlgorithm(innerAlg); err != nil {
		return nil, err
	}

	var issuer, validity, subject, spki cryptobyte.String
	if !tbs.ReadASN1Element(&issuer, cbasn1.SEQUENCE) {
		return nil, errorf(ErrMalformed, "bad issuer")
	}
	c.RawIssuer = issuer
	issuerRDNs, err := parseName(issuer)
	if err != nil {
		return nil, err
	}
	c.Issuer.FillFromRDNSequence(&issuerRDNs)

	if !tbs.ReadASN1(&validity, cbasn1.SEQUENCE) {
		return nil, errorf(ErrMalformed, "bad validity")
	}
	if c.NotBefore, err = parseTime(&validity); err != nil {
		return nil, err
	}
	if c.NotAfter, err = parseTime(&validity); err != nil {
		return nil, err
	}
	if !validity.Empty() {
		return nil, errorf(ErrMalformed, "trailing data in validity")
	}

	if !tbs.ReadASN1Element(&subject, cbasn1.SEQUENCE) {
		return nil, errorf(ErrMalformed, "bad subject")
	}
	c.RawSubject = subject
	subjectRDNs, err := parseName(subject)
	if err != nil {
		return nil, err
	}
	c.Subject.FillFromRDNSequence(&subjectRDNs)
	c.EID = singleAttribute(subjectRDNs, oidAttributeSerialNumber)

	if !tbs.ReadASN1Element(&spki, cbasn1.SEQUENCE) {
		return nil, errorf(ErrMalformed, "bad subjectPublicKeyInfo")
	}
	c.RawSubjectPublicKeyInfo = spki
	if c.PublicKey, err = parseECPublicKeyInfo(spki); err != nil {
		return nil, err
	}

	if c.Version >= 2 {
		if !tbs.SkipOptionalASN1(tagIssuerUniqueID) || !tbs.SkipOptionalASN1(tagSubjectUniqueID) {
			return nil, errorf(ErrMalformed, "bad unique identifier")
		}
	}
	if c.Version == 3 {
		var exts cryptobyte.String
		var present bool
		if !tbs.ReadOptionalASN1(&exts, &present, tagExtensions) {
			return nil, errorf(ErrMalformed, "bad extensions")
		}
		if present {
			if err := c.parseExtensions(exts); err != nil {
				return nil, err
			}
		}
	}
	if !tbs.Empty() {
		return nil, errorf(ErrMalformed, "trailing data in tbsCertificate")
	}
	return c, nil
}

// parseSignatureAlgorithm accepts only ecdsa-with-SHA256, whose parameters must be absent (RFC 5758 §3.2).
func parseSignatureAlgorithm(alg cryptobyte.String) (asn1.ObjectIdentifier, error) {
	var seq cryptobyte.String
	var oid asn1.ObjectIdentifier
	if !alg.ReadASN1(&seq, cbasn1.SEQUENCE) || !seq.ReadASN1ObjectIdentifier(&oid) {
		return nil, errorf(ErrMalformed, "bad signature algorithm")
	}
	if !oid.Equal(OIDSignatureECDSA256) {
		return nil, errorf(ErrUnsupportedAlgorithm, "signature algorithm %v (SGP.22 uses ecdsa-with-SHA256)", oid)
	}
	if !seq.Empty() {
		return nil, errorf(ErrMalformed, "ecdsa-with-SHA256 with parameters")
	}
	return oid, nil
}

// parseECPublicKeyInfo decodes a SubjectPublicKeyInfo holding a named-curve EC key on an allowed curve.
func parseECPublicKeyInfo(spki cryptobyte.String) (*ecdsa.PublicKey, error) {
	var seq, alg cryptobyte.String
	var algOID asn1.ObjectIdentifier
	if !spki.ReadASN1(&seq, cbasn1.SEQUENCE) || !seq.ReadASN1(&alg, cbasn1.SEQUENCE) ||
		!alg.ReadASN1ObjectIdentifier(&algOID) {
		return nil, errorf(ErrMalformed, "bad subjectPublicKeyInfo")
	}
	if !algOID.Equal(OIDPublicKeyECDSA) {
		return nil, errorf(ErrUnsupportedAlgorithm, "public key algorithm %v is not EC", algOID)
	}
	var curveOID asn1.ObjectIdentifier
	if !alg.ReadASN1ObjectIdentifier(&curveOID) || !alg.Empty() {
		return nil, errorf(ErrUnsupportedAlgorithm, "EC public key without a named curve")
	}
	curve, ok := CurveByOID(curveOID)
	if !ok {
		return nil, errorf(ErrUnsupportedAlgorithm, "public key on curve %v (SGP.22 allows P-256 and brainpoolP256r1)", curveOID)
	}
	var bits asn1.BitString
	if !seq.ReadASN1BitString(&bits) || !seq.Empty() || bits.BitLength%8 != 0 {
		return nil, errorf(ErrMalformed, "bad subjectPublicKey")
	}
	pub, err := ParsePoint(curve, bits.Bytes)
	if err != nil {
		return nil, errorf(ErrMalformed, "public key: %v", err)
	}
	return pub, nil
}

// parseName decodes a Name (RFC 5280 §4.1.2.4) with the string types X.509 uses.
func parseName(raw cryptobyte.String) (pkix.RDNSequence, error) {
	var seq cryptobyte.String
	if !raw.ReadASN1(&seq, cbasn1.SEQUENCE) || !raw.Empty() {
		return nil, errorf(ErrMalformed, "bad Name")
	}
	var rdns pkix.RDNSequence
	for !seq.Empty() {
		var set cryptobyte.String
		if !seq.ReadASN1(&set, cbasn1.SET) || set.Empty() {
			return nil, errorf(ErrMalformed, "bad RelativeDistinguishedName")
		}
		var rdn pkix.RelativeDistinguishedNameSET
		for !set.Empty() {
			var atv, value cryptobyte.String
			var attr pkix.AttributeTypeAndValue
			var tag cbasn1.Tag
			if !set.ReadASN1(&atv, cbasn1.SEQUENCE) || !atv.ReadASN1ObjectIdentifier(&attr.Type) ||
				!atv.ReadAnyASN1(&value, &tag) || !atv.Empty() {
				return nil, errorf(ErrMalformed, "bad AttributeTypeAndValue")
			}
			s, ok := decodeString(tag, value)
			if !ok {
				return nil, errorf(ErrMalformed, "bad string in attribute %v", attr.Type)
			}
			attr.Value = s
			rdn = append(rdn, attr)
		}
		rdns = append(rdns, rdn)
	}
	return rdns, nil
}

// singleAttribute returns the value of attribute oid if the name holds it exactly once.
func singleAttribute(rdns pkix.RDNSequence, oid asn1.ObjectIdentifier) string {
	var value string
	n := 0
	for _, rdn := range rdns {
		for _, atv := range rdn {
			if atv.Type.Equal(oid) {
				value, _ = atv.Value.(string)
				n++
			}
		}
	}
	if n != 1 {
		return ""
	}
	return value
}

// ASN.1 universal string tags not named by cryptobyte/asn1.
const (
	tagNumericString = cbasn1.Tag(18)
	tagBMPString     = cbasn1.Tag(30)
)

// decodeString decodes the directory string types, checking each one's character set.
func decodeString(tag cbasn1.Tag, v []byte) (string, bool) {
	switch tag {
	case cbasn1.PrintableString:
		for _, b := range v {
			if !isPrintable(b) {
				return "", false
			}
		}
		return string(v), true
	case cbasn1.UTF8String:
		return string(v), utf8.Valid(v)
	case cbasn1.IA5String:
		return string(v), isIA5(v)
	case tagNumericString:
		for _, b := range v {
			if (b < '0' || b > '9') && b != ' ' {
				return "", false
			}
		}
		return string(v), true
	case cbasn1.T61String:
		// Read as Latin-1, as most implementations do.
		r := make([]rune, len(v))
		for i, b := range v {
			r[i] = rune(b)
		}
		return string(r), true
	case tagBMPString:
		// UCS-2, big-endian; like crypto/x509, drop a 0000 terminator and refuse surrogates
		// and noncharacters.
		if len(v)%2 != 0 {
			return "", false
		}
		if n := len(v); n >= 2 && v[n-1] == 0 && v[n-2] == 0 {
			v = v[:n-2]
		}
		u := make([]uint16, len(v)/2)
		for i := range u {
			u[i] = uint16(v[2*i])<<8 | uint16(v[2*i+1])
			if u[i] >= 0xd800 && u[i] <= 0xdfff || u[i] >= 0xfdd0 && u[i] <= 0xfdef || u[i] >= 0xfffe {
				return "", false
			}
		}
		return string(utf16.Decode(u)), true
	}
	return "", false
}

// isPrintable reports whether b may appear in a PrintableString (X.680 §41.4). Like crypto/x509 it
// also lets '*' and '&' through, which some issuers put there.
func isPrintable(b byte) bool {
	return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' ||
		'\'' <= b && b <= ')' || '+' <= b && b <= '/' ||
		b == ' ' || b == ':' || b == '=' || b == '?' || b == '*' || b == '&'
}

func isIA5(v []byte) bool {
	for _, b := range v {
		if b >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// parseTime reads a UTCTime or GeneralizedTime in the RFC 5280 §4.1.2.5 form:
// YYMMDDHHMMSSZ (years 1950–2049) or YYYYMMDDHHMMSSZ, always in UTC with seconds.
func parseTime(s *cryptobyte.String) (time.Time, error) {
	var v cryptobyte.String
	var year int
	switch {
	case s.PeekASN1Tag(cbasn1.UTCTime):
		if !s.ReadASN1(&v, cbasn1.UTCTime) || len(v) != 13 {
			return time.Time{}, errorf(ErrMalformed, "bad UTCTime")
		}
		yy, ok := digits(v[:2])
		if !ok {
			return time.Time{}, errorf(ErrMalformed, "bad UTCTime")
		}
		year = 1900 + yy
		if yy < 50 {
			year = 2000 + yy
		}
		v = v[2:]
	case s.PeekASN1Tag(cbasn1.GeneralizedTime):
		var ok bool
		if !s.ReadASN1(&v, cbasn1.GeneralizedTime) || len(v) != 15 {
			return time.Time{}, errorf(ErrMalformed, "bad GeneralizedTime")
		}
		if year, ok = digits(v[:4]); !ok {
			return time.Time{}, errorf(ErrMalformed, "bad GeneralizedTime")
		}
		v = v[4:]
	default:
		return time.Time{}, errorf(ErrMalformed, "validity time is neither UTCTime nor GeneralizedTime")
	}
	// v is now MMDDHHMMSSZ.
	month, ok1 := digits(v[0:2])
	day, ok2 := digits(v[2:4])
	hour, ok3 := digits(v[4:6])
	minute, ok4 := digits(v[6:8])
	sec, ok5 := digits(v[8:10])
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || v[10] != 'Z' {
		return time.Time{}, errorf(ErrMalformed, "bad time %q", v)
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, 0, time.UTC)
	if t.Year() != year || int(t.Month()) != month || t.Day() != day || t.Hour() != hour ||
		t.Minute() != minute || t.Second() != sec {
		return time.Time{}, errorf(ErrMalformed, "time out of range")
	}
	return t, nil
}

// digits decodes a run of ASCII decimal digits.
func digits(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = 10*n + int(c-'0')
	}
	return n, true
}

// parseExtensions decodes the Extensions SEQUENCE (RFC 5280 §4.1.2.9) and the extensions SGP.22 uses.
func (c *Certificate) parseExtensions(exts cryptobyte.String) error {
	var seq cryptobyte.String
	if !exts.ReadASN1(&seq, cbasn1.SEQUENCE) || !exts.Empty() || seq.Empty() {
		return errorf(ErrMalformed, "bad extensions")
	}
	seen := make(map[string]bool)
	for !seq.Empty() {
		var e cryptobyte.String
		var ext pkix.Extension
		if !seq.ReadASN1(&e, cbasn1.SEQUENCE) || !e.ReadASN1ObjectIdentifier(&ext.Id) {
			return errorf(ErrMalformed, "bad extension")
		}
		// critical BOOLEAN DEFAULT FALSE: an explicit FALSE is not DER, but common enough to accept.
		if e.PeekASN1Tag(cbasn1.BOOLEAN) && !e.ReadASN1Boolean(&ext.Critical) {
			return errorf(ErrMalformed, "bad critical flag in extension %v", ext.Id)
		}
		var value cryptobyte.String
		if !e.ReadASN1(&value, cbasn1.OCTET_STRING) || !e.Empty() {
			return errorf(ErrMalformed, "bad extension %v", ext.Id)
		}
		ext.Value = value
		if seen[ext.Id.String()] {
			return errorf(ErrMalformed, "duplicate extension %v", ext.Id)
		}
		seen[ext.Id.String()] = true
		c.Extensions = append(c.Extensions, ext)
		if ext.Critical {
			c.CriticalExtensions = append(c.CriticalExtensions, ext.Id)
		}

		handled, err := c.parseExtension(ext.Id, value)
		if err != nil {
			return err
		}
		if !handled && ext.Critical {
			return errorf(ErrUnhandledCriticalExtension, "%v", ext.Id)
		}
	}
	return nil
}

// parseExtension decodes one extension into c. It reports whether the extension is one this
// package handles (so that it may be critical).
func (c *Certificate) parseExtension(id asn1.ObjectIdentifier, v cryptobyte.String) (bool, error) {
	bad := func() (bool, error) { return true, errorf(ErrMalformed, "bad extension %v", id) }
	switch {
	case id.Equal(oidExtSubjectKeyID):
		var ski cryptobyte.String
		if !v.ReadASN1(&ski, cbasn1.OCTET_STRING) || !v.Empty() || ski.Empty() {
			return bad()
		}
		c.SubjectKeyId = ski

	case id.Equal(oidExtAuthorityKeyID):
		// SEQUENCE { keyIdentifier [0] IMPLICIT OCTET STRING OPTIONAL,
		//            authorityCertIssuer [1] GeneralNames OPTIONAL, authorityCertSerialNumber [2] INTEGER OPTIONAL }
		var seq, kid cryptobyte.String
		var hasKID bool
		if !v.ReadASN1(&seq, cbasn1.SEQUENCE) || !v.Empty() ||
			!seq.ReadOptionalASN1(&kid, &hasKID, cbasn1.Tag(0).ContextSpecific()) ||
			!seq.SkipOptionalASN1(cbasn1.Tag(1).Constructed().ContextSpecific()) ||
			!seq.SkipOptionalASN1(cbasn1.Tag(2).ContextSpecific()) || !seq.Empty() ||
			hasKID && kid.Empty() {
			return bad()
		}
		c.AuthorityKeyId = kid

	case id.Equal(oidExtKeyUsage):
		var bits asn1.BitString
		if !v.ReadASN1BitString(&bits) || !v.Empty() {
			return bad()
		}
		for i := 0; i < 9; i++ {
			if bits.At(i) != 0 {
				c.KeyUsage |= 1 << i
			}
		}
		if c.KeyUsage == 0 {
			return bad() // RFC 5280 §4.2.1.3: at least one bit must be set
		}

	case id.Equal(oidExtBasicConstraints):
		var seq cryptobyte.String
		if !v.ReadASN1(&seq, cbasn1.SEQUENCE) || !v.Empty() {
			return bad()
		}
		if seq.PeekASN1Tag(cbasn1.BOOLEAN) && !seq.ReadASN1Boolean(&c.IsCA) {
			return bad()
		}
		if seq.PeekASN1Tag(cbasn1.INTEGER) {
			var n int64
			if !seq.ReadASN1Integer(&n) || n < 0 || n > 255 || !c.IsCA {
				return bad()
			}
			c.MaxPathLen = int(n)
		}
		if !seq.Empty() {
			return bad()
		}
		c.BasicConstraintsValid = true

	case id.Equal(oidExtCertificatePolicies):
		// SEQUENCE SIZE (1..MAX) OF PolicyInformation ::= SEQUENCE { policyIdentifier, policyQualifiers OPTIONAL }
		var seq cryptobyte.String
		if !v.ReadASN1(&seq, cbasn1.SEQUENCE) || !v.Empty() || seq.Empty() {
			return bad()
		}
		for !seq.Empty() {
			var pi cryptobyte.String
			var oid asn1.ObjectIdentifier
			if !seq.ReadASN1(&pi, cbasn1.SEQUENCE) || !pi.ReadASN1ObjectIdentifier(&oid) ||
				!pi.SkipOptionalASN1(cbasn1.SEQUENCE) || !pi.Empty() {
				return bad()
			}
			for _, p := range c.PolicyIdentifiers {
				if p.Equal(oid) {
					return bad() // RFC 5280 §4.2.1.4: a policy appears at most once
				}
			}
			c.PolicyIdentifiers = append(c.PolicyIdentifiers, oid)
		}

	case id.Equal(oidExtSubjectAltName):
		var seq cryptobyte.String
		if !v.ReadASN1(&seq, cbasn1.SEQUENCE) || !v.Empty() || seq.Empty() {
			return bad()
		}
		for !seq.Empty() {
			var gn cryptobyte.String
			var tag cbasn1.Tag
			if !seq.ReadAnyASN1(&gn, &tag) {
				return bad()
			}
			switch tag {
			case tagDNSName:
				if gn.Empty() || !isIA5(gn) {
					return bad()
				}
				c.DNSNames = append(c.DNSNames, string(gn))
			case tagRegisteredID:
				oid, ok := parseOIDContents(gn)
				if !ok {
					return bad()
				}
				c.RegisteredIDs = append(c.RegisteredIDs, oid)
			}
		}

	case id.Equal(oidExtExtKeyUsage):
		var seq cryptobyte.String
		if !v.ReadASN1(&seq, cbasn1.SEQUENCE) || !v.Empty() || seq.Empty() {
			return bad()
		}
		for !seq.Empty() {
			var oid asn1.ObjectIdentifier
			if !seq.ReadASN1ObjectIdentifier(&oid) {
				return bad()
			}
			c.ExtKeyUsage = append(c.ExtKeyUsage, oid)
		}

	case id.Equal(oidExtCRLDistributionPoints):
		uris, ok := parseCRLDistributionPoints(v)
		if !ok {
			return bad()
		}
		c.CRLDistributionPoints = uris

	case id.Equal(oidExtNameConstraints):
		prefixes, sgp22Form, ok := parseEIDNameConstraints(v)
		if !ok {
			return bad()
		}
		c.addEIDPrefixes(prefixes)
		// Only the SGP.22 form is handled: it is read as "the EID starts with this IIN" rather
		// than by RFC 5280 §4.2.1.10 directoryName rules, which the SGP.26 eUICC certificates fail.
		return sgp22Form, nil

	case id.Equal(OIDExtPermittedEINs):
		var seq cryptobyte.String
		if !v.ReadASN1(&seq, cbasn1.SEQUENCE) || !v.Empty() || seq.Empty() {
			return bad()
		}
		var prefixes []string
		for !seq.Empty() {
			var s cryptobyte.String
			if !seq.ReadASN1(&s, cbasn1.PrintableString) || s.Empty() {
				return bad()
			}
			p, ok := decodeString(cbasn1.PrintableString, s)
			if !ok {
				return bad()
			}
			prefixes = append(prefixes, p)
		}
		c.addEIDPrefixes(prefixes)

	default:
		return false, nil
	}
	return true, nil
}

func (c *Certificate) addEIDPrefixes(prefixes []string) {
next:
	for _, p := range prefixes {
		for _, q := range c.PermittedEIDPrefixes {
			if p == q {
				continue next
			}
		}
		c.PermittedEIDPrefixes = append(c.PermittedEIDPrefixes, p)
	}
}

// parseOIDContents decodes the contents octets of an OBJECT IDENTIFIER (as in an IMPLICIT tag).
func parseOIDContents(contents []byte) (asn1.ObjectIdentifier, bool) {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.OBJECT_IDENTIFIER, func(b *cryptobyte.Builder) { b.AddBytes(contents) })
	der, err := b.Bytes()
	if err != nil {
		return nil, false
	}
	s := cryptobyte.String(der)
	var oid asn1.ObjectIdentifier
	if !s.ReadASN1ObjectIdentifier(&oid) || !s.Empty() {
		return nil, false
	}
	return oid, true
}

// parseCRLDistributionPoints returns the URIs of the fullName forms (RFC 5280 §4.2.1.13).
func parseCRLDistributionPoints(v cryptobyte.String) ([]string, bool) {
	var seq cryptobyte.String
	if !v.ReadASN1(&seq, cbasn1.SEQUENCE) || !v.Empty() || seq.Empty() {
		return nil, false
	}
	var uris []string
	for !seq.Empty() {
		var dp, dpName cryptobyte.String
		var hasName bool
		if !seq.ReadASN1(&dp, cbasn1.SEQUENCE) ||
			!dp.ReadOptionalASN1(&dpName, &hasName, cbasn1.Tag(0).Constructed().ContextSpecific()) ||
			!dp.SkipOptionalASN1(cbasn1.Tag(1).ContextSpecific()) ||
			!dp.SkipOptionalASN1(cbasn1.Tag(2).Constructed().ContextSpecific()) || !dp.Empty() {
			return nil, false
		}
		if !hasName {
			continue
		}
		var fullName cryptobyte.String
		var hasFull bool
		if !dpName.ReadOptionalASN1(&fullName, &hasFull, cbasn1.Tag(0).Constructed().ContextSpecific()) ||
			hasFull && !dpName.Empty() {
			return nil, false
		}
		if !hasFull {
			continue // nameRelativeToCRLIssuer
		}
		for !fullName.Empty() {
			var gn cryptobyte.String
			var tag cbasn1.Tag
			if !fullName.ReadAnyASN1(&gn, &tag) {
				return nil, false
			}
			if tag == tagURI {
				if !isIA5(gn) {
					return nil, false
				}
				uris = append(uris, string(gn))
			}
		}
	}
	return uris, true
}

// parseEIDNameConstraints decodes nameConstraints (RFC 5280 §4.2.1.10) and returns the
// serialNumber values of its directoryName permitted subtrees, the SGP.22 EUM form (variant O).
// sgp22Form is false when the extension holds anything else (excluded subtrees, other name
// forms, directoryNames without a serialNumber), which this package cannot enforce.
func parseEIDNameConstraints(v cryptobyte.String) (prefixes []string, sgp22Form, ok bool) {
	var seq, permitted cryptobyte.String
	var hasPermitted bool
	if !v.ReadASN1(&seq, cbasn1.SEQUENCE) || !v.Empty() ||
		!seq.ReadOptionalASN1(&permitted, &hasPermitted, cbasn1.Tag(0).Constructed().ContextSpecific()) {
		return nil, false, false
	}
	sgp22Form = hasPermitted
	if seq.PeekASN1Tag(cbasn1.Tag(1).Constructed().ContextSpecific()) {
		sgp22Form = false
		if !seq.SkipASN1(cbasn1.Tag(1).Constructed().ContextSpecific()) {
			return nil, false, false
		}
	}
	if !seq.Empty() || hasPermitted && permitted.Empty() {
		return nil, false, false
	}
	for !permitted.Empty() {
		// GeneralSubtree ::= SEQUENCE { base GeneralName, minimum [0] DEFAULT 0, maximum [1] OPTIONAL }
		var subtree, base cryptobyte.String
		var tag cbasn1.Tag
		if !permitted.ReadASN1(&subtree, cbasn1.SEQUENCE) || !subtree.ReadAnyASN1(&base, &tag) ||
			!subtree.SkipOptionalASN1(cbasn1.Tag(0).ContextSpecific()) ||
			!subtree.SkipOptionalASN1(cbasn1.Tag(1).ContextSpecific()) || !subtree.Empty() {
			return nil, false, false
		}
		if tag != tagDirectoryName {
			sgp22Form = false
			continue
		}
		rdns, err := parseName(base)
		if err != nil {
			return nil, false, false
		}
		found := false
		for _, rdn := range rdns {
			for _, atv := range rdn {
				if s, isString := atv.Value.(string); isString && atv.Type.Equal(oidAttributeSerialNumber) && s != "" {
					prefixes = append(prefixes, s)
					found = true
				}
			}
		}
		if !found {
			sgp22Form = false
		}
	}
	return prefixes, sgp22Form, true
}

// CheckSignatureFrom verifies that parent's key signed c (ecdsa-with-SHA256 over the
// tbsCertificate). It checks nothing else: not names, key identifiers, validity or roles.
// The error wraps ErrBadSignature.
func (c *Certificate) CheckSignatureFrom(parent *Certificate) error {
	if parent == nil || parent.PublicKey == nil {
		return errorf(ErrBadSignature, "no issuer key")
	}
	if !c.SignatureAlgorithm.Equal(OIDSignatureECDSA256) {
		return errorf(ErrUnsupportedAlgorithm, "signature algorithm %v", c.SignatureAlgorithm)
	}
	if !VerifyDER(parent.PublicKey, c.RawTBSCertificate, c.Signature) {
		return errorf(ErrBadSignature, "signature does not verify under the key of %q", parent.Subject.String())
	}
	return nil
}
