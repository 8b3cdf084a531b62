package brainpool

import (
	"crypto/subtle"
	"errors"
	"sync"
)

// Sizes of the encodings this package reads and writes.
const (
	// ScalarSize is the length of a scalar (private key, nonce, r, s) and of a coordinate.
	ScalarSize = 32
	// PointSize is the length of an uncompressed point 04 ‖ X ‖ Y (SEC 1 §2.3.3).
	PointSize = 1 + 2*ScalarSize
)

// Errors returned for bad input. They are meant to be wrapped by callers with their own
// context (SGP.22 status codes live in the callers, not here).
var (
	// ErrInvalidPoint reports an encoding that is not an uncompressed point of the curve:
	// wrong length or prefix, a coordinate ≥ p, a point off the curve, or the point at infinity.
	ErrInvalidPoint = errors.New("brainpool: invalid point")
	// ErrInvalidScalar reports a scalar of the wrong length or, where a private key is
	// expected, one outside [1, n−1].
	ErrInvalidScalar = errors.New("brainpool: invalid scalar")
)

// Curve constants in Montgomery form, set from the RFC 5639 §3.4 values at package init.
var curveA, curveB, curveB3, genX, genY fieldElement

func init() {
	mustSet := func(e *fieldElement, b []byte) {
		if !e.setBytes(b) {
			panic("brainpool: bad curve constant")
		}
	}
	mustSet(&curveA, []byte{
		0x7d, 0x5a, 0x09, 0x75, 0xfc, 0x2c, 0x30, 0x57, 0xee, 0xf6, 0x75, 0x30, 0x41, 0x7a, 0xff, 0xe7,
		0xfb, 0x80, 0x55, 0xc1, 0x26, 0xdc, 0x5c, 0x6c, 0xe9, 0x4a, 0x4b, 0x44, 0xf3, 0x30, 0xb5, 0xd9,
	})
	mustSet(&curveB, []byte{
		0x26, 0xdc, 0x5c, 0x6c, 0xe9, 0x4a, 0x4b, 0x44, 0xf3, 0x30, 0xb5, 0xd9, 0xbb, 0xd7, 0x7c, 0xbf,
		0x95, 0x84, 0x16, 0x29, 0x5c, 0xf7, 0xe1, 0xce, 0x6b, 0xcc, 0xdc, 0x18, 0xff, 0x8c, 0x07, 0xb6,
	})
	mustSet(&genX, []byte{
		0x8b, 0xd2, 0xae, 0xb9, 0xcb, 0x7e, 0x57, 0xcb, 0x2c, 0x4b, 0x48, 0x2f, 0xfc, 0x81, 0xb7, 0xaf,
		0xb9, 0xde, 0x27, 0xe1, 0xe3, 0xbd, 0x23, 0xc2, 0x3a, 0x44, 0x53, 0xbd, 0x9a, 0xce, 0x32, 0x62,
	})
	mustSet(&genY, []byte{
		0x54, 0x7e, 0xf8, 0x35, 0xc3, 0xda, 0xc4, 0xfd, 0x97, 0xf8, 0x46, 0x1a, 0x14, 0x61, 0x1d, 0xc9,
		0xc2, 0x77, 0x45, 0x13, 0x2d, 0xed, 0x8e, 0x54, 0x5c, 0x1d, 0x54, 0xc7, 0x2f, 0x04, 0x69, 0x97,
	})
	curveB3.add(&curveB, &curveB).add(&curveB3, &curveB)
}

// Point is a point of brainpoolP256r1 in projective coordinates (X:Y:Z), standing for the
// affine point (X/Z, Y/Z); the point at infinity is (0:Y:0), Y ≠ 0. The zero value is not a valid
// point: start from NewPoint or NewGenerator. Methods set and return the receiver, so calls
// chain, and operands may alias the receiver.
type Point struct {
	x, y, z fieldElement
}

// NewPoint returns the point at infinity (the identity).
func NewPoint() *Point {
	p := new(Point)
	p.y.setOne()
	return p
}

// NewGenerator returns the generator G of RFC 5639 §3.4.
func NewGenerator() *Point { return new(Point).SetGenerator() }

// SetGenerator sets p = G and returns p.
func (p *Point) SetGenerator() *Point {
	p.x, p.y = genX, genY
	p.z.setOne()
	return p
}

// Set sets p = q and returns p.
func (p *Point) Set(q *Point) *Point {
	*p = *q
	return p
}

