package brainpool

import (
	"bytes"
	"crypto/rand"
	"math/big"
	"testing"
)

// TestCurveParameters compares the constants compiled into the package with RFC 5639 §3.4
// (testdata/rfc5639_brainpoolP256r1.json), and the generator with SetBytes' curve check.
func TestCurveParameters(t *testing.T) {
	var rfc struct{ P, A, B, X, Y, Q, H string }
	readJSON(t, "testdata/rfc5639_brainpoolP256r1.json", &rfc)
	for _, c := range []struct {
		name string
		got  [32]byte
		want string
	}{
		{"p", limbsToBytes(&fp.m), rfc.P},
		{"n", limbsToBytes(&fn.m), rfc.Q},
		{"A", curveA.bytes(), rfc.A},
		{"B", curveB.bytes(), rfc.B},
		{"Gx", genX.bytes(), rfc.X},
		{"Gy", genY.bytes(), rfc.Y},
	} {
		if want := mustHex(t, c.want); !bytes.Equal(c.got[:], want) {
			t.Errorf("%s = %x, want %x", c.name, c.got, want)
		}
	}
	if rfc.H != "1" {
		t.Fatalf("cofactor %s: SetBytes relies on h = 1", rfc.H)
	}
	b3 := curveB3.bytes()
	want3 := new(big.Int).Mod(new(big.Int).Mul(big.NewInt(3), new(big.Int).SetBytes(mustHex(t, rfc.B))), bigP)
	if !bytes.Equal(b3[:], be32(want3)) {
		t.Errorf("b3 = %x, want %x", b3, want3)
	}
	g := append(append([]byte{4}, mustHex(t, rfc.X)...), mustHex(t, rfc.Y)...)
	if _, err := NewPoint().SetBytes(g); err != nil {
		t.Fatalf("generator refused: %v", err)
	}
	if got := NewGenerator().Bytes(); !bytes.Equal(got, g) {
		t.Errorf("NewGenerator().Bytes() = %x, want %x", got, g)
	}
}

// TestScalarMultEdges runs the edge scalars through ScalarMult and ScalarBaseMult: the
// window code must handle infinity in the accumulator and table entry [0], and k ≥ n.
func TestScalarMultEdges(t *testing.T) {
	g := NewGenerator().Bytes()
	negG := NewPoint().Negate(NewGenerator()).Bytes()
	twoG := NewPoint().Double(NewGenerator()).Bytes()
	one := big.NewInt(1)
	for _, c := range []struct {
		name string
		k    *big.Int
		want []byte
	}{
		{"0", big.NewInt(0), []byte{0}},
		{"1", one, g},
		{"2", big.NewInt(2), twoG},
		{"n-1", new(big.Int).Sub(bigN, one), negG},
		{"n", bigN, []byte{0}},
		{"n+1", new(big.Int).Add(bigN, one), g},
		{"n+2", new(big.Int).Add(bigN, big.NewInt(2)), twoG},
		{"2^256-1", new(big.Int).Sub(new(big.Int).Lsh(one, 256), one), nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			k := c.k
			kb := be32(k)
			want := c.want
			if want == nil {
				want = refScalarBaseMult(be32(new(big.Int).Mod(k, bigN)))
			}
			p, err := NewPoint().ScalarBaseMult(kb)
			if err != nil {
				t.Fatal(err)
			}
			if got := p.Bytes(); !bytes.Equal(got, want) {
				t.Errorf("ScalarBaseMult = %x, want %x", got, want)
			}
			q, err := NewPoint().ScalarMult(NewGenerator(), kb)
			if err != nil {
				t.Fatal(err)
			}
			if got := q.Bytes(); !bytes.Equal(got, want) {
				t.Errorf("ScalarMult(G) = %x, want %x", got, want)
			}
			// [k]∞ = ∞ for every k.
			inf, err := NewPoint().ScalarMult(NewPoint(), kb)
			if err != nil {
				t.Fatal(err)
			}
			if got := inf.Bytes(); !bytes.Equal(got, []byte{0}) {
				t.Errorf("ScalarMult(∞) = %x, want 00", got)
			}
		})
	}
	for _, n := range []int{0, 31, 33} {
		if _, err := NewPoint().ScalarMult(NewGenerator(), make([]byte, n)); err != ErrInvalidScalar {
			t.Errorf("ScalarMult with a %d-byte scalar: %v, want ErrInvalidScalar", n, err)
		}
		if _, err := NewPoint().ScalarBaseMult(make([]byte, n)); err != ErrInvalidScalar {
			t.Errorf("ScalarBaseMult with a %d-byte scalar: %v, want ErrInvalidScalar", n, err)
		}
	}
}

