package brainpool

import (
	"crypto/hmac"
	cryptorand "crypto/rand"
	"crypto/sha256"
	"io"
)

// PublicKey returns the uncompressed public point [priv]G of the 32-byte private key priv,
// which must lie in [1, n−1] (else ErrInvalidScalar).
func PublicKey(priv []byte) ([]byte, error) {
	var d scalar
	if !d.setCanonical(priv) {
		return nil, ErrInvalidScalar
	}
	p, err := NewPoint().ScalarBaseMult(priv)
	if err != nil {
		return nil, err
	}
	return p.Bytes(), nil
}

// GenerateKey returns a new private key (32 bytes, uniform in [1, n−1] by rejection
// sampling, FIPS 186-5 Appendix A.2.2) and its uncompressed public point. A nil rand means
// crypto/rand.Reader; unlike crypto/ecdsa since Go 1.26, a given rand is used as is.
func GenerateKey(rand io.Reader) (priv, pub []byte, err error) {
	if rand == nil {
		rand = cryptorand.Reader
	}
	var d scalar
	for {
		priv = make([]byte, ScalarSize)
		if _, err := io.ReadFull(rand, priv); err != nil {
			return nil, nil, err
		}
		// About a third of 256-bit strings are ≥ n (n ≈ 0.66·2^256); a rejection reveals
		// only that a discarded candidate was out of range.
		if d.setCanonical(priv) {
			break
		}
	}
	p, err := NewPoint().ScalarBaseMult(priv)
	if err != nil {
		return nil, nil, err
	}
	return priv, p.Bytes(), nil
}

// ECDH returns the shared secret of the private key priv (32 bytes in [1, n−1]) and the
// peer's uncompressed public point: the 32-byte affine x-coordinate of [priv]peer, as in
// BSI TR-03111 ECKA-DH and SGP.22 §2.6.4 (ShS). A peer point that is malformed, off the
// curve or the point at infinity gives ErrInvalidPoint; since the cofactor is 1 and priv is
// not 0 mod n, the product is never the point at infinity.
func ECDH(priv, peerUncompressed []byte) ([]byte, error) {
	var d scalar
	if !d.setCanonical(priv) {
		return nil, ErrInvalidScalar
	}
	q, err := NewPoint().SetBytes(peerUncompressed)
	if err != nil {
		return nil, err
	}
	if _, err := q.ScalarMult(q, priv); err != nil {
		return nil, err
	}
	return q.BytesX()
}

// hashToScalar returns bits2int(digest) mod n (FIPS 186-5 §6.4.1 step 2, RFC 6979 §2.3.2):
// the leftmost 256 bits of digest, or its whole value if it is shorter.
func hashToScalar(digest []byte) scalar {
	var b [ScalarSize]byte
	if len(digest) > ScalarSize {
		digest = digest[:ScalarSize]
	}
	copy(b[ScalarSize-len(digest):], digest)
	var e scalar
	e.setReduced(&b)
	return e
}

// Sign signs digest (the hash of the message, normally SHA-256 for SGP.22) with the private
// key priv (32 bytes in [1, n−1]) and returns r and s, 32 bytes each big-endian (the two
// halves of an IEEE P1363 signature; callers wrap them into ECDSA-Sig-Value DER as needed).
//
// The nonce is hedged, as crypto/ecdsa's is: RFC 6979 §3.2 HMAC_DRBG with SHA-256 seeded with
// the private key, bits2octets(digest) and 32 bytes from rand as the additional data k' of
// RFC 6979 §3.6. A broken rand thus degrades to deterministic RFC 6979 signing instead of
// leaking the key, and a fault that repeats the inputs still gets fresh randomness. A nil
// rand means crypto/rand.Reader.
func Sign(rand io.Reader, priv, digest []byte) (r, s []byte, err error) {
	var d scalar
	if !d.setCanonical(priv) {
		return nil, nil, ErrInvalidScalar
	}
	if rand == nil {
		rand = cryptorand.Reader
	}
	var extra [32]byte
	if _, err := io.ReadFull(rand, extra[:]); err != nil {
		return nil, nil, err
	}
	e := hashToScalar(digest)
	eb := e.bytes()
	drbg := newHMACDRBG(priv, eb[:], extra[:])
	for {
		// RFC 6979 §3.2 step h: draw candidates until one is in [1, n−1].
		var kb [32]byte
		drbg.next(&kb)
		var k scalar
		if !k.setCanonical(kb[:]) {
			continue
		}
		R, err := NewPoint().ScalarBaseMult(kb[:])
		if err != nil {
			return nil, nil, err
		}
		x, err := R.BytesX() // k ≠ 0 mod n, so R is finite
		if err != nil {
			return nil, nil, err
		}
		var xb [32]byte
		copy(xb[:], x)
		var rs, ss, kInv scalar
		rs.setReduced(&xb)
		// s = k⁻¹·(e + r·d)
		ss.mul(&rs, &d).add(&ss, &e).mul(&ss, kInv.invert(&k))
		// r = 0 or s = 0 happen with probability about 2^-255; FIPS 186-5 says draw again.
		if rs.isZero()|ss.isZero() == 1 {
			continue
		}
		rb, sb := rs.bytes(), ss.bytes()
		return rb[:], sb[:], nil
	}
}

