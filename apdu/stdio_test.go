package apdu

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

// replyData is the transmit reply carrying rapdu, as ServeStdio must write it.
func replyData(rapdu []byte) string {
	return `{"type":"apdu","payload":{"ecode":0,"data":"` + strings.ToUpper(hex.EncodeToString(rapdu)) + `"}}`
}

const (
	replyOK   = `{"type":"apdu","payload":{"ecode":0}}`
	replyFail = `{"type":"apdu","payload":{"ecode":-1}}`
)

// TestServeStdioSession plays the lines lpac writes for one ES10 call (lpac's own progress and
// result lines included) and checks every reply byte for byte.
func TestServeStdioSession(t *testing.T) {
	resp := mediumResponse() // 300 bytes: 256 with the last block, 44 (0x2C) with GET RESPONSE
	progress := `{"type":"progress","payload":{"code":0,"message":"es10b_get_euicc_challenge_and_info1","data":null}}`
	result := `{"type":"lpa","payload":{"code":0,"message":"success","data":null}}`
	script := []struct{ in, out string }{
		{`{"type":"apdu","payload":{"func":"connect","param":null}}`, replyOK},
		{progress, ""},
		{`{"type":"apdu","payload":{"func":"logic_channel_open","param":"a0000005591010ffffffff8900000100"}}`,
			`{"type":"apdu","payload":{"ecode":1}}`},
		{`{"type":"apdu","payload":{"func":"transmit","param":"81e2110002bf2e"}}`, replyData(h(t, "9000"))},
		{`{"type":"apdu","payload":{"func":"transmit","param":"81e291010100"}}`,
			replyData(append(resp[:256:256], 0x61, 0x2C))},
		{`{"type":"apdu","payload":{"func":"transmit","param":"81C000002C"}}`,
			replyData(append(resp[256:], 0x90, 0x00))},
		{`{"type":"apdu","payload":{"func":"transmit","param":"81c0000000"}}`, replyData(h(t, "6985"))},
		{`{"type":"apdu","payload":{"func":"logic_channel_close","param":"01"}}`, replyOK},
		{result, ""},
		{`{"type":"apdu","payload":{"func":"disconnect","param":null}}`, replyOK},
	}
	var in, wantOut strings.Builder
	for _, s := range script {
		in.WriteString(s.in + "\n")
		if s.out != "" {
			wantOut.WriteString(s.out + "\n")
		}
	}
	var out, other bytes.Buffer
	if err := ServeStdio(t.Context(), NewCard(testApplet{}), strings.NewReader(in.String()), &out, &other); err != nil {
		t.Fatal(err)
	}
	gotLines, wantLines := strings.Split(out.String(), "\n"), strings.Split(wantOut.String(), "\n")
	for i := range max(len(gotLines), len(wantLines)) {
		var g, w string
		if i < len(gotLines) {
			g = gotLines[i]
		}
		if i < len(wantLines) {
			w = wantLines[i]
		}
		if g != w {
			t.Errorf("reply %d:\n got  %s\n want %s", i, g, w)
		}
	}
	if want := progress + "\n" + result + "\n"; other.String() != want {
		t.Errorf("other:\n got  %q\n want %q", other.String(), want)
	}
}

