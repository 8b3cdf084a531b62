package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smdpp/smdpp/activation"
	"github.com/smdpp/smdpp/apdu"
	"github.com/smdpp/smdpp/console"
	"github.com/smdpp/smdpp/devpki"
	"github.com/smdpp/smdpp/euicc"
	"github.com/smdpp/smdpp/internal/testenv"
	"github.com/smdpp/smdpp/lpa"
	"github.com/smdpp/smdpp/orders"
	"github.com/smdpp/smdpp/store"
)

// binary is the smdpp command built once for the tests that run it as a process.
var binary string

func TestMain(m *testing.M) { testenv.RunWithSmdpp(m, ".", &binary) }

// server is a running `smdpp serve` process.
type server struct {
	addr    string
	dataDir string
	db      string
	stderr  *bytes.Buffer
	stop    func(t *testing.T)
}

// startServer runs `smdpp serve` on embedded defaults plus extra flags; see startServerAt.
func startServer(t *testing.T, extra ...string) *server {
	t.Helper()
	return startServerAt(t, testenv.FreeAddr(t), t.TempDir(), extra...)
}

// startServerAt runs `smdpp serve` on addr with dataDir and waits until /readyz answers 200 over
// HTTPS with the DPtls certificate, verified against the generated CI. The server is stopped
// with SIGINT at the end of the test, or earlier by stop.
func startServerAt(t *testing.T, addr, dataDir string, extra ...string) *server {
	t.Helper()
	s := &server{addr: addr, dataDir: dataDir}
	s.db = filepath.Join(s.dataDir, "smdpp.db")
	args := append([]string{"serve", "--listen", s.addr, "--data-dir", s.dataDir, "--log-level", "warn"}, extra...)
	for i, a := range extra {
		if a == "--database" {
			s.db = extra[i+1]
		}
	}
	proc := testenv.StartSmdpp(t, binary, addr, filepath.Join(s.pkiDir("nist"), devpki.CICertFile), args...)
	s.stderr, s.stop = proc.Stderr, func(t *testing.T) { proc.Stop(t) }
	return s
}

// importProfile adds a TS.48 package to an operator's inventory in the server's database.
func (s *server) importProfile(t *testing.T, operatorID, upp string) string {
	t.Helper()
	pkg, err := os.ReadFile(filepath.Join("..", "..", "testdata", "upp", upp))
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(context.Background(), s.db)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	p, err := orders.New(db, s.addr).ImportProfile(context.Background(), operatorID, "", pkg)
	if err != nil {
		t.Fatal(err)
	}
	return p.ICCID
}

// pkiDir is the generated credential set of one curve.
func (s *server) pkiDir(curve string) string { return filepath.Join(s.dataDir, "pki", curve) }

// httpClient trusts only the CI of the generated NIST hierarchy, which issued the DPtls certificate.
func (s *server) httpClient(t *testing.T, curve string) *http.Client {
	t.Helper()
	for {
		ci, err := os.ReadFile(filepath.Join(s.pkiDir(curve), devpki.CICertFile))
		if err == nil {
			pool := x509.NewCertPool()
			pool.AppendCertsFromPEM(ci)
			return lpa.NewHTTPClient(&tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// firstEID returns one of the test eUICCs generated with the PKI.
func firstEID(t *testing.T, dir string) string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, devpki.EUICCDir))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if eid, ok := strings.CutSuffix(e.Name(), devpki.CertSuffix); ok {
			return eid
		}
	}
	t.Fatal("no eUICC in " + dir)
	return ""
}

// order runs `smdpp order create` against the server's database and returns the ICCID and code.
func (s *server) order(t *testing.T, upp string, extra ...string) (string, activation.Code) {
	t.Helper()
	args := append([]string{"order", "create", "--database", s.db, "--address", s.addr,
		"--upp", filepath.Join("..", "..", "testdata", "upp", upp)}, extra...)
	out, err := exec.Command(binary, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("smdpp order create: %v\n%s", err, out)
	}
	return testenv.ParseOrderCreate(t, out)
}

// download runs the test LPA with the virtual eUICC eid of the given hierarchy.
func (s *server) download(t *testing.T, curve, eid string, code activation.Code, opts lpa.DownloadOptions) (*lpa.Result, error) {
	t.Helper()
	cfg, err := euicc.LoadDir(s.pkiDir(curve), eid)
	if err != nil {
		t.Fatal(err)
	}
	card, err := euicc.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	es10, err := apdu.OpenES10(ctx, apdu.NewCardTransport(apdu.NewCard(card)))
	if err != nil {
		t.Fatal(err)
	}
	l, err := lpa.New(es10, lpa.WithHTTPClient(s.httpClient(t, "nist")))
	if err != nil {
		t.Fatal(err)
	}
	return l.Download(ctx, code, opts)
}

func (s *server) profileState(t *testing.T, iccid string) store.State {
	t.Helper()
	db, err := store.Open(context.Background(), s.db)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	p, err := db.GetProfile(context.Background(), iccid)
	if err != nil {
		t.Fatal(err)
	}
	return p.State
}

