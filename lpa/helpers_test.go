package lpa

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/asn1"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smdpp/smdpp/activation"
	"github.com/smdpp/smdpp/apdu"
	"github.com/smdpp/smdpp/rsp"
	"github.com/smdpp/smdpp/status"
	"github.com/smdpp/smdpp/tlv"
)

// The fixtures of one scripted download.
var (
	testTxID      = []byte{0x0A, 0x1B, 0x2C, 0x3D, 0x4E, 0x5F, 0x60, 0x71, 0x82, 0x93, 0xA4, 0xB5, 0xC6, 0xD7, 0xE8, 0xF9}
	testChallenge = bytes.Repeat([]byte{0xC1}, 16)
	testSrvChal   = bytes.Repeat([]byte{0x5C}, 16)
	testSig       = bytes.Repeat([]byte{0x51}, 64)
	testSKI       = bytes.Repeat([]byte{0x81}, 20)
	testCert      = []byte{0x30, 0x03, 0x02, 0x01, 0x01} // a DER SEQUENCE is all rsp checks
	testIccid     = []byte{0x98, 0x10, 0x32, 0x54, 0x76, 0x98, 0x10, 0x32, 0x54, 0xF6}
	testAID       = []byte{0xA0, 0x00, 0x00, 0x05, 0x59, 0x10, 0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0x89, 0x00, 0x00, 0x10, 0x00}
	testOID       = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 31746}
)

const testMatchingID = "MATCHING-ID-1"

// events is the ordered log of what the card and the server were asked, shared by both.
type events struct {
	mu  sync.Mutex
	log []string
}

func (e *events) add(s string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.log = append(e.log, s)
}

func (e *events) list() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.log...)
}

// fakeCard is a scripted ISD-R: it checks each ES10b request the LPA sends and answers with
// well-formed canned DER. It records the requests as "ES10 <tag>" events.
type fakeCard struct {
	t      *testing.T
	ev     *events
	mu     sync.Mutex
	bpp    [][]byte // expected Bound Profile Package segments
	seg    int
	cc     string // expected confirmation code, "" if none
	imei   []byte
	tac    []byte
	failAt map[tlv.Tag]error // answer this ES10 function with the error (an apdu.SWError)
	// pirErrorAt makes the card answer this segment (0-based) with an errorResult PIR.
	pirErrorAt int
	pir        []byte // the PIR the card produced
	asResp     []byte // the AuthenticateServerResponse the card produced
	pdResp     []byte
	csResp     []byte
	pending    []rsp.PendingNotification
	removed    []int64
}

var _ apdu.Applet = (*fakeCard)(nil)

func (c *fakeCard) Process(ctx context.Context, req []byte) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := tlv.String(req)
	tag, ok := s.NextTag()
	if !ok {
		c.t.Errorf("card: request without a tag: %X", req)
		return nil, apdu.SWError{SW: 0x6A80}
	}
	c.ev.add(fmt.Sprintf("ES10 %s", tag))
	if err := c.failAt[tag]; err != nil {
		return nil, err
	}
	switch tag {
	case 0xBF2E:
		return marshal(c.t, &rsp.GetEuiccChallengeResponse{EuiccChallenge: testChallenge}), nil
	case 0xBF20:
		return marshal(c.t, &rsp.EUICCInfo1{SVN: rsp.VersionType{2, 2, 2},
			EuiccCiPKIdListForVerification: [][]byte{testSKI}, EuiccCiPKIdListForSigning: [][]byte{testSKI}}), nil
	case 0xBF38:
		return c.authenticateServer(req), nil
	case 0xBF21:
		return c.prepareDownload(req), nil
	case 0xBF36, 0xA0, 0xA1, 0xA2, 0xA3, 0x87, 0x88, 0x86:
		return c.loadSegment(req), nil
	case 0xBF30:
		var r rsp.NotificationSentRequest
		if err := r.Unmarshal(req); err != nil {
			c.t.Errorf("card: NotificationSent: %v", err)
		}
		c.removed = append(c.removed, r.SeqNumber)
		return marshal(c.t, &rsp.NotificationSentResponse{}), nil
	case 0xBF41:
		var r rsp.CancelSessionRequest
		if err := r.Unmarshal(req); err != nil {
			c.t.Errorf("card: CancelSession: %v", err)
		}
		if r.Reason != rsp.CancelSessionReasonEndUserRejection {
			c.t.Errorf("card: CancelSession reason %d, want endUserRejection", r.Reason)
		}
		c.csResp = marshal(c.t, &rsp.CancelSessionResponse{CancelSessionResponseOk: &rsp.CancelSessionResponseOk{
			EuiccCancelSessionSigned:    rsp.EuiccCancelSessionSigned{TransactionID: r.TransactionID, SmdpOid: testOID, Reason: r.Reason},
			EuiccCancelSessionSignature: testSig,
		}})
		return c.csResp, nil
	case 0xBF2B:
		return marshal(c.t, &rsp.RetrieveNotificationsListResponse{NotificationList: append([]rsp.PendingNotification{}, c.pending...)}), nil
	}
	c.t.Errorf("card: unexpected request %X", req[:min(len(req), 8)])
	return nil, apdu.SWError{SW: 0x6D00}
}

