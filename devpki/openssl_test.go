package devpki

import (
	"context"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The tests in this file check the written PKI with the real openssl command line, an implementation
// independent of this package and of Go.

// requireOpenSSL returns the path of openssl; without it the test fails under CI=true and is
// skipped otherwise.
func requireOpenSSL(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("openssl")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("openssl not found: CI must check the generated PKI with it: %v", err)
		}
		t.Skipf("openssl not found: %v", err)
	}
	return path
}

// openssl runs openssl in dir and returns its combined output and whether it exited 0.
func openssl(t *testing.T, dir string, args ...string) (string, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, requireOpenSSL(t), args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("openssl %v: %v", args, ctx.Err())
	}
	if _, isExit := err.(*exec.ExitError); err != nil && !isExit {
		t.Fatalf("openssl %v: %v", args, err)
	}
	return string(out), err == nil
}

func unixTime(tm time.Time) string { return strconv.FormatInt(tm.Unix(), 10) }

func writePEMCert(t *testing.T, path string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeTestPKIs writes a NIST and a brainpool PKI generated at testNow and returns their directories.
func writeTestPKIs(t *testing.T) map[string]*struct {
	dir string
	pki *PKI
} {
	t.Helper()
	out := map[string]*struct {
		dir string
		pki *PKI
	}{}
	for _, curve := range curves {
		p := generate(t, curve, testNow)
		dir := t.TempDir()
		if err := p.WriteDir(dir, false); err != nil {
			t.Fatal(err)
		}
		out[curve] = &struct {
			dir string
			pki *PKI
		}{dir, p}
	}
	return out
}

func TestOpenSSLVerify(t *testing.T) {
	requireOpenSSL(t)
	pkis := writeTestPKIs(t)
	for _, curve := range curves {
		dir, p := pkis[curve].dir, pkis[curve].pki
		other := pkis["nist"].dir
		if curve == "nist" {
			other = pkis["brainpool"].dir
		}
		eid := p.EUICCs[0].EID
		euicc := EUICCCertFile(eid)
		at := unixTime(testNow.Add(time.Hour))
		tlsExpired := unixTime(testNow.Add(DefaultTLSValidity + time.Hour))

		// A DPauth certificate with one bit of its signature flipped.
		tampered := append([]byte{}, p.DPauth.Certificate...)
		tampered[len(tampered)-1] ^= 1
		writePEMCert(t, filepath.Join(dir, "tampered.crt"), tampered)

		tests := []struct {
			name   string
			args   []string
			wantOK bool
			want   []string // substrings of the output
		}{
			{"CI self-signed", []string{"verify", "-attime", at, "-CAfile", CICertFile, CICertFile}, true, []string{CICertFile + ": OK"}},
			{"CI to DPauth", []string{"verify", "-attime", at, "-CAfile", CICertFile, DPauthCertFile}, true, []string{DPauthCertFile + ": OK"}},
			{"CI to DPpb", []string{"verify", "-attime", at, "-CAfile", CICertFile, DPpbCertFile}, true, []string{DPpbCertFile + ": OK"}},
			{"CI to DPtls", []string{"verify", "-attime", at, "-CAfile", CICertFile, DPtlsCertFile}, true, []string{DPtlsCertFile + ": OK"}},
			{"CI to EUM", []string{"verify", "-attime", at, "-CAfile", CICertFile, EUMCertFile}, true, []string{EUMCertFile + ": OK"}},
			{"DPtls as TLS server for localhost", []string{"verify", "-attime", at, "-CAfile", CICertFile, "-purpose", "sslserver", "-verify_hostname", "localhost", DPtlsCertFile}, true, []string{": OK"}},
			{"DPtls as TLS server for 127.0.0.1", []string{"verify", "-attime", at, "-CAfile", CICertFile, "-purpose", "sslserver", "-verify_ip", "127.0.0.1", DPtlsCertFile}, true, []string{": OK"}},
			{"DPtls as TLS server for ::1", []string{"verify", "-attime", at, "-CAfile", CICertFile, "-purpose", "sslserver", "-verify_ip", "::1", DPtlsCertFile}, true, []string{": OK"}},
			{"DPtls as TLS client", []string{"verify", "-attime", at, "-CAfile", CICertFile, "-purpose", "sslclient", DPtlsCertFile}, true, []string{": OK"}},

			// Like every GSMA eUICC certificate (INDEX.md): RFC 5280 reads the EUM's directoryName
			// constraint as a prefix of the subject DN, which the eUICC subject is not.
			{"EUM to eUICC, RFC 5280 name constraints", []string{"verify", "-attime", at, "-CAfile", CICertFile, "-untrusted", EUMCertFile, euicc}, false, []string{"error 47", "permitted subtree violation"}},

			{"DPtls for another host", []string{"verify", "-attime", at, "-CAfile", CICertFile, "-verify_hostname", "example.com", DPtlsCertFile}, false, []string{"error 62", "hostname mismatch"}},
			{"not yet valid", []string{"verify", "-attime", unixTime(testNow.Add(-time.Hour)), "-CAfile", CICertFile, DPauthCertFile}, false, []string{"error 9", "certificate is not yet valid"}},
			{"DPtls expired", []string{"verify", "-attime", tlsExpired, "-CAfile", CICertFile, DPtlsCertFile}, false, []string{"error 10", "certificate has expired"}},
			{"DPauth outlives DPtls", []string{"verify", "-attime", tlsExpired, "-CAfile", CICertFile, DPauthCertFile}, true, []string{": OK"}},
			{"tampered signature", []string{"verify", "-attime", at, "-CAfile", CICertFile, "tampered.crt"}, false, []string{"error 7", "certificate signature failure"}},
			{"other hierarchy's CI", []string{"verify", "-attime", at, "-CAfile", filepath.Join(other, CICertFile), DPauthCertFile}, false, []string{"error 20", "unable to get local issuer certificate"}},
		}
		for _, tt := range tests {
			t.Run(curve+"/"+tt.name, func(t *testing.T) {
				out, ok := openssl(t, dir, tt.args...)
				if ok != tt.wantOK {
					t.Errorf("openssl %s: success %t, want %t\n%s", strings.Join(tt.args, " "), ok, tt.wantOK, out)
				}
				for _, w := range tt.want {
					if !strings.Contains(out, w) {
						t.Errorf("openssl %s output lacks %q:\n%s", strings.Join(tt.args, " "), w, out)
					}
				}
			})
		}
	}
}

// TestOpenSSLEUICCSignature checks each eUICC certificate's signature with openssl dgst and the EUM
// public key openssl extracts from eum.crt, since openssl verify stops at the name constraint.
func TestOpenSSLEUICCSignature(t *testing.T) {
	requireOpenSSL(t)
	for curve, w := range writeTestPKIs(t) {
		t.Run(curve, func(t *testing.T) {
			dir := w.dir
			if out, ok := openssl(t, dir, "x509", "-in", EUMCertFile, "-pubkey", "-noout", "-out", "eum.pub"); !ok {
				t.Fatalf("extracting EUM public key: %s", out)
			}
			if out, ok := openssl(t, dir, "x509", "-in", CICertFile, "-pubkey", "-noout", "-out", "ci.pub"); !ok {
				t.Fatalf("extracting CI public key: %s", out)
			}
			for _, e := range w.pki.EUICCs {
				c := mustParse(t, e.Certificate)
				tbs, sig := filepath.Join(dir, e.EID+".tbs"), filepath.Join(dir, e.EID+".sig")
				if err := os.WriteFile(tbs, c.tbs, 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(sig, c.signature, 0o644); err != nil {
					t.Fatal(err)
				}
				out, ok := openssl(t, dir, "dgst", "-sha256", "-verify", "eum.pub", "-signature", sig, tbs)
				if !ok || !strings.Contains(out, "Verified OK") {
					t.Errorf("eUICC %s: openssl dgst with the EUM key: %s", e.EID, out)
				}
				out, ok = openssl(t, dir, "dgst", "-sha256", "-verify", "ci.pub", "-signature", sig, tbs)
				if ok || !strings.Contains(out, "Verification failure") {
					t.Errorf("eUICC %s: openssl dgst with the CI key: success %t: %s", e.EID, ok, out)
				}
			}
		})
	}
}

// TestOpenSSLText checks what openssl reads in the EUM and eUICC certificates, and that every key
// file is a valid EC key matching its certificate.
func TestOpenSSLText(t *testing.T) {
	requireOpenSSL(t)
	for curve, w := range writeTestPKIs(t) {
		curveName := map[string]string{"nist": "prime256v1", "brainpool": "brainpoolP256r1"}[curve]
		t.Run(curve+"/EUM", func(t *testing.T) {
			out, _ := openssl(t, w.dir, "x509", "-in", EUMCertFile, "-noout", "-text")
			for _, want := range []string{
				"Subject: C = ZZ, O = smdpp Test EUM, CN = smdpp EUM Test",
				"Issuer: CN = smdpp Test CI, OU = TESTCERT, O = smdpp, C = ZZ",
				"X509v3 Name Constraints: critical",
				"DirName:O = smdpp Test EUM, serialNumber = " + DefaultEUMPrefix,
				"CA:TRUE, pathlen:0",
				"Policy: 2.23.146.1.2.1.2",
				"Registered ID:2.999.5",
				"ASN1 OID: " + curveName,
			} {
				if !strings.Contains(out, want) {
					t.Errorf("EUM text lacks %q:\n%s", want, out)
				}
			}
		})
		t.Run(curve+"/eUICC", func(t *testing.T) {
			for _, e := range w.pki.EUICCs {
				out, _ := openssl(t, w.dir, "x509", "-in", EUICCCertFile(e.EID), "-noout", "-text")
				for _, want := range []string{
					"Subject: C = ZZ, O = smdpp Test EUM, serialNumber = " + e.EID + ", CN = smdpp Test eUICC",
					"Issuer: C = ZZ, O = smdpp Test EUM, CN = smdpp EUM Test",
					"Not After : Dec 31 23:59:59 9999 GMT",
					"X509v3 Key Usage: critical\n                Digital Signature",
					"X509v3 Certificate Policies: critical\n                Policy: 2.23.146.1.2.1.1",
					"ASN1 OID: " + curveName,
				} {
					if !strings.Contains(out, want) {
						t.Errorf("eUICC %s text lacks %q:\n%s", e.EID, want, out)
					}
				}
			}
		})
		t.Run(curve+"/DPtls", func(t *testing.T) {
			out, _ := openssl(t, w.dir, "x509", "-in", DPtlsCertFile, "-noout", "-text")
			for _, want := range []string{
				"Subject: O = smdpp, CN = localhost",
				"DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, Registered ID:2.999.10",
				"X509v3 Extended Key Usage: critical\n                TLS Web Server Authentication, TLS Web Client Authentication",
				"ASN1 OID: prime256v1", // P-256 on both hierarchies
			} {
				if !strings.Contains(out, want) {
					t.Errorf("DPtls text lacks %q:\n%s", want, out)
				}
			}
		})
		t.Run(curve+"/keys match certificates", func(t *testing.T) {
			pairs := [][2]string{
				{CICertFile, CIKeyFile}, {DPauthCertFile, DPauthKeyFile}, {DPpbCertFile, DPpbKeyFile},
				{DPtlsCertFile, DPtlsKeyFile}, {EUMCertFile, EUMKeyFile},
			}
			for _, e := range w.pki.EUICCs {
				pairs = append(pairs, [2]string{EUICCCertFile(e.EID), EUICCKeyFile(e.EID)})
			}
			for _, pair := range pairs {
				if out, ok := openssl(t, w.dir, "ec", "-in", pair[1], "-check", "-noout"); !ok || !strings.Contains(out, "EC Key valid.") {
					t.Errorf("%s: %s", pair[1], out)
				}
				fromCert, ok1 := openssl(t, w.dir, "x509", "-in", pair[0], "-pubkey", "-noout")
				fromKey, ok2 := openssl(t, w.dir, "pkey", "-in", pair[1], "-pubout")
				if !ok1 || !ok2 || fromCert != fromKey || !strings.Contains(fromKey, "BEGIN PUBLIC KEY") {
					t.Errorf("%s and %s hold different public keys:\n%s\n%s", pair[0], pair[1], fromCert, fromKey)
				}
			}
		})
	}
}

// TestOpenSSLGSMAParity runs the eUICC chain check on the GSMA certificates, to show that the
// error 47 our eUICC certificates get is the same one the SGP.26 test PKI gets.
func TestOpenSSLGSMAParity(t *testing.T) {
	requireOpenSSL(t)
	ref := gsmaCertDir(t)
	dir := t.TempDir()
	for _, curve := range curves {
		t.Run(curve, func(t *testing.T) {
			s := gsmaSuffix(curve)
			for _, f := range []string{"CertificateIssuer/CERT_CI_ECDSA_%s.der", "EUM/CERT_EUM_ECDSA_%s.der", "eUICC/CERT_EUICC_ECDSA_%s.der"} {
				der, err := os.ReadFile(filepath.Join(ref, fmt.Sprintf(f, s)))
				if err != nil {
					t.Fatal(err)
				}
				writePEMCert(t, filepath.Join(dir, filepath.Base(fmt.Sprintf(f, s))+".pem"), der)
			}
			out, ok := openssl(t, dir, "verify", "-attime", unixTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)),
				"-CAfile", "CERT_CI_ECDSA_"+s+".der.pem", "-untrusted", "CERT_EUM_ECDSA_"+s+".der.pem", "CERT_EUICC_ECDSA_"+s+".der.pem")
			if ok || !strings.Contains(out, "error 47") || !strings.Contains(out, "permitted subtree violation") {
				t.Errorf("GSMA EUM → eUICC: success %t, want error 47:\n%s", ok, out)
			}
			out, ok = openssl(t, dir, "verify", "-attime", unixTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)),
				"-CAfile", "CERT_CI_ECDSA_"+s+".der.pem", "CERT_EUM_ECDSA_"+s+".der.pem")
			if !ok || !strings.Contains(out, ": OK") {
				t.Errorf("GSMA CI → EUM: %s", out)
			}
		})
	}
}
