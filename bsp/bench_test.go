package bsp

import (
	"crypto/rand"
	"testing"
)

func BenchmarkDeriveSessionKeys(b *testing.B) {
	z := make([]byte, 32)
	hostID := []byte("mahlzeit")
	eid := make([]byte, EIDLength)
	for b.Loop() {
		if _, err := DeriveSessionKeys(z, KeyTypeAES, KeyLength, hostID, eid); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSharedSecret measures one ECKA per curve, the cost each side pays
// per download.
func BenchmarkSharedSecret(b *testing.B) {
	for _, c := range curves {
		b.Run(c.name, func(b *testing.B) {
			priv, err := GenerateOneTimeKey(c.curve, rand.Reader)
			if err != nil {
				b.Fatal(err)
			}
			peer, err := GenerateOneTimeKey(c.curve, rand.Reader)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := SharedSecret(priv, &peer.PublicKey); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkGenerateOneTimeKey measures the one-time key pair per curve.
func BenchmarkGenerateOneTimeKey(b *testing.B) {
	for _, c := range curves {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := GenerateOneTimeKey(c.curve, rand.Reader); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// profileSize is about a TS.48 test profile (11.7 to 12.3 KB).
const profileSize = 12 * 1024

func BenchmarkWrapProfile12KB(b *testing.B) {
	profile := make([]byte, profileSize)
	keys := testKeys(9)
	b.SetBytes(profileSize)
	for b.Loop() {
		if _, err := NewSession(keys).WrapSegments(Tag86, profile); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnwrapProfile12KB(b *testing.B) {
	keys := testKeys(9)
	segs, err := NewSession(keys).WrapSegments(Tag86, make([]byte, profileSize))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(profileSize)
	for b.Loop() {
		if _, err := NewSession(keys).UnwrapSegments(Tag86, segs); err != nil {
			b.Fatal(err)
		}
	}
}
