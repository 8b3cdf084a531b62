package euicc

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"

	"github.com/smdpp/smdpp/apdu"
	"github.com/smdpp/smdpp/certs"
	"github.com/smdpp/smdpp/devpki"
	"github.com/smdpp/smdpp/rsp"
	"github.com/smdpp/smdpp/tlv"
)

// fixture is what the error tables build their cases from: the card's PKI and an unrelated one
// on the same curve.
type fixture struct {
	pki, other *devpki.PKI
}

func newFixture(t testing.TB, curve string) fixture {
	return fixture{pki: testPKI(t, curve, "main"), other: testPKI(t, curve, "other")}
}

// p384Certificate returns a self-signed certificate with a P-384 key, a curve SGP.22 does not use.
func p384Certificate(t testing.TB) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "P-384"},
		NotBefore: testNow.Add(-time.Hour), NotAfter: testNow.Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestAuthenticateServerErrors(t *testing.T) {
	type tc struct {
		name  string
		cfg   func(f fixture, c *Config)
		srv   func(f fixture, s *server)
		hooks func(f fixture) authHooks
		want  rsp.AuthenticateErrorCode
	}
	tests := []tc{
		{name: "serverSignature1 tampered", want: rsp.AuthenticateErrorCodeInvalidSignature,
			hooks: func(fixture) authHooks {
				return authHooks{req: func(r *rsp.AuthenticateServerRequest) { r.ServerSignature1[7] ^= 0x01 }}
			}},
		{name: "serverSigned1 changed after signing", want: rsp.AuthenticateErrorCodeInvalidSignature,
			hooks: func(fixture) authHooks {
				return authHooks{req: func(r *rsp.AuthenticateServerRequest) { r.ServerSigned1.ServerAddress = "evil.example.com" }}
			}},
		{name: "serverSignature1 truncated", want: rsp.AuthenticateErrorCodeInvalidSignature,
			hooks: func(fixture) authHooks {
				return authHooks{req: func(r *rsp.AuthenticateServerRequest) { r.ServerSignature1 = r.ServerSignature1[:63] }}
			}},
		{name: "serverSignature1 empty", want: rsp.AuthenticateErrorCodeInvalidSignature,
			hooks: func(fixture) authHooks {
				return authHooks{req: func(r *rsp.AuthenticateServerRequest) { r.ServerSignature1 = []byte{} }}
			}},
		{name: "signed by DPpb key", want: rsp.AuthenticateErrorCodeInvalidSignature,
			srv: func(f fixture, s *server) { s.auth.key = f.pki.DPpb.Key }},
		{name: "server certificate from another CI", want: rsp.AuthenticateErrorCodeInvalidCertificate,
			srv: func(f fixture, s *server) { s.auth = credential{f.other.DPauth.Certificate, f.other.DPauth.Key} }},
		{name: "CERT.DPpb presented as CERT.DPauth", want: rsp.AuthenticateErrorCodeInvalidOid,
			srv: func(f fixture, s *server) { s.auth = s.pb }},
		{name: "CERT.DPtls presented as CERT.DPauth", want: rsp.AuthenticateErrorCodeInvalidOid,
			srv: func(f fixture, s *server) { s.auth = credential{f.pki.DPtls.Certificate, f.pki.DPtls.Key} }},
		{name: "CERT.EUM presented as CERT.DPauth", want: rsp.AuthenticateErrorCodeInvalidOid,
			srv: func(f fixture, s *server) { s.auth = credential{f.pki.EUM.Certificate, f.pki.EUM.Key} }},
		{name: "DPauth expired", want: rsp.AuthenticateErrorCodeInvalidCertificate,
			cfg: func(_ fixture, c *Config) { c.Now = func() time.Time { return testNow.AddDate(6, 0, 0) } }},
		{name: "DPauth not yet valid", want: rsp.AuthenticateErrorCodeInvalidCertificate,
			cfg: func(_ fixture, c *Config) { c.Now = func() time.Time { return testNow.AddDate(0, 0, -2) } }},
		{name: "server certificate not a certificate", want: rsp.AuthenticateErrorCodeInvalidCertificate,
			hooks: func(fixture) authHooks {
				return authHooks{req: func(r *rsp.AuthenticateServerRequest) { r.ServerCertificate = unhex("3003020100") }}
			}},
		{name: "server certificate on P-384", want: rsp.AuthenticateErrorCodeUnsupportedCurve,
			hooks: func(fixture) authHooks {
				cert := p384Certificate(t)
				return authHooks{req: func(r *rsp.AuthenticateServerRequest) { r.ServerCertificate = cert }}
			}},
		{name: "wrong euiccChallenge", want: rsp.AuthenticateErrorCodeEuiccChallengeMismatch,
			hooks: func(fixture) authHooks {
				return authHooks{signed: func(s *rsp.ServerSigned1) { s.EuiccChallenge = random(16) }}
			}},
		{name: "no GetEuiccChallenge", want: rsp.AuthenticateErrorCodeNoSessionContext,
			hooks: func(fixture) authHooks { return authHooks{skipChallenge: true} }},
		{name: "unknown CI PKID", want: rsp.AuthenticateErrorCodeCiPKUnknown,
			hooks: func(fixture) authHooks {
				return authHooks{req: func(r *rsp.AuthenticateServerRequest) { r.EuiccCiPKIdToBeUsed = random(20) }}
			}},
		{name: "trusted CI the eUICC does not sign under", want: rsp.AuthenticateErrorCodeCiPKUnknown,
			cfg: func(f fixture, c *Config) { c.CICertificates = append(c.CICertificates, f.other.CI.Certificate) },
			srv: func(f fixture, s *server) { s.auth = credential{f.other.DPauth.Certificate, f.other.DPauth.Key} },
			hooks: func(f fixture) authHooks {
				ci, _ := certs.ParseCertificate(f.other.CI.Certificate)
				return authHooks{req: func(r *rsp.AuthenticateServerRequest) { r.EuiccCiPKIdToBeUsed = ci.SubjectKeyId }}
			}},
	}
	for _, curve := range curves {
		for _, tt := range tests {
			t.Run(curve+"/"+tt.name, func(t *testing.T) {
				f := newFixture(t, curve)
				cfg := cardConfig(f.pki, 0)
				if tt.cfg != nil {
					tt.cfg(f, &cfg)
				}
				card := newTestCard(t, cfg)
				srv := devServer(f.pki)
				if tt.srv != nil {
					tt.srv(f, srv)
				}
				var h authHooks
				if tt.hooks != nil {
					h = tt.hooks(f)
				}
				d, resp := srv.authenticate(t, card, h)
				e := resp.AuthenticateResponseError
				if e == nil {
					t.Fatal("AuthenticateServer succeeded")
				}
				if e.AuthenticateErrorCode != tt.want || !bytes.Equal(e.TransactionID, d.tid) {
					t.Fatalf("authenticateResponseError {%X, %d}, want {%X, %d}", e.TransactionID, e.AuthenticateErrorCode, d.tid, tt.want)
				}
				// No session was opened.
				if prep := srv.prepare(t, card, d, prepHooks{}); prep.DownloadResponseError == nil ||
					prep.DownloadResponseError.DownloadErrorCode != rsp.DownloadErrorCodeNoSessionContext {
					t.Errorf("PrepareDownload after a failed authentication: %+v", prep)
				}
			})
		}
	}
}

