package certs

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestVerifiedSignatures checks that an EUM signature is verified once per distinct pair, that a
// certificate differing in one byte is verified afresh, and that a remembered signature does not
// spare the other checks (validity). SGP.26 certificates.
func TestVerifiedSignatures(t *testing.T) {
	load := func(rel string) *Certificate {
		b, err := os.ReadFile(filepath.Join("..", "testdata", "certs", filepath.FromSlash(rel)))
		if err != nil {
			t.Fatal(err)
		}
		c, err := ParseCertificate(b)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	ci, eum, euicc := load("CertificateIssuer/CERT_CI_ECDSA_NIST.der"), load("EUM/CERT_EUM_ECDSA_NIST.der"), load("eUICC/CERT_EUICC_ECDSA_NIST.der")
	roots, err := NewRoots(ci)
	if err != nil {
		t.Fatal(err)
	}
	sigs := NewVerifiedSignatures(2)
	opts := VerifyOptions{Now: time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC), EUMSignatures: sigs}
	for range 3 {
		if _, err := VerifyEUICCChain(euicc, eum, roots, opts); err != nil {
			t.Fatal(err)
		}
	}
	if len(sigs.seen) != 1 {
		t.Fatalf("%d pairs remembered after verifying one chain three times, want 1", len(sigs.seen))
	}

	// One flipped bit in the signature: other DER, verified afresh, refused, not remembered.
	raw := append([]byte(nil), eum.Raw...)
	raw[len(raw)-1] ^= 1
	bad, err := ParseCertificate(raw)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyEUICCChain(euicc, bad, roots, opts); !errors.Is(err, ErrBadSignature) {
		t.Errorf("tampered EUM: %v, want ErrBadSignature", err)
	}
	if len(sigs.seen) != 1 {
		t.Errorf("%d pairs remembered, want 1: a failed signature was kept", len(sigs.seen))
	}

	// The remembered EUM is still checked for validity.
	expired := opts
	expired.Now = eum.NotAfter.Add(time.Second)
	if _, err := VerifyEUICCChain(euicc, eum, roots, expired); err == nil {
		t.Errorf("chain verified at %v, after the EUM expired", expired.Now)
	}

	// Beyond its bound the cache starts afresh rather than growing.
	eumBRP, ciBRP := load("EUM/CERT_EUM_ECDSA_BRP.der"), load("CertificateIssuer/CERT_CI_ECDSA_BRP.der")
	for _, pair := range [][2]*Certificate{{eumBRP, ciBRP}, {ci, ci}} {
		if err := sigs.check(pair[0], pair[1]); err != nil {
			t.Fatal(err)
		}
	}
	if len(sigs.seen) > 2 {
		t.Errorf("%d pairs remembered, bound 2", len(sigs.seen))
	}
}
