package certs_test

import (
	"crypto/ecdsa"
	"testing"

	"github.com/smdpp/smdpp/certs"
)

var benchCurves = []struct{ name, suffix string }{{"nist", "NIST"}, {"brainpool", "BRP"}}

func BenchmarkParseCertificate(b *testing.B) {
	for _, c := range benchCurves {
		der := readTestdata(b, "EUM/CERT_EUM_ECDSA_"+c.suffix+".der")
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := certs.ParseCertificate(der); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerifyEUICCChain is the certificate work of one AuthenticateClient: two signature
// checks (EUM by CI, eUICC by EUM) and the SGP.22 rules.
func BenchmarkVerifyEUICCChain(b *testing.B) {
	roots := testRoots(b)
	for _, c := range benchCurves {
		euicc := loadCert(b, "eUICC/CERT_EUICC_ECDSA_"+c.suffix+".der")
		eum := loadCert(b, "EUM/CERT_EUM_ECDSA_"+c.suffix+".der")
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := certs.VerifyEUICCChain(euicc, eum, roots, certs.VerifyOptions{Now: nov2026}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkVerifyRaw(b *testing.B) {
	msg := make([]byte, 100)
	for _, c := range benchCurves {
		key := loadKey(b, "DPauth/SK_S_SM_DPauth_ECDSA_"+c.suffix+".pem")
		sig, err := certs.SignRaw(key, msg)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if !certs.VerifyRaw(&key.PublicKey, msg, sig) {
					b.Fatal("verify failed")
				}
			}
		})
	}
}

func BenchmarkSignRaw(b *testing.B) {
	msg := make([]byte, 100)
	for _, c := range benchCurves {
		key := loadKey(b, "DPauth/SK_S_SM_DPauth_ECDSA_"+c.suffix+".pem")
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := certs.SignRaw(key, msg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkECDH measures the shared-secret step of the BSP key agreement (SGP.22 §2.6.5 ECKA):
// crypto/ecdh for P-256, and the elliptic.Curve ScalarMult both curves fall back to.
func BenchmarkECDH(b *testing.B) {
	for _, c := range benchCurves {
		priv := loadKey(b, "DPpb/SK_S_SM_DPpb_ECDSA_"+c.suffix+".pem")
		peer := loadKey(b, "eUICC/SK_EUICC_ECDSA_"+c.suffix+".pem").PublicKey
		scalar := priv.D.FillBytes(make([]byte, 32))
		b.Run(c.name+"/ScalarMult", func(b *testing.B) {
			for b.Loop() {
				//lint:ignore SA1019 brainpool has no crypto/ecdh implementation; this is the path it takes.
				x, _ := peer.Curve.ScalarMult(peer.X, peer.Y, scalar)
				if x.Sign() == 0 {
					b.Fatal("zero")
				}
			}
		})
		if c.name == "nist" {
			ecdhPriv, err := priv.ECDH()
			if err != nil {
				b.Fatal(err)
			}
			ecdhPeer, err := (&ecdsa.PublicKey{Curve: peer.Curve, X: peer.X, Y: peer.Y}).ECDH()
			if err != nil {
				b.Fatal(err)
			}
			b.Run(c.name+"/crypto-ecdh", func(b *testing.B) {
				for b.Loop() {
					if _, err := ecdhPriv.ECDH(ecdhPeer); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
