package brainpool

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io"
	"math/big"
	"testing"
)

// refKey returns priv and pub as the reference implementation's ecdsa types.
func refKey(priv, pub []byte) *ecdsa.PrivateKey {
	return &ecdsa.PrivateKey{
		PublicKey: ecdsa.PublicKey{Curve: refCurve, X: new(big.Int).SetBytes(pub[1:33]), Y: new(big.Int).SetBytes(pub[33:])},
		D:         new(big.Int).SetBytes(priv),
	}
}

// TestSignVerifyCrossCheck signs with this package and verifies with crypto/ecdsa on the
// ProtonMail curve, and the other way round, for random keys and digests of several lengths
// (bits2int truncates longer digests and keeps the value of shorter ones).
func TestSignVerifyCrossCheck(t *testing.T) {
	iterations := 50
	if testing.Short() {
		iterations = 5
	}
	for _, size := range []int{32, 20, 48, 64} {
		for range iterations {
			priv, pub, err := GenerateKey(nil)
			if err != nil {
				t.Fatal(err)
			}
			if want := refScalarBaseMult(priv); !bytes.Equal(pub, want) {
				t.Fatalf("GenerateKey: pub %x, want %x", pub, want)
			}
			ref := refKey(priv, pub)
			digest := make([]byte, size)
			rand.Read(digest)

			r, s, err := Sign(rand.Reader, priv, digest)
			if err != nil {
				t.Fatal(err)
			}
			if len(r) != 32 || len(s) != 32 {
				t.Fatalf("r, s of %d and %d bytes", len(r), len(s))
			}
			if !ecdsa.Verify(&ref.PublicKey, digest, new(big.Int).SetBytes(r), new(big.Int).SetBytes(s)) {
				t.Fatalf("crypto/ecdsa rejects our signature (digest %d bytes)", size)
			}
			if !Verify(pub, digest, r, s) {
				t.Fatal("Verify rejects our signature")
			}

			rr, ss, err := ecdsa.Sign(rand.Reader, ref, digest)
			if err != nil {
				t.Fatal(err)
			}
			if !Verify(pub, digest, be32(rr), be32(ss)) {
				t.Fatalf("Verify rejects crypto/ecdsa's signature (digest %d bytes)", size)
			}
			digest[0] ^= 0x80
			if Verify(pub, digest, be32(rr), be32(ss)) {
				t.Fatal("Verify accepts a signature of another digest")
			}
		}
	}
}

