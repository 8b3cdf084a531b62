package brainpool

import (
	"bytes"
	"math/big"
	"testing"
)

// FuzzSetBytes checks that SetBytes accepts exactly the uncompressed encodings of points on
// the curve (decided independently with the reference's IsOnCurve) and that an accepted
// encoding round-trips through Bytes.
func FuzzSetBytes(f *testing.F) {
	g := NewGenerator().Bytes()
	f.Add(g)
	f.Add(NewPoint().Negate(NewGenerator()).Bytes())
	f.Add([]byte{0})
	f.Add(g[:33])
	f.Add(append([]byte{4}, make([]byte, 64)...))
	f.Add(append(append([]byte{4}, be32(bigP)...), g[33:]...))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := NewPoint().SetBytes(b)
		want := len(b) == PointSize && b[0] == 4
		if want {
			x, y := new(big.Int).SetBytes(b[1:33]), new(big.Int).SetBytes(b[33:])
			want = x.Cmp(bigP) < 0 && y.Cmp(bigP) < 0 && refCurve.IsOnCurve(x, y)
		}
		if (err == nil) != want {
			t.Fatalf("SetBytes(%x) error %v, reference says valid = %v", b, err, want)
		}
		if err == nil && !bytes.Equal(p.Bytes(), b) {
			t.Fatalf("SetBytes(%x).Bytes() = %x", b, p.Bytes())
		}
	})
}
