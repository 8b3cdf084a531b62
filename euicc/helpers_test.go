package euicc

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/smdpp/smdpp/apdu"
	"github.com/smdpp/smdpp/bsp"
	"github.com/smdpp/smdpp/certs"
	"github.com/smdpp/smdpp/devpki"
	"github.com/smdpp/smdpp/rsp"
	"github.com/smdpp/smdpp/tlv"
)

// testNow is the card's clock in most tests; the generated PKIs are issued a day before it.
var testNow = time.Date(2027, time.May, 6, 7, 8, 9, 0, time.UTC)

var curves = []string{"nist", "brainpool"}

var (
	pkiMu    sync.Mutex
	pkiCache = map[string]*devpki.PKI{}
)

// testPKI returns a development PKI on curve; name tells apart independent PKIs of one curve.
func testPKI(t testing.TB, curve, name string) *devpki.PKI {
	t.Helper()
	pkiMu.Lock()
	defer pkiMu.Unlock()
	if p, ok := pkiCache[curve+"/"+name]; ok {
		return p
	}
	p, err := devpki.Generate(devpki.Options{Curve: curve, Now: testNow.Add(-24 * time.Hour), EUICCCount: 2})
	if err != nil {
		t.Fatalf("devpki.Generate(%s): %v", curve, err)
	}
	pkiCache[curve+"/"+name] = p
	return p
}

// cardConfig returns the Config of eUICC i of p, with the test clock.
func cardConfig(p *devpki.PKI, i int) Config {
	e := p.EUICCs[i]
	return Config{
		EID:            e.EID,
		Certificate:    e.Certificate,
		Key:            e.Key,
		EUMCertificate: p.EUM.Certificate,
		CICertificates: [][]byte{p.CI.Certificate},
		Now:            func() time.Time { return testNow },
	}
}

// testCard is a virtual eUICC behind a real APDU layer, driven as an LPA drives it.
type testCard struct {
	t    testing.TB
	isdr *ISDR
	es10 *apdu.ES10
}

func newTestCard(t testing.TB, cfg Config) *testCard {
	t.Helper()
	isdr, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return wrapCard(t, isdr)
}

// wrapCard puts isdr behind the APDU layer.
func wrapCard(t testing.TB, isdr *ISDR) *testCard {
	t.Helper()
	es10, err := apdu.OpenES10(context.Background(), apdu.NewCardTransport(apdu.NewCard(isdr)))
	if err != nil {
		t.Fatalf("OpenES10: %v", err)
	}
	return &testCard{t: t, isdr: isdr, es10: es10}
}

// call sends one ES10 request and fails the test on a status word other than 9000.
func (c *testCard) call(req []byte) []byte {
	c.t.Helper()
	resp, err := c.es10.Call(context.Background(), req)
	if err != nil {
		c.t.Fatalf("ES10 %X…: %v", req[:min(len(req), 4)], err)
	}
	return resp
}

// sw sends one ES10 request and returns the status word (9000 on success) and the response.
func (c *testCard) sw(req []byte) (uint16, []byte) {
	c.t.Helper()
	resp, err := c.es10.Call(context.Background(), req)
	if err == nil {
		return apdu.SWNoError, resp
	}
	sw, ok := apdu.StatusWord(err)
	if !ok {
		c.t.Fatalf("ES10 %X…: %v", req[:min(len(req), 4)], err)
	}
	return sw, nil
}

func mustMarshal(t testing.TB, v interface{ Marshal() ([]byte, error) }) []byte {
	t.Helper()
	b, err := v.Marshal()
	if err != nil {
		t.Fatalf("Marshal %T: %v", v, err)
	}
	return b
}

