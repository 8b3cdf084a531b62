package certs_test

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"reflect"
	"strings"
	"testing"

	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/smdpp/smdpp/certs"
)

// FuzzParseCertificate is seeded with every test certificate. Whatever the input, parsing must
// not panic and must fail with one of the parse sentinels; what parses must round-trip and, for
// P-256 keys, survive the verification functions and agree field by field with crypto/x509
// whenever that parses it too.
func FuzzParseCertificate(f *testing.F) {
	for _, file := range testFiles(f, "CERT_") {
		b := readTestdata(f, file)
		if strings.HasSuffix(file, ".pem") {
			block, _ := pem.Decode(b)
			b = block.Bytes
		}
		f.Add(b)
	}
	// Built seeds for what the GSMA files lack: permittedEins, other SAN and string forms, v1.
	f.Add(rawCert{extensions: [][]byte{permittedEINsExt(true, "89049032", "89001012"), dirNameConstraintsExt("EUM", "89033024"),
		sanExt(dnsName("a.example"), ridName(asn1.ObjectIdentifier{2, 999, 10})), ekuExt(certs.OIDExtKeyUsageServerAuth),
		basicConstraintsExt(true, 3), keyUsageExt(0, 5, 6, 8)}}.build(f))
	f.Add(rawCert{subject: name(attr{oidCN, cbasn1.UTF8String, "Grüße"}, attr{oidO, cbasn1.T61String, "caf\xe9"},
		attr{oidC, cbasn1.Tag(30), "\x00D\x00E"}, attr{oidSerial, cbasn1.Tag(18), "8904 9032"})}.build(f))
	f.Add(rawCert{v1: true, validityRaw: validity(utcTime("500101000000Z"), genTime("99991231235959Z"))}.build(f))
	roots := testRoots(f)
	eum := loadCert(f, eumNIST)
	opts := certs.VerifyOptions{Now: nov2026}

	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := certs.ParseCertificate(data)
		if err != nil {
			if !errors.Is(err, certs.ErrMalformed) && !errors.Is(err, certs.ErrUnsupportedAlgorithm) &&
				!errors.Is(err, certs.ErrUnhandledCriticalExtension) {
				t.Fatalf("error without a sentinel: %v", err)
			}
			return
		}
		if !bytes.Equal(c.Raw, data) {
			t.Fatal("Raw is not the input")
		}
		again, err := certs.ParseCertificate(c.Raw)
		if err != nil || !reflect.DeepEqual(again, c) {
			t.Fatalf("re-parse differs: %v", err)
		}
		_ = c.Role()
		if certs.CurveName(c.PublicKey.Curve) != "nist" {
			return // brainpool arithmetic takes milliseconds; the code paths are the same
		}
		_ = c.CheckSignatureFrom(c)
		_, _ = certs.VerifyEUICCChain(c, eum, roots, opts)
		_, _ = certs.VerifyEUICCChain(c, c, roots, opts)
		_, _ = certs.VerifyServerCertificate(c, certs.RoleDPAuth, roots, opts)
		_ = certs.VerifyCI(c, opts)
		if x, err := x509.ParseCertificate(data); err == nil {
			crossCheck(t, c, x)
		}
	})
}
