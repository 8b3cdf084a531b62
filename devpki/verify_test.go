package devpki

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/smdpp/smdpp/certs"
)

// TestCertsVerifier runs the project's own SGP.22 chain verifier (package certs) on the written
// PKI of both curves: the CI, every SM-DP+ certificate, and every CI → EUM → eUICC chain, with the
// EID check digits required.
func TestCertsVerifier(t *testing.T) {
	pkis := writeTestPKIs(t)
	for _, curve := range curves {
		dir, p := pkis[curve].dir, pkis[curve].pki
		load := func(t *testing.T, name string) *certs.Certificate {
			t.Helper()
			data, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			c, err := certs.ParseCertificatePEM(data)
			if err != nil {
				t.Fatalf("certs.ParseCertificatePEM(%s): %v", name, err)
			}
			return c
		}
		ci := load(t, CICertFile)
		roots, err := certs.NewRoots(ci)
		if err != nil {
			t.Fatalf("%s: certs.NewRoots: %v", curve, err)
		}
		ciPKID := mustParse(t, p.CI.Certificate)
		opts := certs.VerifyOptions{Now: testNow.Add(time.Hour), RequireEIDCheckDigits: true}

		t.Run(curve+"/CI", func(t *testing.T) {
			if err := certs.VerifyCI(ci, opts); err != nil {
				t.Fatal(err)
			}
			ski, _ := ciPKID.ext(oidSubjectKeyID)
			if !bytes.Equal(ski.value[2:], ci.SubjectKeyId) {
				t.Errorf("CI PKID %x, SKI extension %x", ci.SubjectKeyId, ski.value)
			}
		})

		for _, tt := range []struct {
			file string
			role certs.Role
			dns  string
		}{
			{DPauthCertFile, certs.RoleDPAuth, ""},
			{DPpbCertFile, certs.RoleDPPb, ""},
			{DPtlsCertFile, certs.RoleDPTLS, "localhost"},
		} {
			t.Run(curve+"/"+tt.role.String(), func(t *testing.T) {
				c := load(t, tt.file)
				o := opts
				o.DNSName = tt.dns
				id, err := certs.VerifyServerCertificate(c, tt.role, roots, o)
				if err != nil {
					t.Fatal(err)
				}
				if !id.OID.Equal(DefaultSMDPOID) || !bytes.Equal(id.CIPKID, ci.SubjectKeyId) {
					t.Errorf("SM-DP+ OID %v CI PKID %x", id.OID, id.CIPKID)
				}
				if tt.role == certs.RoleDPTLS && !slices.Equal(id.DNSNames, []string{"localhost"}) {
					t.Errorf("DNS names %v", id.DNSNames)
				}
				// The same certificate must fail for another role and after it expires.
				if _, err := certs.VerifyServerCertificate(c, otherRole(tt.role), roots, opts); !errors.Is(err, certs.ErrWrongRole) {
					t.Errorf("as %v: %v, want ErrWrongRole", otherRole(tt.role), err)
				}
				o.Now = c.NotAfter.Add(time.Second)
				if _, err := certs.VerifyServerCertificate(c, tt.role, roots, o); !errors.Is(err, certs.ErrExpired) {
					t.Errorf("after notAfter: %v, want ErrExpired", err)
				}
			})
		}

		t.Run(curve+"/eUICC chains", func(t *testing.T) {
			eum := load(t, EUMCertFile)
			if !slices.Equal(eum.PermittedEIDPrefixes, []string{DefaultEUMPrefix}) {
				t.Errorf("EUM permitted prefixes %v, want [%s]", eum.PermittedEIDPrefixes, DefaultEUMPrefix)
			}
			for _, e := range p.EUICCs {
				euicc := load(t, EUICCCertFile(e.EID))
				id, err := certs.VerifyEUICCChain(euicc, eum, roots, opts)
				if err != nil {
					t.Fatalf("eUICC %s: %v", e.EID, err)
				}
				if id.EID != e.EID || !bytes.Equal(id.CIPKID, ci.SubjectKeyId) {
					t.Errorf("identity EID %s CI PKID %x", id.EID, id.CIPKID)
				}
			}
		})

		t.Run(curve+"/foreign EUM", func(t *testing.T) {
			// An eUICC of this PKI presented with the other PKI's EUM must be rejected.
			otherCurve := "nist"
			if curve == "nist" {
				otherCurve = "brainpool"
			}
			otherEUM, err := certs.ParseCertificate(pkis[otherCurve].pki.EUM.Certificate)
			if err != nil {
				t.Fatal(err)
			}
			euicc := load(t, EUICCCertFile(p.EUICCs[0].EID))
			if _, err := certs.VerifyEUICCChain(euicc, otherEUM, roots, opts); err == nil {
				t.Error("chain with a foreign EUM verified")
			}
		})
	}
}

func otherRole(r certs.Role) certs.Role {
	if r == certs.RoleDPAuth {
		return certs.RoleDPPb
	}
	return certs.RoleDPAuth
}