// SetBytes sets p to the uncompressed point b = 04 ‖ X ‖ Y (SEC 1 §2.3.4) and returns p.
// It returns ErrInvalidPoint, leaving p unchanged, for any other length or prefix (the
// infinity encoding 00 and compressed points included: SGP.22 carries only uncompressed
// points), for a coordinate ≥ p, and for a point not on the curve. A point that passes is
// in the group of prime order n, since the cofactor is 1.
func (p *Point) SetBytes(b []byte) (*Point, error) {
	if len(b) != PointSize || b[0] != 4 {
		return nil, ErrInvalidPoint
	}
	var x, y fieldElement
	if !x.setBytes(b[1:1+ScalarSize]) || !y.setBytes(b[1+ScalarSize:]) {
		return nil, ErrInvalidPoint
	}
	// y² = x³ + a·x + b
	var lhs, rhs, t fieldElement
	lhs.square(&y)
	rhs.square(&x).mul(&rhs, &x)
	t.mul(&curveA, &x)
	rhs.add(&rhs, &t).add(&rhs, &curveB)
	if lhs.equal(&rhs) != 1 {
		return nil, ErrInvalidPoint
	}
	p.x, p.y = x, y
	p.z.setOne()
	return p, nil
}

// Bytes returns the uncompressed encoding 04 ‖ X ‖ Y of p, or the single byte 00 for the
// point at infinity (SEC 1 §2.3.3), which SetBytes refuses.
func (p *Point) Bytes() []byte {
	if p.z.isZero() == 1 {
		return []byte{0}
	}
	x, y := p.affine()
	out := make([]byte, 0, PointSize)
	out = append(out, 4)
	out = append(out, x[:]...)
	return append(out, y[:]...)
}

// BytesX returns the 32-byte affine x-coordinate of p (SEC 1 §2.3.5), the ECDH shared
// secret, or ErrInvalidPoint for the point at infinity.
func (p *Point) BytesX() ([]byte, error) {
	if p.z.isZero() == 1 {
		return nil, ErrInvalidPoint
	}
	x, _ := p.affine()
	return x[:], nil
}

// affine returns the big-endian affine coordinates of a finite p.
func (p *Point) affine() (x, y [32]byte) {
	var zInv, t fieldElement
	zInv.invert(&p.z)
	x = t.mul(&p.x, &zInv).bytes()
	y = t.mul(&p.y, &zInv).bytes()
	return x, y
}

// Equal returns 1 if p and q are the same point and 0 otherwise, in constant time.
func (p *Point) Equal(q *Point) int {
	// X1/Z1 = X2/Z2 and Y1/Z1 = Y2/Z2, cross-multiplied. This also holds for the point at
	// infinity, because every point the formulas produce has Y ≠ 0 when Z = 0.
	var a, b, c, d fieldElement
	a.mul(&p.x, &q.z)
	b.mul(&q.x, &p.z)
	c.mul(&p.y, &q.z)
	d.mul(&q.y, &p.z)
	return int(a.equal(&b) & c.equal(&d))
}

// Negate sets p = −q and returns p.
func (p *Point) Negate(q *Point) *Point {
	var zero fieldElement
	p.x = q.x
	p.y.sub(&zero, &q.y)
	p.z = q.z
	return p
}