func (c *fakeCard) authenticateServer(req []byte) []byte {
	var r rsp.AuthenticateServerRequest
	if err := r.Unmarshal(req); err != nil {
		c.t.Errorf("card: AuthenticateServer: %v", err)
		return nil
	}
	if !bytes.Equal(r.ServerSigned1.TransactionID, testTxID) || !bytes.Equal(r.ServerSigned1.EuiccChallenge, testChallenge) {
		c.t.Errorf("card: serverSigned1 %+v", r.ServerSigned1)
	}
	if !bytes.Equal(r.ServerSignature1, testSig) {
		c.t.Errorf("card: serverSignature1 %X, want the 64-byte value", r.ServerSignature1)
	}
	if !bytes.Equal(r.EuiccCiPKIdToBeUsed, testSKI) {
		c.t.Errorf("card: euiccCiPKIdToBeUsed %X, want the SKI", r.EuiccCiPKIdToBeUsed)
	}
	cp := r.CtxParams1.CtxParamsForCommonAuthentication
	if cp == nil || cp.MatchingID == nil || *cp.MatchingID != testMatchingID {
		c.t.Errorf("card: ctxParams1 %+v, want matchingId %q", cp, testMatchingID)
	} else {
		di := cp.DeviceInfo
		if !bytes.Equal(di.TAC, c.tac) || !bytes.Equal(di.IMEI, c.imei) {
			c.t.Errorf("card: deviceInfo TAC %X IMEI %X, want %X %X", di.TAC, di.IMEI, c.tac, c.imei)
		}
	}
	info2 := rsp.EUICCInfo2{
		ProfileVersion: rsp.VersionType{2, 3, 1}, SVN: rsp.VersionType{2, 2, 2}, EuiccFirmwareVer: rsp.VersionType{1, 0, 0},
		ExtCardResource: []byte{0x81, 0x01, 0x00}, UICCCapability: tlv.NamedBits(rsp.UICCCapabilityUsimSupport),
		RspCapability:                  tlv.NamedBits(rsp.RspCapabilityAdditionalProfile),
		EuiccCiPKIdListForVerification: [][]byte{testSKI}, EuiccCiPKIdListForSigning: [][]byte{testSKI},
		PpVersion: rsp.VersionType{1, 0, 0},
	}
	c.asResp = marshal(c.t, &rsp.AuthenticateServerResponse{AuthenticateResponseOk: &rsp.AuthenticateResponseOk{
		EuiccSigned1: rsp.EuiccSigned1{TransactionID: r.ServerSigned1.TransactionID, ServerAddress: r.ServerSigned1.ServerAddress,
			ServerChallenge: r.ServerSigned1.ServerChallenge, EuiccInfo2: info2, CtxParams1: r.CtxParams1},
		EuiccSignature1: testSig, EuiccCertificate: testCert, EumCertificate: testCert,
	}})
	return c.asResp
}

