package devpki

import (
	"bytes"
	"crypto/elliptic"
	"crypto/sha1"
	"encoding/asn1"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/smdpp/smdpp/certs"
)

// testNow is the injected clock of most tests: a fixed instant, so validity periods are exact.
var testNow = time.Date(2030, time.March, 4, 5, 6, 7, 0, time.UTC)

var curves = []string{"nist", "brainpool"}

func generate(t *testing.T, curve string, now time.Time) *PKI {
	t.Helper()
	p, err := Generate(Options{Curve: curve, Now: now, EUICCCount: 3})
	if err != nil {
		t.Fatalf("Generate(%s): %v", curve, err)
	}
	return p
}

// gsmaSuffix is the curve suffix of the SGP.26 file names.
func gsmaSuffix(curve string) string {
	if curve == "brainpool" {
		return "BRP"
	}
	return "NIST"
}

// role describes one certificate of the hierarchy and the SGP.26 certificate it must resemble.
type role struct {
	name      string
	cred      Credential
	issuer    Credential
	gsma      string // path under the SGP.26 certificate directory, %s = NIST|BRP
	policy    asn1.ObjectIdentifier
	notAfter  time.Time
	sameValue []asn1.ObjectIdentifier // extensions whose value must equal the GSMA certificate's
}

func roles(p *PKI, now time.Time) []role {
	o, _ := Options{Now: now}.settings()
	all := []asn1.ObjectIdentifier{oidKeyUsage, oidBasicConstraints, oidCertificatePolicies, oidExtKeyUsage, oidCRLDistributionPoints}
	withSAN := append(append([]asn1.ObjectIdentifier{}, all...), oidSubjectAltName)
	rs := []role{
		{"CI", p.CI, p.CI, "CertificateIssuer/CERT_CI_ECDSA_%s.der", oidRoleCI, now.Add(o.ciValidity), withSAN},
		{"DPauth", p.DPauth, p.CI, "DPauth/CERT_S_SM_DPauth_ECDSA_%s.der", oidRoleDPauth, now.Add(o.validity), withSAN},
		{"DPpb", p.DPpb, p.CI, "DPpb/CERT_S_SM_DPpb_ECDSA_%s.der", oidRoleDPpb, now.Add(o.validity), withSAN},
		{"DPtls", p.DPtls, p.CI, "DPtls/CERT_S_SM_DP_TLS_%s.der", oidRoleDPtls, now.Add(o.tlsValidity), all},
		{"EUM", p.EUM, p.CI, "EUM/CERT_EUM_ECDSA_%s.der", oidRoleEUM, now.Add(o.validity), withSAN},
	}
	for _, e := range p.EUICCs {
		rs = append(rs, role{"eUICC " + e.EID, e.Credential, p.EUM, "eUICC/CERT_EUICC_ECDSA_%s.der", oidRoleEUICC, eUICCNotAfter, withSAN})
	}
	return rs
}

// TestMatchesGSMA compares every generated certificate with the SGP.26 certificate of the same role
// and curve: same extensions in the same order with the same criticality, the same subject and
// issuer shapes (attribute types and string types), the same signature algorithm encoding, and
// byte-identical values for the extensions whose content does not depend on keys or host names.
func TestMatchesGSMA(t *testing.T) {
	for _, curve := range curves {
		p := generate(t, curve, testNow)
		for _, r := range roles(p, testNow) {
			t.Run(curve+"/"+r.name, func(t *testing.T) {
				ours := mustParse(t, r.cred.Certificate)
				gsma := readGSMA(t, fmt.Sprintf(r.gsma, gsmaSuffix(curve)))

				if got, want := extShape(ours), extShape(gsma); got != want {
					t.Errorf("extensions (id/critical):\n ours %s\n gsma %s", got, want)
				}
				if got, want := nameShape(ours.subject), nameShape(gsma.subject); got != want {
					t.Errorf("subject shape:\n ours %s\n gsma %s", got, want)
				}
				if got, want := nameShape(ours.issuer), nameShape(gsma.issuer); got != want {
					t.Errorf("issuer shape:\n ours %s\n gsma %s", got, want)
				}
				if !bytes.Equal(ours.innerAlg, gsma.innerAlg) || !bytes.Equal(ours.outerAlg, gsma.outerAlg) {
					t.Errorf("signature algorithm %x/%x, GSMA %x/%x", ours.innerAlg, ours.outerAlg, gsma.innerAlg, gsma.outerAlg)
				}
				if ours.version != 2 || gsma.version != 2 {
					t.Errorf("version %d (GSMA %d), want 2 (v3)", ours.version, gsma.version)
				}
				for _, id := range r.sameValue {
					o, ok1 := ours.ext(id)
					g, ok2 := gsma.ext(id)
					if ok1 != ok2 || !bytes.Equal(o.value, g.value) {
						t.Errorf("extension %v value %x, GSMA %x", id, o.value, g.value)
					}
				}
			})
		}
	}
}

