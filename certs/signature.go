package certs

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/big"

	"golang.org/x/crypto/cryptobyte"

	bp "github.com/smdpp/smdpp/internal/brainpool"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// RawSignatureSize is the length of a plain r‖s signature on a 256-bit curve (BSI TR-03111 §5.2.1).
const RawSignatureSize = 2 * coordinateSize

// ErrSignatureFormat is returned for a signature that is neither a well-formed r‖s nor DER value.
var ErrSignatureFormat = errors.New("certs: malformed ECDSA signature")

// RawToDER converts a plain r‖s signature (SGP.22 ASN.1 messages) to the DER
// Ecdsa-Sig-Value used in X.509 (RFC 5480 §2.2 / RFC 3279 §2.2.3).
func RawToDER(raw []byte) ([]byte, error) {
	if len(raw) != RawSignatureSize {
		return nil, ErrSignatureFormat
	}
	r := new(big.Int).SetBytes(raw[:coordinateSize])
	s := new(big.Int).SetBytes(raw[coordinateSize:])
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1BigInt(r)
		b.AddASN1BigInt(s)
	})
	return b.Bytes()
}

// DERToRaw converts a DER Ecdsa-Sig-Value to plain r‖s with 32-byte halves.
func DERToRaw(der []byte) ([]byte, error) {
	r, s, err := parseDERSignature(der)
	if err != nil {
		return nil, err
	}
	if r.BitLen() > 8*coordinateSize || s.BitLen() > 8*coordinateSize {
		return nil, ErrSignatureFormat
	}
	out := make([]byte, RawSignatureSize)
	r.FillBytes(out[:coordinateSize])
	s.FillBytes(out[coordinateSize:])
	return out, nil
}

func parseDERSignature(der []byte) (r, s *big.Int, err error) {
	r, s = new(big.Int), new(big.Int)
	in := cryptobyte.String(der)
	var inner cryptobyte.String
	if !in.ReadASN1(&inner, cbasn1.SEQUENCE) || !in.Empty() ||
		!inner.ReadASN1Integer(r) || !inner.ReadASN1Integer(s) || !inner.Empty() ||
		r.Sign() <= 0 || s.Sign() <= 0 {
		return nil, nil, ErrSignatureFormat
	}
	return r, s, nil
}

// VerifyRaw checks a plain r‖s ECDSA-SHA256 signature over msg.
func VerifyRaw(pub *ecdsa.PublicKey, msg, raw []byte) bool {
	der, err := RawToDER(raw)
	if err != nil {
		return false
	}
	return VerifyDER(pub, msg, der)
}

// VerifyDER checks a DER ECDSA-SHA256 signature over msg.
func VerifyDER(pub *ecdsa.PublicKey, msg, der []byte) bool {
	h := sha256.Sum256(msg)
	if isBrainpool(pub.Curve) {
		r, s, err := parseDERSignature(der)
		if err != nil || r.BitLen() > 8*coordinateSize || s.BitLen() > 8*coordinateSize {
			return false
		}
		return bp.Verify(MarshalPoint(pub), h[:], r.FillBytes(make([]byte, coordinateSize)), s.FillBytes(make([]byte, coordinateSize)))
	}
	return ecdsa.VerifyASN1(pub, h[:], der)
}

// isBrainpool reports whether c is brainpoolP256r1, whose arithmetic goes through the
// project's constant-time implementation rather than crypto/ecdsa's variable-time generic path.
func isBrainpool(c elliptic.Curve) bool {
	return c != nil && c.Params().Name == BrainpoolP256r1().Params().Name
}

// SignRaw signs msg with ECDSA-SHA256 and returns the plain r‖s form SGP.22 messages carry.
// The signer may be a file key or an HSM key; it must return DER signatures as crypto.Signer does.
func SignRaw(signer crypto.Signer, msg []byte) ([]byte, error) {
	h := sha256.Sum256(msg)
	if k, ok := signer.(*ecdsa.PrivateKey); ok && isBrainpool(k.Curve) {
		r, s, err := bp.Sign(rand.Reader, k.D.FillBytes(make([]byte, coordinateSize)), h[:])
		if err != nil {
			return nil, fmt.Errorf("certs: signing: %w", err)
		}
		return append(r, s...), nil
	}
	der, err := signer.Sign(rand.Reader, h[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("certs: signing: %w", err)
	}
	return DERToRaw(der)
}
