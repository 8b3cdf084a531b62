package certs_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"strings"
	"testing"

	"github.com/smdpp/smdpp/certs"
)

// TestPrivateKeysMatchCertificates parses every SK_*.pem (SEC 1 after an EC PARAMETERS block)
// and checks its public key against every certificate INDEX.md pairs it with.
func TestPrivateKeysMatchCertificates(t *testing.T) {
	certsByKey := make(map[string][]string)
	for _, c := range indexCerts {
		if c.key != "" {
			certsByKey[c.key] = append(certsByKey[c.key], c.file)
		}
	}
	curves := map[string]int{}
	for _, f := range testFiles(t, "SK_") {
		if strings.HasPrefix(f, "PKCS8/") {
			continue // made here from the DPauth keys; see TestPKCS8
		}
		t.Run(f, func(t *testing.T) {
			key := loadKey(t, f)
			if len(certsByKey[f]) == 0 {
				t.Fatal("no certificate pairs with this key")
			}
			for _, cf := range certsByKey[f] {
				if !key.PublicKey.Equal(loadCert(t, cf).PublicKey) {
					t.Errorf("public key differs from %s", cf)
				}
			}
			curves[certs.CurveName(key.Curve)]++

			// The EC PRIVATE KEY block is what MarshalECPrivateKey writes, byte for byte.
			var block *pem.Block
			for rest := readTestdata(t, f); ; {
				if block, rest = pem.Decode(rest); block == nil || block.Type == "EC PRIVATE KEY" {
					break
				}
			}
			if block == nil {
				t.Fatal("no EC PRIVATE KEY block")
			}
			der, err := certs.MarshalECPrivateKey(key)
			if err != nil || !bytes.Equal(der, block.Bytes) {
				t.Errorf("MarshalECPrivateKey differs from the file: %v", err)
			}
			p, err := certs.MarshalPrivateKeyPEM(key)
			if err != nil {
				t.Fatal(err)
			}
			again, err := certs.ParsePrivateKeyPEM(p)
			if err != nil || again.D.Cmp(key.D) != 0 || !again.PublicKey.Equal(&key.PublicKey) {
				t.Errorf("PEM round trip: %v", err)
			}
		})
	}
	if curves["nist"] == 0 || curves["brainpool"] == 0 {
		t.Errorf("keys per curve: %v", curves)
	}
}

