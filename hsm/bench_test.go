//go:build cgo

package hsm

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"testing"
)

// BenchmarkSign compares one ECDSA signature by a SoftHSM key with one by the same key as a file
// key (*ecdsa.PrivateKey), per curve, serially and from parallel goroutines.
func BenchmarkSign(b *testing.B) {
	m := openTest(b)
	digest := sha256.Sum256([]byte("serverSigned1"))
	for _, c := range testCurves {
		priv, err := ecdsa.GenerateKey(c.curve, rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		hsmKey, err := m.ImportKey(freshLabel(b, m, "bench-"+c.name), priv)
		if err != nil {
			b.Fatal(err)
		}
		for _, k := range []struct {
			name string
			s    crypto.Signer
		}{{"hsm", hsmKey}, {"file", priv}} {
			b.Run(c.name+"/"+k.name, func(b *testing.B) {
				for b.Loop() {
					if _, err := k.s.Sign(rand.Reader, digest[:], crypto.SHA256); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run(c.name+"/"+k.name+"/parallel", func(b *testing.B) {
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if _, err := k.s.Sign(rand.Reader, digest[:], crypto.SHA256); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
		}
	}
}
