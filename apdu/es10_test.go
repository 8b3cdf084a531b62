package apdu

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
)

func TestES10Call(t *testing.T) {
	big := bigRequest(3000)
	tests := []struct {
		name    string
		opts    []ES10Option
		request []byte
		want    []byte
		wantSW  uint16 // 0: success; 1: an error without status word
	}{
		{"one block", nil, h(t, "BF3E035C015A"), h(t, "BF3E035C015A"), 0},
		{"exactly one full block", nil, pattern(120, 1), pattern(120, 1), 0},
		{"one byte over a block", nil, pattern(121, 1), pattern(121, 1), 0},
		{"300-byte response", nil, h(t, "BF2E00"), mediumResponse(), 0},
		{"3000-byte request, 5000-byte response", nil, big, bigResponse(big), 0},
		{"block size 255", []ES10Option{WithBlockSize(255)}, big, bigResponse(big), 0},
		{"block size 1", []ES10Option{WithBlockSize(1)}, big, bigResponse(big), 0},
		{"applet status word", nil, h(t, "EE00"), nil, SWWrongData},
		{"applet failure", nil, h(t, "EF00"), nil, SWUnknown},
		{"empty request", nil, nil, nil, 1},
		{"response over the limit", []ES10Option{WithMaxResponse(4999)}, big, nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			es10, err := OpenES10(ctx, NewCardTransport(NewCard(testApplet{})), tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			if es10.Channel() != 1 {
				t.Errorf("channel %d, want 1", es10.Channel())
			}
			got, err := es10.Call(ctx, tt.request)
			sw, hasSW := StatusWord(err)
			switch {
			case tt.wantSW == 0 && (err != nil || !bytes.Equal(got, tt.want)):
				t.Fatalf("got %d bytes, %v; want %d bytes", len(got), err, len(tt.want))
			case tt.wantSW == 1 && (err == nil || hasSW):
				t.Fatalf("got %v; want an error without status word", err)
			case tt.wantSW > 1 && sw != tt.wantSW:
				t.Fatalf("got %v; want status word %04X", err, tt.wantSW)
			}
			if err := es10.Close(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := es10.Call(ctx, h(t, "BF2E00")); err == nil {
				t.Fatal("call after Close succeeded")
			}
		})
	}
}

// TestES10Segmentation checks the exact headers of the APDUs ES10 sends, against CARD-NOTES and
// lpac: CLA 80|channel, INS E2, P1 11 then 91, P2 the block number, Lc, no Le; then 81 C0 00 00 xx.
func TestES10Segmentation(t *testing.T) {
	for _, tc := range []struct {
		blockSize, blocks int
	}{{120, 25}, {255, 12}, {1000 / 8, 24}} {
		t.Run(fmt.Sprint(tc.blockSize), func(t *testing.T) {
			ctx := t.Context()
			rec := &recordingTransport{Transport: NewCardTransport(NewCard(testApplet{}))}
			es10, err := OpenES10(ctx, rec, WithBlockSize(tc.blockSize))
			if err != nil {
				t.Fatal(err)
			}
			req := bigRequest(3000)
			if _, err := es10.Call(ctx, req); err != nil {
				t.Fatal(err)
			}
			// 5000 bytes: 256 with the last STORE DATA, 18 GET RESPONSE of 256, one of 136.
			if want := tc.blocks + 19; len(rec.sent) != want {
				t.Fatalf("%d APDUs, want %d", len(rec.sent), want)
			}
			var data []byte
			for i, capdu := range rec.sent[:tc.blocks] {
				n := min(tc.blockSize, len(req)-i*tc.blockSize)
				p1 := byte(0x11)
				if i == tc.blocks-1 {
					p1 = 0x91
				}
				if want := []byte{0x81, 0xE2, p1, byte(i), byte(n)}; !bytes.Equal(capdu[:5], want) || len(capdu) != 5+n {
					t.Fatalf("block %d: header %X, length %d; want %X, %d", i, capdu[:5], len(capdu), want, 5+n)
				}
				data = append(data, capdu[5:]...)
			}
			if !bytes.Equal(data, req) {
				t.Fatal("blocks do not add up to the request")
			}
			for i, capdu := range rec.sent[tc.blocks:] {
				want := h(t, "81 C0 00 00 00")
				if i == 18 {
					want = h(t, "81 C0 00 00 88")
				}
				if !bytes.Equal(capdu, want) {
					t.Fatalf("GET RESPONSE %d: %X, want %X", i, capdu, want)
				}
			}
		})
	}
}

func TestOpenES10Errors(t *testing.T) {
	ctx := t.Context()
	tests := []struct {
		name string
		t    Transport
		opts []ES10Option
	}{
		{"block size 0", NewCardTransport(NewCard(testApplet{})), []ES10Option{WithBlockSize(0)}},
		{"block size 256", NewCardTransport(NewCard(testApplet{})), []ES10Option{WithBlockSize(256)}},
		{"max response 0", NewCardTransport(NewCard(testApplet{})), []ES10Option{WithMaxResponse(0)}},
		{"no channel left", NewCardTransport(NewCard(testApplet{}, WithLogicalChannels(0))), nil},
		{"transport fails", &scriptedTransport{openErr: errors.New("reader gone")}, nil},
		{"transport returns channel 20", &scriptedTransport{channel: 20}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "no channel left" {
				// WithLogicalChannels clamps to 1: use that one up first.
				if _, err := tt.t.OpenLogicalChannel(ctx, ISDRAID()); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := OpenES10(ctx, tt.t, tt.opts...); err == nil {
				t.Fatal("OpenES10 succeeded")
			}
		})
	}
}

// scriptedTransport answers Transmit with canned responses, to play a misbehaving card.
type scriptedTransport struct {
	channel   byte
	openErr   error
	responses []string // hex; "!" for a transport error
	sent      [][]byte
}

func (s *scriptedTransport) OpenLogicalChannel(context.Context, []byte) (byte, error) {
	return s.channel, s.openErr
}

func (s *scriptedTransport) CloseLogicalChannel(context.Context, byte) error { return nil }

func (s *scriptedTransport) Transmit(_ context.Context, capdu []byte) ([]byte, error) {
	s.sent = append(s.sent, capdu)
	if len(s.responses) == 0 {
		return nil, errors.New("script exhausted")
	}
	r := s.responses[0]
	s.responses = s.responses[1:]
	if r == "!" {
		return nil, errors.New("link down")
	}
	var b []byte
	if _, err := fmt.Sscanf(r, "%X", &b); err != nil && r != "" {
		panic(err)
	}
	return b, nil
}

func TestES10MisbehavingCard(t *testing.T) {
	tests := []struct {
		name      string
		channel   byte
		responses []string
		want      string // hex of the response, or "" for an error
		wantSW    uint16
		wantSent  []string
	}{
		{"91xx is success", 1, []string{"AB9110"}, "AB", 0, []string{"81E2910001AA"}},
		{"6Cxx on GET RESPONSE retried with its Le", 1, []string{"AB6105", "6C03", "CDEF019000"}, "ABCDEF01", 0,
			[]string{"81E2910001AA", "81C0000005", "81C0000003"}},
		{"6Cxx twice", 1, []string{"AB6105", "6C03", "6C02"}, "", 0x6C02, nil},
		{"6Cxx on STORE DATA", 1, []string{"6C03"}, "", 0x6C03, nil},
		{"error status", 1, []string{"6A88"}, "", 0x6A88, nil},
		{"error after 61xx", 1, []string{"AB6110", "6F00"}, "", 0x6F00, nil},
		{"one-byte response", 1, []string{"90"}, "", 0, nil},
		{"empty response", 1, []string{""}, "", 0, nil},
		{"transport error", 1, []string{"!"}, "", 0, nil},
		{"endless 61xx", 1, []string{"AB6100", "CD6100", "EF6100", "016100", "026100"}, "", 0, nil}, // beyond WithMaxResponse(4)
		{"channel 5 CLA", 5, []string{"9000"}, "", 0, []string{"C1E2910001AA"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			st := &scriptedTransport{channel: tt.channel, responses: tt.responses}
			es10, err := OpenES10(ctx, st, WithMaxResponse(4))
			if err != nil {
				t.Fatal(err)
			}
			got, err := es10.Call(ctx, []byte{0xAA})
			sw, _ := StatusWord(err)
			switch {
			case tt.want != "" && (err != nil || !bytes.Equal(got, h(t, tt.want))):
				t.Fatalf("got %X, %v; want %s", got, err, tt.want)
			case tt.want == "" && tt.wantSW != 0 && sw != tt.wantSW:
				t.Fatalf("got %X, %v; want status word %04X", got, err, tt.wantSW)
			case tt.want == "" && tt.name != "channel 5 CLA" && err == nil:
				t.Fatalf("got %X; want an error", got)
			}
			for i, s := range tt.wantSent {
				if i >= len(st.sent) || !bytes.Equal(st.sent[i], h(t, s)) {
					t.Fatalf("APDU %d: sent %X, want %s", i, st.sent, s)
				}
			}
		})
	}
}

func TestCardTransportContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	tr := NewCardTransport(NewCard(testApplet{}))
	if _, err := tr.Transmit(ctx, h(t, "00A4040C10"+aidHex)); !errors.Is(err, context.Canceled) {
		t.Errorf("Transmit: %v", err)
	}
	if _, err := tr.OpenLogicalChannel(ctx, ISDRAID()); !errors.Is(err, context.Canceled) {
		t.Errorf("OpenLogicalChannel: %v", err)
	}
	if _, err := OpenES10(ctx, tr); err == nil {
		t.Error("OpenES10 with a canceled context succeeded")
	}
}

func TestES10CloseError(t *testing.T) {
	ctx := t.Context()
	card := NewCard(testApplet{})
	es10, err := OpenES10(ctx, NewCardTransport(card))
	if err != nil {
		t.Fatal(err)
	}
	card.Reset() // the channel disappears under the client
	if _, err := es10.Call(ctx, h(t, "BF2E00")); err == nil {
		t.Error("call on a closed channel succeeded")
	} else if sw, _ := StatusWord(err); sw != SWLogicalChannelNotSupp {
		t.Errorf("call: %v, want status word 6881", err)
	}
	if err := es10.Close(ctx); err == nil {
		t.Error("Close of a channel the card closed succeeded")
	}
	if err := es10.Close(ctx); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