// TestAddExceptionalCases checks the cases that incomplete formulas get wrong: P+P through
// the addition formula, P+(−P), and the identity on either side.
func TestAddExceptionalCases(t *testing.T) {
	k := make([]byte, 32)
	rand.Read(k)
	p, _ := NewPoint().ScalarBaseMult(k)
	negP := NewPoint().Negate(p)
	inf := NewPoint()
	isInf := func(q *Point) bool { return bytes.Equal(q.Bytes(), []byte{0}) }

	if got, want := NewPoint().Add(p, p).Bytes(), NewPoint().Double(p).Bytes(); !bytes.Equal(got, want) {
		t.Errorf("P+P = %x, want 2P = %x", got, want)
	}
	if want := refScalarMult(p.Bytes(), be32(big.NewInt(2))); !bytes.Equal(NewPoint().Add(p, p).Bytes(), want) {
		t.Errorf("P+P differs from the reference 2P %x", want)
	}
	if q := NewPoint().Add(p, negP); !isInf(q) {
		t.Errorf("P+(−P) = %x, want ∞", q.Bytes())
	}
	if q := NewPoint().Add(p, inf); q.Equal(p) != 1 {
		t.Errorf("P+∞ = %x, want P", q.Bytes())
	}
	if q := NewPoint().Add(inf, p); q.Equal(p) != 1 {
		t.Errorf("∞+P = %x, want P", q.Bytes())
	}
	if q := NewPoint().Add(inf, inf); !isInf(q) {
		t.Errorf("∞+∞ = %x, want ∞", q.Bytes())
	}
	if q := NewPoint().Double(inf); !isInf(q) {
		t.Errorf("2∞ = %x, want ∞", q.Bytes())
	}
	// Aliasing: the receiver may be an operand.
	q := NewPoint().Set(p)
	if q.Add(q, q); q.Equal(NewPoint().Double(p)) != 1 {
		t.Error("q.Add(q, q) differs from 2q")
	}
	q.Set(p)
	if _, err := q.ScalarMult(q, be32(big.NewInt(3))); err != nil || q.Equal(NewPoint().Add(p, NewPoint().Double(p))) != 1 {
		t.Error("q.ScalarMult(q, 3) differs from 3q")
	}
	// Equal distinguishes.
	if p.Equal(negP) == 1 || p.Equal(inf) == 1 || inf.Equal(p) == 1 || inf.Equal(NewPoint()) != 1 {
		t.Error("Equal gave a wrong answer")
	}
	if _, err := inf.BytesX(); err != ErrInvalidPoint {
		t.Errorf("BytesX(∞) = %v, want ErrInvalidPoint", err)
	}
}

// TestAgainstProtonMail compares ScalarBaseMult and ScalarMult with the reference
// implementation on random scalars (all 256-bit values, so about a third are ≥ n) and
// random points.
func TestAgainstProtonMail(t *testing.T) {
	iterations := 1000
	if testing.Short() {
		iterations = 50
	}
	k := make([]byte, 32)
	for i := range iterations {
		rand.Read(k)
		p, err := NewPoint().ScalarBaseMult(k)
		if err != nil {
			t.Fatal(err)
		}
		pb := p.Bytes()
		if want := refScalarBaseMult(k); !bytes.Equal(pb, want) {
			t.Fatalf("iteration %d: ScalarBaseMult(%x) = %x, want %x", i, k, pb, want)
		}
		rand.Read(k)
		q, err := NewPoint().ScalarMult(p, k)
		if err != nil {
			t.Fatal(err)
		}
		if want := refScalarMult(pb, k); !bytes.Equal(q.Bytes(), want) {
			t.Fatalf("iteration %d: ScalarMult(%x, %x) = %x, want %x", i, pb, k, q.Bytes(), want)
		}
	}
}

// TestSetBytes runs valid and malformed encodings through SetBytes.
func TestSetBytes(t *testing.T) {
	g := NewGenerator().Bytes()
	mod := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(g)) }
	pBytes := be32(bigP)
	// Gy + p still fits in 256 bits, and reduced it is on the curve: a decoder that reduced
	// instead of refusing a non-canonical coordinate would accept it.
	yPlusP := new(big.Int).Add(new(big.Int).SetBytes(g[33:]), bigP)
	if yPlusP.BitLen() > 256 {
		t.Fatal("Gy + p does not fit in 256 bits")
	}
	for _, c := range []struct {
		name string
		in   []byte
		ok   bool
	}{
		{"generator", g, true},
		{"minus generator", NewPoint().Negate(NewGenerator()).Bytes(), true},
		{"infinity encoding", []byte{0}, false},
		{"empty", nil, false},
		{"compressed", append([]byte{2 | g[64]&1}, g[1:33]...), false},
		{"hybrid", mod(func(b []byte) []byte { b[0] = 6 | b[64]&1; return b }), false},
		{"prefix 05", mod(func(b []byte) []byte { b[0] = 5; return b }), false},
		{"short", g[:64], false},
		{"long", append(bytes.Clone(g), 0), false},
		{"off curve", mod(func(b []byte) []byte { b[64] ^= 1; return b }), false},
		{"zero point", append([]byte{4}, make([]byte, 64)...), false},
		{"x = p", append(append([]byte{4}, pBytes...), g[33:]...), false},
		{"y = p", append(append([]byte{4}, g[1:33]...), pBytes...), false},
		{"x = 2^256-1", append(append([]byte{4}, bytes.Repeat([]byte{0xff}, 32)...), g[33:]...), false},
		{"y + p", append(append([]byte{4}, g[1:33]...), be32(yPlusP)...), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := NewGenerator()
			before := p.Bytes()
			q, err := p.SetBytes(c.in)
			if c.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if got := q.Bytes(); !bytes.Equal(got, c.in) {
					t.Errorf("round trip %x, want %x", got, c.in)
				}
				return
			}
			if err != ErrInvalidPoint || q != nil {
				t.Fatalf("SetBytes(%x) = %v, %v; want nil, ErrInvalidPoint", c.in, q, err)
			}
			if !bytes.Equal(p.Bytes(), before) {
				t.Error("receiver changed on error")
			}
		})
	}
}
