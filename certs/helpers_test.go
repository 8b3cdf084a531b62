package certs_test

import (
	"crypto/ecdsa"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/smdpp/smdpp/certs"
)

// testdataDir holds the SGP.26 test PKI (see its README.md).
const testdataDir = "../testdata/certs"

// Fixed clocks. INDEX.md's analysis date is 2026-11-30; the pysim DP TLS certificates expired on
// 2026-08-02 and were valid on 2026-01-01; the VARO TLS certificates are valid from 2026-07-21.
var (
	jan2026 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	nov2026 = time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
)

// Paths of the main certificates under testdataDir.
const (
	ciNIST    = "CertificateIssuer/CERT_CI_ECDSA_NIST.der"
	ciBRP     = "CertificateIssuer/CERT_CI_ECDSA_BRP.der"
	eumNIST   = "EUM/CERT_EUM_ECDSA_NIST.der"
	eumBRP    = "EUM/CERT_EUM_ECDSA_BRP.der"
	euiccNIST = "eUICC/CERT_EUICC_ECDSA_NIST.der"
	euiccBRP  = "eUICC/CERT_EUICC_ECDSA_BRP.der"
	testEID   = "89049032123451234512345678901235"
)

func readTestdata(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testdataDir, filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// loadCert parses a test certificate, DER or PEM by its file name.
func loadCert(t testing.TB, rel string) *certs.Certificate {
	t.Helper()
	b := readTestdata(t, rel)
	var c *certs.Certificate
	var err error
	if strings.HasSuffix(rel, ".pem") {
		c, err = certs.ParseCertificatePEM(b)
	} else {
		c, err = certs.ParseCertificate(b)
	}
	if err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	return c
}

func loadKey(t testing.TB, rel string) *ecdsa.PrivateKey {
	t.Helper()
	k, err := certs.ParsePrivateKeyPEM(readTestdata(t, rel))
	if err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	return k
}

// testRoots holds both GSMA test CIs.
func testRoots(t testing.TB) *certs.Roots {
	t.Helper()
	r, err := certs.NewRoots(loadCert(t, ciNIST), loadCert(t, ciBRP))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// testFiles lists the files under testdataDir whose base name starts with prefix, sorted.
func testFiles(t testing.TB, prefix string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(testdataDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasPrefix(d.Name(), prefix) {
			rel, _ := filepath.Rel(testdataDir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	if len(out) == 0 {
		t.Fatalf("no %s* files under %s", prefix, testdataDir)
	}
	return out
}