// TestChallengeUsedOnce replays an AuthenticateServer request: the challenge it signs is gone.
func TestChallengeUsedOnce(t *testing.T) {
	pki := testPKI(t, "nist", "main")
	card := newTestCard(t, cardConfig(pki, 0))
	srv := devServer(pki)
	var sent []byte
	_, resp := srv.authenticate(t, card, authHooks{req: func(r *rsp.AuthenticateServerRequest) { sent = mustMarshal(t, r) }})
	if resp.AuthenticateResponseOk == nil {
		t.Fatal("first AuthenticateServer failed")
	}
	var again rsp.AuthenticateServerResponse
	if err := again.Unmarshal(card.call(sent)); err != nil {
		t.Fatal(err)
	}
	if again.AuthenticateResponseError == nil || again.AuthenticateResponseError.AuthenticateErrorCode != rsp.AuthenticateErrorCodeNoSessionContext {
		t.Fatalf("replayed AuthenticateServer: %+v", again)
	}
}

func TestPrepareDownloadErrors(t *testing.T) {
	type tc struct {
		name  string
		srv   func(f fixture, s *server)
		hooks prepHooks
		later time.Duration // how far the card's clock moves after AuthenticateServer
		want  rsp.DownloadErrorCode
	}
	tests := []tc{
		{name: "smdpSignature2 tampered", want: rsp.DownloadErrorCodeInvalidSignature,
			hooks: prepHooks{req: func(r *rsp.PrepareDownloadRequest) { r.SmdpSignature2[40] ^= 0x80 }}},
		{name: "smdpSigned2 changed after signing", want: rsp.DownloadErrorCodeInvalidSignature,
			hooks: prepHooks{req: func(r *rsp.PrepareDownloadRequest) { r.SmdpSigned2.CcRequiredFlag = true; r.HashCc = random(32) }}},
		{name: "signed by DPauth key", want: rsp.DownloadErrorCodeInvalidSignature,
			srv: func(f fixture, s *server) { s.pb.key = f.pki.DPauth.Key }},
		{name: "wrong transactionId", want: rsp.DownloadErrorCodeInvalidTransactionId,
			hooks: prepHooks{signed: func(s *rsp.SmdpSigned2) { s.TransactionID = random(16) }}},
		{name: "CERT.DPauth presented as CERT.DPpb", want: rsp.DownloadErrorCodeInvalidCertificate,
			srv: func(f fixture, s *server) { s.pb = s.auth }},
		{name: "DPpb from another CI", want: rsp.DownloadErrorCodeInvalidCertificate,
			srv: func(f fixture, s *server) { s.pb = credential{f.other.DPpb.Certificate, f.other.DPpb.Key} }},
		{name: "DPpb expired", want: rsp.DownloadErrorCodeInvalidCertificate, later: 6 * 365 * 24 * time.Hour},
		{name: "smdpCertificate not a certificate", want: rsp.DownloadErrorCodeInvalidCertificate,
			hooks: prepHooks{req: func(r *rsp.PrepareDownloadRequest) { r.SmdpCertificate = unhex("3000") }}},
		{name: "smdpCertificate on P-384", want: rsp.DownloadErrorCodeUnsupportedCurve,
			hooks: prepHooks{req: func(r *rsp.PrepareDownloadRequest) { r.SmdpCertificate = p384Certificate(t) }}},
		{name: "confirmation code required, no hashCc", want: rsp.DownloadErrorCodeUndefinedError,
			hooks: prepHooks{signed: func(s *rsp.SmdpSigned2) { s.CcRequiredFlag = true }}},
	}
	for _, curve := range curves {
		for _, tt := range tests {
			t.Run(curve+"/"+tt.name, func(t *testing.T) {
				f := newFixture(t, curve)
				now := testNow
				cfg := cardConfig(f.pki, 0)
				cfg.Now = func() time.Time { return now }
				card := newTestCard(t, cfg)
				srv := devServer(f.pki)
				d, auth := srv.authenticate(t, card, authHooks{})
				if auth.AuthenticateResponseOk == nil {
					t.Fatal("AuthenticateServer failed")
				}
				now = now.Add(tt.later)
				if tt.srv != nil {
					tt.srv(f, srv)
				}
				resp := srv.prepare(t, card, d, tt.hooks)
				e := resp.DownloadResponseError
				if e == nil {
					t.Fatal("PrepareDownload succeeded")
				}
				if e.DownloadErrorCode != tt.want {
					t.Fatalf("downloadErrorCode %d, want %d", e.DownloadErrorCode, tt.want)
				}
				// No BPP can be loaded.
				if sw, _ := card.sw(unhex("BF3600")); sw != apdu.SWConditionsNotSatisfied {
					t.Errorf("BPP after a failed PrepareDownload: SW %04X", sw)
				}
			})
		}
	}
}