// Add sets p = p1 + p2 and returns p. The formula is complete: it gives the right result
// for every pair of points of the curve, doubling and the point at infinity included, with
// no branch.
func (p *Point) Add(p1, p2 *Point) *Point {
	// Renes, Costello and Batina, "Complete addition formulas for prime order elliptic
	// curves" (EUROCRYPT 2016, https://eprint.iacr.org/2015/1060), Algorithm 1: projective
	// addition on y² = x³ + ax + b for any a (brainpoolP256r1 has a ≠ −3, so the a = −3
	// formulas of crypto/internal/fips140/nistec do not apply). b3 = 3·b. Step numbers are
	// the paper's.
	var t0, t1, t2, t3, t4, t5, x3, y3, z3 fieldElement
	t0.mul(&p1.x, &p2.x)  // 1. t0 = X1·X2
	t1.mul(&p1.y, &p2.y)  // 2. t1 = Y1·Y2
	t2.mul(&p1.z, &p2.z)  // 3. t2 = Z1·Z2
	t3.add(&p1.x, &p1.y)  // 4. t3 = X1+Y1
	t4.add(&p2.x, &p2.y)  // 5. t4 = X2+Y2
	t3.mul(&t3, &t4)      // 6. t3 = t3·t4
	t4.add(&t0, &t1)      // 7. t4 = t0+t1
	t3.sub(&t3, &t4)      // 8. t3 = t3−t4
	t4.add(&p1.x, &p1.z)  // 9. t4 = X1+Z1
	t5.add(&p2.x, &p2.z)  // 10. t5 = X2+Z2
	t4.mul(&t4, &t5)      // 11. t4 = t4·t5
	t5.add(&t0, &t2)      // 12. t5 = t0+t2
	t4.sub(&t4, &t5)      // 13. t4 = t4−t5
	t5.add(&p1.y, &p1.z)  // 14. t5 = Y1+Z1
	x3.add(&p2.y, &p2.z)  // 15. X3 = Y2+Z2
	t5.mul(&t5, &x3)      // 16. t5 = t5·X3
	x3.add(&t1, &t2)      // 17. X3 = t1+t2
	t5.sub(&t5, &x3)      // 18. t5 = t5−X3
	z3.mul(&curveA, &t4)  // 19. Z3 = a·t4
	x3.mul(&curveB3, &t2) // 20. X3 = b3·t2
	z3.add(&x3, &z3)      // 21. Z3 = X3+Z3
	x3.sub(&t1, &z3)      // 22. X3 = t1−Z3
	z3.add(&t1, &z3)      // 23. Z3 = t1+Z3
	y3.mul(&x3, &z3)      // 24. Y3 = X3·Z3
	t1.add(&t0, &t0)      // 25. t1 = t0+t0
	t1.add(&t1, &t0)      // 26. t1 = t1+t0
	t2.mul(&curveA, &t2)  // 27. t2 = a·t2
	t4.mul(&curveB3, &t4) // 28. t4 = b3·t4
	t1.add(&t1, &t2)      // 29. t1 = t1+t2
	t2.sub(&t0, &t2)      // 30. t2 = t0−t2
	t2.mul(&curveA, &t2)  // 31. t2 = a·t2
	t4.add(&t4, &t2)      // 32. t4 = t4+t2
	t0.mul(&t1, &t4)      // 33. t0 = t1·t4
	y3.add(&y3, &t0)      // 34. Y3 = Y3+t0
	t0.mul(&t5, &t4)      // 35. t0 = t5·t4
	x3.mul(&t3, &x3)      // 36. X3 = t3·X3
	x3.sub(&x3, &t0)      // 37. X3 = X3−t0
	t0.mul(&t3, &t1)      // 38. t0 = t3·t1
	z3.mul(&t5, &z3)      // 39. Z3 = t5·Z3
	z3.add(&z3, &t0)      // 40. Z3 = Z3+t0
	p.x, p.y, p.z = x3, y3, z3
	return p
}

// Double sets p = q + q and returns p, for every q of the curve (infinity included).
func (p *Point) Double(q *Point) *Point {
	// Renes–Costello–Batina 2016 (see Add), Algorithm 3: projective doubling for any a.
	var t0, t1, t2, t3, x3, y3, z3 fieldElement
	t0.square(&q.x)       // 1. t0 = X·X
	t1.square(&q.y)       // 2. t1 = Y·Y
	t2.square(&q.z)       // 3. t2 = Z·Z
	t3.mul(&q.x, &q.y)    // 4. t3 = X·Y
	t3.add(&t3, &t3)      // 5. t3 = t3+t3
	z3.mul(&q.x, &q.z)    // 6. Z3 = X·Z
	z3.add(&z3, &z3)      // 7. Z3 = Z3+Z3
	x3.mul(&curveA, &z3)  // 8. X3 = a·Z3
	y3.mul(&curveB3, &t2) // 9. Y3 = b3·t2
	y3.add(&x3, &y3)      // 10. Y3 = X3+Y3
	x3.sub(&t1, &y3)      // 11. X3 = t1−Y3
	y3.add(&t1, &y3)      // 12. Y3 = t1+Y3
	y3.mul(&x3, &y3)      // 13. Y3 = X3·Y3
	x3.mul(&t3, &x3)      // 14. X3 = t3·X3
	z3.mul(&curveB3, &z3) // 15. Z3 = b3·Z3
	t2.mul(&curveA, &t2)  // 16. t2 = a·t2
	t3.sub(&t0, &t2)      // 17. t3 = t0−t2
	t3.mul(&curveA, &t3)  // 18. t3 = a·t3
	t3.add(&t3, &z3)      // 19. t3 = t3+Z3
	z3.add(&t0, &t0)      // 20. Z3 = t0+t0
	t0.add(&z3, &t0)      // 21. t0 = Z3+t0
	t0.add(&t0, &t2)      // 22. t0 = t0+t2
	t0.mul(&t0, &t3)      // 23. t0 = t0·t3
	y3.add(&y3, &t0)      // 24. Y3 = Y3+t0
	t2.mul(&q.y, &q.z)    // 25. t2 = Y·Z
	t2.add(&t2, &t2)      // 26. t2 = t2+t2
	t0.mul(&t2, &t3)      // 27. t0 = t2·t3
	x3.sub(&x3, &t0)      // 28. X3 = X3−t0
	z3.mul(&t2, &t1)      // 29. Z3 = t2·t1
	z3.add(&z3, &z3)      // 30. Z3 = Z3+Z3
	z3.add(&z3, &z3)      // 31. Z3 = Z3+Z3
	p.x, p.y, p.z = x3, y3, z3
	return p
}

