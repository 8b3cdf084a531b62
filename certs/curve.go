package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"

	"github.com/ProtonMail/go-crypto/brainpool"
)

// Object identifiers for the key and signature algorithms SGP.22 allows (SGP.22 §2.6.5).
var (
	OIDPublicKeyECDSA    = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	OIDSignatureECDSA256 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	OIDNamedCurveP256    = asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7}
	OIDBrainpoolP256r1   = asn1.ObjectIdentifier{1, 3, 36, 3, 3, 2, 8, 1, 1, 7}
)

// BrainpoolP256r1 returns the brainpoolP256r1 curve of RFC 5639 §3.4.
func BrainpoolP256r1() elliptic.Curve { return brainpool.P256r1() }

// CurveByOID returns the curve a namedCurve OID names, or false for a curve SGP.22 does not allow.
func CurveByOID(oid asn1.ObjectIdentifier) (elliptic.Curve, bool) {
	switch {
	case oid.Equal(OIDNamedCurveP256):
		return elliptic.P256(), true
	case oid.Equal(OIDBrainpoolP256r1):
		return BrainpoolP256r1(), true
	}
	return nil, false
}

// CurveOID returns the namedCurve OID of an allowed curve.
func CurveOID(c elliptic.Curve) (asn1.ObjectIdentifier, bool) {
	switch c.Params().Name {
	case elliptic.P256().Params().Name:
		return OIDNamedCurveP256, true
	case BrainpoolP256r1().Params().Name:
		return OIDBrainpoolP256r1, true
	}
	return nil, false
}

// CurveName is the short name used in configuration and output: "nist" or "brainpool".
func CurveName(c elliptic.Curve) string {
	if oid, ok := CurveOID(c); ok && oid.Equal(OIDBrainpoolP256r1) {
		return "brainpool"
	}
	return "nist"
}

// CurveByName maps "nist" (or "p256") and "brainpool" (or "brainpoolP256r1") to a curve.
func CurveByName(name string) (elliptic.Curve, error) {
	switch name {
	case "nist", "p256", "P-256":
		return elliptic.P256(), nil
	case "brainpool", "brainpoolP256r1":
		return BrainpoolP256r1(), nil
	}
	return nil, fmt.Errorf("certs: unknown curve %q (want nist or brainpool)", name)
}

// coordinateSize is the byte length of one coordinate or scalar on the allowed 256-bit curves.
const coordinateSize = 32

// MarshalPoint encodes a public key as an uncompressed point 04‖X‖Y (SEC 1 §2.3.3),
// the form SGP.22 uses for one-time keys (otPK) and in SubjectPublicKeyInfo.
func MarshalPoint(pub *ecdsa.PublicKey) []byte {
	out := make([]byte, 1+2*coordinateSize)
	out[0] = 4
	pub.X.FillBytes(out[1 : 1+coordinateSize])
	pub.Y.FillBytes(out[1+coordinateSize:])
	return out
}

// ErrInvalidPoint is returned for an encoded point that is malformed or not on the curve.
var ErrInvalidPoint = errors.New("certs: invalid elliptic curve point")

// ParsePoint decodes an uncompressed point and checks that it lies on the curve.
func ParsePoint(c elliptic.Curve, data []byte) (*ecdsa.PublicKey, error) {
	if len(data) != 1+2*coordinateSize || data[0] != 4 {
		return nil, ErrInvalidPoint
	}
	x := new(big.Int).SetBytes(data[1 : 1+coordinateSize])
	y := new(big.Int).SetBytes(data[1+coordinateSize:])
	p := c.Params().P
	if x.Cmp(p) >= 0 || y.Cmp(p) >= 0 || !c.IsOnCurve(x, y) {
		return nil, ErrInvalidPoint
	}
	return &ecdsa.PublicKey{Curve: c, X: x, Y: y}, nil
}
