package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/smdpp/smdpp/devpki"
	"github.com/smdpp/smdpp/internal/testenv"
	"github.com/smdpp/smdpp/loadgen"
)

const testUPP = "../../testdata/upp/TS48V2-SAIP2-3-BERTLV-UNIQUE.der"

func TestFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string // part of the error; "" for valid
	}{
		{"prepare", []string{"--prepare", "10"}, ""},
		{"codes file", []string{"--codes", "codes.txt"}, ""},
		{"initiate-only", []string{"--mode", "initiate-only", "--count", "100000"}, ""},
		{"replicas", []string{"--prepare", "4", "--target", "127.0.0.1:1,127.0.0.1:2", "--target", "localhost:3"}, ""},
		{"HTTP/1.1 with PIDs", []string{"--prepare", "4", "--http", "1.1", "--server-pid", "1,2"}, ""},
		{"loopback PostgreSQL", []string{"--prepare", "4", "--database", "postgres://u@127.0.0.1:55432/db"}, ""},
		{"no orders", nil, "needs orders"},
		{"remote target", []string{"--prepare", "1", "--target", "192.168.0.10:8443"}, "not a loopback"},
		{"named target", []string{"--prepare", "1", "--target", "smdp.example.com:443"}, "not a loopback"},
		{"target without port", []string{"--prepare", "1", "--target", "127.0.0.1"}, "missing port"},
		{"prepare and codes", []string{"--prepare", "1", "--codes", "x"}, "exclude"},
		{"initiate-only with orders", []string{"--mode", "initiate-only", "--prepare", "3"}, "needs no orders"},
		{"bad mode", []string{"--mode", "soak", "--prepare", "1"}, "--mode"},
		{"bad curve", []string{"--prepare", "1", "--curve", "ed25519"}, "--curve"},
		{"bad HTTP version", []string{"--prepare", "1", "--http", "3"}, "--http"},
		{"count beyond prepare", []string{"--prepare", "5", "--count", "6"}, "exceeds"},
		{"negative prepare", []string{"--prepare", "-1", "--codes", "x"}, "--prepare"},
		{"duration too long", []string{"--prepare", "1", "--duration", "2h"}, "--duration"},
		{"duration too short", []string{"--prepare", "1", "--duration", "10ms"}, "--duration"},
		{"zero concurrency", []string{"--prepare", "1", "--concurrency", "0"}, "--concurrency"},
		{"more clients than downloads in flight", []string{"--prepare", "1", "--concurrency", "2", "--clients", "3"}, "--clients"},
		{"too many eUICCs", []string{"--prepare", "1", "--euiccs", "1000000"}, "--euiccs"},
		{"negative rate", []string{"--prepare", "1", "--rate", "-3"}, "--rate"},
		{"bad PID", []string{"--prepare", "1", "--server-pid", "abc"}, "--server-pid"},
		{"remote PostgreSQL", []string{"--prepare", "1", "--database", "postgres://u@db.example.com:5432/x"}, "not loopback"},
		{"remote PostgreSQL key/value", []string{"--prepare", "1", "--database", "host=10.1.1.1 user=u dbname=x"}, "not loopback"},
		{"stray argument", []string{"--prepare", "1", "extra"}, "unexpected"},
		{"unknown flag", []string{"--bogus"}, "not defined"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseFlags(tc.args, io.Discard)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("unexpected error %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error %v, want one about %q", err, tc.want)
			}
		})
	}
	o, err := parseFlags([]string{"--data-dir", "/d", "--prepare", "7"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.count != 7 || o.pkiDir != "/d/pki/nist" || o.tlsCA != "/d/pki/nist/ci.crt" || o.database != "/d/smdpp.db" || o.address != "127.0.0.1:8443" {
		t.Errorf("defaults %+v", o)
	}
}

// smdppBinary is `smdpp` built once for the integration tests.
var smdppBinary string

func TestMain(m *testing.M) { testenv.RunWithSmdpp(m, "../smdpp", &smdppBinary) }

type server struct {
	addr, dataDir string
	pid           int
	stderr        *bytes.Buffer
}

// startServer runs `smdpp serve` with a data directory of its own plus extra flags, and waits
// for /readyz over HTTPS, trusting the CI of pkiDir (its own generated one when empty).
func startServer(t *testing.T, pkiDir string, extra ...string) *server {
	t.Helper()
	s := &server{addr: testenv.FreeAddr(t), dataDir: t.TempDir()}
	args := append([]string{"serve", "--listen", s.addr, "--data-dir", s.dataDir, "--log-level", "warn", "--rate-limit", "0"}, extra...)
	if pkiDir == "" {
		pkiDir = filepath.Join(s.dataDir, "pki")
	} else {
		args = append(args, "--pki-dir", pkiDir)
	}
	proc := testenv.StartSmdpp(t, smdppBinary, s.addr, filepath.Join(pkiDir, "nist", devpki.CICertFile), args...)
	s.stderr, s.pid = proc.Stderr, proc.Cmd.Process.Pid
	return s
}

func runLoadgen(t *testing.T, args ...string) *loadgen.Report {
	t.Helper()
	var stdout, stderr bytes.Buffer
	args = append(args, "--json", "--upp", testUPP, "--euicc-cache", t.TempDir(), "--euiccs", "4", "--floor-time", "5ms")
	if err := run(context.Background(), args, &stdout, &stderr); err != nil {
		t.Fatalf("smdpp-loadgen: %v\n%s", err, stderr.String())
	}
	var rep loadgen.Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("report: %v\n%s", err, stdout.String())
	}
	if rep.Failed != 0 || len(rep.Errors) != 0 {
		t.Errorf("failures: %+v\nstderr:\n%s", rep.Errors, stderr.String())
	}
	return &rep
}

