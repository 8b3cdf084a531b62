package bsp

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/asn1"
	"encoding/json"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"testing"
)

// curves lists the two SGP.22 curves by name for table-driven tests.
var curves = []struct {
	name  string
	curve elliptic.Curve
}{
	{"P256", P256()},
	{"brainpoolP256r1", BrainpoolP256r1()},
}

// privateKeyFromScalar builds a private key on curve from a big-endian scalar,
// the way the vectors give it. Only D is set (SharedSecret uses nothing else)
// and its range is not checked, so that SharedSecret's own checks run.
func privateKeyFromScalar(curve elliptic.Curve, scalar []byte) *ecdsa.PrivateKey {
	return &ecdsa.PrivateKey{PublicKey: ecdsa.PublicKey{Curve: curve}, D: new(big.Int).SetBytes(scalar)}
}

type wycheproofECDH struct {
	TestGroups []struct {
		Curve string `json:"curve"`
		Tests []struct {
			TcID    int      `json:"tcId"`
			Comment string   `json:"comment"`
			Public  hexBytes `json:"public"`
			Private hexBytes `json:"private"`
			Shared  hexBytes `json:"shared"`
			Result  string   `json:"result"`
			Flags   []string `json:"flags"`
		} `json:"tests"`
	} `json:"testGroups"`
}

var (
	oidECPublicKey     = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	oidBrainpoolP256r1 = asn1.ObjectIdentifier{1, 3, 36, 3, 3, 2, 8, 1, 1, 7}
)

// pointFromSPKI extracts the point of a SubjectPublicKeyInfo for an id-ecPublicKey
// on the named curve brainpoolP256r1; any other form (explicit parameters,
// another curve, bad DER) is refused, as the eUICC only ever receives a raw
// point on a curve it already knows.
func pointFromSPKI(der []byte) ([]byte, bool) {
	var spki struct {
		Algorithm struct {
			Algorithm  asn1.ObjectIdentifier
			Parameters asn1.RawValue
		}
		PublicKey asn1.BitString
	}
	rest, err := asn1.Unmarshal(der, &spki)
	if err != nil || len(rest) != 0 || !spki.Algorithm.Algorithm.Equal(oidECPublicKey) {
		return nil, false
	}
	var curve asn1.ObjectIdentifier
	rest, err = asn1.Unmarshal(spki.Algorithm.Parameters.FullBytes, &curve)
	if err != nil || len(rest) != 0 || !curve.Equal(oidBrainpoolP256r1) {
		return nil, false
	}
	if spki.PublicKey.BitLength%8 != 0 {
		return nil, false
	}
	return spki.PublicKey.Bytes, true
}

// TestSharedSecretWycheproof runs Wycheproof's ECDH vectors for both curves
// through ParseUncompressedPoint and SharedSecret: valid cases must give the
// expected secret, invalid ones (points off the curve, wrong curves, bad
// encodings) must fail, and acceptable ones may go either way but must not
// give a wrong secret.
func TestSharedSecretWycheproof(t *testing.T) {
	files := []struct {
		file  string
		curve elliptic.Curve
		point func([]byte) ([]byte, bool)
	}{
		{"ecdh_secp256r1_ecpoint_test.json", P256(), func(b []byte) ([]byte, bool) { return b, true }},
		{"ecdh_brainpoolP256r1_test.json", BrainpoolP256r1(), pointFromSPKI},
	}
	for _, f := range files {
		t.Run(f.curve.Params().Name, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(vectorsDir, "wycheproof", f.file))
			if err != nil {
				t.Fatal(err)
			}
			var file wycheproofECDH
			if err := json.Unmarshal(raw, &file); err != nil {
				t.Fatal(err)
			}
			valid := 0
			for _, g := range file.TestGroups {
				for _, tc := range g.Tests {
					var z []byte
					err := errors.New("public key refused")
					if point, ok := f.point(tc.Public); ok {
						var pub *ecdsa.PublicKey
						if pub, err = ParseUncompressedPoint(f.curve, point); err == nil {
							z, err = SharedSecret(privateKeyFromScalar(f.curve, tc.Private), pub)
						}
					}
					switch {
					case tc.Result == "valid" && err != nil:
						t.Errorf("tcId %d (%s): %v", tc.TcID, tc.Comment, err)
					case tc.Result == "invalid" && err == nil:
						t.Errorf("tcId %d (%s %v): accepted an invalid public key", tc.TcID, tc.Comment, tc.Flags)
					case err == nil && !bytes.Equal(z, tc.Shared):
						t.Errorf("tcId %d (%s): shared secret %x, want %x", tc.TcID, tc.Comment, z, tc.Shared)
					}
					if tc.Result == "valid" {
						valid++
					}
				}
			}
			if valid < 300 {
				t.Fatalf("only %d valid cases read", valid)
			}
		})
	}
}