func TestServeStdioMalformed(t *testing.T) {
	const openISDR = `{"type":"apdu","payload":{"func":"logic_channel_open","param":"A0000005591010FFFFFFFF8900000100"}}`
	tests := []struct {
		name      string
		in        string
		out       []string
		wantOther string
	}{
		{"unknown func", `{"type":"apdu","payload":{"func":"reset","param":null}}`, []string{replyFail}, ""},
		{"missing func", `{"type":"apdu","payload":{"param":"00"}}`, []string{replyFail}, ""},
		{"func not a string", `{"type":"apdu","payload":{"func":1,"param":null}}`, []string{replyFail}, ""},
		{"payload not an object", `{"type":"apdu","payload":5}`, []string{replyFail}, ""},
		{"payload null", `{"type":"apdu","payload":null}`, []string{replyFail}, ""},
		{"payload missing", `{"type":"apdu"}`, []string{replyFail}, ""},
		{"reply-shaped line", replyOK, []string{replyFail}, ""},
		{"truncated apdu line", `{"type":"apdu","payload":{"func":"conn`, []string{replyFail}, ""},
		{"transmit bad hex", `{"type":"apdu","payload":{"func":"transmit","param":"zz"}}`, []string{replyFail}, ""},
		{"transmit odd hex", `{"type":"apdu","payload":{"func":"transmit","param":"80e"}}`, []string{replyFail}, ""},
		{"transmit null param", `{"type":"apdu","payload":{"func":"transmit","param":null}}`, []string{replyFail}, ""},
		{"transmit param not a string", `{"type":"apdu","payload":{"func":"transmit","param":128}}`, []string{replyFail}, ""},
		{"transmit empty APDU", `{"type":"apdu","payload":{"func":"transmit","param":""}}`, []string{replyData(h(t, "6700"))}, ""},
		{"transmit garbage APDU", `{"type":"apdu","payload":{"func":"transmit","param":"ff"}}`, []string{replyData(h(t, "6700"))}, ""},
		{"transmit on closed channel", `{"type":"apdu","payload":{"func":"transmit","param":"82e2910003bf2e00"}}`,
			[]string{replyData(h(t, "6881"))}, ""},
		{"open unknown AID", `{"type":"apdu","payload":{"func":"logic_channel_open","param":"a0000000871002"}}`, []string{replyFail}, ""},
		{"open null AID", `{"type":"apdu","payload":{"func":"logic_channel_open","param":null}}`, []string{replyFail}, ""},
		{"open empty AID", `{"type":"apdu","payload":{"func":"logic_channel_open","param":""}}`, []string{replyFail}, ""},
		{"open twice", openISDR + "\n" + openISDR, []string{`{"type":"apdu","payload":{"ecode":1}}`, `{"type":"apdu","payload":{"ecode":2}}`}, ""},
		{"close basic channel", `{"type":"apdu","payload":{"func":"logic_channel_close","param":"00"}}`, []string{replyFail}, ""},
		{"close two bytes", `{"type":"apdu","payload":{"func":"logic_channel_close","param":"0102"}}`, []string{replyFail}, ""},
		{"close null", `{"type":"apdu","payload":{"func":"logic_channel_close","param":null}}`, []string{replyFail}, ""},
		{"close channel not open", `{"type":"apdu","payload":{"func":"logic_channel_close","param":"02"}}`, []string{replyFail}, ""},
		{"not JSON", `hello world`, nil, "hello world\n"},
		{"JSON array", `[1,2]`, nil, "[1,2]\n"},
		{"type not a string", `{"type":7}`, nil, `{"type":7}` + "\n"},
		{"lpa line with CRLF", "{\"type\":\"lpa\",\"payload\":{\"code\":-1}}\r", nil, `{"type":"lpa","payload":{"code":-1}}` + "\n"},
		{"blank lines", "\n   \n", nil, ""},
		{"last line without newline", `{"type":"apdu","payload":{"func":"connect","param":null}}`, []string{replyOK}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, other bytes.Buffer
			in := tt.in
			if tt.name != "last line without newline" {
				in += "\n"
			}
			if err := ServeStdio(t.Context(), NewCard(testApplet{}), strings.NewReader(in), &out, &other); err != nil {
				t.Fatal(err)
			}
			want := ""
			for _, l := range tt.out {
				want += l + "\n"
			}
			if out.String() != want {
				t.Errorf("out:\n got  %q\n want %q", out.String(), want)
			}
			if other.String() != tt.wantOther {
				t.Errorf("other:\n got  %q\n want %q", other.String(), tt.wantOther)
			}
		})
	}
}

// TestServeStdioReleasesChannels checks that channels a session leaves open are closed when its
// input ends, and that a nil other discards lpac's lines.
func TestServeStdioReleasesChannels(t *testing.T) {
	card := NewCard(testApplet{})
	in := `{"type":"apdu","payload":{"func":"logic_channel_open","param":"a0000005591010ffffffff8900000100"}}` + "\n" +
		`{"type":"progress","payload":{}}` + "\n"
	var out bytes.Buffer
	if err := ServeStdio(t.Context(), card, strings.NewReader(in), &out, nil); err != nil {
		t.Fatal(err)
	}
	if ch, err := card.OpenLogicalChannel(t.Context(), ISDRAID()); err != nil || ch != 1 {
		t.Fatalf("channel 1 still open after the session: got %d, %v", ch, err)
	}
}

