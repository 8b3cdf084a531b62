package apdu

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// The ISD-R AID in hex, as the tables below write it.
const aidHex = "A0000005591010FFFFFFFF8900000100"

// fciHex is the FCI the card answers to SELECT of the ISD-R.
const fciHex = "6F18" + "8410" + aidHex + "A504" + "9F6501FF"

// testApplet stands in for the ES10x logic of the ISD-R:
//
//	BF38…  (a large request, as AuthenticateServer is) → bigResponse(request), 5000 bytes
//	BF2E…  (GetEuiccChallenge) → mediumResponse, 300 bytes
//	EE…    → SWError 6A80          EC… → wrapped *SWError 6A88
//	EF…    → a plain error (6F00)  ED… → SWError 9000, not an error status (6F00)
//	else   → the request itself
type testApplet struct{}

func (testApplet) Process(_ context.Context, req []byte) ([]byte, error) {
	switch {
	case len(req) >= 2 && req[0] == 0xBF && req[1] == 0x38:
		return bigResponse(req), nil
	case len(req) >= 2 && req[0] == 0xBF && req[1] == 0x2E:
		return mediumResponse(), nil
	case req[0] == 0xEE:
		return nil, SWError{SW: SWWrongData}
	case req[0] == 0xEC:
		return nil, fmt.Errorf("profile policy: %w", &SWError{SW: 0x6A88})
	case req[0] == 0xEF:
		return nil, errors.New("internal failure")
	case req[0] == 0xED:
		return nil, SWError{SW: SWNoError}
	}
	return req, nil
}

// pattern returns n bytes that differ from block to block, so a misplaced chunk is noticed.
func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7) ^ byte(i>>8) ^ seed
	}
	return b
}

// bigRequest returns a request of n bytes (n ≥ 5) with tag BF38 and a two-byte length.
func bigRequest(n int) []byte {
	body := n - 5
	return append([]byte{0xBF, 0x38, 0x82, byte(body >> 8), byte(body)}, pattern(body, 0x5A)...)
}

// bigResponse is the applet's 5000-byte answer to a BF38 request: the SHA-256 of the whole
// request, which proves the card reassembled it, followed by a pattern.
func bigResponse(req []byte) []byte {
	sum := sha256.Sum256(req)
	return append(sum[:], pattern(5000-len(sum), 0xA5)...)
}

func mediumResponse() []byte {
	return append([]byte{0xBF, 0x2E, 0x82, 0x01, 0x28}, pattern(295, 0x33)...)
}

// h decodes hex written with optional spaces.
func h(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex in test %q: %v", s, err)
	}
	return b
}

// recordingTransport wraps a Transport and records every C-APDU.
type recordingTransport struct {
	Transport
	sent [][]byte
}

func (r *recordingTransport) Transmit(ctx context.Context, capdu []byte) ([]byte, error) {
	r.sent = append(r.sent, append([]byte(nil), capdu...))
	return r.Transport.Transmit(ctx, capdu)
}
