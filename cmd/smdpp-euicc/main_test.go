package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smdpp/smdpp/apdu"
	"github.com/smdpp/smdpp/devpki"
	"github.com/smdpp/smdpp/euicc"
)

// pkiDir writes a development PKI with n eUICCs and returns its directory and EIDs.
func pkiDir(t *testing.T, n int) (string, []string) {
	t.Helper()
	pki, err := devpki.Generate(devpki.Options{EUICCCount: n})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "pki")
	if err := pki.WriteDir(dir, false); err != nil {
		t.Fatal(err)
	}
	var eids []string
	for _, e := range pki.EUICCs {
		eids = append(eids, e.EID)
	}
	return dir, eids
}

// cardProcess is run() serving on pipes, driven through lpac's stdio protocol.
type cardProcess struct {
	t      *testing.T
	toCard *io.PipeWriter
	es10   *apdu.ES10
	tr     *apdu.StdioTransport
	done   chan error
	stderr *bytes.Buffer
}

func startCard(t *testing.T, args ...string) *cardProcess {
	t.Helper()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	p := &cardProcess{t: t, toCard: inW, done: make(chan error, 1), stderr: new(bytes.Buffer)}
	go func() {
		err := run(context.Background(), args, inR, outW, p.stderr)
		outW.Close()
		inR.Close()
		p.done <- err
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p.tr = apdu.NewStdioTransport(outR, inW)
	if err := p.tr.Connect(ctx); err != nil {
		t.Fatalf("connect: %v (card: %v)", err, p.wait())
	}
	var err error
	if p.es10, err = apdu.OpenES10(ctx, p.tr); err != nil {
		t.Fatalf("OpenES10: %v", err)
	}
	return p
}

func (p *cardProcess) call(hexReq string) []byte {
	p.t.Helper()
	req, _ := hex.DecodeString(hexReq)
	resp, err := p.es10.Call(context.Background(), req)
	if err != nil {
		p.t.Fatalf("ES10 %s: %v", hexReq, err)
	}
	return resp
}

// stop ends the session as lpac does, closes the card's input and returns run's result.
func (p *cardProcess) stop() error {
	p.t.Helper()
	ctx := context.Background()
	if err := p.es10.Close(ctx); err != nil {
		p.t.Errorf("close channel: %v", err)
	}
	if err := p.tr.Disconnect(ctx); err != nil {
		p.t.Errorf("disconnect: %v", err)
	}
	p.toCard.Close()
	return p.wait()
}

func (p *cardProcess) wait() error {
	select {
	case err := <-p.done:
		return err
	case <-time.After(30 * time.Second):
		p.t.Fatal("card process did not end")
		return nil
	}
}

func TestServeDevPKI(t *testing.T) {
	dir, eids := pkiDir(t, 1)
	state := filepath.Join(t.TempDir(), "card.json")

	// First run: no state yet, --eid left out (one eUICC in the directory).
	p := startCard(t, "--pki", dir, "--state", state, "--free-nv", "300000", "--default-smdp", "first.example.com")
	if got := p.call("BF3E035C015A"); !bytes.Equal(got, append([]byte{0xBF, 0x3E, 0x12, 0x5A, 0x10}, mustHex(eids[0])...)) {
		t.Fatalf("GetEuiccData %X", got)
	}
	if got := p.call("BF2200"); !bytes.Contains(got, []byte{0x82, 0x03, 0x04, 0x93, 0xE0}) {
		t.Errorf("EUICCInfo2 without free memory 300000: %X", got)
	}
	// lpac's own output lines go to standard error.
	if _, err := io.WriteString(p.toCard, `{"type":"progress","payload":{"code":0,"message":"es10c_get_eid","data":null}}`+"\n"); err != nil {
		t.Fatal(err)
	}
	// SetDefaultDpAddress changes the card's state.
	if got := p.call("BF3F138011" + hex.EncodeToString([]byte("other.example.com"))); !bytes.Equal(got, mustHex("BF3F03800100")) {
		t.Errorf("SetDefaultDpAddress %X", got)
	}
	if err := p.stop(); err != nil {
		t.Fatalf("run: %v", err)
	}
	if !strings.Contains(p.stderr.String(), `"message":"es10c_get_eid"`) {
		t.Errorf("lpac's line not copied to standard error: %q", p.stderr.String())
	}
	b, err := os.ReadFile(state)
	if err != nil {
		t.Fatal(err)
	}
	var st euicc.State
	if err := json.Unmarshal(b, &st); err != nil || st.DefaultDpAddress != "other.example.com" {
		t.Fatalf("state file %s: %v", b, err)
	}

	// Second run: the state is read back.
	p = startCard(t, "--pki", dir, "--eid", eids[0], "--state", state)
	if got := p.call("BF3C00"); !bytes.Contains(got, []byte("other.example.com")) {
		t.Errorf("configured addresses after restart %X", got)
	}
	if err := p.stop(); err != nil {
		t.Fatalf("run: %v", err)
	}
}

func TestServeSGP26(t *testing.T) {
	for _, curve := range []string{"nist", "brainpool"} {
		t.Run(curve, func(t *testing.T) {
			p := startCard(t, "--sgp26", filepath.Join("..", "..", "testdata", "certs"), "--curve", curve, "--svn", "2.5.0", "--now", "2027-01-01T00:00:00Z", "-v")
			if got := p.call("BF3E035C015A"); !bytes.HasSuffix(got, mustHex("89049032123451234512345678901235")) {
				t.Errorf("GetEuiccData %X", got)
			}
			if got := p.call("BF2000"); !bytes.Contains(got, []byte{0x82, 0x03, 2, 5, 0}) {
				t.Errorf("EUICCInfo1 without svn 2.5.0: %X", got)
			}
			if err := p.stop(); err != nil {
				t.Fatalf("run: %v", err)
			}
			if !strings.Contains(p.stderr.String(), "ES10 request") {
				t.Errorf("-v logged nothing: %q", p.stderr.String())
			}
		})
	}
}

func TestFlagErrors(t *testing.T) {
	dir, _ := pkiDir(t, 2)
	badState := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(badState, []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"nothing", nil, "exactly one"},
		{"both identities", []string{"--pki", dir, "--sgp26", dir}, "exactly one"},
		{"EID with SGP.26", []string{"--sgp26", dir, "--eid", "1"}, "--eid"},
		{"two eUICCs and no EID", []string{"--pki", dir}, "--eid"},
		{"unknown EID", []string{"--pki", dir, "--eid", "89049999000000000000000000000000"}, "no such file"},
		{"malformed EID", []string{"--pki", dir, "--eid", "x"}, "EID"},
		{"bad SVN", []string{"--sgp26", filepath.Join("..", "..", "testdata", "certs"), "--svn", "2.2"}, "--svn"},
		{"bad state", []string{"--sgp26", filepath.Join("..", "..", "testdata", "certs"), "--state", badState}, "--state"},
		{"bad clock", []string{"--sgp26", filepath.Join("..", "..", "testdata", "certs"), "--now", "yesterday"}, "--now"},
		{"bad curve", []string{"--sgp26", filepath.Join("..", "..", "testdata", "certs"), "--curve", "p384"}, "curve"},
		{"negative memory", []string{"--pki", dir, "--free-nv", "-1"}, "negative"},
		{"extra argument", []string{"--pki", dir, "extra"}, "unexpected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := run(context.Background(), tt.args, strings.NewReader(""), io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("run: %v, want an error about %q", err, tt.want)
			}
		})
	}
	if _, err := parseVersion("2.x.0"); err == nil {
		t.Error("parseVersion accepted 2.x.0")
	}
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}
