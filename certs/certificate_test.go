package certs_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/smdpp/smdpp/certs"
)

// rfc2253 renders a DER Name in RFC 2253 order with OpenSSL's attribute names, as INDEX.md shows it.
func rfc2253(t *testing.T, raw []byte) string {
	t.Helper()
	var rdns pkix.RDNSequence
	if rest, err := asn1.Unmarshal(raw, &rdns); err != nil || len(rest) != 0 {
		t.Fatalf("decoding name: %v", err)
	}
	return strings.ReplaceAll(rdns.String(), "SERIALNUMBER=", "serialNumber=")
}

func oidStrings(oids []asn1.ObjectIdentifier) []string {
	var out []string
	for _, o := range oids {
		out = append(out, o.String())
	}
	return out
}

// TestParseCertificateIndex checks every certificate against the values INDEX.md lists for it.
func TestParseCertificateIndex(t *testing.T) {
	listed := make(map[string]bool)
	for _, want := range indexCerts {
		listed[want.file] = true
		t.Run(want.file, func(t *testing.T) {
			if n := len(readTestdata(t, want.file)); n != want.size {
				t.Errorf("file has %d bytes, INDEX says %d", n, want.size)
			}
			c := loadCert(t, want.file)
			if got := rfc2253(t, c.RawSubject); got != want.subject {
				t.Errorf("subject %q, want %q", got, want.subject)
			}
			if got := rfc2253(t, c.RawIssuer); got != want.issuer {
				t.Errorf("issuer %q, want %q", got, want.issuer)
			}
			if got := c.SerialNumber.Text(16); got != want.serial {
				t.Errorf("serial %s, want %s", got, want.serial)
			}
			if got := certs.CurveName(c.PublicKey.Curve); got != want.curve {
				t.Errorf("curve %s, want %s", got, want.curve)
			}
			if got := c.NotBefore.Format(time.DateOnly); got != want.notBefore {
				t.Errorf("notBefore %s, want %s", got, want.notBefore)
			}
			if got := c.NotAfter.Format(time.DateOnly); got != want.notAfter {
				t.Errorf("notAfter %s, want %s", got, want.notAfter)
			}
			if got := strings.Join(oidStrings(c.PolicyIdentifiers), ","); got != want.policy {
				t.Errorf("policies %s, want %s", got, want.policy)
			}
			if got := oidStrings(c.RegisteredIDs); !slices.Equal(got, want.rids) {
				t.Errorf("registeredIDs %v, want %v", got, want.rids)
			}
			if !slices.Equal(c.DNSNames, want.dns) {
				t.Errorf("DNS names %v, want %v", c.DNSNames, want.dns)
			}
			if got := hex.EncodeToString(c.SubjectKeyId); got != want.ski {
				t.Errorf("SKI %s, want %s", got, want.ski)
			}
			if got := hex.EncodeToString(c.AuthorityKeyId); got != want.aki {
				t.Errorf("AKI %s, want %s", got, want.aki)
			}
			if c.SignatureAlgorithm.String() != "1.2.840.10045.4.3.2" || c.Version != 3 {
				t.Errorf("signature algorithm %v, version %d", c.SignatureAlgorithm, c.Version)
			}
			if want.key != "" {
				if k := loadKey(t, want.key); !k.PublicKey.Equal(c.PublicKey) {
					t.Errorf("public key differs from that of %s", want.key)
				}
			}
		})
	}
	for _, f := range testFiles(t, "CERT_") {
		if !listed[f] {
			t.Errorf("%s is not in the INDEX table of this test", f)
		}
	}
}

