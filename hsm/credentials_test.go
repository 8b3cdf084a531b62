//go:build cgo

package hsm

import (
	"context"
	"crypto"
	"crypto/rand"
	"testing"
	"time"

	"github.com/smdpp/smdpp/certs"
	"github.com/smdpp/smdpp/devpki"
	"github.com/smdpp/smdpp/download"
	"github.com/smdpp/smdpp/rsp"
	"github.com/smdpp/smdpp/session"
)

// TestCredentials moves the DPauth and DPpb keys of a generated PKI into the token and runs
// ES9+.InitiateAuthentication with them: the ServerSigned1 the download service signs through
// the HSM verifies with CERT.DPauth's key, as an eUICC would check it (SGP.22 §5.6.1, §3.1.2).
func TestCredentials(t *testing.T) {
	m := openTest(t)
	const address = "smdp.example.com"
	for _, c := range testCurves {
		t.Run(c.name, func(t *testing.T) {
			now := time.Now()
			pki, err := devpki.Generate(devpki.Options{Curve: c.name, Now: now.Add(-time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			parse := func(der []byte) *certs.Certificate {
				t.Helper()
				cert, err := certs.ParseCertificate(der)
				if err != nil {
					t.Fatal(err)
				}
				return cert
			}
			dpauthKey, err := m.ImportKey(freshLabel(t, m, "dpauth-"+c.name), pki.DPauth.Key)
			if err != nil {
				t.Fatalf("importing SK.DPauth: %v", err)
			}
			dppbKey, err := m.ImportKey(freshLabel(t, m, "dppb-"+c.name), pki.DPpb.Key)
			if err != nil {
				t.Fatalf("importing SK.DPpb: %v", err)
			}
			creds := &download.Credentials{
				CI:        parse(pki.CI.Certificate),
				DPauth:    parse(pki.DPauth.Certificate),
				DPauthKey: dpauthKey,
				DPpb:      parse(pki.DPpb.Certificate),
				DPpbKey:   dppbKey,
			}
			if err := creds.Verify(now); err != nil {
				t.Fatalf("credentials: %v", err)
			}
			// What serve must check when it loads a key URI: the key is the certificate's.
			for name, pair := range map[string]struct {
				cert *certs.Certificate
				pub  crypto.PublicKey
			}{"DPauth": {creds.DPauth, dpauthKey.Public()}, "DPpb": {creds.DPpb, dppbKey.Public()}} {
				if !pair.cert.PublicKey.Equal(pair.pub) {
					t.Fatalf("the HSM %s key does not match its certificate", name)
				}
			}

			svc, err := download.New(address, []*download.Credentials{creds}, nil, session.NewMemory())
			if err != nil {
				t.Fatal(err)
			}
			challenge := make([]byte, 16)
			rand.Read(challenge)
			info := rsp.EUICCInfo1{
				SVN:                            rsp.VersionType{2, 2, 2},
				EuiccCiPKIdListForVerification: [][]byte{creds.CIPKID()},
				EuiccCiPKIdListForSigning:      [][]byte{creds.CIPKID()},
			}
			infoDER, err := info.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			res, err := svc.InitiateAuthentication(context.Background(), challenge, infoDER, address)
			if err != nil {
				t.Fatalf("InitiateAuthentication: %v", err)
			}
			sig := res.ServerSignature1
			if len(sig) != 3+certs.RawSignatureSize || sig[0] != 0x5F || sig[1] != 0x37 || sig[2] != certs.RawSignatureSize {
				t.Fatalf("serverSignature1 = %X, want 5F3740 ‖ r‖s", sig)
			}
			serverCert := parse(res.ServerCertificate)
			if !certs.VerifyRaw(serverCert.PublicKey, res.ServerSigned1, sig[3:]) {
				t.Fatal("serverSignature1 does not verify with CERT.DPauth")
			}
			var signed rsp.ServerSigned1
			if err := signed.Unmarshal(res.ServerSigned1); err != nil {
				t.Fatalf("serverSigned1: %v", err)
			}
			if string(signed.EuiccChallenge) != string(challenge) || signed.ServerAddress != address {
				t.Fatalf("serverSigned1 = %+v", signed)
			}

			// SK.DPpb signs smdpSigned2 and the BPP the same way.
			msg := []byte("smdpSigned2 stand-in")
			raw, err := certs.SignRaw(creds.DPpbKey, msg)
			if err != nil || !certs.VerifyRaw(creds.DPpb.PublicKey, msg, raw) {
				t.Fatalf("DPpb signature: %v", err)
			}
			if certs.VerifyRaw(creds.DPauth.PublicKey, msg, raw) {
				t.Fatal("the DPpb signature verifies with the DPauth key")
			}
		})
	}
}
