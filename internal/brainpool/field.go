package brainpool

import (
	"encoding/binary"
	"math/bits"
)

// limbs is a 256-bit integer as four 64-bit words, least significant first.
type limbs = [4]uint64

// modulus is an odd 256-bit modulus m with 2^255 < m, and what Montgomery arithmetic with
// R = 2^256 needs. Both moduli of brainpoolP256r1, p and n, lie between 2^255 and 2^256, so
// every 256-bit value is below 2m and one conditional subtraction reduces it.
//
// Every operation below runs in constant time: the only branches and loop bounds depend on
// public values (the modulus, the exponent of exp), never on an operand.
type modulus struct {
	m       limbs
	mInv    uint64   // −m⁻¹ mod 2^64, the Montgomery reduction factor
	one     limbs    // R mod m: 1 in Montgomery form
	rr      limbs    // R² mod m: multiplying by it enters Montgomery form
	mMinus2 [32]byte // m − 2 big-endian: the (public) exponent of Fermat inversion
}

// newModulus derives the constants from the big-endian modulus itself rather than storing
// them, so there is no hand-copied constant to get wrong.
func newModulus(be [32]byte) *modulus {
	md := &modulus{m: limbsFromBytes(be[:])}
	if md.m[3]>>63 != 1 || md.m[0]&1 != 1 {
		panic("brainpool: modulus must be odd and above 2^255")
	}
	// Newton's iteration doubles the number of correct low bits: m·m ≡ 1 mod 8 for odd m, so
	// x = m starts with 3 and five rounds give 96 ≥ 64.
	x := md.m[0]
	for range 5 {
		x *= 2 - md.m[0]*x
	}
	md.mInv = -x
	// R mod m = 2^256 − m, which is below m because m > 2^255.
	var b uint64
	md.one[0], b = bits.Sub64(0, md.m[0], 0)
	md.one[1], b = bits.Sub64(0, md.m[1], b)
	md.one[2], b = bits.Sub64(0, md.m[2], b)
	md.one[3], _ = bits.Sub64(0, md.m[3], b)
	// R² mod m = R·2^256 mod m: 256 modular doublings of R.
	md.rr = md.one
	for range 256 {
		md.add(&md.rr, &md.rr, &md.rr)
	}
	var e limbs
	e[0], b = bits.Sub64(md.m[0], 2, 0)
	e[1], b = bits.Sub64(md.m[1], 0, b)
	e[2], b = bits.Sub64(md.m[2], 0, b)
	e[3], _ = bits.Sub64(md.m[3], 0, b)
	md.mMinus2 = limbsToBytes(&e)
	return md
}

func limbsFromBytes(b []byte) limbs {
	return limbs{
		binary.BigEndian.Uint64(b[24:32]),
		binary.BigEndian.Uint64(b[16:24]),
		binary.BigEndian.Uint64(b[8:16]),
		binary.BigEndian.Uint64(b[0:8]),
	}
}

func limbsToBytes(x *limbs) [32]byte {
	var b [32]byte
	binary.BigEndian.PutUint64(b[0:8], x[3])
	binary.BigEndian.PutUint64(b[8:16], x[2])
	binary.BigEndian.PutUint64(b[16:24], x[1])
	binary.BigEndian.PutUint64(b[24:32], x[0])
	return b
}

// mask returns all ones if c == 1 and zero if c == 0.
func mask(c uint64) uint64 { return -c }

// selectLimbs sets z to a if c == 1 and to b if c == 0.
func selectLimbs(z, a, b *limbs, c uint64) {
	m := mask(c)
	z[0] = b[0] ^ (m & (a[0] ^ b[0]))
	z[1] = b[1] ^ (m & (a[1] ^ b[1]))
	z[2] = b[2] ^ (m & (a[2] ^ b[2]))
	z[3] = b[3] ^ (m & (a[3] ^ b[3]))
}

// isZero returns 1 if x == 0 and 0 otherwise.
func isZero(x *limbs) uint64 {
	v := x[0] | x[1] | x[2] | x[3]
	return 1 ^ (v|-v)>>63
}

// subM returns x − m and the borrow out (1 exactly when x < m).
func (md *modulus) subM(x *limbs) (d limbs, borrow uint64) {
	d[0], borrow = bits.Sub64(x[0], md.m[0], 0)
	d[1], borrow = bits.Sub64(x[1], md.m[1], borrow)
	d[2], borrow = bits.Sub64(x[2], md.m[2], borrow)
	d[3], borrow = bits.Sub64(x[3], md.m[3], borrow)
	return d, borrow
}