func (c *fakeCard) prepareDownload(req []byte) []byte {
	var r rsp.PrepareDownloadRequest
	if err := r.Unmarshal(req); err != nil {
		c.t.Errorf("card: PrepareDownload: %v", err)
		return nil
	}
	if !bytes.Equal(r.SmdpSignature2, testSig) {
		c.t.Errorf("card: smdpSignature2 %X, want the 64-byte value", r.SmdpSignature2)
	}
	var want []byte
	if c.cc != "" {
		want = HashConfirmationCode(c.cc, testTxID)
	}
	if !bytes.Equal(r.HashCc, want) {
		c.t.Errorf("card: hashCc %X, want %X", r.HashCc, want)
	}
	c.pdResp = marshal(c.t, &rsp.PrepareDownloadResponse{DownloadResponseOk: &rsp.PrepareDownloadResponseOk{
		EUICCSigned2:    rsp.EUICCSigned2{TransactionID: r.SmdpSigned2.TransactionID, EuiccOtpk: append([]byte{4}, bytes.Repeat([]byte{7}, 64)...)},
		EuiccSignature2: testSig,
	}})
	return c.pdResp
}

func (c *fakeCard) loadSegment(seg []byte) []byte {
	if c.seg >= len(c.bpp) || !bytes.Equal(seg, c.bpp[c.seg]) {
		c.t.Errorf("card: segment %d is %X, not the expected one", c.seg, seg[:min(len(seg), 8)])
	}
	c.seg++
	switch {
	case c.seg-1 == c.pirErrorAt:
		c.pir = testPIR(c.t, &rsp.ErrorResult{BppCommandId: rsp.BppCommandIdStoreMetadata, ErrorReason: rsp.ErrorReasonInstallFailedDueToIccidAlreadyExistsOnEuicc})
		return c.pir
	case c.seg == len(c.bpp):
		c.pir = testPIR(c.t, nil)
		return c.pir
	}
	return nil
}

// testPIR is the Profile Installation Result of the scripted download: success, or errResult.
func testPIR(t *testing.T, errResult *rsp.ErrorResult) []byte {
	d := rsp.ProfileInstallationResultData{
		TransactionID: testTxID,
		NotificationMetadata: rsp.NotificationMetadata{SeqNumber: 7, ProfileManagementOperation: tlv.NamedBits(rsp.NotificationInstall),
			NotificationAddress: "unused.example", Iccid: testIccid},
		SmdpOid: testOID,
	}
	if errResult != nil {
		d.ErrorResult = errResult
	} else {
		d.SuccessResult = &rsp.SuccessResult{AID: testAID, SimaResponse: []byte{0xA0, 0x05, 0x30, 0x03, 0x80, 0x01, 0x00}}
	}
	return marshal(t, &rsp.ProfileInstallationResult{ProfileInstallationResultData: d, EuiccSignPIR: testSig})
}

// testBPP returns a small Bound Profile Package and its segments in loading order.
func testBPP(t *testing.T) (der []byte, segs [][]byte) {
	el := func(tag byte, n int) []byte { return append([]byte{tag, byte(n)}, bytes.Repeat([]byte{tag}, n)...) }
	p := rsp.BoundProfilePackage{
		InitialiseSecureChannelRequest: rsp.InitialiseSecureChannelRequest{
			RemoteOpID: rsp.RemoteOpIdInstallBoundProfilePackage, TransactionID: testTxID,
			ControlRefTemplate: rsp.ControlRefTemplate{KeyType: []byte{0x88}, KeyLen: []byte{0x10}, HostID: []byte("host")},
			SmdpOtpk:           append([]byte{4}, bytes.Repeat([]byte{9}, 64)...), SmdpSign: testSig,
		},
		FirstSequenceOf87: [][]byte{el(0x87, 16)},
		SequenceOf88:      [][]byte{el(0x88, 24), el(0x88, 8)},
		SequenceOf86:      [][]byte{el(0x86, 100), el(0x86, 100), el(0x86, 40)},
	}
	der = marshal(t, &p)
	segs, err := p.Segments()
	if err != nil {
		t.Fatal(err)
	}
	return der, segs
}

func marshal(t *testing.T, v interface{ Marshal() ([]byte, error) }) []byte {
	t.Helper()
	b, err := v.Marshal()
	if err != nil {
		t.Fatalf("marshal %T: %v", v, err)
	}
	return b
}