func TestPrepareDownloadWithoutSession(t *testing.T) {
	pki := testPKI(t, "nist", "main")
	card := newTestCard(t, cardConfig(pki, 0))
	srv := devServer(pki)
	d := &download{tid: random(16)}
	resp := srv.prepare(t, card, d, prepHooks{})
	if e := resp.DownloadResponseError; e == nil || e.DownloadErrorCode != rsp.DownloadErrorCodeNoSessionContext || !bytes.Equal(e.TransactionID, d.tid) {
		t.Fatalf("PrepareDownload without a session: %+v", resp)
	}
}

// segmentIndex returns the index of the n-th segment (from 0) whose first tag is tag.
func segmentIndex(t testing.TB, segs [][]byte, tag tlv.Tag, n int) int {
	t.Helper()
	for i, s := range segs {
		if got, _ := tlv.String(s).NextTag(); got == tag {
			if n == 0 {
				return i
			}
			n--
		}
	}
	t.Fatalf("no segment %d with tag %s", n, tag)
	return -1
}

func flipLast(seg []byte) []byte {
	out := bytes.Clone(seg)
	out[len(out)-1] ^= 0x01
	return out
}

func TestLoadBoundProfilePackageErrors(t *testing.T) {
	type tc struct {
		name       string
		cfg        func(c *Config)
		bind       func(f fixture, o *bindOptions)
		segs       func(t testing.TB, segs [][]byte) [][]byte
		wantCmd    rsp.BppCommandId
		wantReason rsp.ErrorReason
	}
	const (
		isc  = rsp.BppCommandIdInitialiseSecureChannel
		cisd = rsp.BppCommandIdConfigureISDP
		smd  = rsp.BppCommandIdStoreMetadata
		rsk  = rsp.BppCommandIdReplaceSessionKeys
		lpe  = rsp.BppCommandIdLoadProfileElements
	)
	tests := []tc{
		// BSP (SCP03t) security.
		{name: "'86' C-MAC flipped", wantCmd: lpe, wantReason: rsp.ErrorReasonScp03tSecurityError,
			segs: func(t testing.TB, s [][]byte) [][]byte {
				i := segmentIndex(t, s, 0x86, 1)
				s[i] = flipLast(s[i])
				return s
			}},
		{name: "'86' ciphertext flipped", wantCmd: lpe, wantReason: rsp.ErrorReasonScp03tSecurityError,
			segs: func(t testing.TB, s [][]byte) [][]byte {
				i := segmentIndex(t, s, 0x86, 0)
				s[i] = bytes.Clone(s[i])
				s[i][20] ^= 0x40
				return s
			}},
		{name: "'88' C-MAC flipped", wantCmd: smd, wantReason: rsp.ErrorReasonScp03tSecurityError,
			segs: func(t testing.TB, s [][]byte) [][]byte {
				i := segmentIndex(t, s, 0x88, 0)
				s[i] = flipLast(s[i])
				return s
			}},
		{name: "ConfigureISDP C-MAC flipped", wantCmd: cisd, wantReason: rsp.ErrorReasonScp03tSecurityError,
			segs: func(t testing.TB, s [][]byte) [][]byte {
				i := segmentIndex(t, s, rsp.TagFirstSequenceOf87, 0)
				s[i] = flipLast(s[i])
				return s
			}},
		{name: "ReplaceSessionKeys C-MAC flipped", wantCmd: rsk, wantReason: rsp.ErrorReasonScp03tSecurityError,
			bind: func(_ fixture, o *bindOptions) { o.ppk = true },
			segs: func(t testing.TB, s [][]byte) [][]byte {
				i := segmentIndex(t, s, rsp.TagSecondSequenceOf87, 0)
				s[i] = flipLast(s[i])
				return s
			}},
		{name: "BPP bound for another EID", wantCmd: cisd, wantReason: rsp.ErrorReasonScp03tSecurityError,
			bind: func(f fixture, o *bindOptions) { o.eid = unhex(f.pki.EUICCs[1].EID) }},
		{name: "'86' segment dropped", wantCmd: lpe, wantReason: rsp.ErrorReasonScp03tSecurityError,
			segs: func(t testing.TB, s [][]byte) [][]byte {
				i := segmentIndex(t, s, 0x86, 1)
				// Keep the package length right: replace segment 1 by segment 2, drop the last.
				s[i] = s[i+1]
				return s
			}},
		{name: "'86' segment repeated", wantCmd: lpe, wantReason: rsp.ErrorReasonScp03tSecurityError,
			segs: func(t testing.TB, s [][]byte) [][]byte {
				i := segmentIndex(t, s, 0x86, 1)
				s[i] = s[i-1]
				return s
			}},

		// Structure.
		{name: "segments out of order", wantCmd: isc, wantReason: rsp.ErrorReasonScp03tStructureError,
			segs: func(t testing.TB, s [][]byte) [][]byte {
				s[1], s[2] = s[2], s[1]
				return s
			}},
		{name: "'88' without its sequence header", wantCmd: cisd, wantReason: rsp.ErrorReasonScp03tStructureError,
			segs: func(t testing.TB, s [][]byte) [][]byte {
				i := segmentIndex(t, s, rsp.TagSequenceOf88, 0)
				return append(s[:i:i], s[i+1:]...)
			}},
		{name: "'86' truncated", wantCmd: lpe, wantReason: rsp.ErrorReasonScp03tStructureError,
			segs: func(t testing.TB, s [][]byte) [][]byte {
				i := segmentIndex(t, s, 0x86, 0)
				s[i] = s[i][:len(s[i])-1]
				return s
			}},
		{name: "'86' with a wrong tag", wantCmd: lpe, wantReason: rsp.ErrorReasonScp03tStructureError,
			segs: func(t testing.TB, s [][]byte) [][]byte {
				i := segmentIndex(t, s, 0x86, 0)
				s[i] = bytes.Clone(s[i])
				s[i][0] = 0x87
				return s
			}},
		{name: "BF36 header without BF23", wantCmd: isc, wantReason: rsp.ErrorReasonScp03tStructureError,
			segs: func(t testing.TB, s [][]byte) [][]byte { return [][]byte{unhex("BF3600")} }},

		// InitialiseSecureChannel.
		{name: "smdpSign tampered", wantCmd: isc, wantReason: rsp.ErrorReasonInvalidSignature,
			bind: func(_ fixture, o *bindOptions) {
				o.signTBS = func(b []byte) []byte { return append(b, 0) }
			}},
		{name: "smdpSign over other bytes", wantCmd: isc, wantReason: rsp.ErrorReasonInvalidSignature,
			bind: func(f fixture, o *bindOptions) {
				o.signTBS = func(b []byte) []byte { return b[:len(b)-1] } // over other bytes
			}},
		{name: "InitialiseSecureChannel transactionId", wantCmd: isc, wantReason: rsp.ErrorReasonInvalidTransactionId,
			bind: func(_ fixture, o *bindOptions) {
				o.isc = func(r *rsp.InitialiseSecureChannelRequest) { r.TransactionID = random(16) }
			}},
		{name: "remoteOpId", wantCmd: isc, wantReason: rsp.ErrorReasonUnsupportedRemoteOperationType,
			bind: func(_ fixture, o *bindOptions) {
				o.isc = func(r *rsp.InitialiseSecureChannelRequest) { r.RemoteOpID = 2 }
			}},
		{name: "keyType not AES", wantCmd: isc, wantReason: rsp.ErrorReasonUnsupportedCrtValues,
			bind: func(_ fixture, o *bindOptions) {
				o.isc = func(r *rsp.InitialiseSecureChannelRequest) { r.ControlRefTemplate.KeyType = []byte{0x80} }
			}},
		{name: "keyLen 32", wantCmd: isc, wantReason: rsp.ErrorReasonUnsupportedCrtValues,
			bind: func(_ fixture, o *bindOptions) {
				o.isc = func(r *rsp.InitialiseSecureChannelRequest) { r.ControlRefTemplate.KeyLen = []byte{0x20} }
			}},
		{name: "smdpOtpk not on the curve", wantCmd: isc, wantReason: rsp.ErrorReasonIncorrectInputValues,
			bind: func(_ fixture, o *bindOptions) {
				o.isc = func(r *rsp.InitialiseSecureChannelRequest) { r.SmdpOtpk = append([]byte{4}, random(64)...) }
			}},

		// ConfigureISDP, StoreMetadata, ReplaceSessionKeys.
		{name: "ConfigureISDP not BF24", wantCmd: cisd, wantReason: rsp.ErrorReasonIncorrectInputValues,
			bind: func(_ fixture, o *bindOptions) { o.configureISDP = unhex("BF2500") }},
		{name: "StoreMetadata not BF25", wantCmd: smd, wantReason: rsp.ErrorReasonIncorrectInputValues,
			bind: func(_ fixture, o *bindOptions) { o.metadataDER = unhex("BF2400") }},
		{name: "icon without iconType", wantCmd: smd, wantReason: rsp.ErrorReasonIncorrectInputValues,
			bind: func(_ fixture, o *bindOptions) {
				md := metadataFor(uppICCID(t, o.upp), "smdp.example.com")
				md.Icon = []byte{1, 2, 3}
				o.metadata = md
			}},
		{name: "unknown profile class", wantCmd: smd, wantReason: rsp.ErrorReasonUnsupportedProfileClass,
			bind: func(_ fixture, o *bindOptions) {
				md := metadataFor(uppICCID(t, o.upp), "smdp.example.com")
				class := rsp.ProfileClass(7)
				md.ProfileClass = &class
				o.metadata = md
			}},
		{name: "ReplaceSessionKeys garbage", wantCmd: rsk, wantReason: rsp.ErrorReasonIncorrectInputValues,
			bind: func(_ fixture, o *bindOptions) { o.ppk, o.replaceSessionKeys = true, unhex("BF2600") }},

		// The profile package.
		{name: "ICCID mismatch between metadata and profile", wantCmd: lpe, wantReason: rsp.ErrorReasonInstallFailedDueToIccidMismatch,
			bind: func(_ fixture, o *bindOptions) { o.metadata = metadataFor(iccid(0x77), "smdp.example.com") }},
		{name: "metadata ICCID in reading order, not as in EF.ICCID", wantCmd: lpe, wantReason: rsp.ErrorReasonInstallFailedDueToIccidMismatch,
			bind: func(_ fixture, o *bindOptions) {
				o.metadata = metadataFor(swapNibbles(uppICCID(t, o.upp)), "smdp.example.com")
			}},
		{name: "card too small", wantCmd: lpe, wantReason: rsp.ErrorReasonInstallFailedDueToInsufficientMemory,
			cfg: func(c *Config) { c.FreeNonVolatileMemory = 2000 }},
		{name: "not a profile package", wantCmd: lpe, wantReason: rsp.ErrorReasonInstallFailedDueToPEProcessingError,
			bind: func(_ fixture, o *bindOptions) {
				o.metadata = metadataFor(iccid(0x01), "smdp.example.com")
				o.upp = random(3000)
				o.upp[0] = 0x30
			}},
		{name: "no profile segments", wantCmd: lpe, wantReason: rsp.ErrorReasonInstallFailedDueToPEProcessingError,
			bind: func(_ fixture, o *bindOptions) { o.noUPP = true }},
		{name: "profile package without End", wantCmd: lpe, wantReason: rsp.ErrorReasonInstallFailedDueToPEProcessingError,
			bind: func(_ fixture, o *bindOptions) { o.upp = o.upp[:len(o.upp)-7] }},
		{name: "profile package with trailing garbage", wantCmd: lpe, wantReason: rsp.ErrorReasonInstallFailedDueToPEProcessingError,
			bind: func(_ fixture, o *bindOptions) { o.upp = append(o.upp, 0xAA, 0x05, 0x00) }},
		{name: "profile package of a newer SAIP version", wantCmd: lpe, wantReason: rsp.ErrorReasonInstallFailedDueToPEProcessingError,
			bind: func(_ fixture, o *bindOptions) {
				o.upp = bytes.Clone(o.upp)
				o.upp[bytes.Index(o.upp, []byte{0x80, 0x01, 0x02})+2] = 0x03 // major-version 3
			}},
	}
	for _, curve := range curves {
		for _, tt := range tests {
			t.Run(curve+"/"+tt.name, func(t *testing.T) {
				f := newFixture(t, curve)
				cfg := cardConfig(f.pki, 0)
				if tt.cfg != nil {
					tt.cfg(&cfg)
				}
				card := newTestCard(t, cfg)
				freeBefore := card.freeMemory()
				srv := devServer(f.pki)
				d, _ := srv.authenticate(t, card, authHooks{})
				if prep := srv.prepare(t, card, d, prepHooks{}); prep.DownloadResponseOk == nil {
					t.Fatal("PrepareDownload failed")
				}
				o := bindOptions{upp: syntheticUPP(iccid(0x01), 3000)}
				if tt.bind != nil {
					tt.bind(f, &o)
				}
				segs := srv.bind(t, d, o)
				if tt.segs != nil {
					segs = tt.segs(t, append([][]byte(nil), segs...))
				}
				pir, at := load(t, card, d, segs)
				e := pir.ProfileInstallationResultData.ErrorResult
				if e == nil {
					t.Fatal("installation succeeded")
				}
				if e.BppCommandId != tt.wantCmd || e.ErrorReason != tt.wantReason {
					t.Fatalf("errorResult {bppCommandId %d, errorReason %d} at segment %d, want {%d, %d}",
						e.BppCommandId, e.ErrorReason, at, tt.wantCmd, tt.wantReason)
				}
				// Further segments are refused; nothing was installed; the result is pending.
				if at+1 < len(segs) {
					if sw, _ := card.sw(segs[at+1]); sw != apdu.SWConditionsNotSatisfied {
						t.Errorf("segment after the error: SW %04X", sw)
					}
				}
				if n := len(card.profiles(t, "BF2D00")); n != 0 {
					t.Errorf("%d Profiles installed", n)
				}
				if got := card.freeMemory(); got != freeBefore {
					t.Errorf("free memory %d, was %d", got, freeBefore)
				}
				list := card.notifications(t)
				if len(list) != 1 || list[0].SeqNumber != pir.ProfileInstallationResultData.NotificationMetadata.SeqNumber {
					t.Errorf("pending notifications %+v", list)
				}
			})
		}
	}
}