// TestSGP22Identifiers checks the identifiers INDEX.md singles out: CI PKIDs, EUM SKIs and
// permitted IIN, and the EID of every eUICC certificate.
func TestSGP22Identifiers(t *testing.T) {
	for file, want := range map[string]string{
		ciNIST:  "f54172bdf98a95d65cbeb88a38a1c11d800a85c3",
		ciBRP:   "c0bc70ba36929d43b467ff57570530e57ab8fcd8",
		eumNIST: "dd3da24d350c1cc5d0af0965f40ec34c5ee409f1",
		eumBRP:  "6fa1e5217363a822bded988a1a0d0ff5d7620db7",
	} {
		if got := hex.EncodeToString(loadCert(t, file).SubjectKeyId); got != want {
			t.Errorf("%s: SKI %s, want %s", file, got, want)
		}
	}
	for _, file := range []string{eumNIST, eumBRP} {
		c := loadCert(t, file)
		if !slices.Equal(c.PermittedEIDPrefixes, []string{"89049032"}) {
			t.Errorf("%s: permitted EID prefixes %q, want [89049032]", file, c.PermittedEIDPrefixes)
		}
		if c.Role() != certs.RoleEUM || !c.IsCA || c.MaxPathLen != 0 {
			t.Errorf("%s: role %v, CA %v, path length %d", file, c.Role(), c.IsCA, c.MaxPathLen)
		}
	}
	for file, eid := range map[string]string{
		euiccNIST: testEID,
		euiccBRP:  testEID,
		"InvalidTestCases/CERT_EUICC_ECDSA_NIST_EXPIRED.der":       testEID,
		"InvalidTestCases/CERT_EUICC_ECDSA_NIST_INVALID.der":       testEID,
		"InvalidTestCases/CERT_EUICC_ECDSA_NIST_INVALID_EID.der":   "89049033123451234512345678901234",
		"InvalidTestCases/CERT_EUICC_ECDSA_NIST_INVALID_EID.pem":   "89049033123451234512345678901234",
		"InvalidTestCases/CERT_EUICC_ECDSA_NIST_UNMATCHED_EID.der": "89049032123451234512345678901299",
		"InvalidTestCases/CERT_EUICC_ECDSA_NIST_UNMATCHED_EID.pem": "89049032123451234512345678901299",
	} {
		c := loadCert(t, file)
		if c.EID != eid {
			t.Errorf("%s: EID %q, want %q", file, c.EID, eid)
		}
		if c.Role() != certs.RoleEUICC {
			t.Errorf("%s: role %v", file, c.Role())
		}
	}
	if eid := loadCert(t, "DPauth/CERT_S_SM_DPauth_ECDSA_NIST.der").EID; eid != "" {
		t.Errorf("DPauth certificate has EID %q", eid)
	}
}

// TestParseCertificatePEMMatchesDER checks each PEM copy against the DER file of the same name.
func TestParseCertificatePEMMatchesDER(t *testing.T) {
	for _, f := range testFiles(t, "CERT_") {
		if !strings.HasSuffix(f, ".pem") || strings.HasPrefix(f, "MNO/") {
			continue
		}
		p, d := loadCert(t, f), loadCert(t, strings.TrimSuffix(f, ".pem")+".der")
		if !bytes.Equal(p.Raw, d.Raw) {
			t.Errorf("%s differs from its .der", f)
		}
	}
	if _, err := certs.ParseCertificatePEM(readTestdata(t, "DPauth/PK_S_SM_DPauth_ECDSA_NIST.pem")); !errors.Is(err, certs.ErrMalformed) {
		t.Errorf("PEM without a CERTIFICATE block: %v", err)
	}
}

// TestCrossCheckX509 compares every field with crypto/x509 for the P-256 certificates it can parse.
func TestCrossCheckX509(t *testing.T) {
	n := 0
	for _, f := range testFiles(t, "CERT_") {
		c := loadCert(t, f)
		if certs.CurveName(c.PublicKey.Curve) != "nist" {
			continue
		}
		n++
		t.Run(f, func(t *testing.T) {
			x, err := x509.ParseCertificate(c.Raw)
			if err != nil {
				t.Fatal(err)
			}
			crossCheck(t, c, x)
		})
	}
	if n < 30 {
		t.Errorf("only %d P-256 certificates cross-checked", n)
	}
}