func extShape(c *parsedCert) string {
	var parts []string
	for _, e := range c.exts {
		parts = append(parts, fmt.Sprintf("%v/%t", e.id, e.critical))
	}
	return strings.Join(parts, " ")
}

func nameShape(n []rdnAttr) string {
	var parts []string
	for _, a := range n {
		parts = append(parts, fmt.Sprintf("%v:%d", a.typ, a.tag))
	}
	return strings.Join(parts, " ")
}

// TestCertificateContents checks what each certificate says, on both curves, reading it back with
// the test parser and verifying every signature with the issuer's public key.
func TestCertificateContents(t *testing.T) {
	for _, curve := range curves {
		p := generate(t, curve, testNow)
		hierarchyCurve, _ := certs.CurveByName(curve)
		wantCurve, _ := certs.CurveOID(hierarchyCurve)
		ci := mustParse(t, p.CI.Certificate)
		serials := map[string]string{}
		for _, r := range roles(p, testNow) {
			t.Run(curve+"/"+r.name, func(t *testing.T) {
				c := mustParse(t, r.cred.Certificate)
				issuer := mustParse(t, r.issuer.Certificate)

				// Signed by the issuer's key, issued under its subject name.
				issuerPub, err := certs.ParseSubjectPublicKeyInfo(issuer.spki)
				if err != nil {
					t.Fatal(err)
				}
				if !certs.VerifyDER(issuerPub, c.tbs, c.signature) {
					t.Error("signature does not verify with the issuer's public key")
				}
				if !bytes.Equal(c.issuerRaw, issuer.subjectRaw) {
					t.Error("issuer name is not the issuer's subject")
				}

				// The key in the certificate is the credential's key; DPtls is P-256 on both curves.
				pub, err := certs.ParseSubjectPublicKeyInfo(c.spki)
				if err != nil {
					t.Fatal(err)
				}
				if !pub.Equal(&r.cred.Key.PublicKey) {
					t.Error("certificate public key is not the credential's key")
				}
				want := wantCurve
				if r.name == "DPtls" {
					want = certs.OIDNamedCurveP256
				}
				if got := c.spkiCurve(); !got.Equal(want) {
					t.Errorf("public key curve %v, want %v", got, want)
				}

				// SKI is SHA-1 of the public key bits (RFC 5280 §4.2.1.2 (1)); AKI is the issuer's SKI.
				sum := sha1.Sum(certs.MarshalPoint(pub))
				ski, _ := c.ext(oidSubjectKeyID)
				if wantSKI, _ := asn1.Marshal(sum[:]); !bytes.Equal(ski.value, wantSKI) {
					t.Errorf("SKI %x, want %x", ski.value, wantSKI)
				}
				if r.name != "CI" {
					aki, _ := c.ext(oidAuthorityKeyID)
					issuerSKI, _ := issuer.ext(oidSubjectKeyID)
					if !bytes.Equal(aki.value, append([]byte{0x30, 0x16, 0x80, 0x14}, issuerSKI.value[2:]...)) {
						t.Errorf("AKI %x does not name the issuer's SKI %x", aki.value, issuerSKI.value)
					}
				}

				// The role's policy.
				cp, _ := c.ext(oidCertificatePolicies)
				var policies []struct{ ID asn1.ObjectIdentifier }
				if _, err := asn1.Unmarshal(cp.value, &policies); err != nil || len(policies) != 1 || !policies[0].ID.Equal(r.policy) {
					t.Errorf("policies %v (%v), want %v", policies, err, r.policy)
				}

				// Validity from the injected clock.
				if !c.notBefore.Equal(testNow) || !c.notAfter.Equal(r.notAfter) {
					t.Errorf("validity %v – %v, want %v – %v", c.notBefore, c.notAfter, testNow, r.notAfter)
				}

				// Serial: positive, at most 20 octets, unique.
				if c.serial.Sign() <= 0 || c.serialLen > 20 {
					t.Errorf("serial %v (%d octets) is not positive or too long", c.serial, c.serialLen)
				}
				if other, dup := serials[c.serial.String()]; dup {
					t.Errorf("serial shared with %s", other)
				}
				serials[c.serial.String()] = r.name
			})
		}

		t.Run(curve+"/CI self-signed", func(t *testing.T) {
			if !bytes.Equal(ci.issuerRaw, ci.subjectRaw) {
				t.Error("CI issuer != subject")
			}
		})

		t.Run(curve+"/SM-DP+ OID", func(t *testing.T) {
			for _, cred := range []Credential{p.DPauth, p.DPpb, p.DPtls} {
				names := sanOf(t, mustParse(t, cred.Certificate))
				last := names[len(names)-1]
				if last.tag != cbasn1.Tag(8).ContextSpecific() {
					t.Fatalf("last SAN entry has tag %v, want registeredID [8]", last.tag)
				}
				if oid, err := implicitOID(last.value); err != nil || !oid.Equal(DefaultSMDPOID) {
					t.Errorf("registeredID %v (%v), want %v", oid, err, DefaultSMDPOID)
				}
			}
		})

		t.Run(curve+"/DPtls SAN", func(t *testing.T) {
			c := mustParse(t, p.DPtls.Certificate)
			names := sanOf(t, c)
			want := []generalName{
				{cbasn1.Tag(2).ContextSpecific(), []byte("localhost")},
				{cbasn1.Tag(7).ContextSpecific(), []byte{127, 0, 0, 1}},
				{cbasn1.Tag(7).ContextSpecific(), net.IPv6loopback},
			}
			if len(names) != len(want)+1 {
				t.Fatalf("SAN has %d entries, want %d", len(names), len(want)+1)
			}
			for i, w := range want {
				if names[i].tag != w.tag || !bytes.Equal(names[i].value, w.value) {
					t.Errorf("SAN[%d] = %v %x, want %v %x", i, names[i].tag, names[i].value, w.tag, w.value)
				}
			}
			if cn := c.attr(oidCommonName); cn != "localhost" {
				t.Errorf("DPtls CN %q, want localhost", cn)
			}
		})

		t.Run(curve+"/EUM name constraints", func(t *testing.T) {
			checkEUMNameConstraints(t, mustParse(t, p.EUM.Certificate), DefaultEUMPrefix)
		})

		t.Run(curve+"/eUICC EIDs", func(t *testing.T) {
			if len(p.EUICCs) != 3 {
				t.Fatalf("%d eUICCs, want 3", len(p.EUICCs))
			}
			seen := map[string]bool{}
			for _, e := range p.EUICCs {
				if !certs.ValidEID(e.EID) || !strings.HasPrefix(e.EID, DefaultEUMPrefix) || seen[e.EID] {
					t.Errorf("EID %s: valid %t, prefix %t, duplicate %t", e.EID, certs.ValidEID(e.EID), strings.HasPrefix(e.EID, DefaultEUMPrefix), seen[e.EID])
				}
				seen[e.EID] = true
				c := mustParse(t, e.Certificate)
				if got := c.attr(oidSerialNumber); got != e.EID {
					t.Errorf("subject serialNumber %q, want EID %s", got, e.EID)
				}
				if c.timeTags[1] != cbasn1.GeneralizedTime {
					t.Errorf("eUICC notAfter tag %v, want GeneralizedTime", c.timeTags[1])
				}
			}
		})
	}
}