func TestIccidAlreadyInstalled(t *testing.T) {
	pki := testPKI(t, "nist", "main")
	card := newTestCard(t, cardConfig(pki, 0))
	srv := devServer(pki)
	upp := syntheticUPP(iccid(0x31), 100)
	install(t, card, srv, bindOptions{upp: upp})

	d, _ := srv.authenticate(t, card, authHooks{})
	srv.prepare(t, card, d, prepHooks{})
	pir, _ := load(t, card, d, srv.bind(t, d, bindOptions{upp: upp}))
	e := pir.ProfileInstallationResultData.ErrorResult
	if e == nil || e.BppCommandId != rsp.BppCommandIdStoreMetadata || e.ErrorReason != rsp.ErrorReasonInstallFailedDueToIccidAlreadyExistsOnEuicc {
		t.Fatalf("second installation: %+v", pir.ProfileInstallationResultData)
	}
	if !bytes.Equal(pir.ProfileInstallationResultData.NotificationMetadata.Iccid, iccid(0x31)) {
		t.Error("error PIR without the ICCID")
	}
}

func TestAcceptInvalidProfile(t *testing.T) {
	pki := testPKI(t, "nist", "main")
	cfg := cardConfig(pki, 0)
	cfg.AcceptInvalidProfile = true
	card := newTestCard(t, cfg)
	srv := devServer(pki)
	_, pir := install(t, card, srv, bindOptions{upp: random(2500), metadata: metadataFor(iccid(0x41), srv.address)})
	if pir.ProfileInstallationResultData.SuccessResult == nil {
		t.Fatal("not installed")
	}
}

