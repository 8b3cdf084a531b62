package es2plus

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/smdpp/smdpp/internal/testenv"
	"github.com/smdpp/smdpp/orders"
	"github.com/smdpp/smdpp/status"
	"github.com/smdpp/smdpp/store"
	"github.com/smdpp/smdpp/web"
)

const (
	address  = "smdp.example.com"
	opA, opB = "mno-a", "mno-b"
	typeA    = "typeA"
	testEID  = "89049032123451234512345678901235"
)

func iccidA(i int) string { return fmt.Sprintf("8988100%012d", i) }
func iccidB(i int) string { return fmt.Sprintf("8988200%012d", i) }

// party is an operator's credentials in a test.
type party struct {
	id   string
	key  jwk.Key // private signing key, with kid
	cert tls.Certificate
}

// env is a running ES2+ server over a real store and orders service.
type env struct {
	db     *store.DB
	srv    *httptest.Server
	a, b   party
	logs   *lockedWriter
	fci    atomic.Int64
	stray  tls.Certificate // a client certificate no operator has
	tokAud string
}

func newParty(t testing.TB, id string, withAlg bool) party {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	key, err := jwk.Import(priv)
	if err != nil {
		t.Fatal(err)
	}
	key.Set(jwk.KeyIDKey, id+"-key-1")
	if withAlg {
		key.Set(jwk.AlgorithmKey, jwa.ES256())
	}
	return party{id: id, key: key, cert: selfSigned(t, id)}
}

func selfSigned(t testing.TB, cn string) tls.Certificate {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: priv}
}