// crossCheck compares our parse of a P-256 certificate with crypto/x509's, field by field.
func crossCheck(t *testing.T, c *certs.Certificate, x *x509.Certificate) {
	t.Helper()
	eq := func(what string, got, want any) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: ours %v, crypto/x509 %v", what, got, want)
		}
	}
	eq("Raw", bytes.Equal(c.Raw, x.Raw), true)
	eq("RawTBSCertificate", bytes.Equal(c.RawTBSCertificate, x.RawTBSCertificate), true)
	eq("RawSubjectPublicKeyInfo", bytes.Equal(c.RawSubjectPublicKeyInfo, x.RawSubjectPublicKeyInfo), true)
	eq("RawIssuer", bytes.Equal(c.RawIssuer, x.RawIssuer), true)
	eq("RawSubject", bytes.Equal(c.RawSubject, x.RawSubject), true)
	eq("Version", c.Version, x.Version)
	eq("SerialNumber", c.SerialNumber, x.SerialNumber)
	eq("SignatureAlgorithm", x.SignatureAlgorithm, x509.ECDSAWithSHA256)
	eq("Signature", bytes.Equal(c.Signature, x.Signature), true)
	eq("Issuer", c.Issuer.String(), x.Issuer.String())
	eq("Subject", c.Subject.String(), x.Subject.String())
	if c.EID != "" { // crypto/x509 keeps the last of several serialNumbers; we keep none
		eq("Subject.SerialNumber", c.EID, x.Subject.SerialNumber)
	}
	eq("NotBefore", c.NotBefore, x.NotBefore)
	eq("NotAfter", c.NotAfter, x.NotAfter)
	eq("PublicKey", c.PublicKey.Equal(x.PublicKey), true)
	eq("SubjectKeyId", hex.EncodeToString(c.SubjectKeyId), hex.EncodeToString(x.SubjectKeyId))
	eq("AuthorityKeyId", hex.EncodeToString(c.AuthorityKeyId), hex.EncodeToString(x.AuthorityKeyId))
	eq("KeyUsage", c.KeyUsage, x.KeyUsage)
	eq("BasicConstraintsValid", c.BasicConstraintsValid, x.BasicConstraintsValid)
	eq("IsCA", c.IsCA, x.IsCA)
	wantPath := x.MaxPathLen
	if wantPath == 0 && !x.MaxPathLenZero {
		wantPath = -1
	}
	eq("MaxPathLen", c.MaxPathLen, wantPath)
	eq("PolicyIdentifiers", oidStrings(c.PolicyIdentifiers), oidStrings(x.PolicyIdentifiers))
	eq("DNSNames", c.DNSNames, x.DNSNames)
	eq("CRLDistributionPoints", c.CRLDistributionPoints, x.CRLDistributionPoints)
	var eku []string
	for _, u := range x.ExtKeyUsage {
		eku = append(eku, u.OID().String())
	}
	eku = append(eku, oidStrings(x.UnknownExtKeyUsage)...)
	eq("ExtKeyUsage", oidStrings(c.ExtKeyUsage), eku)
	eq("Extensions", len(c.Extensions), len(x.Extensions))
	for i := range min(len(c.Extensions), len(x.Extensions)) {
		eq("Extension id", c.Extensions[i].Id, x.Extensions[i].Id)
		eq("Extension critical", c.Extensions[i].Critical, x.Extensions[i].Critical)
		eq("Extension value", bytes.Equal(c.Extensions[i].Value, x.Extensions[i].Value), true)
	}
	// Go leaves the SGP.22 EID-range extensions unhandled; everything else critical it handles.
	var goCritical []string
	for _, e := range x.Extensions {
		if e.Critical {
			goCritical = append(goCritical, e.Id.String())
		}
	}
	eq("CriticalExtensions", oidStrings(c.CriticalExtensions), goCritical)
	for _, id := range x.UnhandledCriticalExtensions {
		if !id.Equal(asn1.ObjectIdentifier{2, 5, 29, 30}) && !id.Equal(certs.OIDExtPermittedEINs) {
			t.Errorf("crypto/x509 cannot handle critical extension %v", id)
		}
	}
}

// TestX509RejectsBrainpool records why this package parses certificates itself.
func TestX509RejectsBrainpool(t *testing.T) {
	for _, f := range testFiles(t, "CERT_") {
		c := loadCert(t, f)
		if certs.CurveName(c.PublicKey.Curve) != "brainpool" {
			continue
		}
		if _, err := x509.ParseCertificate(c.Raw); err == nil || !strings.Contains(err.Error(), "unsupported elliptic curve") {
			t.Errorf("%s: crypto/x509 says %v", f, err)
		}
	}
}