// TestNoRandomness: a card whose random source fails answers GetEuiccChallenge with 6F00.
func TestNoRandomness(t *testing.T) {
	cfg := cardConfig(testPKI(t, "nist", "main"), 0)
	cfg.Rand = errReader{}
	card := newTestCard(t, cfg)
	if sw, _ := card.sw(unhex("BF2E00")); sw != apdu.SWUnknown {
		t.Fatalf("SW %04X, want 6F00", sw)
	}
}

// TestInterruption starts another session in the middle of a package.
func TestInterruption(t *testing.T) {
	pki := testPKI(t, "nist", "main")
	card := newTestCard(t, cardConfig(pki, 0))
	srv := devServer(pki)
	d, _ := srv.authenticate(t, card, authHooks{})
	srv.prepare(t, card, d, prepHooks{})
	segs := srv.bind(t, d, bindOptions{upp: syntheticUPP(iccid(0x51), 3000)})
	for _, s := range segs[:4] {
		if resp := card.call(s); len(resp) != 0 {
			t.Fatalf("early result %X", resp)
		}
	}
	card.call(unhex("BF2E00"))
	if sw, _ := card.sw(segs[4]); sw != apdu.SWConditionsNotSatisfied {
		t.Errorf("segment after the interruption: SW %04X", sw)
	}
	list := card.notifications(t)
	if len(list) != 1 {
		t.Fatalf("notifications %+v", list)
	}
	p := card.retrieve(t, list[0].SeqNumber).ProfileInstallationResult
	if e := p.ProfileInstallationResultData.ErrorResult; e == nil || e.ErrorReason != rsp.ErrorReasonInstallFailedDueToInterruption {
		t.Fatalf("interrupted PIR %+v", p.ProfileInstallationResultData)
	}
	if !certs.VerifyRaw(d.euiccCert.PublicKey, p.ProfileInstallationResultData.Raw, p.EuiccSignPIR) {
		t.Error("interrupted PIR signature")
	}
}

