package bsp

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"fmt"
	"io"
	"math/big"

	"github.com/ProtonMail/go-crypto/brainpool"
	bp "github.com/smdpp/smdpp/internal/brainpool"
)

// coordinateSize is the byte length of a coordinate, a scalar and the shared
// secret on both supported curves.
const coordinateSize = 32

// uncompressedPointSize is the length of 04 || X || Y on both supported curves.
const uncompressedPointSize = 1 + 2*coordinateSize

// P256 returns NIST P-256 (secp256r1), one of the two curves of SGP.22 §2.6.
func P256() elliptic.Curve { return elliptic.P256() }

// BrainpoolP256r1 returns brainpoolP256r1 (RFC 5639), the other curve of
// SGP.22 §2.6. Its arithmetic is not constant time.
func BrainpoolP256r1() elliptic.Curve { return brainpool.P256r1() }

type curveKind int

const (
	curveUnsupported curveKind = iota
	curveP256
	curveBrainpoolP256r1
)

// kindOf identifies c by identity with the singletons returned by P256 and
// BrainpoolP256r1, as crypto/ecdsa does for its own curves.
func kindOf(c elliptic.Curve) curveKind {
	switch {
	case c == nil:
		return curveUnsupported
	case c == elliptic.P256():
		return curveP256
	case c == brainpool.P256r1():
		return curveBrainpoolP256r1
	}
	return curveUnsupported
}

// GenerateOneTimeKey generates a one-time ECKA key pair (otSK/otPK.DP.ECKA on
// the SM-DP+, otSK/otPK.EUICC.ECKA on the eUICC; SGP.22 §2.6.4) on curve,
// which must be [P256] or [BrainpoolP256r1].
//
// On brainpoolP256r1 the key comes from the constant-time implementation with
// rand; on P-256 rand is passed to [ecdsa.GenerateKey], which since Go 1.26
// ignores it in favour of a secure source unless GODEBUG says otherwise.
func GenerateOneTimeKey(curve elliptic.Curve, rand io.Reader) (*ecdsa.PrivateKey, error) {
	switch kindOf(curve) {
	case curveUnsupported:
		return nil, ErrUnsupportedCurve
	case curveBrainpoolP256r1:
		// Constant time, unlike ecdsa.GenerateKey's generic path for this curve.
		d, pub, err := bp.GenerateKey(rand)
		if err != nil {
			return nil, err
		}
		k := &ecdsa.PrivateKey{D: new(big.Int).SetBytes(d)}
		k.Curve = curve
		k.X = new(big.Int).SetBytes(pub[1 : 1+coordinateSize])
		k.Y = new(big.Int).SetBytes(pub[1+coordinateSize:])
		return k, nil
	}
	return ecdsa.GenerateKey(curve, rand)
}

// MarshalUncompressedPoint encodes pub as the uncompressed point 04 || X || Y
// (SEC 1 §2.3.3), the form carried in smdpOtpk and euiccOtpk (tag '5F49').
// It fails if pub is not a valid point of a supported curve.
func MarshalUncompressedPoint(pub *ecdsa.PublicKey) ([]byte, error) {
	if pub == nil {
		return nil, ErrInvalidPublicKey
	}
	if err := checkPoint(pub.Curve, pub.X, pub.Y); err != nil {
		return nil, err
	}
	out := make([]byte, uncompressedPointSize)
	out[0] = 4
	pub.X.FillBytes(out[1 : 1+coordinateSize])
	pub.Y.FillBytes(out[1+coordinateSize:])
	return out, nil
}