func TestCheckSignatureFrom(t *testing.T) {
	tests := []struct {
		child, parent string
		want          error
	}{
		{ciNIST, ciNIST, nil},
		{ciBRP, ciBRP, nil},
		{eumNIST, ciNIST, nil},
		{eumBRP, ciBRP, nil},
		{euiccNIST, eumNIST, nil},
		{euiccBRP, eumBRP, nil},
		{"DPauth/CERT_S_SM_DPauth_ECDSA_BRP.der", ciBRP, nil},
		{"DPpb/CERT_S_SM_DP2pb_ECDSA_NIST.der", ciNIST, nil},
		{"DPtls/CERT_S_SM_DP_VARO_TLS_BRP.der", ciBRP, nil},
		{"InvalidTestCases/CERT_UNKNOWN_CI_ECDSA_NIST.der", "InvalidTestCases/CERT_UNKNOWN_CI_ECDSA_NIST.der", nil},
		{"InvalidTestCases/CERT_EUM_ECDSA_NIST_UNKNOWN_CI.der", "InvalidTestCases/CERT_UNKNOWN_CI_ECDSA_NIST.der", nil},
		{"InvalidTestCases/CERT_EUM_ECDSA_NIST_EXPIRED.der", ciNIST, nil},
		// Wrong issuer key, same curve and across curves.
		{eumNIST, ciBRP, certs.ErrBadSignature},
		{euiccNIST, ciNIST, certs.ErrBadSignature},
		{euiccBRP, eumNIST, certs.ErrBadSignature},
		// The self-signed negatives were not signed by the EUM or CI they name.
		{"InvalidTestCases/CERT_EUICC_ECDSA_NIST_INVALID.der", eumNIST, certs.ErrBadSignature},
		{"InvalidTestCases/CERT_EUM_ECDSA_NIST_INVALID.der", ciNIST, certs.ErrBadSignature},
		{"InvalidTestCases/CERT_EUICC_ECDSA_NIST_INVALID.der", "InvalidTestCases/CERT_EUICC_ECDSA_NIST_INVALID.der", nil},
	}
	for _, tt := range tests {
		t.Run(tt.child+"<-"+tt.parent, func(t *testing.T) {
			err := loadCert(t, tt.child).CheckSignatureFrom(loadCert(t, tt.parent))
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
	if err := loadCert(t, ciNIST).CheckSignatureFrom(nil); !errors.Is(err, certs.ErrBadSignature) {
		t.Errorf("nil parent: %v", err)
	}
}

// TestTamperedSignature flips bytes of the GSMA certificates: in the signature and in the
// signed part. The result still parses, and its signature fails.
func TestTamperedSignature(t *testing.T) {
	for _, tt := range []struct{ child, parent string }{
		{euiccNIST, eumNIST}, {euiccBRP, eumBRP}, {eumNIST, ciNIST}, {eumBRP, ciBRP}, {ciBRP, ciBRP},
	} {
		orig := readTestdata(t, tt.child)
		parent := loadCert(t, tt.parent)
		c := loadCert(t, tt.child)
		tbsAt := bytes.Index(orig, c.RawTBSCertificate)
		cn := bytes.Index(orig, []byte("Test"))
		for _, at := range []int{len(orig) - 1, len(orig) - 10, cn, tbsAt + len(c.RawTBSCertificate) - 1} {
			b := bytes.Clone(orig)
			b[at] ^= 0x01
			m, err := certs.ParseCertificate(b)
			if err != nil {
				t.Errorf("%s with byte %d flipped: %v", tt.child, at, err)
				continue
			}
			if err := m.CheckSignatureFrom(parent); !errors.Is(err, certs.ErrBadSignature) {
				t.Errorf("%s with byte %d flipped: %v, want ErrBadSignature", tt.child, at, err)
			}
		}
	}
}

// TestParseCertificateBuilt runs the parser over built certificates, valid and malformed.
func TestParseCertificateBuilt(t *testing.T) {
	nistKey := loadKey(t, "eUICC/SK_EUICC_ECDSA_NIST.pem")
	brpKey := loadKey(t, "eUICC/SK_EUICC_ECDSA_BRP.pem")
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p384SPKI, err := x509.MarshalPKIXPublicKey(&p384.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	ecSPKI := func(curve, point []byte) []byte {
		return der(func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddBytes(algID(certs.OIDPublicKeyECDSA, curve))
				b.AddASN1BitString(point)
			})
		})
	}
	point := certs.MarshalPoint(&nistKey.PublicKey)
	offCurve := bytes.Clone(point)
	offCurve[64] ^= 1
	rsaSPKI := der(func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddBytes(algID(asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}, []byte{5, 0}))
			b.AddASN1BitString([]byte{0x30, 0x00})
		})
	})
	explicitParams := der(func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1Int64(1) })
	})
	unknownOID := asn1.ObjectIdentifier{1, 2, 3, 4}
	dnsConstraintValue := der(func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddBytes(dnsName("example.com")) })
			})
		})
	})
	dnsConstraint := extension(asn1.ObjectIdentifier{2, 5, 29, 30}, true, dnsConstraintValue)
	excludedConstraint := extension(asn1.ObjectIdentifier{2, 5, 29, 30}, true, der(func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.Tag(1).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.Tag(4).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
						b.AddBytes(name(printable(oidSerial, "89049032")))
					})
				})
			})
		})
	}))
	explicitFalse := der(func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(asn1.ObjectIdentifier{2, 5, 29, 14})
			b.AddASN1Boolean(false)
			b.AddASN1OctetString(der(func(b *cryptobyte.Builder) { b.AddASN1OctetString([]byte{1, 2, 3}) }))
		})
	})
	bmp := func(s string) []byte { // UCS-2 big-endian
		var out []byte
		for _, r := range s {
			out = append(out, byte(r>>8), byte(r))
		}
		return out
	}

	tests := []struct {
		name  string
		cert  rawCert
		want  error                          // nil: must parse
		check func(*certs.Certificate) error // for valid ones
	}{
		{name: "minimal v3 without extensions", cert: rawCert{}},
		{name: "brainpool key", cert: rawCert{key: brpKey}, check: func(c *certs.Certificate) error {
			if certs.CurveName(c.PublicKey.Curve) != "brainpool" {
				return errors.New("not brainpool")
			}
			return nil
		}},
		{name: "v1", cert: rawCert{v1: true}, check: func(c *certs.Certificate) error {
			if c.Version != 1 {
				return fmt.Errorf("version %d", c.Version)
			}
			return nil
		}},
		{name: "times: UTCTime 1950 and GeneralizedTime 9999", cert: rawCert{validityRaw: validity(utcTime("500101000000Z"), genTime("99991231235959Z"))},
			check: func(c *certs.Certificate) error {
				if c.NotBefore.Year() != 1950 || c.NotAfter != time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC) {
					return fmt.Errorf("validity %v..%v", c.NotBefore, c.NotAfter)
				}
				return nil
			}},
		{name: "UTCTime 2049", cert: rawCert{validityRaw: validity(utcTime("491231235959Z"), utcTime("491231235959Z"))},
			check: func(c *certs.Certificate) error {
				if c.NotBefore.Year() != 2049 {
					return fmt.Errorf("year %d", c.NotBefore.Year())
				}
				return nil
			}},
		{name: "name string types", cert: rawCert{subject: name(
			attr{oidCN, cbasn1.UTF8String, "Grüße"}, attr{oidO, cbasn1.T61String, "caf\xe9"},
			attr{oidC, cbasn1.Tag(30), string(bmp("DE"))}, attr{oidSerial, cbasn1.Tag(18), "8904 9032"},
			attr{asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}, cbasn1.IA5String, "a@b.example"})},
			check: func(c *certs.Certificate) error {
				s := c.Subject
				if s.CommonName != "Grüße" || s.Organization[0] != "café" || s.Country[0] != "DE" || c.EID != "8904 9032" {
					return fmt.Errorf("subject %+v", s)
				}
				return nil
			}},
		{name: "unknown non-critical extension is kept", cert: rawCert{extensions: [][]byte{extension(unknownOID, false, []byte{5, 0})}},
			check: func(c *certs.Certificate) error {
				if len(c.Extensions) != 1 || !c.Extensions[0].Id.Equal(unknownOID) || len(c.CriticalExtensions) != 0 {
					return fmt.Errorf("extensions %v", c.Extensions)
				}
				return nil
			}},
		{name: "explicit critical FALSE accepted", cert: rawCert{extensions: [][]byte{explicitFalse}}, check: func(c *certs.Certificate) error {
			if !bytes.Equal(c.SubjectKeyId, []byte{1, 2, 3}) {
				return fmt.Errorf("SKI %x", c.SubjectKeyId)
			}
			return nil
		}},
		{name: "permittedEins extension and variant-O nameConstraints are merged", cert: rawCert{extensions: [][]byte{
			permittedEINsExt(false, "89049032", "89001012"), dirNameConstraintsExt("EUM", "89049032", "89033024")}},
			check: func(c *certs.Certificate) error {
				if !slices.Equal(c.PermittedEIDPrefixes, []string{"89049032", "89001012", "89033024"}) {
					return fmt.Errorf("prefixes %q", c.PermittedEIDPrefixes)
				}
				return nil
			}},
		{name: "non-critical nameConstraints in another form is ignored", cert: rawCert{extensions: [][]byte{
			extension(asn1.ObjectIdentifier{2, 5, 29, 30}, false, dnsConstraintValue)}},
			check: func(c *certs.Certificate) error {
				if len(c.PermittedEIDPrefixes) != 0 {
					return fmt.Errorf("prefixes %q", c.PermittedEIDPrefixes)
				}
				return nil
			}},
		{name: "SAN names", cert: rawCert{extensions: [][]byte{sanExt(dnsName("a.example"), ridName(asn1.ObjectIdentifier{2, 999, 10}),
			der(func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.Tag(6).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes([]byte("http://x")) })
			}))}},
			check: func(c *certs.Certificate) error {
				if !slices.Equal(c.DNSNames, []string{"a.example"}) || len(c.RegisteredIDs) != 1 || c.RegisteredIDs[0].String() != "2.999.10" {
					return fmt.Errorf("SAN %v %v", c.DNSNames, c.RegisteredIDs)
				}
				return nil
			}},

		// Malformed structure.
		{name: "trailing data after certificate", cert: rawCert{trailer: []byte{0}}, want: certs.ErrMalformed},
		{name: "trailing data in certificate", cert: rawCert{certTrailer: []byte{5, 0}}, want: certs.ErrMalformed},
		{name: "trailing data in tbsCertificate", cert: rawCert{tbsTrailer: []byte{5, 0}}, want: certs.ErrMalformed},
		{name: "extensions in a v1 certificate", cert: rawCert{v1: true, extensions: [][]byte{skiExt([]byte{1})}}, want: certs.ErrMalformed},
		{name: "version 4", cert: rawCert{versionRaw: []byte{0xa0, 3, 2, 1, 3}}, want: certs.ErrMalformed},
		{name: "version not minimal", cert: rawCert{versionRaw: []byte{0xa0, 4, 2, 2, 0, 2}}, want: certs.ErrMalformed},
		{name: "negative serial", cert: rawCert{serialRaw: []byte{2, 1, 0xff}}, want: certs.ErrMalformed},
		{name: "serial not minimal", cert: rawCert{serialRaw: []byte{2, 2, 0, 1}}, want: certs.ErrMalformed},
		{name: "signature algorithms differ", cert: rawCert{outerSigAlg: algID(asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3})}, want: certs.ErrMalformed},
		{name: "ecdsa-with-SHA384", cert: rawCert{sigAlg: algID(asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3})}, want: certs.ErrUnsupportedAlgorithm},
		{name: "sha256WithRSAEncryption", cert: rawCert{sigAlg: algID(asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}, []byte{5, 0})}, want: certs.ErrUnsupportedAlgorithm},
		{name: "ecdsa-with-SHA256 with NULL parameters", cert: rawCert{sigAlg: algID(certs.OIDSignatureECDSA256, []byte{5, 0})}, want: certs.ErrMalformed},
		{name: "signature BIT STRING with unused bits", cert: rawCert{sigRaw: []byte{3, 3, 1, 0x30, 0x00}}, want: certs.ErrMalformed},
		{name: "signature not a BIT STRING", cert: rawCert{sigRaw: []byte{4, 2, 0x30, 0x00}}, want: certs.ErrMalformed},

		// Keys.
		{name: "RSA key", cert: rawCert{spki: rsaSPKI}, want: certs.ErrUnsupportedAlgorithm},
		{name: "P-384 key", cert: rawCert{spki: p384SPKI}, want: certs.ErrUnsupportedAlgorithm},
		{name: "EC key with explicit parameters", cert: rawCert{spki: ecSPKI(explicitParams, point)}, want: certs.ErrUnsupportedAlgorithm},
		{name: "EC key without parameters", cert: rawCert{spki: der(func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddBytes(algID(certs.OIDPublicKeyECDSA)); b.AddASN1BitString(point) })
		})}, want: certs.ErrUnsupportedAlgorithm},
		{name: "point not on the curve", cert: rawCert{spki: ecSPKI(derOID(certs.OIDNamedCurveP256), offCurve)}, want: certs.ErrMalformed},
		{name: "P-256 point labelled brainpool", cert: rawCert{spki: ecSPKI(derOID(certs.OIDBrainpoolP256r1), point)}, want: certs.ErrMalformed},
		{name: "compressed point", cert: rawCert{spki: ecSPKI(derOID(certs.OIDNamedCurveP256), append([]byte{2 + point[64]&1}, point[1:33]...))}, want: certs.ErrMalformed},

		// Times.
		{name: "UTCTime without seconds", cert: rawCert{validityRaw: validity(utcTime("2001010000Z"), utcTime("300101000000Z"))}, want: certs.ErrMalformed},
		{name: "UTCTime with offset", cert: rawCert{validityRaw: validity(utcTime("200101000000+0100"), utcTime("300101000000Z"))}, want: certs.ErrMalformed},
		{name: "UTCTime month 13", cert: rawCert{validityRaw: validity(utcTime("201301000000Z"), utcTime("300101000000Z"))}, want: certs.ErrMalformed},
		{name: "UTCTime 30 February", cert: rawCert{validityRaw: validity(utcTime("200230000000Z"), utcTime("300101000000Z"))}, want: certs.ErrMalformed},
		{name: "UTCTime second 60", cert: rawCert{validityRaw: validity(utcTime("200101000060Z"), utcTime("300101000000Z"))}, want: certs.ErrMalformed},
		{name: "GeneralizedTime with fraction", cert: rawCert{validityRaw: validity(utcTime("200101000000Z"), genTime("20300101000000.5Z"))}, want: certs.ErrMalformed},
		{name: "GeneralizedTime local", cert: rawCert{validityRaw: validity(utcTime("200101000000Z"), genTime("20300101000000"))}, want: certs.ErrMalformed},
		{name: "validity with one time", cert: rawCert{validityRaw: der(func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddBytes(utcTime("200101000000Z")) })
		})}, want: certs.ErrMalformed},
		{name: "validity with three times", cert: rawCert{validityRaw: der(func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddBytes(utcTime("200101000000Z"))
				b.AddBytes(utcTime("300101000000Z"))
				b.AddBytes(utcTime("300101000000Z"))
			})
		})}, want: certs.ErrMalformed},

		// Names.
		{name: "PrintableString with @", cert: rawCert{subject: name(printable(oidCN, "a@b"))}, want: certs.ErrMalformed},
		{name: "bad UTF8String", cert: rawCert{subject: name(attr{oidCN, cbasn1.UTF8String, "\xff"})}, want: certs.ErrMalformed},
		{name: "IA5String above 0x7f", cert: rawCert{subject: name(attr{oidCN, cbasn1.IA5String, "\x80"})}, want: certs.ErrMalformed},
		{name: "attribute value not a string", cert: rawCert{subject: name(attr{oidCN, cbasn1.OCTET_STRING, "x"})}, want: certs.ErrMalformed},
		{name: "odd-length BMPString", cert: rawCert{subject: name(attr{oidCN, cbasn1.Tag(30), "abc"})}, want: certs.ErrMalformed},
		{name: "empty RDN", cert: rawCert{issuer: []byte{0x30, 2, 0x31, 0}}, want: certs.ErrMalformed},

		// Extensions.
		{name: "empty extensions", cert: rawCert{extsRaw: []byte{0xa3, 2, 0x30, 0}}, want: certs.ErrMalformed},
		{name: "duplicate extension", cert: rawCert{extensions: [][]byte{skiExt([]byte{1}), skiExt([]byte{1})}}, want: certs.ErrMalformed},
		{name: "unknown critical extension", cert: rawCert{extensions: [][]byte{extension(unknownOID, true, []byte{5, 0})}}, want: certs.ErrUnhandledCriticalExtension},
		{name: "critical nameConstraints with a dNSName subtree", cert: rawCert{extensions: [][]byte{dnsConstraint}}, want: certs.ErrUnhandledCriticalExtension},
		{name: "critical nameConstraints with excluded subtrees", cert: rawCert{extensions: [][]byte{excludedConstraint}}, want: certs.ErrUnhandledCriticalExtension},
		{name: "critical nameConstraints directoryName without serialNumber", cert: rawCert{extensions: [][]byte{
			extension(asn1.ObjectIdentifier{2, 5, 29, 30}, true, der(func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
						b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
							b.AddASN1(cbasn1.Tag(4).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes(name(printable(oidO, "EUM"))) })
						})
					})
				})
			}))}}, want: certs.ErrUnhandledCriticalExtension},
		{name: "trailing data in extension value", cert: rawCert{extensions: [][]byte{extension(asn1.ObjectIdentifier{2, 5, 29, 14}, false, []byte{4, 1, 1, 0})}}, want: certs.ErrMalformed},
		{name: "empty subject key identifier", cert: rawCert{extensions: [][]byte{skiExt(nil)}}, want: certs.ErrMalformed},
		{name: "key usage without bits", cert: rawCert{extensions: [][]byte{extension(asn1.ObjectIdentifier{2, 5, 29, 15}, true, []byte{3, 1, 0})}}, want: certs.ErrMalformed},
		{name: "path length without CA", cert: rawCert{extensions: [][]byte{basicConstraintsExt(false, 0)}}, want: certs.ErrMalformed},
		{name: "negative path length", cert: rawCert{extensions: [][]byte{extension(asn1.ObjectIdentifier{2, 5, 29, 19}, true, []byte{0x30, 6, 1, 1, 0xff, 2, 1, 0xff})}}, want: certs.ErrMalformed},
		{name: "duplicate policy", cert: rawCert{extensions: [][]byte{policiesExt(certs.OIDRoleEUICC, certs.OIDRoleEUICC)}}, want: certs.ErrMalformed},
		{name: "empty policies", cert: rawCert{extensions: [][]byte{extension(asn1.ObjectIdentifier{2, 5, 29, 32}, true, []byte{0x30, 0})}}, want: certs.ErrMalformed},
		{name: "registeredID not an OID", cert: rawCert{extensions: [][]byte{sanExt([]byte{0x88, 1, 0x80})}}, want: certs.ErrMalformed},
		{name: "dNSName not IA5", cert: rawCert{extensions: [][]byte{sanExt([]byte{0x82, 1, 0xc3})}}, want: certs.ErrMalformed},
		{name: "permittedEins with UTF8String", cert: rawCert{extensions: [][]byte{extension(certs.OIDExtPermittedEINs, false, []byte{0x30, 3, 0x0c, 1, '8'})}}, want: certs.ErrMalformed},
		{name: "empty permittedEins", cert: rawCert{extensions: [][]byte{extension(certs.OIDExtPermittedEINs, false, []byte{0x30, 0})}}, want: certs.ErrMalformed},
		{name: "authority key identifier with trailing data", cert: rawCert{extensions: [][]byte{extension(asn1.ObjectIdentifier{2, 5, 29, 35}, false, []byte{0x30, 5, 0x80, 1, 1, 5, 0})}}, want: certs.ErrMalformed},
		{name: "extended key usage with a non-OID", cert: rawCert{extensions: [][]byte{extension(asn1.ObjectIdentifier{2, 5, 29, 37}, false, []byte{0x30, 2, 5, 0})}}, want: certs.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := certs.ParseCertificate(tt.cert.build(t))
			if tt.want != nil {
				if !errors.Is(err, tt.want) {
					t.Fatalf("got %v, want %v", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.check != nil {
				if err := tt.check(c); err != nil {
					t.Error(err)
				}
			}
		})
	}
}

// TestParseCertificateTruncated cuts a GSMA certificate at every length: all must fail as malformed.
func TestParseCertificateTruncated(t *testing.T) {
	for _, f := range []string{euiccBRP, eumNIST} {
		b := readTestdata(t, f)
		for n := range len(b) {
			if _, err := certs.ParseCertificate(b[:n]); !errors.Is(err, certs.ErrMalformed) {
				t.Fatalf("%s cut to %d bytes: %v", f, n, err)
			}
		}
	}
}

// TestParseCertificateCopies checks that the parsed certificate does not alias the input.
func TestParseCertificateCopies(t *testing.T) {
	b := readTestdata(t, euiccNIST)
	c, err := certs.ParseCertificate(b)
	if err != nil {
		t.Fatal(err)
	}
	clear(b)
	if err := c.CheckSignatureFrom(loadCert(t, eumNIST)); err != nil {
		t.Error(err)
	}
}