// less returns 1 if x < m and 0 otherwise.
func (md *modulus) less(x *limbs) uint64 {
	_, b := md.subM(x)
	return b
}

// reduce sets z = x mod m for any 256-bit x (x < 2m, see modulus).
func (md *modulus) reduce(z, x *limbs) {
	d, b := md.subM(x)
	selectLimbs(z, x, &d, b)
}

// add sets z = x + y mod m for x, y < m.
func (md *modulus) add(z, x, y *limbs) {
	var s0, s1, s2, s3, d0, d1, d2, d3, c, b uint64
	s0, c = bits.Add64(x[0], y[0], 0)
	s1, c = bits.Add64(x[1], y[1], c)
	s2, c = bits.Add64(x[2], y[2], c)
	s3, c = bits.Add64(x[3], y[3], c)
	// The sum is the 257-bit c‖s < 2m; subtract m unless that borrows past bit 256.
	d0, b = bits.Sub64(s0, md.m[0], 0)
	d1, b = bits.Sub64(s1, md.m[1], b)
	d2, b = bits.Sub64(s2, md.m[2], b)
	d3, b = bits.Sub64(s3, md.m[3], b)
	_, b = bits.Sub64(c, 0, b)
	k := mask(b)
	z[0] = d0 ^ (k & (s0 ^ d0))
	z[1] = d1 ^ (k & (s1 ^ d1))
	z[2] = d2 ^ (k & (s2 ^ d2))
	z[3] = d3 ^ (k & (s3 ^ d3))
}

// sub sets z = x − y mod m for x, y < m.
func (md *modulus) sub(z, x, y *limbs) {
	var d limbs
	var b, c uint64
	d[0], b = bits.Sub64(x[0], y[0], 0)
	d[1], b = bits.Sub64(x[1], y[1], b)
	d[2], b = bits.Sub64(x[2], y[2], b)
	d[3], b = bits.Sub64(x[3], y[3], b)
	// On borrow, x − y + 2^256 is off by 2^256 − m: add m back (and drop the carry).
	k := mask(b)
	z[0], c = bits.Add64(d[0], md.m[0]&k, 0)
	z[1], c = bits.Add64(d[1], md.m[1]&k, c)
	z[2], c = bits.Add64(d[2], md.m[2]&k, c)
	z[3], _ = bits.Add64(d[3], md.m[3]&k, c)
}

// madd1 returns a·b + c as a 128-bit hi‖lo.
func madd1(a, b, c uint64) (hi, lo uint64) {
	hi, lo = bits.Mul64(a, b)
	var cc uint64
	lo, cc = bits.Add64(lo, c, 0)
	return hi + cc, lo
}

// madd returns a·b + c + d as a 128-bit hi‖lo; it cannot overflow, since
// (2^64−1)² + 2·(2^64−1) = 2^128 − 1.
func madd(a, b, c, d uint64) (hi, lo uint64) {
	hi, lo = bits.Mul64(a, b)
	var cc uint64
	lo, cc = bits.Add64(lo, c, 0)
	hi += cc
	lo, cc = bits.Add64(lo, d, 0)
	hi += cc
	return hi, lo
}