func TestServeStdioErrors(t *testing.T) {
	t.Run("context canceled", func(t *testing.T) {
		pr, pw := io.Pipe()
		defer pw.Close()
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- ServeStdio(ctx, NewCard(testApplet{}), pr, io.Discard, io.Discard) }()
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("got %v, want context.Canceled", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("ServeStdio did not return after cancel")
		}
	})
	t.Run("write fails", func(t *testing.T) {
		in := strings.NewReader(`{"type":"apdu","payload":{"func":"connect","param":null}}` + "\n")
		err := ServeStdio(t.Context(), NewCard(testApplet{}), in, failingWriter{}, io.Discard)
		if err == nil {
			t.Fatal("no error")
		}
	})
	t.Run("other fails", func(t *testing.T) {
		err := ServeStdio(t.Context(), NewCard(testApplet{}), strings.NewReader("progress\n"), io.Discard, failingWriter{})
		if err == nil {
			t.Fatal("no error")
		}
	})
	t.Run("read fails", func(t *testing.T) {
		err := ServeStdio(t.Context(), NewCard(testApplet{}), io.MultiReader(strings.NewReader("x\n"), failingReader{}), io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "disk on fire") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("line too long", func(t *testing.T) {
		err := ServeStdio(t.Context(), NewCard(testApplet{}), strings.NewReader(strings.Repeat("a", maxStdioLine+1)), io.Discard, io.Discard)
		if err == nil {
			t.Fatal("no error")
		}
	})
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("pipe closed") }

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

// TestStdioTransportRequests checks the request lines StdioTransport writes, byte for byte
// against what lpac writes, and its reading of replies (lower-case hex included).
func TestStdioTransportRequests(t *testing.T) {
	ctx := t.Context()
	replies := strings.Join([]string{
		replyOK,
		`{"type":"apdu","payload":{"ecode":2}}`,
		`{"type":"apdu","payload":{"ecode":0,"data":"bf2e9000"}}`,
		replyOK,
		replyOK,
	}, "\n") + "\n"
	var w bytes.Buffer
	tr := NewStdioTransport(strings.NewReader(replies), &w)
	if err := tr.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	ch, err := tr.OpenLogicalChannel(ctx, ISDRAID())
	if err != nil || ch != 2 {
		t.Fatalf("open: %d, %v", ch, err)
	}
	r, err := tr.Transmit(ctx, h(t, "82E2910003BF2E00"))
	if err != nil || !bytes.Equal(r, h(t, "BF2E9000")) {
		t.Fatalf("transmit: %X, %v", r, err)
	}
	if err := tr.CloseLogicalChannel(ctx, ch); err != nil {
		t.Fatal(err)
	}
	if err := tr.Disconnect(ctx); err != nil {
		t.Fatal(err)
	}
	want := `{"type":"apdu","payload":{"func":"connect","param":null}}
{"type":"apdu","payload":{"func":"logic_channel_open","param":"a0000005591010ffffffff8900000100"}}
{"type":"apdu","payload":{"func":"transmit","param":"82e2910003bf2e00"}}
{"type":"apdu","payload":{"func":"logic_channel_close","param":"02"}}
{"type":"apdu","payload":{"func":"disconnect","param":null}}
`
	if w.String() != want {
		t.Errorf("requests:\n got  %s\n want %s", w.String(), want)
	}
}

func TestStdioTransportBadReplies(t *testing.T) {
	type op func(context.Context, *StdioTransport) error
	transmit := func(ctx context.Context, tr *StdioTransport) error {
		_, err := tr.Transmit(ctx, h(t, "80E2910003BF2E00"))
		return err
	}
	open := func(ctx context.Context, tr *StdioTransport) error {
		_, err := tr.OpenLogicalChannel(ctx, ISDRAID())
		return err
	}
	connect := func(ctx context.Context, tr *StdioTransport) error { return tr.Connect(ctx) }
	tests := []struct {
		name   string
		op     op
		reply  string // "" for none: the reader ends
		sticky bool   // later calls fail too
	}{
		{"not JSON", transmit, `9000`, false},
		{"wrong type", transmit, `{"type":"progress","payload":{"ecode":0,"data":"9000"}}`, false},
		{"payload missing", transmit, `{"type":"apdu"}`, false},
		{"payload not an object", transmit, `{"type":"apdu","payload":[0]}`, false},
		{"ecode missing", transmit, `{"type":"apdu","payload":{"data":"9000"}}`, false},
		{"ecode not a number", transmit, `{"type":"apdu","payload":{"ecode":"0","data":"9000"}}`, false},
		{"transmit ecode -1", transmit, replyFail, false},
		{"transmit bad hex", transmit, `{"type":"apdu","payload":{"ecode":0,"data":"9G00"}}`, false},
		{"transmit one byte", transmit, `{"type":"apdu","payload":{"ecode":0,"data":"90"}}`, false},
		{"transmit no data", transmit, replyOK, false},
		{"open ecode -1", open, replyFail, false},
		{"open ecode 20", open, `{"type":"apdu","payload":{"ecode":20}}`, false},
		{"connect ecode 1", connect, `{"type":"apdu","payload":{"ecode":1}}`, false},
		{"no reply", connect, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			replies := ""
			if tt.reply != "" {
				replies = tt.reply + "\n" + replyOK + "\n"
			}
			tr := NewStdioTransport(strings.NewReader(replies), io.Discard)
			if err := tt.op(ctx, tr); err == nil {
				t.Fatal("no error")
			}
			err := tr.Connect(ctx)
			if tt.sticky != (err != nil) {
				t.Fatalf("next call: %v, sticky %v", err, tt.sticky)
			}
		})
	}
	t.Run("write fails", func(t *testing.T) {
		tr := NewStdioTransport(strings.NewReader(replyOK+"\n"), failingWriter{})
		if tr.Connect(t.Context()) == nil || tr.Connect(t.Context()) == nil {
			t.Fatal("no error")
		}
	})
	t.Run("context done before", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		tr := NewStdioTransport(strings.NewReader(replyOK+"\n"), io.Discard)
		if err := tr.Connect(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v", err)
		}
		if err := tr.Connect(t.Context()); err != nil {
			t.Fatalf("nothing was sent, yet the transport broke: %v", err)
		}
	})
	t.Run("context done while waiting", func(t *testing.T) {
		pr, pw := io.Pipe()
		defer pw.Close()
		tr := NewStdioTransport(pr, io.Discard)
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
		defer cancel()
		if err := tr.Connect(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("got %v", err)
		}
		if err := tr.Connect(t.Context()); err == nil {
			t.Fatal("transport usable after an abandoned reply")
		}
	})
}

