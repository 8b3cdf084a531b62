package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smdpp/smdpp/apdu"
	"github.com/smdpp/smdpp/devpki"
	"github.com/smdpp/smdpp/euicc"
	"github.com/smdpp/smdpp/internal/testenv"
)

// Environment of the test binary re-run as a card process for --card-stdio.
const (
	envCardPKI = "SMDPP_LPA_TEST_CARD_PKI"
	envCardEID = "SMDPP_LPA_TEST_CARD_EID"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(envCardPKI); dir != "" {
		os.Exit(serveCard(dir, os.Getenv(envCardEID)))
	}
	os.Exit(m.Run())
}

// serveCard is the card process: the virtual eUICC on lpac's stdio APDU protocol.
func serveCard(dir, eid string) int {
	cfg, err := euicc.LoadDir(dir, eid)
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		return 1
	}
	isdr, err := euicc.New(cfg)
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		return 1
	}
	if err := apdu.ServeStdio(context.Background(), apdu.NewCard(isdr), os.Stdin, os.Stdout, os.Stderr); err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		return 1
	}
	return 0
}

// testPKI writes a development PKI with one eUICC and returns its directory and EID.
func testPKI(t *testing.T) (dir, eid string) {
	t.Helper()
	pki, err := devpki.Generate(devpki.Options{EUICCCount: 1})
	if err != nil {
		t.Fatal(err)
	}
	dir = filepath.Join(t.TempDir(), "pki")
	if err := pki.WriteDir(dir, false); err != nil {
		t.Fatal(err)
	}
	return dir, pki.EUICCs[0].EID
}

type outputLine struct {
	Type    string `json:"type"`
	Payload struct {
		Code    int            `json:"code"`
		Message string         `json:"message"`
		Data    map[string]any `json:"data"`
	} `json:"payload"`
}

func runCLI(t *testing.T, args ...string) (int, outputLine, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr)
	var out outputLine
	if strings.HasPrefix(stdout.String(), "{") {
		lines := strings.Split(strings.TrimRight(stdout.String(), "\n"), "\n")
		if len(lines) != 1 {
			t.Fatalf("stdout has %d lines, want 1:\n%s", len(lines), stdout.String())
		}
		if err := json.Unmarshal([]byte(lines[0]), &out); err != nil {
			t.Fatalf("stdout %q: %v", lines[0], err)
		}
	}
	return code, out, stderr.String()
}

// TestDownloadCards runs a download with each kind of card against an address where no SM-DP+
// listens: the card answers GetEUICCChallenge and GetEUICCInfo, then initiateAuthentication
// fails, which is reported on one lpac-style line with exit status 1.
func TestDownloadCards(t *testing.T) {
	dir, eid := testPKI(t)
	addr := testenv.FreeAddr(t) // nothing listens there
	state := filepath.Join(t.TempDir(), "card.json")
	t.Setenv(envCardEID, eid)
	tests := []struct {
		name string
		args []string
	}{
		{name: "in-process", args: []string{"--card-pki", dir, "--eid", eid, "--card-state", state}},
		{name: "stdio", args: []string{"--card-stdio", os.Args[0] + " -test.run=^$"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "stdio" {
				t.Setenv(envCardPKI, dir) // seen by the card process only: TestMain already ran here
			}
			args := append([]string{"download", "--insecure", "--timeout", "5s"}, tc.args...)
			args = append(args, "LPA:1$"+addr+"$MATCHING-ID")
			code, out, stderr := runCLI(t, args...)
			if code != 1 {
				t.Fatalf("exit status %d, want 1 (stderr %s)", code, stderr)
			}
			if out.Type != "lpa" || out.Payload.Code != -1 || out.Payload.Data["function"] != "initiateAuthentication" {
				t.Errorf("output %+v (stderr %s), want an lpa line with code -1 from initiateAuthentication", out, stderr)
			}
			if !strings.Contains(out.Payload.Message, "initiateAuthentication") {
				t.Errorf("message %q", out.Payload.Message)
			}
		})
	}
	if _, err := os.Stat(state); err != nil {
		t.Errorf("--card-state file not written: %v", err)
	}
}

func TestNotificationProcess(t *testing.T) {
	dir, eid := testPKI(t)
	code, out, stderr := runCLI(t, "notification", "process", "--card-pki", dir, "--eid", eid)
	if code != 0 || out.Payload.Code != 0 || out.Payload.Message != "success" {
		t.Fatalf("exit %d, output %+v, stderr %s", code, out, stderr)
	}
}

func TestUsage(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		code     int
		wantLine bool // a JSON result line on stdout
	}{
		{name: "no command", args: nil, code: 1},
		{name: "help", args: []string{"help"}, code: 0},
		{name: "download --help", args: []string{"download", "--help"}, code: 0},
		{name: "unknown command", args: []string{"frobnicate"}, code: 1},
		{name: "notification without process", args: []string{"notification"}, code: 1},
		{name: "no card", args: []string{"download", "LPA:1$h$M"}, code: 1},
		{name: "two cards", args: []string{"download", "--card-pki", "d", "--eid", "1", "--card-stdio", "x", "LPA:1$h$M"}, code: 1},
		{name: "pki without eid", args: []string{"download", "--card-pki", "d", "LPA:1$h$M"}, code: 1},
		{name: "eid without pki", args: []string{"download", "--card-stdio", "x", "--eid", "1", "LPA:1$h$M"}, code: 1},
		{name: "ca and insecure", args: []string{"download", "--ca", "f", "--insecure", "--card-stdio", "x", "LPA:1$h$M"}, code: 1},
		{name: "unknown flag", args: []string{"download", "--nope", "LPA:1$h$M"}, code: 1},
		{name: "bad activation code", args: []string{"download", "--card-stdio", "x", "LPA:1$h$A_B"}, code: 1, wantLine: true},
		{name: "no activation code", args: []string{"download", "--card-stdio", "x"}, code: 1, wantLine: true},
		{name: "two activation codes", args: []string{"download", "--card-stdio", "x", "1$h$A", "1$h$B"}, code: 1, wantLine: true},
		{name: "card command missing", args: []string{"download", "--card-stdio", "/nonexistent/card", "1$h$A"}, code: 1, wantLine: true},
		{name: "bad eid", args: []string{"download", "--card-pki", "/nonexistent", "--eid", "1", "1$h$A"}, code: 1, wantLine: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, _ := runCLI(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit status %d, want %d", code, tc.code)
			}
			if tc.wantLine && (out.Type != "lpa" || out.Payload.Code != -1) {
				t.Errorf("output %+v, want an lpa failure line", out)
			}
		})
	}
}

func TestParseFlagsAfterCode(t *testing.T) {
	o, err := parseFlags([]string{"--insecure", "LPA:1$h$M", "--card-stdio", "card serve", "--timeout", "2s"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !o.insecure || o.cardStdio != "card serve" || o.timeout.String() != "2s" || len(o.positional) != 1 || o.positional[0] != "LPA:1$h$M" {
		t.Errorf("options %+v", o)
	}
}
