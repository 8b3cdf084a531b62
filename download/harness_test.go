package download

import (
	"context"
	"crypto"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/smdpp/smdpp/certs"
	"github.com/smdpp/smdpp/euicc"
	"github.com/smdpp/smdpp/orders"
	"github.com/smdpp/smdpp/rsp"
	"github.com/smdpp/smdpp/session"
	st "github.com/smdpp/smdpp/status"
	"github.com/smdpp/smdpp/store"
)

// The tests run the server against the GSMA SGP.26 test PKI (testdata/certs): CERT.DPauth and
// CERT.DPpb of "TEST SM-DP+" under the test CI, and the SGP.26 test eUICC. None of it was made
// here, so a download that succeeds proves our encoding and signatures agree with GSMA's keys.
const (
	certsDir = "../testdata/certs"
	address  = "testsmdpplus1.example.com"
	operator = "op1"
)

// testNow is inside every certificate's validity (DPauth/DPpb end 2030-03-30).
var testNow = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func readTestCert(t testing.TB, name string) *certs.Certificate {
	t.Helper()
	der, err := os.ReadFile(filepath.Join(certsDir, name))
	if err != nil {
		t.Fatal(err)
	}
	c, err := certs.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func readTestKey(t testing.TB, name string) crypto.Signer {
	t.Helper()
	pemData, err := os.ReadFile(filepath.Join(certsDir, name))
	if err != nil {
		t.Fatal(err)
	}
	k, err := certs.ParsePrivateKeyPEM(pemData)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// sgp26Credentials is the SGP.26 "TEST SM-DP+" identity on one curve ("NIST" or "BRP").
func sgp26Credentials(t testing.TB, curve string) *Credentials {
	c := &Credentials{
		CI:        readTestCert(t, "CertificateIssuer/CERT_CI_ECDSA_"+curve+".der"),
		DPauth:    readTestCert(t, "DPauth/CERT_S_SM_DPauth_ECDSA_"+curve+".der"),
		DPauthKey: readTestKey(t, "DPauth/SK_S_SM_DPauth_ECDSA_"+curve+".pem"),
		DPpb:      readTestCert(t, "DPpb/CERT_S_SM_DPpb_ECDSA_"+curve+".der"),
		DPpbKey:   readTestKey(t, "DPpb/SK_S_SM_DPpb_ECDSA_"+curve+".pem"),
	}
	if err := c.Verify(testNow); err != nil {
		t.Fatal(err)
	}
	return c
}

// env is a download service over SQLite and memory sessions with a fake clock, one operator,
// and the SGP.26 test eUICC as the card.
type env struct {
	t        testing.TB
	ctx      context.Context
	clock    *clock
	db       *store.DB
	svc      *Service
	orders   *orders.Service
	cardCfg  euicc.Config
	card     *euicc.ISDR
	sessions *session.Memory
	// ac is kept by tests that re-sign euiccSigned2 as the card would.
	ac *AuthenticateClientResult
}

func newEnv(t testing.TB, curve string, opts ...Option) *env {
	t.Helper()
	e := &env{t: t, ctx: context.Background(), clock: &clock{now: testNow}}
	db, err := store.Open(e.ctx, filepath.Join(t.TempDir(), "smdpp.db"), store.WithClock(e.clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e.db = db
	if _, err := db.CreateOperator(e.ctx, store.Operator{ID: operator, Name: "Operator One", RedownloadLimit: 1}); err != nil {
		t.Fatal(err)
	}
	e.sessions = session.NewMemory(session.WithClock(e.clock.Now))
	t.Cleanup(func() { e.sessions.Close() })
	creds := []*Credentials{sgp26Credentials(t, "NIST"), sgp26Credentials(t, "BRP")}
	opts = append([]Option{WithClock(e.clock.Now), WithLogger(slog.New(slog.DiscardHandler))}, opts...)
	if e.svc, err = New(address, creds, db, e.sessions, opts...); err != nil {
		t.Fatal(err)
	}
	e.orders = orders.New(db, address)
	name := map[string]string{"NIST": "nist", "BRP": "brainpool"}[curve]
	if e.cardCfg, err = euicc.LoadSGP26(certsDir, name); err != nil {
		t.Fatal(err)
	}
	e.cardCfg.Now = e.clock.Now
	e.newCard()
	return e
}

// newCard (re)creates the card from cardCfg, e.g. after a test changed its certificate.
func (e *env) newCard() {
	card, err := euicc.New(e.cardCfg)
	if err != nil {
		e.t.Fatal(err)
	}
	e.card = card
}

// order imports a TS.48 profile and releases an order for it; it returns the ICCID and matchingId.
func (e *env) order(upp string, req orders.ConfirmOrderRequest) (string, string) {
	e.t.Helper()
	pkg, err := os.ReadFile(filepath.Join("..", "testdata", "upp", upp))
	if err != nil {
		e.t.Fatal(err)
	}
	p, err := e.orders.ImportProfile(e.ctx, operator, "", pkg)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.orders.DownloadOrder(e.ctx, operator, orders.DownloadOrderRequest{ICCID: p.ICCID, EID: req.EID}); err != nil {
		e.t.Fatal(err)
	}
	req.ICCID, req.ReleaseFlag = p.ICCID, true
	res, err := e.orders.ConfirmOrder(e.ctx, operator, req)
	if err != nil {
		e.t.Fatal(err)
	}
	return p.ICCID, res.MatchingID
}

// es10 sends one ES10 request to the card.
func (e *env) es10(req interface{ Marshal() ([]byte, error) }) []byte {
	e.t.Helper()
	der, err := req.Marshal()
	if err != nil {
		e.t.Fatal(err)
	}
	resp, err := e.card.Process(e.ctx, der)
	if err != nil {
		e.t.Fatalf("card: %v", err)
	}
	return resp
}

// initiate runs GetEuiccChallenge, GetEuiccInfo1 and InitiateAuthentication.
func (e *env) initiate() (*InitiateAuthenticationResult, error) {
	var ch rsp.GetEuiccChallengeResponse
	if err := ch.Unmarshal(e.es10(&rsp.GetEuiccChallengeRequest{})); err != nil {
		e.t.Fatal(err)
	}
	return e.svc.InitiateAuthentication(e.ctx, ch.EuiccChallenge, e.es10(&rsp.GetEuiccInfo1Request{}), address)
}

// authenticateServer passes InitiateAuthentication's output to the card and returns its
// AuthenticateServerResponse.
func (e *env) authenticateServer(ia *InitiateAuthenticationResult, matchingID string) []byte {
	var ss1 rsp.ServerSigned1
	if err := ss1.Unmarshal(ia.ServerSigned1); err != nil {
		e.t.Fatal(err)
	}
	return e.es10(&rsp.AuthenticateServerRequest{
		ServerSigned1:       ss1,
		ServerSignature1:    ia.ServerSignature1[3:],
		EuiccCiPKIdToBeUsed: ia.EUICCCiPKIdToBeUsed[2:],
		ServerCertificate:   ia.ServerCertificate,
		CtxParams1: rsp.CtxParams1{CtxParamsForCommonAuthentication: &rsp.CtxParamsForCommonAuthentication{
			MatchingID: &matchingID,
			DeviceInfo: rsp.DeviceInfo{TAC: []byte{0x35, 0x29, 0x06, 0x11}},
		}},
	})
}

// prepareDownload passes AuthenticateClient's output to the card with an optional hashCc.
func (e *env) prepareDownload(ac *AuthenticateClientResult, hashCc []byte) []byte {
	var ss2 rsp.SmdpSigned2
	if err := ss2.Unmarshal(ac.SMDPSigned2); err != nil {
		e.t.Fatal(err)
	}
	return e.es10(&rsp.PrepareDownloadRequest{
		SmdpSigned2: ss2, SmdpSignature2: ac.SMDPSignature2[3:], HashCc: hashCc, SmdpCertificate: ac.SMDPCertificate,
	})
}

// load sends every BPP segment to the card and returns its ProfileInstallationResult.
func (e *env) load(bppDER []byte) []byte {
	e.t.Helper()
	var bpp rsp.BoundProfilePackage
	if err := bpp.Unmarshal(bppDER); err != nil {
		e.t.Fatal(err)
	}
	segs, err := bpp.Segments()
	if err != nil {
		e.t.Fatal(err)
	}
	var last []byte
	for _, s := range segs {
		if last, err = e.card.Process(e.ctx, s); err != nil {
			e.t.Fatalf("card: %v", err)
		}
		if len(last) > 0 {
			break
		}
	}
	return last
}

// upToAuthenticated runs a download through AuthenticateClient and fails the test on any error.
func (e *env) upToAuthenticated(matchingID string) (*InitiateAuthenticationResult, *AuthenticateClientResult) {
	e.t.Helper()
	ia, err := e.initiate()
	if err != nil {
		e.t.Fatal(err)
	}
	ac, err := e.svc.AuthenticateClient(e.ctx, ia.TransactionID, e.authenticateServer(ia, matchingID))
	if err != nil {
		e.t.Fatal(err)
	}
	return ia, ac
}

func (e *env) state(iccid string) store.Profile {
	e.t.Helper()
	p, err := e.db.GetProfile(e.ctx, iccid)
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

// wantStatus checks that err carries the SGP.22 subject and reason codes.
func wantStatus(t *testing.T, err error, subject, reason string) {
	t.Helper()
	var se *st.Error
	if !errors.As(err, &se) || se.Subject != subject || se.Reason != reason {
		t.Fatalf("error %v, want %s/%s", err, subject, reason)
	}
}
