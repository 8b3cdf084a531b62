package devpki

import (
	"crypto/x509"
	"encoding/asn1"
	"net"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestStdlibNIST reads the NIST hierarchy with crypto/x509, an independent parser, and verifies the
// DP chains with it. crypto/x509 cannot read brainpool keys, so for the brainpool hierarchy only the
// (P-256) DPtls certificate is read.
func TestStdlibNIST(t *testing.T) {
	p := generate(t, "nist", testNow)
	parse := func(t *testing.T, der []byte) *x509.Certificate {
		t.Helper()
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatalf("x509.ParseCertificate: %v", err)
		}
		return c
	}
	ci := parse(t, p.CI.Certificate)
	roots := x509.NewCertPool()
	roots.AddCert(ci)
	at := testNow.Add(time.Hour)

	t.Run("CI", func(t *testing.T) {
		if !ci.IsCA || !ci.BasicConstraintsValid || ci.MaxPathLen != -1 ||
			ci.KeyUsage != x509.KeyUsageCertSign|x509.KeyUsageCRLSign || len(ci.UnhandledCriticalExtensions) != 0 {
			t.Errorf("CI: IsCA %t MaxPathLen %d KeyUsage %v unhandled %v", ci.IsCA, ci.MaxPathLen, ci.KeyUsage, ci.UnhandledCriticalExtensions)
		}
		if err := ci.CheckSignatureFrom(ci); err != nil {
			t.Errorf("CI self-signature: %v", err)
		}
		if _, err := ci.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: at}); err != nil {
			t.Errorf("CI Verify: %v", err)
		}
		if !slices.Equal(ci.CRLDistributionPoints, crlURIs) {
			t.Errorf("CRL DPs %v", ci.CRLDistributionPoints)
		}
	})

	for _, tt := range []struct {
		name   string
		cred   Credential
		policy asn1.ObjectIdentifier
		eku    x509.ExtKeyUsage
		host   string
	}{
		{"DPauth", p.DPauth, oidRoleDPauth, x509.ExtKeyUsageAny, ""},
		{"DPpb", p.DPpb, oidRoleDPpb, x509.ExtKeyUsageAny, ""},
		{"DPtls", p.DPtls, oidRoleDPtls, x509.ExtKeyUsageServerAuth, "localhost"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := parse(t, tt.cred.Certificate)
			opts := x509.VerifyOptions{Roots: roots, CurrentTime: at, KeyUsages: []x509.ExtKeyUsage{tt.eku}, DNSName: tt.host}
			if _, err := c.Verify(opts); err != nil {
				t.Errorf("Verify against the CI: %v", err)
			}
			if c.KeyUsage != x509.KeyUsageDigitalSignature || c.IsCA {
				t.Errorf("KeyUsage %v IsCA %t", c.KeyUsage, c.IsCA)
			}
			if len(c.Policies) != 1 || c.Policies[0].String() != tt.policy.String() {
				t.Errorf("policies %v, want %v", c.Policies, tt.policy)
			}
			if string(c.AuthorityKeyId) != string(ci.SubjectKeyId) || len(c.SubjectKeyId) != 20 {
				t.Errorf("AKI %x SKI %x, CI SKI %x", c.AuthorityKeyId, c.SubjectKeyId, ci.SubjectKeyId)
			}
			if !c.NotBefore.Equal(testNow) {
				t.Errorf("NotBefore %v", c.NotBefore)
			}
			// Outside the validity period the chain must fail.
			opts.CurrentTime = c.NotAfter.Add(time.Second)
			if _, err := c.Verify(opts); err == nil {
				t.Error("Verify accepted an expired certificate")
			}
		})
	}

	t.Run("DPtls names", func(t *testing.T) {
		c := parse(t, p.DPtls.Certificate)
		if !slices.Equal(c.DNSNames, []string{"localhost"}) || len(c.IPAddresses) != 2 ||
			!c.IPAddresses[0].Equal(net.IPv4(127, 0, 0, 1)) || !c.IPAddresses[1].Equal(net.IPv6loopback) {
			t.Errorf("DNS %v IPs %v", c.DNSNames, c.IPAddresses)
		}
		if !slices.Equal(c.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}) {
			t.Errorf("EKU %v", c.ExtKeyUsage)
		}
		for _, host := range []string{"127.0.0.1", "::1"} {
			if err := c.VerifyHostname(host); err != nil {
				t.Errorf("VerifyHostname(%s): %v", host, err)
			}
		}
		if err := c.VerifyHostname("example.com"); err == nil {
			t.Error("VerifyHostname accepted a name not in the SAN")
		}
	})

	t.Run("EUM and eUICC", func(t *testing.T) {
		eum := parse(t, p.EUM.Certificate)
		if !eum.IsCA || eum.MaxPathLen != 0 || !eum.MaxPathLenZero || eum.KeyUsage != x509.KeyUsageCertSign {
			t.Errorf("EUM IsCA %t MaxPathLen %d/%t KeyUsage %v", eum.IsCA, eum.MaxPathLen, eum.MaxPathLenZero, eum.KeyUsage)
		}
		if err := eum.CheckSignatureFrom(ci); err != nil {
			t.Errorf("EUM signature from CI: %v", err)
		}
		// Go leaves the directoryName nameConstraints unhandled, exactly as for the GSMA EUM
		// certificates (INDEX.md), so a plain x509 Verify of EUM/eUICC fails the same way for both.
		if len(eum.UnhandledCriticalExtensions) != 1 || !eum.UnhandledCriticalExtensions[0].Equal(oidNameConstraints) {
			t.Errorf("EUM unhandled critical extensions %v, want only nameConstraints", eum.UnhandledCriticalExtensions)
		}
		for _, e := range p.EUICCs {
			c := parse(t, e.Certificate)
			if err := c.CheckSignatureFrom(eum); err != nil {
				t.Errorf("eUICC %s signature from EUM: %v", e.EID, err)
			}
			if c.Subject.SerialNumber != e.EID || c.KeyUsage != x509.KeyUsageDigitalSignature || c.IsCA {
				t.Errorf("eUICC %s: serialNumber %q KeyUsage %v", e.EID, c.Subject.SerialNumber, c.KeyUsage)
			}
			if c.NotAfter.Year() != 9999 || string(c.AuthorityKeyId) != string(eum.SubjectKeyId) {
				t.Errorf("eUICC %s: NotAfter %v AKI %x", e.EID, c.NotAfter, c.AuthorityKeyId)
			}
			if err := c.CheckSignatureFrom(ci); err == nil {
				t.Error("eUICC signature verified with the CI key")
			}
		}
	})

	t.Run("brainpool DPtls parses", func(t *testing.T) {
		bp := generate(t, "brainpool", testNow)
		c := parse(t, bp.DPtls.Certificate)
		if c.SignatureAlgorithm != x509.ECDSAWithSHA256 {
			t.Errorf("signature algorithm %v", c.SignatureAlgorithm)
		}
		if _, err := x509.ParseCertificate(bp.CI.Certificate); err == nil || !strings.Contains(err.Error(), "unsupported elliptic curve") {
			t.Errorf("brainpool CI: ParseCertificate error %v, want unsupported elliptic curve", err)
		}
	})
}
