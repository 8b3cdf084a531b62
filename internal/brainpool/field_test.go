package brainpool

import (
	"crypto/rand"
	"math/big"
	"testing"
)

// TestModulusConstants checks the derived Montgomery constants against big.Int.
func TestModulusConstants(t *testing.T) {
	r := new(big.Int).Lsh(big.NewInt(1), 256)
	for _, c := range []struct {
		name string
		md   *modulus
		m    *big.Int
	}{{"p", fp, bigP}, {"n", fn, bigN}} {
		t.Run(c.name, func(t *testing.T) {
			m := limbsToBytes(&c.md.m)
			if new(big.Int).SetBytes(m[:]).Cmp(c.m) != 0 {
				t.Fatalf("modulus %x, want %x", m, c.m)
			}
			// mInv·m ≡ −1 mod 2^64
			if c.md.mInv*c.md.m[0] != ^uint64(0) {
				t.Errorf("mInv·m0 = %#x, want −1", c.md.mInv*c.md.m[0])
			}
			one := limbsToBytes(&c.md.one)
			if want := new(big.Int).Mod(r, c.m); new(big.Int).SetBytes(one[:]).Cmp(want) != 0 {
				t.Errorf("one = %x, want R mod m = %x", one, want)
			}
			rr := limbsToBytes(&c.md.rr)
			if want := new(big.Int).Mod(new(big.Int).Mul(r, r), c.m); new(big.Int).SetBytes(rr[:]).Cmp(want) != 0 {
				t.Errorf("rr = %x, want R² mod m = %x", rr, want)
			}
			if want := new(big.Int).Sub(c.m, big.NewInt(2)); new(big.Int).SetBytes(c.md.mMinus2[:]).Cmp(want) != 0 {
				t.Errorf("mMinus2 = %x, want %x", c.md.mMinus2, want)
			}
		})
	}
}

// fieldEdges are values at which carries, borrows and the final subtractions change.
func fieldEdges(m *big.Int) []*big.Int {
	one := big.NewInt(1)
	return []*big.Int{
		big.NewInt(0), one, big.NewInt(2),
		new(big.Int).Sub(m, one), new(big.Int).Sub(m, big.NewInt(2)),
		new(big.Int).Rsh(m, 1), new(big.Int).Add(new(big.Int).Rsh(m, 1), one),
		new(big.Int).Sub(new(big.Int).Lsh(one, 255), one), new(big.Int).Lsh(one, 255),
		new(big.Int).Sub(new(big.Int).Lsh(one, 64), one), new(big.Int).Lsh(one, 192),
	}
}

// TestArithmetic checks add, sub, mul, invert modulo p and n against big.Int, on edge
// values and random ones.
func TestArithmetic(t *testing.T) {
	for _, c := range []struct {
		name string
		md   *modulus
		m    *big.Int
	}{{"p", fp, bigP}, {"n", fn, bigN}} {
		t.Run(c.name, func(t *testing.T) {
			vals := fieldEdges(c.m)
			for range 200 {
				v, _ := rand.Int(rand.Reader, c.m)
				vals = append(vals, v)
			}
			enter := func(v *big.Int) limbs {
				x := limbsFromBytes(be32(v))
				c.md.toMont(&x, &x)
				return x
			}
			leave := func(x limbs) *big.Int {
				c.md.fromMont(&x, &x)
				b := limbsToBytes(&x)
				return new(big.Int).SetBytes(b[:])
			}
			check := func(op string, a, b *big.Int, got limbs, want *big.Int) {
				t.Helper()
				if g := leave(got); g.Cmp(want) != 0 {
					t.Fatalf("%s(%x, %x) = %x, want %x", op, a, b, g, want)
				}
			}
			for i, a := range vals {
				x := enter(a)
				var z limbs
				c.md.invert(&z, &x)
				want := new(big.Int).ModInverse(a, c.m)
				if want == nil {
					want = new(big.Int) // 0 has no inverse and maps to 0
				}
				check("invert", a, a, z, want)
				for _, b := range vals[i:] {
					y := enter(b)
					c.md.add(&z, &x, &y)
					check("add", a, b, z, new(big.Int).Mod(new(big.Int).Add(a, b), c.m))
					c.md.sub(&z, &x, &y)
					check("sub", a, b, z, new(big.Int).Mod(new(big.Int).Sub(a, b), c.m))
					c.md.sub(&z, &y, &x)
					check("sub", b, a, z, new(big.Int).Mod(new(big.Int).Sub(b, a), c.m))
					c.md.mul(&z, &x, &y)
					check("mul", a, b, z, new(big.Int).Mod(new(big.Int).Mul(a, b), c.m))
				}
			}
			// reduce takes any 256-bit value.
			for _, v := range append(fieldEdges(new(big.Int).Lsh(big.NewInt(1), 256)), new(big.Int).Add(c.m, big.NewInt(5)), c.m) {
				x := limbsFromBytes(be32(v))
				c.md.reduce(&x, &x)
				b := limbsToBytes(&x)
				if got, want := new(big.Int).SetBytes(b[:]), new(big.Int).Mod(v, c.m); got.Cmp(want) != 0 {
					t.Errorf("reduce(%x) = %x, want %x", v, got, want)
				}
			}
		})
	}
}

// TestScalarEncodings covers the range checks on scalars and field elements.
func TestScalarEncodings(t *testing.T) {
	one := big.NewInt(1)
	nMinus1 := be32(new(big.Int).Sub(bigN, one))
	for _, c := range []struct {
		name string
		in   []byte
		ok   bool
	}{
		{"one", be32(one), true},
		{"n-1", nMinus1, true},
		{"zero", make([]byte, 32), false},
		{"n", be32(bigN), false},
		{"n+1", be32(new(big.Int).Add(bigN, one)), false},
		{"all ones", be32(new(big.Int).Sub(new(big.Int).Lsh(one, 256), one)), false},
		{"short", nMinus1[1:], false},
		{"long", append([]byte{0}, nMinus1...), false},
		{"empty", nil, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			var s scalar
			if got := s.setCanonical(c.in); got != c.ok {
				t.Fatalf("setCanonical = %v, want %v", got, c.ok)
			}
			if b := s.bytes(); c.ok && string(b[:]) != string(c.in) {
				t.Errorf("round trip %x, want %x", b, c.in)
			}
		})
	}
	for _, c := range []struct {
		name string
		in   []byte
		ok   bool
	}{
		{"zero", make([]byte, 32), true},
		{"p-1", be32(new(big.Int).Sub(bigP, one)), true},
		{"p", be32(bigP), false},
		{"p+1", be32(new(big.Int).Add(bigP, one)), false},
		{"short", make([]byte, 31), false},
	} {
		t.Run("field "+c.name, func(t *testing.T) {
			var e fieldElement
			if got := e.setBytes(c.in); got != c.ok {
				t.Fatalf("setBytes = %v, want %v", got, c.ok)
			}
			if b := e.bytes(); c.ok && string(b[:]) != string(c.in) {
				t.Errorf("round trip %x, want %x", b, c.in)
			}
		})
	}
}
