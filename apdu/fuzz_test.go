package apdu

import (
	"context"
	"testing"
)

// FuzzTransmit feeds a fresh card any sequence of command APDUs and checks that it answers each
// with at most 256 data bytes and a status word the card can produce. The input is a channel
// count byte, then APDUs framed by a length byte each.
func FuzzTransmit(f *testing.F) {
	sel := func(cla byte) []byte {
		return append([]byte{cla, 0xA4, 0x04, 0x00, 0x10}, isdrAID[:]...)
	}
	frame := func(apdus ...[]byte) []byte {
		out := []byte{3}
		for _, a := range apdus {
			out = append(out, byte(len(a)))
			out = append(out, a...)
		}
		return out
	}
	big := bigRequest(400)
	f.Add(frame(
		[]byte{0x00, 0x70, 0x00, 0x00, 0x01},
		sel(0x01),
		append([]byte{0x81, 0xE2, 0x11, 0x00, 200}, big[:200]...),
		append([]byte{0x81, 0xE2, 0x91, 0x01, 200}, big[200:]...),
		[]byte{0x81, 0xC0, 0x00, 0x00, 0x00},
		[]byte{0x81, 0xC0, 0x00, 0x00, 0x10},
		[]byte{0x00, 0x70, 0x80, 0x01, 0x00},
	))
	f.Add(frame(sel(0x00), []byte{0x80, 0xE2, 0x91, 0x00, 0x03, 0xBF, 0x2E, 0x00}, []byte{0x00, 0xC0, 0x00, 0x00, 0x2C}))
	f.Add(frame(sel(0x00), []byte{0x80, 0xE2, 0x91, 0x00, 0x02, 0xEE, 0x00}, []byte{0x80, 0xE2, 0x11, 0x05, 0x01, 0x00}))
	f.Add(frame([]byte{0xC3, 0x70, 0x00, 0x00, 0x01}, []byte{0x00}, []byte{}, []byte{0x00, 0xA4, 0x04, 0x00, 0x00, 0x00, 0x01}))
	f.Add([]byte{19, 4, 0x00, 0x70, 0x00, 0x13, 5, 0x4F, 0xA4, 0x04, 0x00, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		c := NewCard(testApplet{}, WithLogicalChannels(int(data[0]%20)), WithMaxRequest(2048))
		ctx := context.Background()
		for rest := data[1:]; len(rest) > 0; {
			n := min(int(rest[0]), len(rest)-1)
			capdu := rest[1 : 1+n]
			rest = rest[1+n:]
			r := c.Transmit(ctx, capdu)
			if len(r) < 2 || len(r) > 258 {
				t.Fatalf("%X: response of %d bytes", capdu, len(r))
			}
			switch sw1 := r[len(r)-2]; sw1 {
			case 0x90, 0x61:
			case 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6A, 0x6B, 0x6C, 0x6D, 0x6E, 0x6F:
				if len(r) != 2 {
					t.Fatalf("%X: error status %X with data", capdu, r)
				}
			default:
				t.Fatalf("%X: status word %X", capdu, r[len(r)-2:])
			}
		}
	})
}
