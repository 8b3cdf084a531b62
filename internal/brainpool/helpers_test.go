package brainpool

import (
	"encoding/hex"
	"encoding/json"
	"math/big"
	"os"
	"path/filepath"
	"testing"

	pmbrainpool "github.com/ProtonMail/go-crypto/brainpool"
)

// Paths of the repository-wide test data, relative to this package.
const (
	wycheproofDir = "../../testdata/vectors/wycheproof"
	certsDir      = "../../testdata/certs"
)

// refCurve is the ProtonMail implementation that this package replaces; tests use it as an
// independent reference (it shares no code with this package).
var refCurve = pmbrainpool.P256r1()

// Big-integer copies of the curve constants, for reference computations in tests.
var (
	bigP = refCurve.Params().P
	bigN = refCurve.Params().N
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// readJSON decodes testdata file name into v.
func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	raw, err := os.ReadFile(filepath.FromSlash(path))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// be32 returns x as 32 big-endian bytes (x must be in [0, 2^256)).
func be32(x *big.Int) []byte { return x.FillBytes(make([]byte, 32)) }

// uncompressed encodes (x, y) as 04 ‖ X ‖ Y.
func uncompressed(x, y *big.Int) []byte {
	return append(append([]byte{4}, be32(x)...), be32(y)...)
}

// refScalarMult is [k]P by the reference implementation, encoded as Bytes does.
func refScalarMult(p []byte, k []byte) []byte {
	x, y := new(big.Int).SetBytes(p[1:33]), new(big.Int).SetBytes(p[33:])
	rx, ry := refCurve.ScalarMult(x, y, k)
	if rx.Sign() == 0 && ry.Sign() == 0 {
		return []byte{0}
	}
	return uncompressed(rx, ry)
}

func refScalarBaseMult(k []byte) []byte {
	rx, ry := refCurve.ScalarBaseMult(k)
	if rx.Sign() == 0 && ry.Sign() == 0 {
		return []byte{0}
	}
	return uncompressed(rx, ry)
}
