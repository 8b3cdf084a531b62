package euicc

import (
	"encoding/asn1"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/smdpp/smdpp/certs"
	"github.com/smdpp/smdpp/rsp"
)

// sgp26Dir is the copy of the GSMA SGP.26 test certificates in this repository.
const sgp26Dir = "../testdata/certs"

// sgp26Credential loads an SGP.26 certificate (DER) and its SK_*.pem key.
func sgp26Credential(t testing.TB, dir, certFile, keyFile string) credential {
	t.Helper()
	der, err := os.ReadFile(filepath.Join(sgp26Dir, dir, certFile))
	if err != nil {
		t.Fatal(err)
	}
	pemData, err := os.ReadFile(filepath.Join(sgp26Dir, dir, keyFile))
	if err != nil {
		t.Fatal(err)
	}
	key, err := certs.ParsePrivateKeyPEM(pemData)
	if err != nil {
		t.Fatal(err)
	}
	return credential{der, key}
}

// sgp26Server is the SGP.26 test SM-DP+ "TEST SM-DP+" (OID 2.999.10) on curve suffix NIST or BRP.
func sgp26Server(t testing.TB, suffix string) *server {
	return &server{
		address: "testsmdpplus1.example.com",
		auth:    sgp26Credential(t, "DPauth", "CERT_S_SM_DPauth_ECDSA_"+suffix+".der", "SK_S_SM_DPauth_ECDSA_"+suffix+".pem"),
		pb:      sgp26Credential(t, "DPpb", "CERT_S_SM_DPpb_ECDSA_"+suffix+".der", "SK_S_SM_DPpb_ECDSA_"+suffix+".pem"),
		hostID:  []byte("smdpp-sgp26"),
	}
}

// TestSGP26 runs downloads on the GSMA SGP.26 test eUICC (EID 89049032123451234512345678901235)
// against the SGP.26 test SM-DP+ certificates; the DPauth and DPpb certificates expire in 2030.
func TestSGP26(t *testing.T) {
	for _, c := range []struct{ curve, suffix string }{{"nist", "NIST"}, {"brainpool", "BRP"}} {
		t.Run(c.curve, func(t *testing.T) {
			cfg, err := LoadSGP26(sgp26Dir, c.curve)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.EID != "89049032123451234512345678901235" {
				t.Fatalf("EID %s", cfg.EID)
			}
			now := testNow
			cfg.Now = func() time.Time { return now }
			card := newTestCard(t, cfg)
			srv := sgp26Server(t, c.suffix)

			_, pir := install(t, card, srv, bindOptions{upp: syntheticUPP(iccid(0x71), 2000), ppk: true})
			if !pir.ProfileInstallationResultData.SmdpOid.Equal(asn1.ObjectIdentifier{2, 999, 10}) {
				t.Errorf("smdpOid %v", pir.ProfileInstallationResultData.SmdpOid)
			}

			// CERT.DPpb of the other test SM-DP+ (OID 2.999.12) after CERT.DPauth of 2.999.10.
			d, _ := srv.authenticate(t, card, authHooks{})
			other := *srv
			other.pb = sgp26Credential(t, "DPpb", "CERT_S_SM_DP2pb_ECDSA_"+c.suffix+".der", "SK_S_SM_DP2pb_ECDSA_"+c.suffix+".pem")
			if r := other.prepare(t, card, d, prepHooks{}); r.DownloadResponseError == nil ||
				r.DownloadResponseError.DownloadErrorCode != rsp.DownloadErrorCodeInvalidCertificate {
				t.Errorf("DPpb of another SM-DP+: %+v", r)
			}

			// After 2030-03-30 the test CERT.DPauth has expired.
			now = time.Date(2030, time.April, 1, 0, 0, 0, 0, time.UTC)
			if _, r := srv.authenticate(t, card, authHooks{}); r.AuthenticateResponseError == nil ||
				r.AuthenticateResponseError.AuthenticateErrorCode != rsp.AuthenticateErrorCodeInvalidCertificate {
				t.Errorf("expired SGP.26 DPauth: %+v", r)
			}
		})
	}
}

// TestSGP26WithTS48 installs a TS.48 test profile on the SGP.26 test eUICC.
func TestSGP26WithTS48(t *testing.T) {
	cfg, err := LoadSGP26(sgp26Dir, "nist")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Now = func() time.Time { return testNow }
	card := newTestCard(t, cfg)
	install(t, card, sgp26Server(t, "NIST"), bindOptions{upp: readUPP(t, "TS48V2-SAIP2-1-NOBERTLV-UNIQUE.der")})
}