func TestCancelSession(t *testing.T) {
	for _, curve := range curves {
		t.Run(curve, func(t *testing.T) {
			pki := testPKI(t, curve, "main")
			card := newTestCard(t, cardConfig(pki, 0))
			srv := devServer(pki)

			if r := card.cancel(t, random(16), rsp.CancelSessionReasonEndUserRejection); r.CancelSessionResponseError == nil {
				t.Error("CancelSession without a session succeeded")
			}

			d, _ := srv.authenticate(t, card, authHooks{})
			srv.prepare(t, card, d, prepHooks{})
			segs := srv.bind(t, d, bindOptions{upp: syntheticUPP(iccid(0x61), 3000)})
			card.call(segs[0])
			card.call(segs[1])

			if r := card.cancel(t, random(16), rsp.CancelSessionReasonEndUserRejection); r.CancelSessionResponseError == nil ||
				*r.CancelSessionResponseError != rsp.CancelSessionResponseErrorInvalidTransactionId {
				t.Errorf("CancelSession with another transactionId: %+v", r)
			}
			r := card.cancel(t, d.tid, rsp.CancelSessionReasonPostponed)
			ok := r.CancelSessionResponseOk
			if ok == nil {
				t.Fatalf("CancelSession: %+v", r)
			}
			signed := ok.EuiccCancelSessionSigned
			if !bytes.Equal(signed.TransactionID, d.tid) || signed.Reason != rsp.CancelSessionReasonPostponed || !signed.SmdpOid.Equal(devpki.DefaultSMDPOID) {
				t.Errorf("euiccCancelSessionSigned %+v", signed)
			}
			if !certs.VerifyRaw(d.euiccCert.PublicKey, signed.Raw, ok.EuiccCancelSessionSignature) {
				t.Error("euiccCancelSessionSignature does not verify")
			}
			if sw, _ := card.sw(segs[2]); sw != apdu.SWConditionsNotSatisfied {
				t.Errorf("segment after CancelSession: SW %04X", sw)
			}
			if r := card.cancel(t, d.tid, rsp.CancelSessionReasonEndUserRejection); r.CancelSessionResponseError == nil {
				t.Error("second CancelSession succeeded")
			}
			if n := len(card.notifications(t)); n != 0 {
				t.Errorf("%d notifications after CancelSession", n)
			}
		})
	}
}