// failure scripts the answer of one ES9+ function of the fake SM-DP+.
type failure struct {
	httpStatus int                    // answer with this HTTP status and a text body
	header     *status.StatusCodeData // answer 200 with functionExecutionStatus Failed
	hang       bool                   // never answer; wait for the request to be abandoned
	body       map[string]any         // answer 200 with this JSON body
}

// fakeSMDP is a scripted SM-DP+: it checks the ES9+ requests of the scripted download and
// answers them, recording "ES9 <function>" events.
type fakeSMDP struct {
	t       *testing.T
	ev      *events
	card    *fakeCard
	srv     *httptest.Server
	addr    string
	cc      bool
	bpp     []byte
	fail    map[string]failure
	mu      sync.Mutex
	headers []http.Header
	protos  []string
	bodies  map[string]map[string]any
}

func newFakeSMDP(t *testing.T, ev *events, card *fakeCard, http2 bool) *fakeSMDP {
	f := &fakeSMDP{t: t, ev: ev, card: card, fail: map[string]failure{}, bodies: map[string]map[string]any{}}
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	f.srv.EnableHTTP2 = http2
	f.srv.StartTLS()
	t.Cleanup(f.srv.Close)
	f.addr = f.srv.Listener.Addr().String()
	return f
}

// tlsConfig trusts the fake server's certificate.
func (f *fakeSMDP) tlsConfig() *tls.Config {
	pool := x509.NewCertPool()
	pool.AddCert(f.srv.Certificate())
	return &tls.Config{RootCAs: pool}
}

func (f *fakeSMDP) serve(w http.ResponseWriter, r *http.Request) {
	fn, ok := strings.CutPrefix(r.URL.Path, "/gsma/rsp2/es9plus/")
	if !ok || r.Method != http.MethodPost {
		f.t.Errorf("server: %s %s", r.Method, r.URL.Path)
		http.NotFound(w, r)
		return
	}
	f.ev.add("ES9 " + fn)
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		f.t.Errorf("server: read %s: %v", fn, err)
		return
	}
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		f.t.Errorf("server: %s body %q: %v", fn, raw, err)
	}
	f.mu.Lock()
	f.headers = append(f.headers, r.Header.Clone())
	f.protos = append(f.protos, r.Proto)
	f.bodies[fn] = body
	f.mu.Unlock()

	if fl, ok := f.fail[fn]; ok {
		switch {
		case fl.hang:
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
				f.t.Errorf("server: %s: client never gave up", fn)
			}
			return
		case fl.httpStatus != 0:
			if fl.httpStatus >= 300 && fl.httpStatus < 400 {
				w.Header().Set("Location", "https://"+f.addr+"/elsewhere")
			}
			http.Error(w, "scripted failure", fl.httpStatus)
			return
		case fl.body != nil:
			writeJSON(w, fl.body)
			return
		case fl.header != nil:
			writeJSON(w, map[string]any{"header": map[string]any{"functionExecutionStatus": map[string]any{
				"status": status.Failed, "statusCodeData": fl.header}}})
			return
		}
	}
	ok200 := map[string]any{"functionExecutionStatus": map[string]any{"status": status.ExecutedSuccess}}
	var in struct {
		EUICCChallenge             []byte `json:"euiccChallenge"`
		TransactionID              string `json:"transactionId"`
		AuthenticateServerResponse []byte `json:"authenticateServerResponse"`
		PrepareDownloadResponse    []byte `json:"prepareDownloadResponse"`
		PendingNotification        []byte `json:"pendingNotification"`
		CancelSessionResponse      []byte `json:"cancelSessionResponse"`
	}
	if err := json.Unmarshal(raw, &in); err != nil {
		f.t.Errorf("server: %s: %v", fn, err)
	}
	txHex := fmt.Sprintf("%X", testTxID)
	if fn != FunctionInitiateAuthentication && fn != FunctionHandleNotification && in.TransactionID != txHex {
		f.t.Errorf("server: %s transactionId %q, want %q", fn, in.TransactionID, txHex)
	}
	switch fn {
	case FunctionInitiateAuthentication:
		ss1 := marshal(f.t, &rsp.ServerSigned1{TransactionID: testTxID, EuiccChallenge: in.EUICCChallenge, ServerAddress: f.addr, ServerChallenge: testSrvChal})
		writeJSON(w, map[string]any{"header": ok200, "transactionId": txHex, "serverSigned1": ss1,
			"serverSignature1":    append([]byte{0x5F, 0x37, 0x40}, testSig...),
			"euiccCiPKIdToBeUsed": append([]byte{0x04, 0x14}, testSKI...),
			"serverCertificate":   testCert})
	case FunctionAuthenticateClient:
		if !bytes.Equal(in.AuthenticateServerResponse, f.card.asResp) {
			f.t.Errorf("server: authenticateServerResponse is not what the card answered")
		}
		md := marshal(f.t, &rsp.StoreMetadataRequest{Iccid: testIccid, ServiceProviderName: "SP", ProfileName: "Test profile"})
		ss2 := marshal(f.t, &rsp.SmdpSigned2{TransactionID: testTxID, CcRequiredFlag: f.cc})
		writeJSON(w, map[string]any{"header": ok200, "transactionId": strings.ToLower(txHex), "profileMetadata": md,
			"smdpSigned2": ss2, "smdpSignature2": append([]byte{0x5F, 0x37, 0x40}, testSig...), "smdpCertificate": testCert})
	case FunctionGetBoundProfilePackage:
		if !bytes.Equal(in.PrepareDownloadResponse, f.card.pdResp) {
			f.t.Errorf("server: prepareDownloadResponse is not what the card answered")
		}
		writeJSON(w, map[string]any{"header": ok200, "transactionId": txHex, "boundProfilePackage": f.bpp})
	case FunctionHandleNotification:
		var n rsp.PendingNotification
		if err := n.Unmarshal(in.PendingNotification); err != nil {
			f.t.Errorf("server: pendingNotification: %v", err)
		}
		w.WriteHeader(http.StatusNoContent)
	case FunctionCancelSession:
		if !bytes.Equal(in.CancelSessionResponse, f.card.csResp) {
			f.t.Errorf("server: wire.CancelSessionResponse is not what the card answered")
		}
		writeJSON(w, map[string]any{"header": ok200})
	default:
		f.t.Errorf("server: unknown function %q", fn)
		http.NotFound(w, r)
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.Header().Set("X-Admin-Protocol", "gsma/rsp/v2.5.0")
	w.Write(b)
}