func TestSharedSecretRoundTrip(t *testing.T) {
	for _, c := range curves {
		t.Run(c.name, func(t *testing.T) {
			a, err := GenerateOneTimeKey(c.curve, rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			b, err := GenerateOneTimeKey(c.curve, rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			// Each side receives the other's otPK as an uncompressed point.
			pa, err := MarshalUncompressedPoint(&a.PublicKey)
			if err != nil {
				t.Fatal(err)
			}
			pb, err := MarshalUncompressedPoint(&b.PublicKey)
			if err != nil {
				t.Fatal(err)
			}
			if len(pa) != 65 || pa[0] != 4 {
				t.Fatalf("point %x is not 04||X||Y", pa)
			}
			peerA, err := ParseUncompressedPoint(c.curve, pa)
			if err != nil {
				t.Fatal(err)
			}
			peerB, err := ParseUncompressedPoint(c.curve, pb)
			if err != nil {
				t.Fatal(err)
			}
			zab, err := SharedSecret(a, peerB)
			if err != nil {
				t.Fatal(err)
			}
			zba, err := SharedSecret(b, peerA)
			if err != nil {
				t.Fatal(err)
			}
			if len(zab) != 32 || !bytes.Equal(zab, zba) {
				t.Fatalf("shared secrets differ: %x / %x", zab, zba)
			}
		})
	}
}

func TestUncompressedPointMalformed(t *testing.T) {
	for _, c := range curves {
		t.Run(c.name, func(t *testing.T) {
			key, err := GenerateOneTimeKey(c.curve, rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			good, err := MarshalUncompressedPoint(&key.PublicKey)
			if err != nil {
				t.Fatal(err)
			}
			p := c.curve.Params().P.FillBytes(make([]byte, 32))
			mod := func(f func(b []byte) []byte) []byte {
				return f(append([]byte(nil), good...))
			}
			tests := []struct {
				name  string
				point []byte
			}{
				{"empty", nil},
				{"only_prefix", []byte{4}},
				{"compressed", mod(func(b []byte) []byte { b[0] = 2 + b[64]&1; return b[:33] })},
				{"prefix_03_full_length", mod(func(b []byte) []byte { b[0] = 3; return b })},
				{"hybrid_prefix_06", mod(func(b []byte) []byte { b[0] = 6; return b })},
				{"truncated", good[:64]},
				{"trailing_byte", append(append([]byte(nil), good...), 0)},
				{"y_flipped_bit", mod(func(b []byte) []byte { b[64] ^= 1; return b })},
				{"x_is_p", mod(func(b []byte) []byte { copy(b[1:33], p); return b })},
				{"x_plus_p", mod(func(b []byte) []byte {
					// x+p is congruent to x; it only fits in 32 bytes when
					// x+p < 2^256, otherwise the point is plainly out of range.
					x := new(big.Int).Add(new(big.Int).SetBytes(b[1:33]), c.curve.Params().P)
					if x.BitLen() <= 256 {
						x.FillBytes(b[1:33])
					} else {
						copy(b[1:33], bytes.Repeat([]byte{0xFF}, 32))
					}
					return b
				})},
				{"infinity_zeros", append([]byte{4}, make([]byte, 64)...)},
				{"infinity_single_zero", []byte{0}},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					if _, err := ParseUncompressedPoint(c.curve, tc.point); !errors.Is(err, ErrInvalidPublicKey) {
						t.Errorf("ParseUncompressedPoint(%x) error = %v, want ErrInvalidPublicKey", tc.point, err)
					}
				})
			}
		})
	}
	t.Run("unsupported_curve", func(t *testing.T) {
		if _, err := ParseUncompressedPoint(elliptic.P384(), make([]byte, 97)); !errors.Is(err, ErrUnsupportedCurve) {
			t.Errorf("P-384: %v", err)
		}
		if _, err := ParseUncompressedPoint(nil, nil); !errors.Is(err, ErrUnsupportedCurve) {
			t.Errorf("nil curve: %v", err)
		}
		if _, err := GenerateOneTimeKey(elliptic.P384(), rand.Reader); !errors.Is(err, ErrUnsupportedCurve) {
			t.Errorf("GenerateOneTimeKey(P-384): %v", err)
		}
	})
}

func TestSharedSecretMalformed(t *testing.T) {
	p256, err := GenerateOneTimeKey(P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	bp, err := GenerateOneTimeKey(BrainpoolP256r1(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	withD := func(k *ecdsa.PrivateKey, d *big.Int) *ecdsa.PrivateKey {
		return &ecdsa.PrivateKey{PublicKey: k.PublicKey, D: d}
	}
	offCurve := func(k *ecdsa.PrivateKey) *ecdsa.PublicKey {
		return &ecdsa.PublicKey{Curve: k.Curve, X: k.X, Y: new(big.Int).Add(k.Y, big.NewInt(1))}
	}
	for _, k := range []*ecdsa.PrivateKey{p256, bp} {
		n := k.Curve.Params().N
		name := k.Curve.Params().Name
		tests := []struct {
			name string
			priv *ecdsa.PrivateKey
			peer *ecdsa.PublicKey
			want error
		}{
			{"nil_private", nil, &k.PublicKey, ErrInvalidPrivateKey},
			{"nil_peer", k, nil, ErrInvalidPublicKey},
			{"nil_D", withD(k, nil), &k.PublicKey, ErrInvalidPrivateKey},
			{"D_zero", withD(k, big.NewInt(0)), &k.PublicKey, ErrInvalidPrivateKey},
			{"D_negative", withD(k, big.NewInt(-1)), &k.PublicKey, ErrInvalidPrivateKey},
			{"D_equals_n", withD(k, n), &k.PublicKey, ErrInvalidPrivateKey},
			{"peer_nil_coordinates", k, &ecdsa.PublicKey{Curve: k.Curve}, ErrInvalidPublicKey},
			{"peer_off_curve", k, offCurve(k), ErrInvalidPublicKey},
			{"peer_infinity", k, &ecdsa.PublicKey{Curve: k.Curve, X: new(big.Int), Y: new(big.Int)}, ErrInvalidPublicKey},
			{"peer_negative_x", k, &ecdsa.PublicKey{Curve: k.Curve, X: new(big.Int).Neg(k.X), Y: k.Y}, ErrInvalidPublicKey},
			{"peer_on_other_curve", k, &p384.PublicKey, ErrUnsupportedCurve},
			{"private_on_other_curve", p384, &k.PublicKey, ErrUnsupportedCurve},
		}
		for _, tc := range tests {
			t.Run(name+"/"+tc.name, func(t *testing.T) {
				if _, err := SharedSecret(tc.priv, tc.peer); !errors.Is(err, tc.want) {
					t.Errorf("error = %v, want %v", err, tc.want)
				}
			})
		}
	}
	t.Run("mixed_curves", func(t *testing.T) {
		if _, err := SharedSecret(p256, &bp.PublicKey); !errors.Is(err, ErrUnsupportedCurve) {
			t.Errorf("P-256 key with brainpool peer: %v", err)
		}
		if _, err := SharedSecret(bp, &p256.PublicKey); !errors.Is(err, ErrUnsupportedCurve) {
			t.Errorf("brainpool key with P-256 peer: %v", err)
		}
	})
	t.Run("marshal_invalid", func(t *testing.T) {
		if _, err := MarshalUncompressedPoint(nil); !errors.Is(err, ErrInvalidPublicKey) {
			t.Errorf("nil: %v", err)
		}
		if _, err := MarshalUncompressedPoint(offCurve(bp)); !errors.Is(err, ErrInvalidPublicKey) {
			t.Errorf("off curve: %v", err)
		}
		if _, err := MarshalUncompressedPoint(&p384.PublicKey); !errors.Is(err, ErrUnsupportedCurve) {
			t.Errorf("P-384: %v", err)
		}
	})
}