// TestLoad starts `smdpp serve` on embedded defaults (SQLite, memory sessions) and runs ten full
// downloads at concurrency 2 with orders prepared on its database, then a few initiate-only
// calls; every one must succeed. No timing is asserted.
func TestLoad(t *testing.T) {
	s := startServer(t, "")
	pid := strconv.Itoa(s.pid)
	rep := runLoadgen(t, "--data-dir", s.dataDir, "--target", s.addr, "--prepare", "10", "--concurrency", "2", "--server-pid", pid)
	if rep.Succeeded != 10 || rep.Whole.Count != 10 {
		t.Errorf("%d downloads succeeded, want 10", rep.Succeeded)
	}
	if len(rep.Functions) != 4 {
		t.Errorf("functions %+v, want the four of a download", rep.Functions)
	}
	for _, f := range rep.Functions {
		if f.Count != 10 {
			t.Errorf("%s: %d calls, want 10", f.Function, f.Count)
		}
	}
	if rep.Floor == nil || rep.Floor.PerDownload <= 0 || rep.Server == nil || rep.Server.RSSAfter <= 0 {
		t.Errorf("floor %+v server %+v", rep.Floor, rep.Server)
	}
	if rep.Clients != 2 {
		t.Errorf("%d HTTP clients, want one per concurrent download", rep.Clients)
	}

	rep = runLoadgen(t, "--data-dir", s.dataDir, "--target", s.addr, "--mode", "initiate-only", "--count", "20", "--concurrency", "2", "--http", "1.1", "--server-pid", pid, "--floor=false")
	if rep.Succeeded != 20 {
		t.Errorf("%d initiateAuthentication calls succeeded, want 20", rep.Succeeded)
	}
}

// TestLoadReplicas runs two `smdpp serve` processes on one PostgreSQL database and one Redis,
// with the same PKI and SM-DP+ address, and alternates the calls of each download between them.
func TestLoadReplicas(t *testing.T) {
	dsn, redis := testenv.FreshPostgres(t), testenv.RedisURL(t)
	a := startServer(t, "", "--database", dsn, "--redis", redis)
	pki := filepath.Join(a.dataDir, "pki")
	b := startServer(t, pki, "--database", dsn, "--redis", redis, "--address", a.addr)
	rep := runLoadgen(t, "--data-dir", a.dataDir, "--database", dsn, "--target", a.addr, "--target", b.addr,
		"--prepare", "6", "--concurrency", "2", "--floor=false")
	if rep.Succeeded != 6 {
		t.Errorf("%d downloads succeeded, want 6", rep.Succeeded)
	}
	if rep.CrossedReplicas != 6 || len(rep.PerTarget) != 2 || rep.PerTarget[0].Requests == 0 || rep.PerTarget[1].Requests == 0 {
		t.Errorf("crossed %d, per target %+v", rep.CrossedReplicas, rep.PerTarget)
	}
	// initiate-only calls of one client alternate between the replicas too.
	rep = runLoadgen(t, "--data-dir", a.dataDir, "--target", a.addr, "--target", b.addr, "--mode", "initiate-only",
		"--count", "8", "--concurrency", "2", "--clients", "1", "--floor=false")
	if rep.Succeeded != 8 || len(rep.PerTarget) != 2 || rep.PerTarget[0].Requests != 4 || rep.PerTarget[1].Requests != 4 {
		t.Errorf("initiate-only: %d succeeded, per target %+v", rep.Succeeded, rep.PerTarget)
	}
}