// TestMalformedRequests sends requests a card must refuse with a status word.
func TestMalformedRequests(t *testing.T) {
	pki := testPKI(t, "nist", "main")
	tests := []struct {
		name string
		req  string
		sw   uint16
	}{
		{"trailing byte", "BF2E0000", apdu.SWWrongData},
		{"not a tag", "FFFF", apdu.SWWrongData},
		{"unknown tag", "BF7F00", swReferencedDataNotFound},
		{"universal tag", "0400", swReferencedDataNotFound},
		{"AuthenticateServer garbage", "BF3803010203", apdu.SWWrongData},
		{"AuthenticateServer short", "BF38", apdu.SWWrongData},
		{"AuthenticateServer empty", "BF3800", apdu.SWWrongData},
		{"PrepareDownload garbage", "BF2103800100", apdu.SWWrongData},
		{"GetEuiccInfo2 truncated", "BF220180", apdu.SWWrongData},
		{"GetEuiccData other tag", "BF3E035C014F", apdu.SWWrongData},
		{"GetEuiccData no tagList", "BF3E00", apdu.SWWrongData},
		{"EnableProfile garbage", "BF31035A0101", apdu.SWWrongData},
		{"EnableProfile no refreshFlag", "BF310EA00C5A0A98949999999999990901", apdu.SWWrongData},
		{"DeleteProfile empty", "BF3300", apdu.SWWrongData},
		{"DeleteProfile short ICCID", "BF33035A0101", apdu.SWWrongData},
		{"SetNickname no nickname", "BF290C5A0A98949999999999990901", apdu.SWWrongData},
		{"CancelSession garbage", "BF4100", apdu.SWWrongData},
		{"NotificationSent garbage", "BF3000", apdu.SWWrongData},
		{"BPP without session", "BF3681FF" + "BF2300", apdu.SWConditionsNotSatisfied},
		{"'86' without session", "86020000", apdu.SWConditionsNotSatisfied},
		{"sequence header without session", "A300", apdu.SWConditionsNotSatisfied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			card := newTestCard(t, cardConfig(pki, 0))
			if sw, _ := card.sw(unhex(tt.req)); sw != tt.sw {
				t.Fatalf("SW %04X, want %04X", sw, tt.sw)
			}
			// The card still works.
			card.call(unhex("BF2E00"))
		})
	}
}