// TestPublicKeyFiles parses every PK_*.pem (SubjectPublicKeyInfo) and compares it with SK_*.pem.
func TestPublicKeyFiles(t *testing.T) {
	for _, f := range testFiles(t, "PK_") {
		t.Run(f, func(t *testing.T) {
			block, _ := pem.Decode(readTestdata(t, f))
			if block == nil || block.Type != "PUBLIC KEY" {
				t.Fatal("no PUBLIC KEY block")
			}
			pub, err := certs.ParseSubjectPublicKeyInfo(block.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			key := loadKey(t, strings.Replace(f, "/PK_", "/SK_", 1))
			if !pub.Equal(&key.PublicKey) {
				t.Error("differs from the private key's public key")
			}
			der, err := certs.MarshalSubjectPublicKeyInfo(pub)
			if err != nil || !bytes.Equal(der, block.Bytes) {
				t.Errorf("MarshalSubjectPublicKeyInfo differs from the file: %v", err)
			}
		})
	}
}

// TestPKCS8 reads the keys converted with `openssl pkcs8 -topk8 -nocrypt` (see testdata README).
func TestPKCS8(t *testing.T) {
	for p8, sec1 := range map[string]string{
		"PKCS8/SK_S_SM_DPauth_ECDSA_NIST.p8.pem": "DPauth/SK_S_SM_DPauth_ECDSA_NIST.pem",
		"PKCS8/SK_S_SM_DPauth_ECDSA_BRP.p8.pem":  "DPauth/SK_S_SM_DPauth_ECDSA_BRP.pem",
	} {
		got, want := loadKey(t, p8), loadKey(t, sec1)
		if got.D.Cmp(want.D) != 0 || !got.PublicKey.Equal(&want.PublicKey) {
			t.Errorf("%s differs from %s", p8, sec1)
		}
	}
}

func TestParsePrivateKeyPEMMalformed(t *testing.T) {
	good := loadKey(t, "eUICC/SK_EUICC_ECDSA_BRP.pem")
	other := loadKey(t, "EUM/SK_EUM_ECDSA_BRP.pem")
	sec1 := func(t *testing.T, k *ecdsa.PrivateKey) []byte {
		b, err := certs.MarshalECPrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	pemOf := func(typ string, der []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}) }
	type ecPriv struct {
		Version    int
		PrivateKey []byte
		Curve      asn1.ObjectIdentifier `asn1:"optional,explicit,tag:0"`
		PublicKey  asn1.BitString        `asn1:"optional,explicit,tag:1"`
	}
	marshal := func(t *testing.T, k ecPriv) []byte {
		b, err := asn1.Marshal(k)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	point := func(k *ecdsa.PrivateKey) asn1.BitString {
		p := certs.MarshalPoint(&k.PublicKey)
		return asn1.BitString{Bytes: p, BitLength: 8 * len(p)}
	}
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p384DER, _ := x509.MarshalECPrivateKey(p384)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	edDER, _ := x509.MarshalPKCS8PrivateKey(edKey)
	n := good.Curve.Params().N

	for _, tt := range []struct {
		name string
		data func(t *testing.T) []byte
	}{
		{"empty", func(t *testing.T) []byte { return nil }},
		{"not PEM", func(t *testing.T) []byte { return []byte("hello") }},
		{"only EC PARAMETERS", func(t *testing.T) []byte {
			b := readTestdata(t, "eUICC/SK_EUICC_ECDSA_BRP.pem")
			return b[:strings.Index(string(b), "-----BEGIN EC PRIVATE KEY")]
		}},
		{"certificate", func(t *testing.T) []byte { return readTestdata(t, "CertificateIssuer/CERT_CI_ECDSA_BRP.pem") }},
		{"garbage in EC PRIVATE KEY", func(t *testing.T) []byte { return pemOf("EC PRIVATE KEY", []byte{0x30, 0x03, 0x02, 0x01}) }},
		{"trailing data", func(t *testing.T) []byte { return pemOf("EC PRIVATE KEY", append(sec1(t, good), 0)) }},
		{"P-384", func(t *testing.T) []byte { return pemOf("EC PRIVATE KEY", p384DER) }},
		{"Ed25519 PKCS #8", func(t *testing.T) []byte { return pemOf("PRIVATE KEY", edDER) }},
		{"version 2", func(t *testing.T) []byte {
			return pemOf("EC PRIVATE KEY", marshal(t, ecPriv{Version: 2, PrivateKey: good.D.FillBytes(make([]byte, 32)), Curve: certs.OIDBrainpoolP256r1}))
		}},
		{"no curve", func(t *testing.T) []byte {
			return pemOf("EC PRIVATE KEY", marshal(t, ecPriv{Version: 1, PrivateKey: good.D.FillBytes(make([]byte, 32))}))
		}},
		{"zero scalar", func(t *testing.T) []byte {
			return pemOf("EC PRIVATE KEY", marshal(t, ecPriv{Version: 1, PrivateKey: make([]byte, 32), Curve: certs.OIDBrainpoolP256r1}))
		}},
		{"scalar = n", func(t *testing.T) []byte {
			return pemOf("EC PRIVATE KEY", marshal(t, ecPriv{Version: 1, PrivateKey: n.FillBytes(make([]byte, 32)), Curve: certs.OIDBrainpoolP256r1}))
		}},
		{"33-byte scalar", func(t *testing.T) []byte {
			return pemOf("EC PRIVATE KEY", marshal(t, ecPriv{Version: 1, PrivateKey: append([]byte{0}, good.D.FillBytes(make([]byte, 32))...), Curve: certs.OIDBrainpoolP256r1}))
		}},
		{"public key of another key", func(t *testing.T) []byte {
			return pemOf("EC PRIVATE KEY", marshal(t, ecPriv{Version: 1, PrivateKey: good.D.FillBytes(make([]byte, 32)), Curve: certs.OIDBrainpoolP256r1, PublicKey: point(other)}))
		}},
		{"curve P-256 for a brainpool scalar and point", func(t *testing.T) []byte {
			return pemOf("EC PRIVATE KEY", marshal(t, ecPriv{Version: 1, PrivateKey: good.D.FillBytes(make([]byte, 32)), Curve: certs.OIDNamedCurveP256, PublicKey: point(good)}))
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if k, err := certs.ParsePrivateKeyPEM(tt.data(t)); err == nil {
				t.Errorf("accepted, key on %s", k.Curve.Params().Name)
			}
		})
	}
}

func TestParseSubjectPublicKeyInfoMalformed(t *testing.T) {
	good, err := certs.MarshalSubjectPublicKeyInfo(&loadKey(t, "eUICC/SK_EUICC_ECDSA_NIST.pem").PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p384DER, _ := x509.MarshalPKIXPublicKey(&p384.PublicKey)
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	edDER, _ := x509.MarshalPKIXPublicKey(edPub)
	offCurve := bytes.Clone(good)
	offCurve[len(offCurve)-1] ^= 1
	for name, der := range map[string][]byte{
		"empty":     nil,
		"trailing":  append(bytes.Clone(good), 0),
		"truncated": good[:len(good)-1],
		"off curve": offCurve,
		"P-384":     p384DER,
		"Ed25519":   edDER,
	} {
		if _, err := certs.ParseSubjectPublicKeyInfo(der); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}

func TestEID(t *testing.T) {
	for _, tt := range []struct {
		eid   string
		valid bool
	}{
		{testEID, true},
		{"89049033123451234512345678901234", false}, // INVALID_EID certificate
		{"89049032123451234512345678901299", false}, // UNMATCHED_EID certificate: its check digits are wrong too
		{"89049032123451234512345678901335", false}, // used by the BSP test vectors
		{testEID[:31], false},
		{testEID + "0", false},
		{"8904903212345123451234567890123A", false},
		{"", false},
	} {
		if got := certs.ValidEID(tt.eid); got != tt.valid {
			t.Errorf("ValidEID(%q) = %v", tt.eid, got)
		}
	}
	if got := certs.EIDWithCheckDigits(testEID[:30]); got != testEID {
		t.Errorf("EIDWithCheckDigits = %q", got)
	}
	for _, prefix := range []string{"", testEID[:29], testEID, "89049032123451234512345678901A"} {
		if got := certs.EIDWithCheckDigits(prefix); got != "" {
			t.Errorf("EIDWithCheckDigits(%q) = %q", prefix, got)
		}
	}
	// Check digits 01..97 all occur; every completed EID must be valid.
	for i := range 200 {
		p := fmt.Sprintf("%s%08d", testEID[:22], i)
		if e := certs.EIDWithCheckDigits(p); !certs.ValidEID(e) {
			t.Fatalf("EIDWithCheckDigits(%q) = %q is not valid", p, e)
		}
	}
}