// selectFrom sets p to a if c == 1 and to b if c == 0.
func (p *Point) selectFrom(a, b *Point, c uint64) {
	p.x.selectFrom(&a.x, &b.x, c)
	p.y.selectFrom(&a.y, &b.y, c)
	p.z.selectFrom(&a.z, &b.z, c)
}

// table holds [1]Q … [15]Q; [0]Q, the identity, is implicit.
type table [15]Point

// lookup sets p = [i]Q for i in [0, 15], reading every entry so that neither the branch
// pattern nor the memory access pattern depends on i.
func (t *table) lookup(p *Point, i byte) {
	*p = *NewPoint()
	for j := range t {
		c := uint64(subtle.ConstantTimeByteEq(byte(j+1), i))
		p.selectFrom(&t[j], p, c)
	}
}

// ScalarMult sets p = [k]q and returns p, where scalar is k as 32 big-endian bytes. Every k
// is accepted and the result is exact, so k and k mod n give the same point and k = 0 or
// k = n gives the point at infinity; range checks on private keys belong to the callers
// (ECDH, Sign and PublicKey make them). It runs in time independent of k and q.
func (p *Point) ScalarMult(q *Point, scalar []byte) (*Point, error) {
	if len(scalar) != ScalarSize {
		return nil, ErrInvalidScalar
	}
	// Fixed 4-bit window: [1]q…[15]q, then four doublings and one addition of a looked-up
	// multiple per nibble. The table is built before p is touched, so q may alias p.
	var tbl table
	tbl[0] = *q
	for i := 1; i < 15; i += 2 {
		tbl[i].Double(&tbl[i/2])
		tbl[i+1].Add(&tbl[i], q)
	}
	var t Point
	p.Set(NewPoint())
	for i, b := range scalar {
		// The accumulator is the identity before the first byte; doubling it would only
		// waste time, and skipping depends on the position, not on k.
		if i != 0 {
			p.Double(p).Double(p).Double(p).Double(p)
		}
		tbl.lookup(&t, b>>4)
		p.Add(p, &t)
		p.Double(p).Double(p).Double(p).Double(p)
		tbl.lookup(&t, b&0x0f)
		p.Add(p, &t)
	}
	return p, nil
}

var (
	generatorTables     *[2 * ScalarSize]table
	generatorTablesOnce sync.Once
)

// baseTables returns 64 tables; table i holds [1…15]·16^i·G. Built once, on first use
// (64·15 additions), and 92 KiB in size.
func baseTables() *[2 * ScalarSize]table {
	generatorTablesOnce.Do(func() {
		tables := new([2 * ScalarSize]table)
		base := NewGenerator()
		for i := range tables {
			tables[i][0] = *base
			for j := 1; j < 15; j++ {
				tables[i][j].Add(&tables[i][j-1], base)
			}
			base.Double(base).Double(base).Double(base).Double(base)
		}
		generatorTables = tables
	})
	return generatorTables
}

// ScalarBaseMult sets p = [k]G and returns p, with the same scalar rules as ScalarMult.
func (p *Point) ScalarBaseMult(scalar []byte) (*Point, error) {
	if len(scalar) != ScalarSize {
		return nil, ErrInvalidScalar
	}
	// As ScalarMult, but the doublings are in the tables: the nibble of weight 16^i picks
	// from table i, so only the 64 additions remain.
	tables := baseTables()
	var t Point
	p.Set(NewPoint())
	i := len(tables) - 1
	for _, b := range scalar {
		tables[i].lookup(&t, b>>4)
		p.Add(p, &t)
		tables[i-1].lookup(&t, b&0x0f)
		p.Add(p, &t)
		i -= 2
	}
	return p, nil
}
