package brainpool

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"math/big"
	"testing"
)

// The benchmarks run each operation here ("brainpool") and in the ProtonMail
// elliptic.Curve through crypto/ecdsa's generic path ("protonmail"), which it replaces.

func benchKey(b *testing.B) (priv, pub []byte, ref *ecdsa.PrivateKey) {
	priv, pub, err := GenerateKey(nil)
	if err != nil {
		b.Fatal(err)
	}
	return priv, pub, refKey(priv, pub)
}

func BenchmarkScalarBaseMult(b *testing.B) {
	k, _, _ := benchKey(b)
	b.Run("brainpool", func(b *testing.B) {
		p := NewPoint()
		for b.Loop() {
			p.ScalarBaseMult(k)
		}
	})
	b.Run("protonmail", func(b *testing.B) {
		for b.Loop() {
			refCurve.ScalarBaseMult(k)
		}
	})
}

func BenchmarkScalarMult(b *testing.B) {
	k, pub, ref := benchKey(b)
	q, _ := NewPoint().SetBytes(pub)
	b.Run("brainpool", func(b *testing.B) {
		p := NewPoint()
		for b.Loop() {
			p.ScalarMult(q, k)
		}
	})
	b.Run("protonmail", func(b *testing.B) {
		for b.Loop() {
			refCurve.ScalarMult(ref.X, ref.Y, k)
		}
	})
}

func BenchmarkECDH(b *testing.B) {
	priv, _, ref := benchKey(b)
	_, peer, _ := benchKey(b)
	px, py := new(big.Int).SetBytes(peer[1:33]), new(big.Int).SetBytes(peer[33:])
	b.Run("brainpool", func(b *testing.B) {
		for b.Loop() {
			if _, err := ECDH(priv, peer); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("protonmail", func(b *testing.B) {
		// As bsp.SharedSecret does today: check the peer, multiply, keep x.
		for b.Loop() {
			if !refCurve.IsOnCurve(px, py) {
				b.Fatal("peer off curve")
			}
			x, _ := refCurve.ScalarMult(px, py, ref.D.Bytes())
			x.FillBytes(make([]byte, 32))
		}
	})
}

func BenchmarkSign(b *testing.B) {
	priv, _, ref := benchKey(b)
	digest := sha256.Sum256([]byte("benchmark"))
	b.Run("brainpool", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := Sign(rand.Reader, priv, digest[:]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("protonmail", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := ecdsa.Sign(rand.Reader, ref, digest[:]); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkVerify(b *testing.B) {
	priv, pub, ref := benchKey(b)
	digest := sha256.Sum256([]byte("benchmark"))
	r, s, err := Sign(rand.Reader, priv, digest[:])
	if err != nil {
		b.Fatal(err)
	}
	rb, sb := new(big.Int).SetBytes(r), new(big.Int).SetBytes(s)
	b.Run("brainpool", func(b *testing.B) {
		for b.Loop() {
			if !Verify(pub, digest[:], r, s) {
				b.Fatal("does not verify")
			}
		}
	})
	b.Run("protonmail", func(b *testing.B) {
		for b.Loop() {
			if !ecdsa.Verify(&ref.PublicKey, digest[:], rb, sb) {
				b.Fatal("does not verify")
			}
		}
	})
}
