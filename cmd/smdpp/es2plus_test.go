package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"github.com/smdpp/smdpp/internal/testenv"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/smdpp/smdpp/activation"
	"github.com/smdpp/smdpp/lpa"
	"github.com/smdpp/smdpp/progress"
)

// operatorKey writes an operators.json naming one operator with a fresh ES256 key and the given
// callback URL, and returns a function minting that operator's bearer tokens for audience.
func operatorKey(t *testing.T, dir, callback, audience string) func() string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := jwk.Import(key)
	if err != nil {
		t.Fatal(err)
	}
	priv.Set(jwk.KeyIDKey, "op1-key")
	priv.Set(jwk.AlgorithmKey, jwa.ES256())
	pub, err := priv.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	reg := map[string]any{"operators": []any{map[string]any{
		"id": "op1", "name": "Operator One", "callbackUrl": callback,
		"jwks": map[string]any{"keys": []any{pub}},
	}}}
	data, err := json.Marshal(reg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "operators.json"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	return func() string {
		tok, err := jwt.NewBuilder().Issuer("op1").Audience([]string{audience}).
			IssuedAt(time.Now()).Expiration(time.Now().Add(5 * time.Minute)).Build()
		if err != nil {
			t.Fatal(err)
		}
		signed, err := jwt.Sign(tok, jwt.WithKey(jwa.ES256(), priv))
		if err != nil {
			t.Fatal(err)
		}
		return string(signed)
	}
}

// callbackReceiver records HandleDownloadProgressInfo calls; it can be taken down and brought
// back on the same address.
type callbackReceiver struct {
	mu   sync.Mutex
	got  []progress.HandleDownloadProgressInfoRequest
	addr string
	srv  *http.Server
}

func (c *callbackReceiver) start(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		t.Fatal(err)
	}
	c.addr = ln.Addr().String()
	c.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req progress.HandleDownloadProgressInfoRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		c.mu.Lock()
		c.got = append(c.got, req)
		c.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})}
	go c.srv.Serve(ln)
}

func (c *callbackReceiver) stop() { c.srv.Close() }

func (c *callbackReceiver) points() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	var p []int
	for _, r := range c.got {
		p = append(p, r.NotificationPointID)
	}
	return p
}

func (c *callbackReceiver) waitFor(t *testing.T, n int) []int {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for len(c.points()) < n && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	return c.points()
}

// es2 calls one ES2+ function with the operator's token and returns the decoded response.
func (s *server) es2(t *testing.T, token, function string, body map[string]any) map[string]any {
	t.Helper()
	body["header"] = map[string]any{"functionRequesterIdentifier": "op1", "functionCallIdentifier": function + "-" + time.Now().Format(time.RFC3339Nano)}
	data, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, "https://"+s.addr+"/gsma/rsp2/es2plus/"+function, bytes.NewReader(data))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Admin-Protocol", "gsma/rsp/v2.5.0")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := s.httpClient(t, "nist").Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("%s: HTTP %d: %v", function, resp.StatusCode, err)
	}
	st := out["header"].(map[string]any)["functionExecutionStatus"].(map[string]any)
	if st["status"] != "Executed-Success" {
		t.Fatalf("%s failed: %v", function, st)
	}
	return out
}

// TestES2PlusOrderToInstalled: an operator orders over ES2+ with a JWT, the device downloads
// with the returned activation code, and the operator's receiver gets every progress callback
// in order — including those that were pending while the receiver was down and the server was
// restarted.
func TestES2PlusOrderToInstalled(t *testing.T) {
	rcv := &callbackReceiver{addr: "127.0.0.1:0"}
	rcv.start(t)
	opsDir := t.TempDir()
	s := &server{addr: testenv.FreeAddr(t), dataDir: t.TempDir()}
	mint := operatorKey(t, opsDir, "http://"+rcv.addr, s.addr)
	flags := []string{"--operators", filepath.Join(opsDir, "operators.json")}
	s = startServerAt(t, s.addr, s.dataDir, flags...)

	// Import a profile into op1's inventory, then order it over ES2+.
	eid := firstEID(t, s.pkiDir("nist"))
	iccid := s.importProfile(t, "op1", "TS48V3-SAIP2-3-BERTLV-UNIQUE.der")
	tok := mint()
	s.es2(t, tok, "downloadOrder", map[string]any{"iccid": iccid, "eid": eid})
	conf := s.es2(t, tok, "confirmOrder", map[string]any{"iccid": iccid, "eid": eid, "releaseFlag": true})
	code := activation.Code{Address: conf["smdpAddress"].(string), MatchingID: conf["matchingId"].(string)}

	// The receiver goes down before the download; the server is restarted with callbacks pending.
	rcv.stop()
	res, err := s.download(t, "nist", eid, code, lpa.DownloadOptions{})
	if err != nil || !res.Installed {
		t.Fatalf("download: %v %+v", err, res)
	}
	s.stop(t)
	s = startServerAt(t, s.addr, s.dataDir, flags...)
	rcv.start(t)
	if got := rcv.waitFor(t, 3); len(got) != 3 || got[0] != 1 || got[1] != 3 || got[2] != 4 {
		t.Fatalf("callbacks %v, want points [1 3 4] in order", got)
	}
	for _, r := range rcv.got {
		if r.ICCID != iccid || r.EID != eid || r.NotificationPointStatus.Status != "Executed-Success" {
			t.Errorf("callback %+v", r)
		}
	}
}