// ParseUncompressedPoint decodes an uncompressed point 04 || X || Y on curve
// ([P256] or [BrainpoolP256r1]), as received in smdpOtpk or euiccOtpk. It
// rejects any other encoding, coordinates not below the field prime, points not
// on the curve and the point at infinity.
func ParseUncompressedPoint(curve elliptic.Curve, data []byte) (*ecdsa.PublicKey, error) {
	kind := kindOf(curve)
	if kind == curveUnsupported {
		return nil, ErrUnsupportedCurve
	}
	if len(data) != uncompressedPointSize || data[0] != 4 {
		return nil, fmt.Errorf("%w: not a %d-byte uncompressed point", ErrInvalidPublicKey, uncompressedPointSize)
	}
	if kind == curveP256 {
		pub, err := ecdsa.ParseUncompressedPublicKey(curve, data)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalidPublicKey, err)
		}
		return pub, nil
	}
	x := new(big.Int).SetBytes(data[1 : 1+coordinateSize])
	y := new(big.Int).SetBytes(data[1+coordinateSize:])
	if err := checkPoint(curve, x, y); err != nil {
		return nil, err
	}
	return &ecdsa.PublicKey{Curve: curve, X: x, Y: y}, nil
}

// checkPoint reports whether (x, y) is a finite point of the supported curve c
// with both coordinates in [0, p-1].
func checkPoint(c elliptic.Curve, x, y *big.Int) error {
	if kindOf(c) == curveUnsupported {
		return ErrUnsupportedCurve
	}
	if x == nil || y == nil {
		return ErrInvalidPublicKey
	}
	p := c.Params().P
	if x.Sign() < 0 || y.Sign() < 0 || x.Cmp(p) >= 0 || y.Cmp(p) >= 0 {
		return fmt.Errorf("%w: coordinate out of range", ErrInvalidPublicKey)
	}
	// (0, 0), the usual stand-in for the point at infinity, is not on either
	// curve (b != 0), so IsOnCurve rejects it too.
	if !c.IsOnCurve(x, y) {
		return fmt.Errorf("%w: point not on %s", ErrInvalidPublicKey, c.Params().Name)
	}
	return nil
}

// SharedSecret performs ECKA (Elliptic Curve Key Agreement, BSI TR-03111
// ECKA-DH) between priv and peer and returns the shared secret ShS: the
// x-coordinate of priv·peer, 32 bytes big-endian. It is the Z input of
// [DeriveSessionKeys] (SGP.22 §2.6.4, Annex G).
//
// Both keys must be on the same curve, [P256] or [BrainpoolP256r1]. The peer
// point is checked to be on the curve and finite; P-256 goes through
// crypto/ecdh.
func SharedSecret(priv *ecdsa.PrivateKey, peer *ecdsa.PublicKey) ([]byte, error) {
	if priv == nil {
		return nil, ErrInvalidPrivateKey
	}
	if peer == nil {
		return nil, ErrInvalidPublicKey
	}
	kind := kindOf(priv.Curve)
	if kind == curveUnsupported || kindOf(peer.Curve) != kind {
		return nil, ErrUnsupportedCurve
	}
	if err := checkPoint(peer.Curve, peer.X, peer.Y); err != nil {
		return nil, err
	}
	// The scalar is taken from D rather than through priv.ECDH, which would
	// also require (and check) the public half of priv.
	n := priv.Curve.Params().N
	if priv.D == nil || priv.D.Sign() <= 0 || priv.D.Cmp(n) >= 0 {
		return nil, ErrInvalidPrivateKey
	}
	scalar := priv.D.FillBytes(make([]byte, coordinateSize))

	if kind == curveP256 {
		sk, err := ecdh.P256().NewPrivateKey(scalar)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalidPrivateKey, err)
		}
		point, err := MarshalUncompressedPoint(peer)
		if err != nil {
			return nil, err
		}
		pk, err := ecdh.P256().NewPublicKey(point)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalidPublicKey, err)
		}
		z, err := sk.ECDH(pk)
		if err != nil {
			return nil, fmt.Errorf("bsp: ECDH: %w", err)
		}
		return z, nil
	}

	// brainpoolP256r1: crypto/ecdh does not know the curve; the project's constant-time
	// implementation does the scalar multiplication on the secret.
	point, err := MarshalUncompressedPoint(peer)
	if err != nil {
		return nil, err
	}
	z, err := bp.ECDH(scalar, point)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidPublicKey, err)
	}
	return z, nil
}