// TestSignNonce checks the hedged nonce: the same extra randomness gives the same
// signature, and different randomness gives a different r.
func TestSignNonce(t *testing.T) {
	priv, pub, _ := GenerateKey(nil)
	digest := sha256.Sum256([]byte("nonce"))
	fixed := func() io.Reader { return bytes.NewReader(bytes.Repeat([]byte{7}, 32)) }
	r1, s1, err := Sign(fixed(), priv, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	r2, s2, _ := Sign(fixed(), priv, digest[:])
	if !bytes.Equal(r1, r2) || !bytes.Equal(s1, s2) {
		t.Error("same inputs and randomness gave different signatures")
	}
	r3, _, _ := Sign(rand.Reader, priv, digest[:])
	if bytes.Equal(r1, r3) {
		t.Error("fresh randomness gave the same r")
	}
	other := sha256.Sum256([]byte("other"))
	r4, _, _ := Sign(fixed(), priv, other[:])
	if bytes.Equal(r1, r4) {
		t.Error("another digest gave the same r under the same randomness")
	}
	if !Verify(pub, digest[:], r1, s1) {
		t.Error("signature does not verify")
	}
}

// TestSignVerifyMalformed covers the inputs that must be refused.
func TestSignVerifyMalformed(t *testing.T) {
	priv, pub, _ := GenerateKey(nil)
	digest := sha256.Sum256([]byte("malformed"))
	r, s, _ := Sign(nil, priv, digest[:])
	one := big.NewInt(1)
	n := be32(bigN)
	nMinusS := be32(new(big.Int).Sub(bigN, new(big.Int).SetBytes(s)))
	nPlusR := new(big.Int).Add(bigN, new(big.Int).SetBytes(r))
	zero := make([]byte, 32)

	for _, c := range []struct {
		name     string
		pub      []byte
		r, s     []byte
		verifies bool
	}{
		{"valid", pub, r, s, true},
		// ECDSA signatures are malleable: (r, n−s) is valid too.
		{"s negated", pub, r, nMinusS, true},
		{"r zero", pub, zero, s, false},
		{"s zero", pub, r, zero, false},
		{"r = n", pub, n, s, false},
		{"s = n", pub, r, n, false},
		{"r + n", pub, func() []byte {
			if nPlusR.BitLen() > 256 {
				return bytes.Repeat([]byte{0xff}, 32)
			}
			return be32(nPlusR)
		}(), s, false},
		{"r short", pub, r[1:], s, false},
		{"s long", pub, r, append([]byte{0}, s...), false},
		{"r, s swapped", pub, s, r, false},
		{"wrong key", NewGenerator().Bytes(), r, s, false},
		{"bad key", pub[:64], r, s, false},
		{"infinity key", []byte{0}, r, s, false},
		{"off-curve key", append(bytes.Clone(pub[:64]), pub[64]^1), r, s, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := Verify(c.pub, digest[:], c.r, c.s); got != c.verifies {
				t.Errorf("Verify = %v, want %v", got, c.verifies)
			}
		})
	}

	badPrivs := []struct {
		name string
		priv []byte
	}{
		{"zero", zero},
		{"n", n},
		{"n+1", be32(new(big.Int).Add(bigN, one))},
		{"all ones", bytes.Repeat([]byte{0xff}, 32)},
		{"short", priv[1:]},
		{"long", append([]byte{0}, priv...)},
	}
	for _, c := range badPrivs {
		t.Run("private key "+c.name, func(t *testing.T) {
			if _, _, err := Sign(nil, c.priv, digest[:]); err != ErrInvalidScalar {
				t.Errorf("Sign: %v, want ErrInvalidScalar", err)
			}
			if _, err := ECDH(c.priv, pub); err != ErrInvalidScalar {
				t.Errorf("ECDH: %v, want ErrInvalidScalar", err)
			}
			if _, err := PublicKey(c.priv); err != ErrInvalidScalar {
				t.Errorf("PublicKey: %v, want ErrInvalidScalar", err)
			}
		})
	}
	t.Run("private key n-1", func(t *testing.T) {
		nm1 := be32(new(big.Int).Sub(bigN, one))
		got, err := PublicKey(nm1)
		if want := NewPoint().Negate(NewGenerator()).Bytes(); err != nil || !bytes.Equal(got, want) {
			t.Errorf("PublicKey(n−1) = %x, %v; want −G", got, err)
		}
		r, s, err := Sign(nil, nm1, digest[:])
		if err != nil || !Verify(got, digest[:], r, s) {
			t.Errorf("sign/verify with n−1: %v", err)
		}
	})
	t.Run("ECDH bad peer", func(t *testing.T) {
		for _, peer := range [][]byte{nil, {0}, pub[:33], append(bytes.Clone(pub[:64]), pub[64]^1)} {
			if _, err := ECDH(priv, peer); err != ErrInvalidPoint {
				t.Errorf("ECDH(%x): %v, want ErrInvalidPoint", peer, err)
			}
		}
	})
	t.Run("failing rand", func(t *testing.T) {
		if _, _, err := Sign(bytes.NewReader(nil), priv, digest[:]); !errors.Is(err, io.EOF) {
			t.Errorf("Sign with an empty reader: %v, want EOF", err)
		}
		if _, _, err := GenerateKey(bytes.NewReader(make([]byte, 31))); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("GenerateKey with a short reader: %v, want ErrUnexpectedEOF", err)
		}
	})
	t.Run("GenerateKey rejection sampling", func(t *testing.T) {
		// The first candidate is n (refused), the second 1.
		src := append(bytes.Clone(n), be32(one)...)
		d, p, err := GenerateKey(bytes.NewReader(src))
		if err != nil || !bytes.Equal(d, be32(one)) || !bytes.Equal(p, NewGenerator().Bytes()) {
			t.Errorf("GenerateKey = %x, %x, %v; want 1, G", d, p, err)
		}
	})
}

// TestECDHAgainstProtonMail checks ECDH between random key pairs against the reference.
func TestECDHAgainstProtonMail(t *testing.T) {
	for range 20 {
		a, _, _ := GenerateKey(nil)
		_, pubB, _ := GenerateKey(nil)
		got, err := ECDH(a, pubB)
		if err != nil {
			t.Fatal(err)
		}
		if want := refScalarMult(pubB, a)[1:33]; !bytes.Equal(got, want) {
			t.Fatalf("ECDH = %x, want %x", got, want)
		}
	}
}