// TestStdioEndToEnd runs ES10 over StdioTransport against ServeStdio through pipes, as our test
// LPA drives a virtual card in another process.
func TestStdioEndToEnd(t *testing.T) {
	ctx := t.Context()
	reqR, reqW := io.Pipe()
	repR, repW := io.Pipe()
	var other bytes.Buffer
	served := make(chan error, 1)
	go func() {
		err := ServeStdio(ctx, NewCard(testApplet{}), reqR, repW, &other)
		repW.Close()
		served <- err
	}()
	tr := NewStdioTransport(repR, reqW)
	if err := tr.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	es10, err := OpenES10(ctx, tr)
	if err != nil {
		t.Fatal(err)
	}
	req := bigRequest(3000)
	for _, tc := range []struct {
		req, want []byte
		sw        uint16
	}{
		{req, bigResponse(req), 0},
		{h(t, "BF2E00"), mediumResponse(), 0},
		{h(t, "EE00"), nil, SWWrongData},
		{h(t, "BF3E035C015A"), h(t, "BF3E035C015A"), 0},
	} {
		got, err := es10.Call(ctx, tc.req)
		if sw, _ := StatusWord(err); sw != tc.sw || (tc.sw == 0 && (err != nil || !bytes.Equal(got, tc.want))) {
			t.Fatalf("call %X: %d bytes, %v", tc.req[:2], len(got), err)
		}
	}
	if err := es10.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := tr.Disconnect(ctx); err != nil {
		t.Fatal(err)
	}
	reqW.Close()
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	if other.Len() != 0 {
		t.Errorf("other: %q", other.String())
	}
}
