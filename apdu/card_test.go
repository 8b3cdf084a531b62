package apdu

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// step is one command APDU and the exact response APDU expected, in hex with optional spaces.
type step struct{ capdu, rapdu string }

func TestCardTransmit(t *testing.T) {
	const (
		selectBasic = "00 A4 04 0C 10 " + aidHex // SELECT ISD-R, no response data
		selectCh1   = "01 A4 04 0C 10 " + aidHex
		open        = "00 70 00 00 01"
		echoReq     = "BF3E035C015A" // GetEuiccDataRequest{tagList 5A}, echoed by testApplet
	)
	tests := []struct {
		name  string
		steps []step
	}{
		// SELECT
		{"select ISD-R returns FCI", []step{{"00 A4 04 00 10 " + aidHex + " 00", fciHex + "9000"}}},
		{"select ISD-R without Le", []step{{"00 A4 04 00 10 " + aidHex, fciHex + "9000"}}},
		{"select ISD-R P2 0C no data", []step{{selectBasic, "9000"}}},
		{"select with Le shorter than FCI", []step{
			{"00 A4 04 00 10 " + aidHex + " 10", fciHex[:32] + "610A"},
			{"00 C0 00 00 0A", fciHex[32:] + "9000"},
		}},
		{"select unknown AID", []step{{"00 A4 04 00 07 A0000000871002", "6A82"}}},
		{"select truncated ISD-R AID", []step{{"00 A4 04 00 0F " + aidHex[:30], "6A82"}}},
		{"select without AID", []step{{"00 A4 04 00 00", "6A82"}, {"00 A4 04 00", "6A82"}}}, // case 2 and case 1
		{"select next occurrence", []step{{"00 A4 04 02 10 " + aidHex, "6A82"}}},
		{"select by file identifier", []step{{"00 A4 00 0C 02 3F00", "6A86"}}},
		{"select bad P2", []step{{"00 A4 04 10 10 " + aidHex, "6A86"}}},
		{"select with proprietary CLA", []step{{"80 A4 04 00 10 " + aidHex, "6E00"}}},
		{"failed select keeps selection", []step{
			{selectBasic, "9000"},
			{"00 A4 04 00 07 A0000000871002", "6A82"},
			{"80 E2 91 00 06 " + echoReq, echoReq + "9000"},
		}},

		// MANAGE CHANNEL
		{"open close reopen lowest free", []step{
			{open, "01 9000"}, {open, "02 9000"},
			{"00 70 80 01 00", "9000"},
			{open, "01 9000"}, {open, "03 9000"},
			{open, "6A81"},
		}},
		{"open without Le", []step{{"00 70 00 00", "01 9000"}}},
		{"open given channel", []step{
			{"00 70 00 02", "9000"},
			{"00 70 00 02", "6985"},
			{"00 70 00 04", "6881"},
			{"00 70 00 14", "6A86"},
			{open, "01 9000"},
		}},
		{"close", []step{
			{"00 70 80 00", "6A86"},
			{"00 70 80 02", "6881"},
			{"00 70 80 14", "6A86"},
			{open, "01 9000"},
			{selectCh1, "9000"},
			{"01 70 80 00", "9000"},
			{selectCh1, "6881"},
		}},
		{"closing forgets selection", []step{
			{open, "01 9000"}, {selectCh1, "9000"},
			{"00 70 80 01", "9000"},
			{open, "01 9000"},
			{"81 E2 91 00 06 " + echoReq, "6985"},
		}},
		{"manage channel bad P1", []step{{"00 70 40 00 00", "6A86"}}},
		{"manage channel with data", []step{{"00 70 00 00 01 AA", "6700"}}},
		{"manage channel proprietary CLA", []step{{"80 70 00 00 01", "6E00"}}},
		{"opened from channel 1 inherits ISD-R", []step{
			{open, "01 9000"}, {selectCh1, "9000"},
			{"01 70 00 00 01", "02 9000"},
			{"82 E2 91 00 06 " + echoReq, echoReq + "9000"},
		}},
		{"opened from basic channel selects nothing", []step{
			{selectBasic, "9000"},
			{open, "01 9000"},
			{"81 E2 91 00 06 " + echoReq, "6985"},
		}},

		// STORE DATA
		{"store data one block on channel 1", []step{
			{open, "01 9000"}, {selectCh1, "9000"},
			{"81 E2 91 00 06 " + echoReq, echoReq + "9000"},
		}},
		{"store data three blocks", []step{
			{open, "01 9000"}, {selectCh1, "9000"},
			{"81 E2 11 00 02 BF3E", "9000"},
			{"81 E2 11 01 02 035C", "9000"},
			{"81 E2 91 02 02 015A", echoReq + "9000"},
		}},
		{"store data with Le 00", []step{{selectBasic, "9000"}, {"80 E2 91 00 06 " + echoReq + " 00", echoReq + "9000"}}},
		{"store data with short Le then GET RESPONSE", []step{
			{selectBasic, "9000"},
			{"80 E2 91 00 06 " + echoReq + " 02", "BF3E 6104"},
			{"80 C0 00 00 04", "035C015A 9000"},
		}},
		{"block out of order", []step{
			{selectBasic, "9000"},
			{"80 E2 11 00 02 BF3E", "9000"},
			{"80 E2 91 02 02 015A", "6A86"},
			{"80 E2 91 01 04 035C015A", "6A86"}, // the sequence was dropped
		}},
		{"first block not 0", []step{{selectBasic, "9000"}, {"80 E2 91 01 06 " + echoReq, "6A86"}}},
		{"block 0 restarts", []step{
			{selectBasic, "9000"},
			{"80 E2 11 00 02 EEEE", "9000"},
			{"80 E2 91 00 06 " + echoReq, echoReq + "9000"},
		}},
		{"other command drops sequence", []step{
			{selectBasic, "9000"},
			{"80 E2 11 00 02 BF3E", "9000"},
			{selectBasic, "9000"},
			{"80 E2 91 01 04 035C015A", "6A86"},
		}},
		{"sequences are per channel", []step{
			{selectBasic, "9000"}, {open, "01 9000"}, {selectCh1, "9000"},
			{"80 E2 11 00 02 BF3E", "9000"},
			{"81 E2 91 00 02 EE00", "6A80"},
			{"80 E2 91 01 04 035C015A", echoReq + "9000"},
		}},
		{"store data bad P1", []step{
			{selectBasic, "9000"},
			{"80 E2 01 00 06 " + echoReq, "6A86"},
			{"80 E2 90 00 06 " + echoReq, "6A86"},
			{"80 E2 11 00 02 BF3E", "9000"},
			{"80 E2 81 01 04 035C015A", "6A86"},
			{"80 E2 91 01 04 035C015A", "6A86"}, // the bad block dropped the sequence
		}},
		{"store data without data", []step{{selectBasic, "9000"}, {"80 E2 91 00", "6700"}, {"80 E2 91 00 00", "6700"}}},
		{"store data interindustry CLA", []step{{selectBasic, "9000"}, {"00 E2 91 00 06 " + echoReq, "6E00"}}},
		{"reserved and invalid CLA", []step{
			{selectBasic, "9000"},
			{"A0 E2 91 00 06 " + echoReq, "6E00"},
			{"20 A4 04 0C 10 " + aidHex, "6E00"},
			{"FF E2 91 00 06 " + echoReq, "6E00"},
		}},
		{"secure messaging and chaining", []step{
			{selectBasic, "9000"},
			{"84 E2 91 00 06 " + echoReq, "6882"},
			{"E0 E2 91 00 06 " + echoReq, "6882"},
			{"90 E2 91 00 06 " + echoReq, "6884"},
			{"10 A4 04 0C 10 " + aidHex, "6884"},
		}},
		{"wrong INS", []step{
			{selectBasic, "9000"},
			{"80 CA 00 5A 00", "6D00"},
			{"00 B0 00 00 00", "6D00"},
			{"80 E3 91 00 06 " + echoReq, "6D00"},
		}},
		{"channel not open", []step{
			{"82 E2 91 00 06 " + echoReq, "6881"},
			{"03 A4 04 0C 10 " + aidHex, "6881"},
			{"81 C0 00 00 00", "6881"},
		}},
		{"channel beyond the card", []step{
			{"C3 E2 91 00 06 " + echoReq, "6881"}, // channel 7
			{"4F 70 00 00 01", "6881"},            // channel 19
		}},
		{"channel without ISD-R", []step{{open, "01 9000"}, {"81 E2 91 00 06 " + echoReq, "6985"}}},
		{"basic channel without ISD-R", []step{{"80 E2 91 00 06 " + echoReq, "6985"}}},

		// GET RESPONSE
		{"get response without pending data", []step{
			{"00 C0 00 00 00", "6985"},
			{"80 C0 00 00 00", "6985"},
			{selectBasic, "9000"},
			{"80 C0 00 00 10", "6985"},
		}},
		{"get response after complete response", []step{
			{"00 A4 04 00 10 " + aidHex + " 00", fciHex + "9000"},
			{"00 C0 00 00 00", "6985"},
		}},
		{"get response bad P1 P2 keeps data", []step{
			{"00 A4 04 00 10 " + aidHex + " 10", fciHex[:32] + "610A"},
			{"00 C0 01 00 0A", "6A86"},
			{"00 C0 00 00 01 AA", "6700"},
			{"00 C0 00 00 0A", fciHex[32:] + "9000"},
		}},
		{"get response in pieces and Le 00", []step{
			{"00 A4 04 00 10 " + aidHex + " 10", fciHex[:32] + "610A"},
			{"00 C0 00 00 04", fciHex[32:40] + "6106"},
			{"00 C0 00 00 00", fciHex[40:] + "9000"},
		}},
		{"pending data dropped by another command", []step{
			{"00 A4 04 00 10 " + aidHex + " 10", fciHex[:32] + "610A"},
			{selectBasic, "9000"},
			{"00 C0 00 00 0A", "6985"},
		}},
		{"pending data per channel", []step{
			{open, "01 9000"}, {selectCh1, "9000"},
			{"81 E2 91 00 06 " + echoReq + " 02", "BF3E 6104"},
			{selectBasic, "9000"},
			{"81 C0 00 00 04", "035C015A 9000"},
		}},

		// Lengths
		{"malformed lengths", []step{
			{"", "6700"},
			{"00", "6700"},
			{"00 A4 04", "6700"},
			{"00 A4 04 00 05 A0", "6700"},
			{"00 A4 04 00 02 A000 00 00", "6700"},
			{"00 A4 04 00 00 00 10 " + aidHex, "6700"}, // extended length
			{"00 C0 00 00 00 00 00", "6700"},
		}},

		// Applet errors
		{"applet errors become status words", []step{
			{selectBasic, "9000"},
			{"80 E2 91 00 02 EE00", "6A80"},
			{"80 E2 91 00 02 EC00", "6A88"},
			{"80 E2 91 00 02 EF00", "6F00"},
			{"80 E2 91 00 02 ED00", "6F00"},
			{"80 E2 91 00 06 " + echoReq, echoReq + "9000"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewCard(testApplet{})
			for i, s := range tt.steps {
				got := c.Transmit(t.Context(), h(t, s.capdu))
				if want := h(t, s.rapdu); !bytes.Equal(got, want) {
					t.Fatalf("step %d: %s\n got  %X\n want %X", i, s.capdu, got, want)
				}
			}
		})
	}
}

// TestCardLargeResponse sends a 3000-byte request in 120-byte STORE DATA blocks by hand and
// fetches the 5000-byte response with GET RESPONSE, checking every status word of the 61xx chain.
func TestCardLargeResponse(t *testing.T) {
	ctx := t.Context()
	c := NewCard(testApplet{})
	if r := c.Transmit(ctx, h(t, "00 70 00 00 01")); !bytes.Equal(r, h(t, "01 9000")) {
		t.Fatalf("MANAGE CHANNEL: %X", r)
	}
	if r := c.Transmit(ctx, h(t, "01 A4 04 00 10"+aidHex+"00")); !bytes.Equal(r, h(t, fciHex+"9000")) {
		t.Fatalf("SELECT: %X", r)
	}
	req := bigRequest(3000)
	var r []byte
	for block := 0; block*120 < len(req); block++ {
		chunk := req[block*120 : min(len(req), (block+1)*120)]
		p1 := byte(0x11)
		if (block+1)*120 >= len(req) {
			p1 = 0x91
		}
		r = c.Transmit(ctx, append([]byte{0x81, 0xE2, p1, byte(block), byte(len(chunk))}, chunk...))
		if p1 == 0x11 && !bytes.Equal(r, h(t, "9000")) {
			t.Fatalf("block %d: %X", block, r)
		}
	}
	want := bigResponse(req)
	var got []byte
	for left := len(want); ; {
		n := min(left, 256)
		left -= n
		sw := []byte{0x61, byte(min(left, 256))}
		if left == 0 {
			sw = []byte{0x90, 0x00}
		}
		if len(r) != n+2 || !bytes.Equal(r[n:], sw) {
			t.Fatalf("with %d bytes left: response of %d bytes ending %X, want %d bytes ending %X", left, len(r), r[max(len(r)-2, 0):], n+2, sw)
		}
		got = append(got, r[:n]...)
		if left == 0 {
			break
		}
		r = c.Transmit(ctx, []byte{0x81, 0xC0, 0x00, 0x00, sw[1]})
	}
	if !bytes.Equal(got, want) {
		t.Fatal("reassembled response differs from the applet's")
	}
}

func TestCardOpenLogicalChannel(t *testing.T) {
	ctx := t.Context()
	c := NewCard(testApplet{})
	tests := []struct {
		name   string
		aid    []byte
		wantCh byte
		wantSW uint16 // 0: success; 1: an error without status word
	}{
		{"ISD-R", ISDRAID(), 1, 0},
		{"unknown AID releases the channel", h(t, "A0000000871002"), 0, SWFileNotFound},
		{"ISD-R again", ISDRAID(), 2, 0},
		{"empty AID", nil, 0, 1},
		{"AID too long for Lc", make([]byte, 256), 0, 1},
		{"third channel", ISDRAID(), 3, 0},
		{"no channel left", ISDRAID(), 0, SWFunctionNotSupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch, err := c.OpenLogicalChannel(ctx, tt.aid)
			sw, hasSW := StatusWord(err)
			switch {
			case tt.wantSW == 0 && (err != nil || ch != tt.wantCh):
				t.Fatalf("got channel %d, %v; want %d", ch, err, tt.wantCh)
			case tt.wantSW == 1 && (err == nil || hasSW):
				t.Fatalf("got %d, %v; want an error without status word", ch, err)
			case tt.wantSW > 1 && sw != tt.wantSW:
				t.Fatalf("got %d, %v; want status word %04X", ch, err, tt.wantSW)
			}
		})
	}
	for _, tc := range []struct {
		ch     byte
		wantSW uint16
	}{{2, 0}, {2, SWLogicalChannelNotSupp}, {0, 1}, {20, 1}} {
		err := c.CloseLogicalChannel(ctx, tc.ch)
		sw, hasSW := StatusWord(err)
		if (tc.wantSW == 0) != (err == nil) || (tc.wantSW == 1 && hasSW) || (tc.wantSW > 1 && sw != tc.wantSW) {
			t.Errorf("close %d: %v, want %04X", tc.ch, err, tc.wantSW)
		}
	}
	c.Reset()
	if ch, err := c.OpenLogicalChannel(ctx, ISDRAID()); err != nil || ch != 1 {
		t.Fatalf("after Reset: %d, %v; want channel 1", ch, err)
	}
}