func unhex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func random(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// credential is a certificate with its private key.
type credential struct {
	cert []byte
	key  *ecdsa.PrivateKey
}

// server plays the SM-DP+ side of a download in the tests: it signs what the SM-DP+ signs and
// binds profile packages to the card's one-time key.
type server struct {
	address string
	auth    credential // CERT.DPauth
	pb      credential // CERT.DPpb
	hostID  []byte
}

func devServer(p *devpki.PKI) *server {
	return &server{
		address: "smdp.example.com",
		auth:    credential{p.DPauth.Certificate, p.DPauth.Key},
		pb:      credential{p.DPpb.Certificate, p.DPpb.Key},
		hostID:  []byte("smdpp-test"),
	}
}

// download is the server's record of one RSP session with the card.
type download struct {
	tid             []byte
	euiccChallenge  []byte
	ciPKID          []byte
	serverChallenge []byte
	authOk          *rsp.AuthenticateResponseOk
	euiccCert       *certs.Certificate
	smdpSignature2  []byte
	euiccOtpk       []byte
	// Set by bind.
	dpOTK *ecdsa.PrivateKey
}

// authHooks change the AuthenticateServer exchange: signed before serverSignature1 is computed,
// req after.
type authHooks struct {
	skipChallenge bool
	signed        func(*rsp.ServerSigned1)
	req           func(*rsp.AuthenticateServerRequest)
}

// authenticate runs GetEuiccChallenge, GetEuiccInfo1 and AuthenticateServer and returns the
// card's response; on success the eUICC's signature and chain have been verified as an SM-DP+
// verifies them.
func (s *server) authenticate(t testing.TB, card *testCard, h authHooks) (*download, *rsp.AuthenticateServerResponse) {
	t.Helper()
	d := &download{tid: random(16), serverChallenge: random(16)}
	if !h.skipChallenge {
		var ch rsp.GetEuiccChallengeResponse
		if err := ch.Unmarshal(card.call(unhex("BF2E00"))); err != nil {
			t.Fatalf("GetEuiccChallengeResponse: %v", err)
		}
		d.euiccChallenge = ch.EuiccChallenge
	} else {
		d.euiccChallenge = random(16)
	}
	var info1 rsp.EUICCInfo1
	if err := info1.Unmarshal(card.call(unhex("BF2000"))); err != nil {
		t.Fatalf("EUICCInfo1: %v", err)
	}
	d.ciPKID = info1.EuiccCiPKIdListForSigning[0]
	ss1 := rsp.ServerSigned1{TransactionID: d.tid, EuiccChallenge: d.euiccChallenge, ServerAddress: s.address, ServerChallenge: d.serverChallenge}
	if h.signed != nil {
		h.signed(&ss1)
	}
	sig, err := certs.SignRaw(s.auth.key, mustMarshal(t, &ss1))
	if err != nil {
		t.Fatal(err)
	}
	matchingID := "MATCHING-ID-1"
	req := rsp.AuthenticateServerRequest{
		ServerSigned1:       ss1,
		ServerSignature1:    sig,
		EuiccCiPKIdToBeUsed: d.ciPKID,
		ServerCertificate:   s.auth.cert,
		CtxParams1: rsp.CtxParams1{CtxParamsForCommonAuthentication: &rsp.CtxParamsForCommonAuthentication{
			MatchingID: &matchingID,
			DeviceInfo: rsp.DeviceInfo{TAC: unhex("3533303839323336"), IMEI: unhex("3533303839323336")},
		}},
	}
	if h.req != nil {
		h.req(&req)
	}
	var resp rsp.AuthenticateServerResponse
	if err := resp.Unmarshal(card.call(mustMarshal(t, &req))); err != nil {
		t.Fatalf("AuthenticateServerResponse: %v", err)
	}
	if ok := resp.AuthenticateResponseOk; ok != nil {
		d.authOk = ok
		d.euiccCert = verifyEUICC(t, ok.EuiccCertificate, ok.EumCertificate, card.isdr.cfg.CICertificates)
		if !certs.VerifyRaw(d.euiccCert.PublicKey, ok.EuiccSigned1.Raw, ok.EuiccSignature1) {
			t.Fatal("euiccSignature1 does not verify")
		}
		es1 := ok.EuiccSigned1
		if !bytes.Equal(es1.TransactionID, d.tid) || es1.ServerAddress != s.address || !bytes.Equal(es1.ServerChallenge, d.serverChallenge) {
			t.Fatalf("euiccSigned1 %+v does not echo serverSigned1", es1)
		}
		if !reflect.DeepEqual(es1.CtxParams1, req.CtxParams1) {
			t.Fatalf("ctxParams1 returned as %+v, sent %+v", es1.CtxParams1, req.CtxParams1)
		}
	}
	return d, &resp
}

// verifyEUICC checks the eUICC chain as the SM-DP+ does (SGP.22 §5.6.3) and returns CERT.EUICC.
func verifyEUICC(t testing.TB, euiccDER, eumDER []byte, cis [][]byte) *certs.Certificate {
	t.Helper()
	euicc, err := certs.ParseCertificate(euiccDER)
	if err != nil {
		t.Fatal(err)
	}
	eum, err := certs.ParseCertificate(eumDER)
	if err != nil {
		t.Fatal(err)
	}
	var list []*certs.Certificate
	for _, der := range cis {
		ci, err := certs.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		list = append(list, ci)
	}
	roots, err := certs.NewRoots(list...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := certs.VerifyEUICCChain(euicc, eum, roots, certs.VerifyOptions{Now: testNow}); err != nil {
		t.Fatalf("eUICC chain: %v", err)
	}
	return euicc
}

// prepHooks change the PrepareDownload exchange: signed before smdpSignature2 is computed, req
// after.
type prepHooks struct {
	signed func(*rsp.SmdpSigned2)
	req    func(*rsp.PrepareDownloadRequest)
}

// prepare runs PrepareDownload; on success euiccSignature2 has been verified.
func (s *server) prepare(t testing.TB, card *testCard, d *download, h prepHooks) *rsp.PrepareDownloadResponse {
	t.Helper()
	signed := rsp.SmdpSigned2{TransactionID: d.tid}
	if d.euiccOtpk != nil {
		signed.BppEuiccOtpk = d.euiccOtpk
	}
	if h.signed != nil {
		h.signed(&signed)
	}
	der := mustMarshal(t, &signed)
	var prev []byte
	if d.authOk != nil {
		prev = d.authOk.EuiccSignature1
	} else {
		prev = random(64)
	}
	sig, err := certs.SignRaw(s.pb.key, append(der, signatureTLV(prev)...))
	if err != nil {
		t.Fatal(err)
	}
	req := rsp.PrepareDownloadRequest{SmdpSigned2: signed, SmdpSignature2: sig, SmdpCertificate: s.pb.cert}
	if h.req != nil {
		h.req(&req)
	}
	var resp rsp.PrepareDownloadResponse
	if err := resp.Unmarshal(card.call(mustMarshal(t, &req))); err != nil {
		t.Fatalf("PrepareDownloadResponse: %v", err)
	}
	if ok := resp.DownloadResponseOk; ok != nil {
		d.smdpSignature2 = req.SmdpSignature2
		tbs := append(bytes.Clone(ok.EUICCSigned2.Raw), signatureTLV(req.SmdpSignature2)...)
		if !certs.VerifyRaw(d.euiccCert.PublicKey, tbs, ok.EuiccSignature2) {
			t.Fatal("euiccSignature2 does not verify")
		}
		if !bytes.Equal(ok.EUICCSigned2.TransactionID, d.tid) {
			t.Fatal("euiccSigned2 transactionId differs")
		}
		d.euiccOtpk = ok.EUICCSigned2.EuiccOtpk
	}
	return &resp
}

// bindOptions shape the Bound Profile Package.
type bindOptions struct {
	upp      []byte
	metadata *rsp.StoreMetadataRequest // default: from the UPP's ICCID
	ppk      bool                      // protect the profile with a PPK (ReplaceSessionKeys)
	eid      []byte                    // EID for the key derivation; default the card's
	isc      func(*rsp.InitialiseSecureChannelRequest)
	signTBS  func([]byte) []byte // changes the bytes smdpSign covers
	dpOTK    *ecdsa.PrivateKey   // reuse this otSK.DP.ECKA
	noUPP    bool                // an empty sequenceOf86

	// Plaintexts replacing the encoded ConfigureISDP, StoreMetadata and ReplaceSessionKeys.
	configureISDP, metadataDER, replaceSessionKeys []byte
}

// bind builds the Bound Profile Package for d and returns it split as the LPA loads it.
func (s *server) bind(t testing.TB, d *download, o bindOptions) [][]byte {
	t.Helper()
	curve := d.euiccCert.PublicKey.Curve
	peer, err := bsp.ParseUncompressedPoint(curve, d.euiccOtpk)
	if err != nil {
		t.Fatal(err)
	}
	dp := o.dpOTK
	if dp == nil {
		if dp, err = bsp.GenerateOneTimeKey(curve, rand.Reader); err != nil {
			t.Fatal(err)
		}
	}
	d.dpOTK = dp
	smdpOtpk, _ := bsp.MarshalUncompressedPoint(&dp.PublicKey)
	shs, err := bsp.SharedSecret(dp, peer)
	if err != nil {
		t.Fatal(err)
	}
	eid := o.eid
	if eid == nil {
		eid = unhex(d.euiccCert.EID)
	}
	keys, err := bsp.DeriveSessionKeys(shs, bsp.KeyTypeAES, bsp.KeyLength, s.hostID, eid)
	if err != nil {
		t.Fatal(err)
	}
	isc := rsp.InitialiseSecureChannelRequest{
		RemoteOpID:         rsp.RemoteOpIdInstallBoundProfilePackage,
		TransactionID:      d.tid,
		ControlRefTemplate: rsp.ControlRefTemplate{KeyType: []byte{bsp.KeyTypeAES}, KeyLen: []byte{bsp.KeyLength}, HostID: s.hostID},
		SmdpOtpk:           smdpOtpk,
	}
	if o.isc != nil {
		o.isc(&isc)
	}
	tbs, err := isc.MarshalTBS(d.euiccOtpk)
	if err != nil {
		t.Fatal(err)
	}
	if o.signTBS != nil {
		tbs = o.signTBS(tbs)
	}
	if isc.SmdpSign, err = certs.SignRaw(s.pb.key, tbs); err != nil {
		t.Fatal(err)
	}
	md := o.metadata
	if md == nil {
		md = metadataFor(uppICCID(t, o.upp), s.address)
	}
	sess := bsp.NewSession(keys)
	bpp := rsp.BoundProfilePackage{InitialiseSecureChannelRequest: isc}
	wrap := func(tag byte, payload []byte) [][]byte {
		segs, err := sess.WrapSegments(tag, payload)
		if err != nil {
			t.Fatal(err)
		}
		return segs
	}
	orDefault := func(v, def []byte) []byte {
		if v != nil {
			return v
		}
		return def
	}
	bpp.FirstSequenceOf87 = wrap(bsp.Tag87, orDefault(o.configureISDP, unhex("BF2400")))
	bpp.SequenceOf88 = wrap(bsp.Tag88, orDefault(o.metadataDER, mustMarshal(t, md)))
	if o.ppk {
		ppk, err := bsp.GenerateProfileProtectionKeys(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		bpp.SecondSequenceOf87 = wrap(bsp.Tag87, orDefault(o.replaceSessionKeys, bsp.MarshalReplaceSessionKeysRequest(ppk)))
		sess.ReplaceSessionKeys(ppk)
	}
	bpp.SequenceOf86 = [][]byte{}
	if !o.noUPP {
		bpp.SequenceOf86 = wrap(bsp.Tag86, o.upp)
	}
	segs, err := bpp.Segments()
	if err != nil {
		t.Fatal(err)
	}
	return segs
}

// load sends segments to the card until one is answered with data, which must be the last
// segment sent, and returns the ProfileInstallationResult (verified with CERT.EUICC) and the index
// of the segment it answered.
func load(t testing.TB, card *testCard, d *download, segs [][]byte) (*rsp.ProfileInstallationResult, int) {
	t.Helper()
	for i, seg := range segs {
		resp := card.call(seg)
		if len(resp) == 0 {
			continue
		}
		var pir rsp.ProfileInstallationResult
		if err := pir.Unmarshal(resp); err != nil {
			t.Fatalf("segment %d answered with %X: %v", i, resp, err)
		}
		data := &pir.ProfileInstallationResultData
		if !certs.VerifyRaw(d.euiccCert.PublicKey, data.Raw, pir.EuiccSignPIR) {
			t.Fatal("euiccSignPIR does not verify")
		}
		if !bytes.Equal(data.TransactionID, d.tid) {
			t.Fatalf("PIR transactionId %X, want %X", data.TransactionID, d.tid)
		}
		if event(&data.NotificationMetadata) != rsp.NotificationInstall {
			t.Fatalf("PIR notification operation %v", data.NotificationMetadata.ProfileManagementOperation)
		}
		return &pir, i
	}
	t.Fatal("no ProfileInstallationResult after the last segment")
	return nil, 0
}

// metadataFor is the StoreMetadataRequest of a test profile, asking for notifications of every
// operation at address.
func metadataFor(iccid []byte, address string) *rsp.StoreMetadataRequest {
	class := rsp.ProfileClassTest
	return &rsp.StoreMetadataRequest{
		Iccid:               iccid,
		ServiceProviderName: "smdpp",
		ProfileName:         "Test profile",
		ProfileClass:        &class,
		NotificationConfigurationInfo: []rsp.NotificationConfigurationInformation{{
			ProfileManagementOperation: tlv.NamedBits(rsp.NotificationEnable, rsp.NotificationDisable, rsp.NotificationDelete),
			NotificationAddress:        address,
		}},
	}
}

// uppICCID returns the ICCID of a profile package's header, coded as in EF.ICCID (the header
// has the digits in reading order).
func uppICCID(t testing.TB, upp []byte) []byte {
	t.Helper()
	s := tlv.String(upp)
	body, ok := s.ReadTag(tagPEHeader)
	var v int64
	var iccid []byte
	if !ok || !body.ReadInt64(0x80, &v) || !body.ReadInt64(0x81, &v) || !body.SkipOptional(0x82) || !body.ReadOctets(0x83, &iccid) {
		t.Fatal("profile package without a ProfileHeader")
	}
	return swapNibbles(iccid)
}

// syntheticUPP returns a minimal SAIP profile package: a header (version 2.3) with iccid (given
// as coded in EF.ICCID, written in reading order), a filler element of about fill bytes, and the
// End element.
func syntheticUPP(iccid []byte, fill int) []byte {
	b := tlv.NewBuilder(nil)
	b.AddTLV(tagPEHeader, func(b *tlv.Builder) {
		b.AddInt64(0x80, 2)
		b.AddInt64(0x81, 3)
		b.AddUTF8(0x82, "smdpp synthetic test profile")
		b.AddValue(0x83, swapNibbles(iccid))
		b.AddTLV(0xA5, func(b *tlv.Builder) { b.AddValue(0x81, nil) })
		b.AddTLV(0xA6, func(*tlv.Builder) {})
	})
	b.AddTLV(0xA8, func(b *tlv.Builder) { // a nonStandard-like element carrying fill bytes
		b.AddTLV(0xA0, func(b *tlv.Builder) { b.AddInt64(0x81, 2) })
		b.AddValue(0x04, bytes.Repeat([]byte{0x5A}, fill))
	})
	b.AddTLV(tagPEEnd, func(b *tlv.Builder) {
		b.AddTLV(0xA0, func(b *tlv.Builder) { b.AddInt64(0x81, 3) })
	})
	return b.BytesOrPanic()
}

// iccid returns a 10-octet ICCID as coded in EF.ICCID (nibbles swapped: 8949999999999990 1x…).
func iccid(n byte) []byte {
	return []byte{0x98, 0x94, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x09, n}
}

// uppDir is where the TS.48 test profile packages are: this repository's testdata/upp, or the
// shared test data beside the repository.
func uppDir(t testing.TB) string {
	t.Helper()
	for _, d := range []string{
		filepath.Join("..", "testdata", "upp"),
		filepath.Join("..", "..", "shared", "testdata", "upp"),
		"/work/shared/testdata/upp",
	} {
		if m, _ := filepath.Glob(filepath.Join(d, "*.der")); len(m) > 0 {
			return d
		}
	}
	t.Skip("no TS.48 profile packages in testdata/upp")
	return ""
}

func readUPP(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(uppDir(t), name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// errReader fails every read.
type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("no randomness") }