// rig is one card and one SM-DP+ wired to an LPA.
type rig struct {
	ev   *events
	card *fakeCard
	smdp *fakeSMDP
	lpa  *LPA
	code activation.Code
}

func newRig(t *testing.T, http2 bool, opts ...Option) *rig {
	t.Helper()
	ev := &events{}
	bppDER, segs := testBPP(t)
	card := &fakeCard{t: t, ev: ev, bpp: segs, tac: defaultTAC, pirErrorAt: -1, failAt: map[tlv.Tag]error{}}
	smdp := newFakeSMDP(t, ev, card, http2)
	smdp.bpp = bppDER
	ctx := context.Background()
	es10, err := apdu.OpenES10(ctx, apdu.NewCardTransport(apdu.NewCard(card)))
	if err != nil {
		t.Fatal(err)
	}
	l, err := New(es10, append([]Option{WithTLSConfig(smdp.tlsConfig()), WithTimeout(5 * time.Second)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	code, err := activation.Parse("LPA:1$" + smdp.addr + "$" + testMatchingID)
	if err != nil {
		t.Fatal(err)
	}
	return &rig{ev: ev, card: card, smdp: smdp, lpa: l, code: code}
}

// The event sequences of a download.
var (
	evStart    = []string{"ES10 BF2E", "ES10 BF20", "ES9 initiateAuthentication"}
	evAuth     = []string{"ES10 BF38", "ES9 authenticateClient"}
	evPrepare  = []string{"ES10 BF21", "ES9 getBoundProfilePackage"}
	evLoad     = []string{"ES10 BF36", "ES10 A0", "ES10 A1", "ES10 88", "ES10 88", "ES10 A3", "ES10 86", "ES10 86", "ES10 86"}
	evNotify   = []string{"ES9 handleNotification", "ES10 BF30"}
	evCancel   = []string{"ES10 BF41", "ES9 cancelSession"}
	evComplete = concat(evStart, evAuth, evPrepare, evLoad, evNotify)
)

func concat(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}