// TestServeDownload is the whole product on one machine: `smdpp serve` on embedded defaults
// (SQLite, memory sessions, generated PKI) or on PostgreSQL and Redis, an order created with
// `smdpp order create`, and the test LPA downloading it over HTTPS into the virtual eUICC, on
// NIST and brainpool eUICCs; each profile must end Installed.
func TestServeDownload(t *testing.T) {
	metricsAddr := testenv.FreeAddr(t)
	backends := []struct {
		name  string
		flags func(t *testing.T) []string
	}{
		{"sqlite+memory", func(t *testing.T) []string { return []string{"--metrics-listen", metricsAddr} }},
		{"postgres+redis", func(t *testing.T) []string {
			return []string{"--database", testenv.FreshPostgres(t), "--redis", testenv.RedisURL(t)}
		}},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s := startServer(t, b.flags(t)...)
			for i, curve := range []string{"nist", "brainpool"} {
				t.Run(curve, func(t *testing.T) {
					eid := firstEID(t, s.pkiDir(curve))
					upp := []string{"TS48V2-SAIP2-3-BERTLV-UNIQUE.der", "TS48V3-SAIP2-1-NOBERTLV-UNIQUE.der"}[i]
					qrFile := filepath.Join(t.TempDir(), "code.png")
					iccid, code := s.order(t, upp, "--eid", eid, "--qr", qrFile)
					if img, err := os.ReadFile(qrFile); err != nil || !bytes.HasPrefix(img, []byte("\x89PNG")) {
						t.Errorf("QR file: %v", err)
					}
					res, err := s.download(t, curve, eid, code, lpa.DownloadOptions{})
					if err != nil {
						t.Fatalf("download: %v", err)
					}
					if !res.Installed || res.ICCID != iccid {
						t.Fatalf("result %+v, want ICCID %s installed", res, iccid)
					}
					if got := s.profileState(t, iccid); got != store.StateInstalled {
						t.Errorf("profile state %s, want Installed", got)
					}
				})
			}
			if b.name == "sqlite+memory" {
				resp, err := http.Get("http://" + metricsAddr + "/metrics")
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				for _, want := range []string{`function="getBoundProfilePackage"`, `outcome="success"`, "smdpp_rsp_sessions", "smdpp_outbox_pending"} {
					if !strings.Contains(string(body), want) {
						t.Errorf("/metrics lacks %s", want)
					}
				}
			}
		})
	}
}

// TestServeRateLimit: a client over its rate gets HTTP 429 with Retry-After.
func TestServeRateLimit(t *testing.T) {
	s := startServer(t, "--rate-limit", "0.01", "--rate-burst", "3")
	client := s.httpClient(t, "nist")
	limited := 0
	for range 6 {
		resp, err := client.Get("https://" + s.addr + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusTooManyRequests {
			limited++
			if resp.Header.Get("Retry-After") == "" {
				t.Error("429 without Retry-After")
			}
		}
	}
	// startServer's readiness probes used part of the burst; at least the last calls are refused.
	if limited < 3 {
		t.Errorf("%d of 6 calls limited, want at least 3", limited)
	}
}

// TestServePprof: --pprof-listen serves the Go profiler on its own loopback listener, and the
// HTTPS listener does not.
func TestServePprof(t *testing.T) {
	addr := testenv.FreeAddr(t)
	s := startServer(t, "--pprof-listen", addr)
	resp, err := http.Get("http://" + addr + "/debug/pprof/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "serve") {
		t.Errorf("/debug/pprof/cmdline: %d %q", resp.StatusCode, body)
	}
	resp, err = s.httpClient(t, "nist").Get("https://" + s.addr + "/debug/pprof/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("the SM-DP+ listener answers /debug/pprof/ with %d, want 404", resp.StatusCode)
	}
}

// TestServeAdminAPI: the admin API answers only with its bearer token, and sees the orders and
// usage the server recorded.
func TestServeAdminAPI(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "admin.token")
	const token = "test-admin-token-0123456789"
	os.WriteFile(tokenFile, []byte(token+"\n"), 0o600)
	s := startServer(t, "--admin-token-file", tokenFile)
	eid := firstEID(t, s.pkiDir("nist"))
	iccid, code := s.order(t, "TS48V5-SAIP2-3-NOBERTLV-UNIQUE.der", "--eid", eid)
	if _, err := s.download(t, "nist", eid, code, lpa.DownloadOptions{}); err != nil {
		t.Fatal(err)
	}
	client := s.httpClient(t, "nist")
	get := func(path, tok string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, "https://"+s.addr+"/admin"+path, nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get("/profiles?iccid="+iccid, ""); code != http.StatusUnauthorized {
		t.Errorf("no token: HTTP %d", code)
	}
	if code, _ := get("/profiles?iccid="+iccid, "wrong-token-wrong-token"); code != http.StatusUnauthorized {
		t.Errorf("wrong token: HTTP %d", code)
	}
	if code, body := get("/profiles?iccid="+iccid, token); code != 200 || !strings.Contains(body, "Installed") {
		t.Errorf("profiles: %d %s", code, body)
	}
	from := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	to := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	if code, body := get("/usage?operator=default&format=csv&from="+from+"&to="+to, token); code != 200 || !strings.Contains(body, iccid) {
		t.Errorf("usage: %d %s", code, body)
	}
}

// TestServeConsole: with --console-passwords the console is mounted and signing in works.
func TestServeConsole(t *testing.T) {
	hash, err := console.HashPassword("operator-password")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "console.json")
	data, _ := json.Marshal(map[string]any{"operators": map[string]string{"default": hash}})
	os.WriteFile(file, data, 0o600)
	s := startServer(t, "--console-passwords", file)
	client := s.httpClient(t, "nist")
	resp, err := client.Get("https://" + s.addr + console.Prefix + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), console.Prefix+"/login") {
		t.Fatalf("console home without a session: HTTP %d to %q, want the sign-in page", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, err = client.Get("https://" + s.addr + resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(strings.ToLower(string(body)), "password") {
		t.Errorf("sign-in page: HTTP %d, no password field:\n%.300s", resp.StatusCode, body)
	}
}