// mul sets z = x·y·R⁻¹ mod m for x, y < m (Montgomery multiplication, CIOS method of Koç,
// Acar and Kaliski, "Analyzing and Comparing Montgomery Multiplication Algorithms", 1996).
// z may alias x or y. The four rounds are written out and the words kept in local
// variables, so that the compiler keeps them in registers (a loop over an array, or a
// closure per round, runs several times slower).
func (md *modulus) mul(z, x, y *limbs) {
	m0, m1, m2, m3, mInv := md.m[0], md.m[1], md.m[2], md.m[3], md.mInv
	x0, x1, x2, x3 := x[0], x[1], x[2], x[3]
	y0, y1, y2, y3 := y[0], y[1], y[2], y[3]
	// t4‖t3‖t2‖t1‖t0 is the accumulator; after each round it is below 2m < 2^257, and t5
	// holds the carry out of t4 within a round.
	var t0, t1, t2, t3, t4, t5, c, q uint64

	// Round 0: t += x·y0, then t = (t + q·m) / 2^64 with q making the low word vanish.
	c, t0 = madd1(x0, y0, t0)
	c, t1 = madd(x1, y0, t1, c)
	c, t2 = madd(x2, y0, t2, c)
	c, t3 = madd(x3, y0, t3, c)
	t4, t5 = bits.Add64(t4, c, 0)
	q = t0 * mInv
	c, _ = madd1(q, m0, t0)
	c, t0 = madd(q, m1, t1, c)
	c, t1 = madd(q, m2, t2, c)
	c, t2 = madd(q, m3, t3, c)
	t3, c = bits.Add64(t4, c, 0)
	t4 = t5 + c

	// Round 1: t += x·y1, then t = (t + q·m) / 2^64 with q making the low word vanish.
	c, t0 = madd1(x0, y1, t0)
	c, t1 = madd(x1, y1, t1, c)
	c, t2 = madd(x2, y1, t2, c)
	c, t3 = madd(x3, y1, t3, c)
	t4, t5 = bits.Add64(t4, c, 0)
	q = t0 * mInv
	c, _ = madd1(q, m0, t0)
	c, t0 = madd(q, m1, t1, c)
	c, t1 = madd(q, m2, t2, c)
	c, t2 = madd(q, m3, t3, c)
	t3, c = bits.Add64(t4, c, 0)
	t4 = t5 + c

	// Round 2: t += x·y2, then t = (t + q·m) / 2^64 with q making the low word vanish.
	c, t0 = madd1(x0, y2, t0)
	c, t1 = madd(x1, y2, t1, c)
	c, t2 = madd(x2, y2, t2, c)
	c, t3 = madd(x3, y2, t3, c)
	t4, t5 = bits.Add64(t4, c, 0)
	q = t0 * mInv
	c, _ = madd1(q, m0, t0)
	c, t0 = madd(q, m1, t1, c)
	c, t1 = madd(q, m2, t2, c)
	c, t2 = madd(q, m3, t3, c)
	t3, c = bits.Add64(t4, c, 0)
	t4 = t5 + c

	// Round 3: t += x·y3, then t = (t + q·m) / 2^64 with q making the low word vanish.
	c, t0 = madd1(x0, y3, t0)
	c, t1 = madd(x1, y3, t1, c)
	c, t2 = madd(x2, y3, t2, c)
	c, t3 = madd(x3, y3, t3, c)
	t4, t5 = bits.Add64(t4, c, 0)
	q = t0 * mInv
	c, _ = madd1(q, m0, t0)
	c, t0 = madd(q, m1, t1, c)
	c, t1 = madd(q, m2, t2, c)
	c, t2 = madd(q, m3, t3, c)
	t3, c = bits.Add64(t4, c, 0)
	t4 = t5 + c

	// t < 2m: subtract m unless that borrows past bit 256.
	var d0, d1, d2, d3, b uint64
	d0, b = bits.Sub64(t0, m0, 0)
	d1, b = bits.Sub64(t1, m1, b)
	d2, b = bits.Sub64(t2, m2, b)
	d3, b = bits.Sub64(t3, m3, b)
	_, b = bits.Sub64(t4, 0, b)
	k := mask(b)
	z[0] = d0 ^ (k & (t0 ^ d0))
	z[1] = d1 ^ (k & (t1 ^ d1))
	z[2] = d2 ^ (k & (t2 ^ d2))
	z[3] = d3 ^ (k & (t3 ^ d3))
}

// toMont sets z = x·R mod m for x < m.
func (md *modulus) toMont(z, x *limbs) { md.mul(z, x, &md.rr) }

// fromMont sets z = x·R⁻¹ mod m, leaving Montgomery form.
func (md *modulus) fromMont(z, x *limbs) { md.mul(z, x, &limbs{1}) }

// exp sets z = x^e for x in Montgomery form and a big-endian exponent e. It is plain
// left-to-right square-and-multiply, so it branches on the bits of e: e must be public
// (here it is only ever m − 2).
func (md *modulus) exp(z, x *limbs, e []byte) {
	r := md.one
	for _, byte := range e {
		for bit := 7; bit >= 0; bit-- {
			md.mul(&r, &r, &r)
			if byte>>bit&1 == 1 {
				md.mul(&r, &r, x)
			}
		}
	}
	*z = r
}

// invert sets z = x⁻¹ by Fermat's little theorem (x^(m−2)), for prime m; 0 maps to 0.
func (md *modulus) invert(z, x *limbs) { md.exp(z, x, md.mMinus2[:]) }

// p and n are the field prime and the group order of brainpoolP256r1 (RFC 5639 §3.4).
var (
	fp = newModulus([32]byte{
		0xa9, 0xfb, 0x57, 0xdb, 0xa1, 0xee, 0xa9, 0xbc, 0x3e, 0x66, 0x0a, 0x90, 0x9d, 0x83, 0x8d, 0x72,
		0x6e, 0x3b, 0xf6, 0x23, 0xd5, 0x26, 0x20, 0x28, 0x20, 0x13, 0x48, 0x1d, 0x1f, 0x6e, 0x53, 0x77,
	})
	fn = newModulus([32]byte{
		0xa9, 0xfb, 0x57, 0xdb, 0xa1, 0xee, 0xa9, 0xbc, 0x3e, 0x66, 0x0a, 0x90, 0x9d, 0x83, 0x8d, 0x71,
		0x8c, 0x39, 0x7a, 0xa3, 0xb5, 0x61, 0xa6, 0xf7, 0x90, 0x1e, 0x0e, 0x82, 0x97, 0x48, 0x56, 0xa7,
	})
)