// TestCardNineteenChannels opens every channel ISO/IEC 7816-4 allows and uses the further
// interindustry CLA coding on channels 4 to 19.
func TestCardNineteenChannels(t *testing.T) {
	ctx := t.Context()
	c := NewCard(testApplet{}, WithLogicalChannels(19))
	for want := byte(1); want <= 19; want++ {
		ch, err := c.OpenLogicalChannel(ctx, ISDRAID())
		if err != nil || ch != want {
			t.Fatalf("open: %d, %v; want %d", ch, err, want)
		}
		cla := claFor(true, ch)
		r := c.Transmit(ctx, append([]byte{cla, 0xE2, 0x91, 0x00, 0x03}, 0xA0, 0x01, ch))
		if !bytes.Equal(r, []byte{0xA0, 0x01, ch, 0x90, 0x00}) {
			t.Fatalf("channel %d (CLA %02X): %X", ch, cla, r)
		}
	}
	if _, err := c.OpenLogicalChannel(ctx, ISDRAID()); err == nil {
		t.Fatal("a 20th channel opened")
	}
}

func TestCLACoding(t *testing.T) {
	for ch := byte(0); ch <= maxChannel; ch++ {
		for _, prop := range []bool{false, true} {
			cla := claFor(prop, ch)
			got, ok := decodeCLA(cla)
			if !ok || got != (class{proprietary: prop, channel: ch}) {
				t.Errorf("claFor(%v, %d) = %02X decodes to %+v, %v", prop, ch, cla, got, ok)
			}
		}
	}
	if cla := claFor(true, 1); cla != 0x81 {
		t.Errorf("STORE DATA on channel 1: CLA %02X, want 81 (CARD-NOTES)", cla)
	}
	if cla := claFor(true, 4); cla != 0xC0 {
		t.Errorf("STORE DATA on channel 4: CLA %02X, want C0", cla)
	}
}