func (p party) publicJWKS(t testing.TB) json.RawMessage {
	t.Helper()
	pub, err := p.key.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(map[string]any{"keys": []jwk.Key{pub}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (p party) fingerprint() string {
	sum := sha256.Sum256(p.cert.Certificate[0])
	return hex.EncodeToString(sum[:])
}

// registryJSON is the operators file for parties a and b: A pins its client certificate in
// openssl's colon form, B gives only a JWKS.
func registryJSON(t testing.TB, a, b party) []byte {
	t.Helper()
	var colon []string
	fp := a.fingerprint()
	for i := 0; i < len(fp); i += 2 {
		colon = append(colon, strings.ToUpper(fp[i:i+2]))
	}
	f := map[string]any{"operators": []map[string]any{
		{"id": a.id, "name": "Operator A", "callbackUrl": "https://a.example/es2", "jwks": a.publicJWKS(t),
			"clientCertSHA256": []string{strings.Join(colon, ":")}},
		{"id": b.id, "name": "Operator B", "jwks": b.publicJWKS(t)},
	}}
	data, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// newEnv starts an ES2+ server on backend b with operators A (ten profiles of typeA) and B
// (five), authenticating by JWT (audience = address) and by client certificate.
func newEnv(t testing.TB, b testenv.Database) *env {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, b.NewDSN(t))
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	e := &env{db: db, logs: &lockedWriter{w: &bytes.Buffer{}}, a: newParty(t, opA, true), b: newParty(t, opB, false),
		stray: selfSigned(t, "stray"), tokAud: address}
	reg, err := ParseRegistry(registryJSON(t, e.a, e.b))
	if err != nil {
		t.Fatalf("ParseRegistry: %v", err)
	}
	if err := reg.Sync(ctx, db); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	var ps []store.Profile
	for i := 1; i <= 10; i++ {
		ps = append(ps, store.Profile{ICCID: iccidA(i), OperatorID: opA, ProfileType: typeA, Package: []byte{0x30, 0}})
	}
	for i := 1; i <= 5; i++ {
		ps = append(ps, store.Profile{ICCID: iccidB(i), OperatorID: opB, ProfileType: "typeB", Package: []byte{0x30, 0}})
	}
	if err := db.CreateProfiles(ctx, ps); err != nil {
		t.Fatalf("CreateProfiles: %v", err)
	}
	jwtAuth, err := NewJWTAuthenticator(reg, address)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	r := chi.NewRouter()
	r.Use(web.RequestLog(log))
	Routes(r, orders.New(db, address), Any(jwtAuth, NewClientCertAuthenticator(reg)), db, 4096, log, WithReplayWait(10*time.Second))
	e.srv = httptest.NewUnstartedServer(r)
	e.srv.TLS = &tls.Config{ClientAuth: tls.RequestClientCert}
	e.srv.StartTLS()
	t.Cleanup(e.srv.Close)
	return e
}

// lockedWriter serialises log writes from concurrent requests.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.(*bytes.Buffer).String()
}

// token returns a bearer token of party p: iss = p.id, aud = the SM-DP+ address, valid for five
// minutes, signed with p's key; mods change the claims before signing.
func (e *env) token(t testing.TB, p party, mods ...func(jwt.Token)) string {
	t.Helper()
	now := time.Now()
	tok, err := jwt.NewBuilder().Issuer(p.id).Audience([]string{e.tokAud}).IssuedAt(now).Expiration(now.Add(5 * time.Minute)).Build()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range mods {
		m(tok)
	}
	signed, err := jwt.Sign(tok, jwt.WithKey(jwa.ES256(), p.key))
	if err != nil {
		t.Fatal(err)
	}
	return string(signed)
}

// nextFCI returns a fresh functionCallIdentifier.
func (e *env) nextFCI() string { return fmt.Sprintf("FCI-%d-%d", time.Now().UnixNano(), e.fci.Add(1)) }

// hdr is a request header for operator id with a fresh functionCallIdentifier.
func (e *env) hdr(id string) *RequestHeader {
	return &RequestHeader{FunctionRequesterIdentifier: id, FunctionCallIdentifier: e.nextFCI()}
}

// reply is an HTTP answer.
type reply struct {
	code   int
	header http.Header
	body   []byte
}

// failure returns the statusCodeData of a Failed answer, or nil for a success.
func (r reply) failure(t *testing.T) *status.StatusCodeData {
	t.Helper()
	var resp web.Response
	if err := json.Unmarshal(r.body, &resp); err != nil {
		t.Fatalf("answer %d %q is not JSON: %v", r.code, r.body, err)
	}
	st := resp.Header.FunctionExecutionStatus
	switch st.Status {
	case status.ExecutedSuccess:
		return nil
	case status.Failed:
		if st.StatusCodeData == nil {
			t.Fatalf("Failed without statusCodeData: %s", r.body)
		}
		return st.StatusCodeData
	}
	t.Fatalf("unexpected status %q: %s", st.Status, r.body)
	return nil
}

// wantFailure checks that r is an HTTP 200 SGP.22 failure with the given codes.
func (r reply) wantFailure(t *testing.T, subject, reason string) {
	t.Helper()
	if r.code != http.StatusOK {
		t.Fatalf("HTTP %d %s, want 200 with %s/%s", r.code, r.body, subject, reason)
	}
	sc := r.failure(t)
	if sc == nil || sc.SubjectCode != subject || sc.ReasonCode != reason {
		t.Fatalf("got %s, want %s/%s", r.body, subject, reason)
	}
}

// wantSuccess checks that r is an HTTP 200 Executed-Success and decodes it into v (if not nil).
func (r reply) wantSuccess(t *testing.T, v any) {
	t.Helper()
	if r.code != http.StatusOK {
		t.Fatalf("HTTP %d %s, want 200", r.code, r.body)
	}
	if sc := r.failure(t); sc != nil {
		t.Fatalf("failed: %s", r.body)
	}
	if v != nil {
		if err := json.Unmarshal(r.body, v); err != nil {
			t.Fatal(err)
		}
	}
}

// client returns an HTTPS client of the test server presenting cert (if any).
func (e *env) client(cert *tls.Certificate) *http.Client {
	c := e.srv.Client()
	tr := c.Transport.(*http.Transport).Clone()
	if cert != nil {
		tr.TLSClientConfig.Certificates = []tls.Certificate{*cert}
	}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// post sends body (a string as is, anything else as JSON) to the function with a bearer token
// (if not empty) and an optional client certificate.
func (e *env) post(t *testing.T, function, token string, cert *tls.Certificate, body any) reply {
	t.Helper()
	raw, ok := body.(string)
	if !ok {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		raw = string(b)
	}
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+PathPrefix+function, strings.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(web.AdminProtocolHeader, "gsma/rsp/v2.5.0")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := e.client(cert).Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", function, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{code: resp.StatusCode, header: resp.Header, body: b}
}

// as posts as operator p with a fresh valid token.
func (e *env) as(t *testing.T, p party, function string, body any) reply {
	t.Helper()
	return e.post(t, function, e.token(t, p), nil, body)
}

func (e *env) profile(t *testing.T, iccid string) store.Profile {
	t.Helper()
	p, err := e.db.GetProfile(context.Background(), iccid)
	if err != nil {
		t.Fatalf("GetProfile(%s): %v", iccid, err)
	}
	return p
}

func ptr[T any](v T) *T { return &v }