func sanOf(t *testing.T, c *parsedCert) []generalName {
	t.Helper()
	san, ok := c.ext(oidSubjectAltName)
	if !ok {
		t.Fatal("no subjectAltName")
	}
	names, err := parseGeneralNames(san.value)
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// checkEUMNameConstraints checks the EUM's nameConstraints the way the GSMA EUM certificates carry
// them: exactly one permitted directoryName [O = the EUM's organization (UTF8String),
// serialNumber = EID prefix (PrintableString)] and no excluded subtrees.
func checkEUMNameConstraints(t *testing.T, eum *parsedCert, prefix string) {
	t.Helper()
	nc, ok := eum.ext(oidNameConstraints)
	if !ok || !nc.critical {
		t.Fatalf("nameConstraints present %t critical %t, want both", ok, nc.critical)
	}
	permitted, excluded, err := parseNameConstraints(nc.value)
	if err != nil || excluded || len(permitted) != 1 || permitted[0].tag != cbasn1.Tag(4).Constructed().ContextSpecific() {
		t.Fatalf("nameConstraints %x: want one permitted directoryName and nothing excluded (err %v)", nc.value, err)
	}
	dn, err := parseName(permitted[0].value)
	if err != nil {
		t.Fatal(err)
	}
	want := []rdnAttr{
		{oidOrganization, cbasn1.UTF8String, eum.attr(oidOrganization)},
		{oidSerialNumber, cbasn1.PrintableString, prefix},
	}
	if len(dn) != len(want) {
		t.Fatalf("permitted directoryName %v, want %v", dn, want)
	}
	for i := range want {
		if !dn[i].typ.Equal(want[i].typ) || dn[i].tag != want[i].tag || dn[i].value != want[i].value {
			t.Errorf("permitted directoryName[%d] = %v, want %v", i, dn[i], want[i])
		}
	}
}

// TestGSMANameConstraintsReading checks that checkEUMNameConstraints reads the GSMA EUM
// certificates as INDEX.md describes them (O = RSP Test EUM, serialNumber = 89049032), so the
// same check on our EUM really means "carried exactly as the GSMA EUM certificates do".
func TestGSMANameConstraintsReading(t *testing.T) {
	for _, curve := range curves {
		t.Run(curve, func(t *testing.T) {
			eum := readGSMA(t, fmt.Sprintf("EUM/CERT_EUM_ECDSA_%s.der", gsmaSuffix(curve)))
			if o := eum.attr(oidOrganization); o != "RSP Test EUM" {
				t.Fatalf("GSMA EUM organization %q", o)
			}
			checkEUMNameConstraints(t, eum, "89049032")
		})
	}
}

func TestOptions(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		wantErr string // substring; empty means success
	}{
		{"defaults", Options{}, ""},
		{"brainpool", Options{Curve: "brainpool"}, ""},
		{"p256 alias", Options{Curve: "p256"}, ""},
		{"IP only", Options{IPAddresses: []net.IP{net.ParseIP("192.0.2.1")}}, ""},
		{"wildcard DNS", Options{DNSNames: []string{"*.example.com", "smdp.example.com"}}, ""},
		{"16-digit prefix", Options{EUMPrefix: "8904999912345678", EUICCCount: 5}, ""},
		{"custom OID", Options{SMDPOID: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1}}, ""},
		{"GeneralizedTime notBefore", Options{Now: time.Date(2050, 1, 1, 0, 0, 0, 0, time.UTC)}, ""},

		{"unknown curve", Options{Curve: "secp384r1"}, "unknown curve"},
		{"prefix too short", Options{EUMPrefix: "8904999"}, "EUM prefix"},
		{"prefix too long", Options{EUMPrefix: "89049999123456789"}, "EUM prefix"},
		{"prefix not digits", Options{EUMPrefix: "8904999A"}, "EUM prefix"},
		{"prefix not 89", Options{EUMPrefix: "99049999"}, "EUM prefix"},
		{"negative count", Options{EUICCCount: -1}, "eUICC count"},
		{"count too large", Options{EUICCCount: MaxEUICCCount + 1}, "eUICC count"},
		{"empty DNS name", Options{DNSNames: []string{""}}, "DNS name"},
		{"DNS name with space", Options{DNSNames: []string{"smdp example"}}, "DNS name"},
		{"DNS empty label", Options{DNSNames: []string{"a..example"}}, "DNS name"},
		{"DNS leading hyphen", Options{DNSNames: []string{"-a.example"}}, "DNS name"},
		{"DNS non-ASCII", Options{DNSNames: []string{"bücher.example"}}, "DNS name"},
		{"bad IP", Options{IPAddresses: []net.IP{{1, 2, 3}}}, "IP address"},
		{"OID one arc", Options{SMDPOID: asn1.ObjectIdentifier{2}}, "OID"},
		{"OID bad first arc", Options{SMDPOID: asn1.ObjectIdentifier{3, 1}}, "OID"},
		{"OID bad second arc", Options{SMDPOID: asn1.ObjectIdentifier{1, 40}}, "OID"},
		{"negative validity", Options{Validity: -time.Hour}, "not positive"},
		{"sub-second TLS validity", Options{TLSValidity: time.Millisecond}, "not positive"},
		{"leaf outlives CI", Options{CIValidity: time.Hour, Validity: 2 * time.Hour, TLSValidity: time.Hour}, "outlive"},
		{"past 9999", Options{Now: time.Date(9990, 1, 1, 0, 0, 0, 0, time.UTC)}, "9999"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Generate(tt.opts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Generate error %v, want one containing %q", err, tt.wantErr)
				}
				if !strings.HasPrefix(err.Error(), "devpki: ") {
					t.Errorf("error %q lacks the package prefix", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Generate: %v", err)
			}
			for _, r := range roles(p, time.Time{}) {
				if _, err := parseCert(r.cred.Certificate); err != nil {
					t.Errorf("%s: %v", r.name, err)
				}
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	before := time.Now().Truncate(time.Second)
	p, err := Generate(Options{})
	if err != nil {
		t.Fatal(err)
	}
	after := time.Now()
	if p.Curve != elliptic.P256() {
		t.Errorf("curve %s, want P-256", p.Curve.Params().Name)
	}
	ci := mustParse(t, p.CI.Certificate)
	if ci.notBefore.Before(before) || ci.notBefore.After(after) {
		t.Errorf("notBefore %v not within [%v, %v]: zero Now must mean time.Now()", ci.notBefore, before, after)
	}
	if len(p.EUICCs) != DefaultEUICCCount || !strings.HasPrefix(p.EUICCs[0].EID, DefaultEUMPrefix) {
		t.Errorf("eUICCs %v, want %d under %s", p.EUICCs, DefaultEUICCCount, DefaultEUMPrefix)
	}
	if p.DPtls.Key.Curve != elliptic.P256() {
		t.Error("DPtls key is not P-256")
	}
}

// TestOptionsApplied checks that non-default options reach the certificates.
func TestOptionsApplied(t *testing.T) {
	oid := asn1.ObjectIdentifier{2, 999, 12}
	for _, curve := range curves {
		t.Run(curve, func(t *testing.T) {
			p, err := Generate(Options{
				Curve:       curve,
				Now:         testNow,
				DNSNames:    []string{"smdp.example.com"},
				IPAddresses: []net.IP{net.ParseIP("192.0.2.7")},
				SMDPOID:     oid,
				EUMPrefix:   "8904903212",
				EUICCCount:  20,
				TLSValidity: 90 * 24 * time.Hour,
			})
			if err != nil {
				t.Fatal(err)
			}
			tls := mustParse(t, p.DPtls.Certificate)
			names := sanOf(t, tls)
			if len(names) != 3 || string(names[0].value) != "smdp.example.com" ||
				!bytes.Equal(names[1].value, []byte{192, 0, 2, 7}) {
				t.Errorf("DPtls SAN %v", names)
			}
			if got, err := implicitOID(names[2].value); err != nil || !got.Equal(oid) {
				t.Errorf("DPtls registeredID %v, want %v", got, oid)
			}
			if cn := tls.attr(oidCommonName); cn != "smdp.example.com" {
				t.Errorf("DPtls CN %q", cn)
			}
			if want := testNow.Add(90 * 24 * time.Hour); !tls.notAfter.Equal(want) {
				t.Errorf("DPtls notAfter %v, want %v", tls.notAfter, want)
			}
			auth := sanOf(t, mustParse(t, p.DPauth.Certificate))
			if got, _ := implicitOID(auth[0].value); len(auth) != 1 || !got.Equal(oid) {
				t.Errorf("DPauth SAN %v, want registeredID %v", auth, oid)
			}
			checkEUMNameConstraints(t, mustParse(t, p.EUM.Certificate), "8904903212")
			if len(p.EUICCs) != 20 {
				t.Fatalf("%d eUICCs, want 20", len(p.EUICCs))
			}
			for _, e := range p.EUICCs {
				if !certs.ValidEID(e.EID) || !strings.HasPrefix(e.EID, "8904903212") {
					t.Errorf("EID %s invalid or outside prefix", e.EID)
				}
			}
		})
	}
	t.Run("IP-only CN", func(t *testing.T) {
		p, err := Generate(Options{IPAddresses: []net.IP{net.ParseIP("2001:db8::1")}})
		if err != nil {
			t.Fatal(err)
		}
		if cn := mustParse(t, p.DPtls.Certificate).attr(oidCommonName); cn != "2001:db8::1" {
			t.Errorf("CN %q, want 2001:db8::1", cn)
		}
	})
}

// TestTimeEncoding checks the UTCTime/GeneralizedTime switch at 2050 (RFC 5280 §4.1.2.5).
func TestTimeEncoding(t *testing.T) {
	tests := []struct {
		name      string
		now       time.Time
		validity  time.Duration
		wantTags  [2]cbasn1.Tag
		wantAfter time.Time
	}{
		{"both UTCTime", time.Date(2049, 12, 31, 23, 59, 58, 0, time.UTC), time.Second,
			[2]cbasn1.Tag{cbasn1.UTCTime, cbasn1.UTCTime}, time.Date(2049, 12, 31, 23, 59, 59, 0, time.UTC)},
		{"crosses 2050", time.Date(2049, 12, 31, 23, 59, 59, 0, time.UTC), time.Second,
			[2]cbasn1.Tag{cbasn1.UTCTime, cbasn1.GeneralizedTime}, time.Date(2050, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"sub-second clock truncated", time.Date(2030, 1, 1, 0, 0, 0, 999_999_999, time.FixedZone("X", 3600)), time.Hour,
			[2]cbasn1.Tag{cbasn1.UTCTime, cbasn1.UTCTime}, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Generate(Options{Now: tt.now, CIValidity: tt.validity, Validity: tt.validity, TLSValidity: tt.validity})
			if err != nil {
				t.Fatal(err)
			}
			c := mustParse(t, p.DPauth.Certificate)
			if c.timeTags != tt.wantTags || !c.notAfter.Equal(tt.wantAfter) {
				t.Errorf("tags %v notAfter %v, want %v %v", c.timeTags, c.notAfter, tt.wantTags, tt.wantAfter)
			}
		})
	}
}