func TestAppletStatus(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want uint16
	}{
		{"SWError", SWError{SW: 0x6A80}, 0x6A80},
		{"wrapped SWError", fmt.Errorf("x: %w", SWError{SW: 0x6A88}), 0x6A88},
		{"wrapped pointer", fmt.Errorf("x: %w", &SWError{SW: 0x6985}), 0x6985},
		{"nil pointer", (*SWError)(nil), SWUnknown},
		{"warning", SWError{SW: 0x6283}, 0x6283},
		{"success is not an error", SWError{SW: 0x9000}, SWUnknown},
		{"61xx is not an error", SWError{SW: 0x6110}, SWUnknown},
		{"zero", SWError{}, SWUnknown},
		{"SW1 70", SWError{SW: 0x7000}, SWUnknown},
		{"plain error", fmt.Errorf("boom"), SWUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := appletStatus(tt.err); got != tt.want {
				t.Errorf("got %04X, want %04X", got, tt.want)
			}
		})
	}
	if got := (SWError{SW: 0x6A80}).Error(); got != "status word 6A80" {
		t.Errorf("Error() = %q", got)
	}
}

func TestCardMaxRequest(t *testing.T) {
	c := NewCard(testApplet{}, WithMaxRequest(200))
	steps := []step{
		{"00 A4 04 0C 10 " + aidHex, "9000"},
		{"80 E2 11 00 78 " + strings.Repeat("AA", 120), "9000"},
		{"80 E2 91 01 78 " + strings.Repeat("AA", 120), "6A84"},
		{"80 E2 91 00 03 A00155", "A00155 9000"},
	}
	for i, s := range steps {
		if got := c.Transmit(t.Context(), h(t, s.capdu)); !bytes.Equal(got, h(t, s.rapdu)) {
			t.Fatalf("step %d: got %X, want %s", i, got, s.rapdu)
		}
	}
}