// fieldElement is an element of GF(p) in Montgomery form, always fully reduced. The zero
// value is 0.
type fieldElement limbs

func (e *fieldElement) l() *limbs { return (*limbs)(e) }

func (e *fieldElement) mul(x, y *fieldElement) *fieldElement {
	fp.mul(e.l(), x.l(), y.l())
	return e
}

func (e *fieldElement) square(x *fieldElement) *fieldElement {
	fp.mul(e.l(), x.l(), x.l())
	return e
}

func (e *fieldElement) add(x, y *fieldElement) *fieldElement {
	fp.add(e.l(), x.l(), y.l())
	return e
}

func (e *fieldElement) sub(x, y *fieldElement) *fieldElement {
	fp.sub(e.l(), x.l(), y.l())
	return e
}

func (e *fieldElement) invert(x *fieldElement) *fieldElement {
	fp.invert(e.l(), x.l())
	return e
}

func (e *fieldElement) setOne() *fieldElement {
	*e = fieldElement(fp.one)
	return e
}

// isZero returns 1 if e == 0 and 0 otherwise.
func (e *fieldElement) isZero() uint64 { return isZero(e.l()) }

// equal returns 1 if e == x and 0 otherwise.
func (e *fieldElement) equal(x *fieldElement) uint64 {
	d := limbs{e[0] ^ x[0], e[1] ^ x[1], e[2] ^ x[2], e[3] ^ x[3]}
	return isZero(&d)
}

// selectFrom sets e to a if c == 1 and to b if c == 0.
func (e *fieldElement) selectFrom(a, b *fieldElement, c uint64) {
	selectLimbs(e.l(), a.l(), b.l(), c)
}

// setBytes sets e to the 32-byte big-endian value b and reports whether b < p; b ≥ p is a
// non-canonical encoding and leaves e unchanged.
func (e *fieldElement) setBytes(b []byte) bool {
	if len(b) != 32 {
		return false
	}
	x := limbsFromBytes(b)
	if fp.less(&x) != 1 {
		return false
	}
	fp.toMont(e.l(), &x)
	return true
}

// bytes returns the 32-byte big-endian encoding of e.
func (e *fieldElement) bytes() [32]byte {
	var x limbs
	fp.fromMont(&x, e.l())
	return limbsToBytes(&x)
}

// scalar is an element of GF(n) in Montgomery form, always fully reduced.
type scalar limbs

func (s *scalar) l() *limbs { return (*limbs)(s) }

func (s *scalar) mul(x, y *scalar) *scalar {
	fn.mul(s.l(), x.l(), y.l())
	return s
}

func (s *scalar) add(x, y *scalar) *scalar {
	fn.add(s.l(), x.l(), y.l())
	return s
}

func (s *scalar) invert(x *scalar) *scalar {
	fn.invert(s.l(), x.l())
	return s
}

func (s *scalar) isZero() uint64 { return isZero(s.l()) }

func (s *scalar) equal(x *scalar) uint64 {
	d := limbs{s[0] ^ x[0], s[1] ^ x[1], s[2] ^ x[2], s[3] ^ x[3]}
	return isZero(&d)
}

// setCanonical sets s to the 32-byte big-endian b and reports whether 1 ≤ b < n, the range
// of private keys, nonces and signature halves. On false s is unchanged. The answer is the
// only thing about b that timing reveals.
func (s *scalar) setCanonical(b []byte) bool {
	if len(b) != 32 {
		return false
	}
	x := limbsFromBytes(b)
	if fn.less(&x)&(1^isZero(&x)) != 1 {
		return false
	}
	fn.toMont(s.l(), &x)
	return true
}

// setReduced sets s = b mod n for any 32-byte big-endian b.
func (s *scalar) setReduced(b *[32]byte) *scalar {
	x := limbsFromBytes(b[:])
	fn.reduce(&x, &x)
	fn.toMont(s.l(), &x)
	return s
}

// bytes returns the 32-byte big-endian encoding of s.
func (s *scalar) bytes() [32]byte {
	var x limbs
	fn.fromMont(&x, s.l())
	return limbsToBytes(&x)
}