// Verify reports whether (r, s) is a valid signature of digest under the uncompressed public
// point pub (FIPS 186-5 §6.4.2). r and s are 32 bytes each, big-endian; any other length, a
// value outside [1, n−1] or an invalid point gives false. Verification handles only public
// data, so it returns early on bad input and need not be constant time.
func Verify(pub, digest, r, s []byte) bool {
	q, err := NewPoint().SetBytes(pub)
	if err != nil {
		return false
	}
	var rs, ss scalar
	if !rs.setCanonical(r) || !ss.setCanonical(s) {
		return false
	}
	e := hashToScalar(digest)
	var w, u1, u2 scalar
	w.invert(&ss)
	u1.mul(&e, &w)
	u2.mul(&rs, &w)
	u1b, u2b := u1.bytes(), u2.bytes()
	p1, err := NewPoint().ScalarBaseMult(u1b[:])
	if err != nil {
		return false
	}
	p2, err := q.ScalarMult(q, u2b[:])
	if err != nil {
		return false
	}
	x, err := p1.Add(p1, p2).BytesX()
	if err != nil {
		return false // the point at infinity
	}
	var xb [32]byte
	copy(xb[:], x)
	var v scalar
	v.setReduced(&xb)
	return v.equal(&rs) == 1
}

// hmacDRBG is the HMAC_DRBG of RFC 6979 §3.2 (that of NIST SP 800-90A with one Update per
// draw) over SHA-256. It lives for one signature.
type hmacDRBG struct {
	k, v [32]byte
}

// newHMACDRBG runs RFC 6979 §3.2 steps b–g with seed = int2octets(x) ‖ bits2octets(h1) ‖ k'.
func newHMACDRBG(seed ...[]byte) *hmacDRBG {
	d := new(hmacDRBG) // step c: K = 0x00…00
	for i := range d.v {
		d.v[i] = 0x01 // step b: V = 0x01…01
	}
	d.update(0x00, seed) // steps d–e
	d.update(0x01, seed) // steps f–g
	return d
}

// update sets K = HMAC_K(V ‖ sep ‖ seed), then V = HMAC_K(V).
func (d *hmacDRBG) update(sep byte, seed [][]byte) {
	h := hmac.New(sha256.New, d.k[:])
	h.Write(d.v[:])
	h.Write([]byte{sep})
	for _, s := range seed {
		h.Write(s)
	}
	copy(d.k[:], h.Sum(nil))
	h = hmac.New(sha256.New, d.k[:])
	h.Write(d.v[:])
	copy(d.v[:], h.Sum(nil))
}

// next writes the next 256-bit candidate T (step h.2: V = HMAC_K(V), T = V), then runs step
// h.3 (K = HMAC_K(V ‖ 0x00), V = HMAC_K(V)) so that a further call yields a fresh candidate.
func (d *hmacDRBG) next(out *[32]byte) {
	h := hmac.New(sha256.New, d.k[:])
	h.Write(d.v[:])
	copy(d.v[:], h.Sum(nil))
	*out = d.v
	d.update(0x00, nil)
}