// TestCardWrappedBlockNumber checks that P2 wraps from FF to 00 in a request of more than 256
// blocks (lpac keeps counting in a uint8) instead of restarting the request.
func TestCardWrappedBlockNumber(t *testing.T) {
	ctx := t.Context()
	c := NewCard(testApplet{})
	c.Transmit(ctx, h(t, "00 A4 04 0C 10 "+aidHex))
	var want []byte
	for block := 0; block < 300; block++ {
		p1 := byte(0x11)
		if block == 299 {
			p1 = 0x91
		}
		data := []byte{0xA0 + byte(block>>8), byte(block)}
		want = append(want, data...)
		r := c.Transmit(ctx, append([]byte{0x80, 0xE2, p1, byte(block), 2}, data...))
		if p1 == 0x11 && !bytes.Equal(r, h(t, "9000")) {
			t.Fatalf("block %d: %X", block, r)
		}
		if p1 == 0x91 {
			var got []byte
			for status(r) != SWNoError {
				if r[len(r)-2] != 0x61 {
					t.Fatalf("last block: %X", r)
				}
				got = append(got, r[:len(r)-2]...)
				r = c.Transmit(ctx, []byte{0x80, 0xC0, 0, 0, r[len(r)-1]})
			}
			got = append(got, r[:len(r)-2]...)
			if !bytes.Equal(got, want) {
				t.Fatalf("echo of 300 blocks differs")
			}
		}
	}
}

func TestCardConcurrent(t *testing.T) {
	c := NewCard(testApplet{})
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			ctx := context.Background()
			es10, err := OpenES10(ctx, NewCardTransport(c))
			if err != nil {
				t.Error(err)
				return
			}
			defer es10.Close(ctx)
			for i := range 5 {
				req := bigRequest(1000 + 100*int(es10.Channel()) + i)
				resp, err := es10.Call(ctx, req)
				if err != nil || !bytes.Equal(resp, bigResponse(req)) {
					t.Errorf("channel %d call %d: %d bytes, %v", es10.Channel(), i, len(resp), err)
				}
			}
		})
	}
	wg.Wait()
}

func TestNewCardNilApplet(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("NewCard(nil) did not panic")
		}
	}()
	NewCard(nil)
}
