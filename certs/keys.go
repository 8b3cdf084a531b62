package certs

import (
	"crypto/ecdsa"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"

	bp "github.com/smdpp/smdpp/internal/brainpool"
)

// ecPrivateKey is the SEC 1 ECPrivateKey structure (RFC 5915 §3).
type ecPrivateKey struct {
	Version       int
	PrivateKey    []byte
	NamedCurveOID asn1.ObjectIdentifier `asn1:"optional,explicit,tag:0"`
	PublicKey     asn1.BitString        `asn1:"optional,explicit,tag:1"`
}

// pkcs8 is the PKCS #8 PrivateKeyInfo structure (RFC 5208 §5).
type pkcs8 struct {
	Version    int
	Algorithm  pkix.AlgorithmIdentifier
	PrivateKey []byte
}

// subjectPublicKeyInfo is the X.509 SubjectPublicKeyInfo structure (RFC 5280 §4.1.2.7).
type subjectPublicKeyInfo struct {
	Algorithm pkix.AlgorithmIdentifier
	PublicKey asn1.BitString
}

// ParsePrivateKeyPEM reads the first EC private key in PEM data, in SEC 1 ("EC PRIVATE KEY") or
// PKCS #8 ("PRIVATE KEY") form, on P-256 or brainpoolP256r1. Other blocks, such as the
// "EC PARAMETERS" block the GSMA test keys start with, are skipped.
func ParsePrivateKeyPEM(data []byte) (*ecdsa.PrivateKey, error) {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil, errors.New("certs: no EC PRIVATE KEY or PRIVATE KEY block in PEM data")
		}
		switch block.Type {
		case "EC PRIVATE KEY":
			return ParseECPrivateKey(block.Bytes, nil)
		case "PRIVATE KEY":
			return ParsePKCS8PrivateKey(block.Bytes)
		}
	}
}

// ParsePKCS8PrivateKey parses a DER PKCS #8 EC private key.
func ParsePKCS8PrivateKey(der []byte) (*ecdsa.PrivateKey, error) {
	var p pkcs8
	if rest, err := asn1.Unmarshal(der, &p); err != nil {
		return nil, fmt.Errorf("certs: parsing PKCS #8 key: %w", err)
	} else if len(rest) != 0 {
		return nil, errors.New("certs: trailing data after PKCS #8 key")
	}
	if !p.Algorithm.Algorithm.Equal(OIDPublicKeyECDSA) {
		return nil, fmt.Errorf("certs: PKCS #8 key algorithm %v is not EC", p.Algorithm.Algorithm)
	}
	var curveOID asn1.ObjectIdentifier
	if _, err := asn1.Unmarshal(p.Algorithm.Parameters.FullBytes, &curveOID); err != nil {
		return nil, fmt.Errorf("certs: PKCS #8 key has no named curve: %w", err)
	}
	return ParseECPrivateKey(p.PrivateKey, curveOID)
}

// ParseECPrivateKey parses a DER SEC 1 private key. curveOID, when not nil, is the curve named
// outside the structure (PKCS #8); otherwise the structure must name its curve.
func ParseECPrivateKey(der []byte, curveOID asn1.ObjectIdentifier) (*ecdsa.PrivateKey, error) {
	var k ecPrivateKey
	if rest, err := asn1.Unmarshal(der, &k); err != nil {
		return nil, fmt.Errorf("certs: parsing EC private key: %w", err)
	} else if len(rest) != 0 {
		return nil, errors.New("certs: trailing data after EC private key")
	}
	if k.Version != 1 {
		return nil, fmt.Errorf("certs: EC private key version %d, want 1", k.Version)
	}
	if len(k.NamedCurveOID) != 0 {
		if curveOID != nil && !curveOID.Equal(k.NamedCurveOID) {
			return nil, errors.New("certs: EC private key names two different curves")
		}
		curveOID = k.NamedCurveOID
	}
	if curveOID == nil {
		return nil, errors.New("certs: EC private key names no curve")
	}
	curve, ok := CurveByOID(curveOID)
	if !ok {
		return nil, fmt.Errorf("certs: EC private key on unsupported curve %v (SGP.22 allows P-256 and brainpoolP256r1)", curveOID)
	}
	n := curve.Params().N
	d := new(big.Int).SetBytes(k.PrivateKey)
	if len(k.PrivateKey) > coordinateSize || d.Sign() == 0 || d.Cmp(n) >= 0 {
		return nil, errors.New("certs: EC private key scalar out of range")
	}
	priv := &ecdsa.PrivateKey{D: d}
	priv.Curve = curve
	if err := derivePublic(priv); err != nil {
		return nil, err
	}
	if len(k.PublicKey.Bytes) != 0 {
		pub, err := ParsePoint(curve, k.PublicKey.Bytes)
		if err != nil || pub.X.Cmp(priv.X) != 0 || pub.Y.Cmp(priv.Y) != 0 {
			return nil, errors.New("certs: EC private key's public key does not match its scalar")
		}
	}
	return priv, nil
}

// MarshalECPrivateKey encodes a private key as DER SEC 1 with its named curve and public key.
func MarshalECPrivateKey(priv *ecdsa.PrivateKey) ([]byte, error) {
	oid, ok := CurveOID(priv.Curve)
	if !ok {
		return nil, fmt.Errorf("certs: unsupported curve %s", priv.Curve.Params().Name)
	}
	return asn1.Marshal(ecPrivateKey{
		Version:       1,
		PrivateKey:    priv.D.FillBytes(make([]byte, coordinateSize)),
		NamedCurveOID: oid,
		PublicKey:     asn1.BitString{Bytes: MarshalPoint(&priv.PublicKey), BitLength: 8 * (1 + 2*coordinateSize)},
	})
}

// MarshalPrivateKeyPEM encodes a private key as a PEM "EC PRIVATE KEY" block (SEC 1).
func MarshalPrivateKeyPEM(priv *ecdsa.PrivateKey) ([]byte, error) {
	der, err := MarshalECPrivateKey(priv)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), nil
}

// MarshalSubjectPublicKeyInfo encodes an EC public key as a DER SubjectPublicKeyInfo.
func MarshalSubjectPublicKeyInfo(pub *ecdsa.PublicKey) ([]byte, error) {
	oid, ok := CurveOID(pub.Curve)
	if !ok {
		return nil, fmt.Errorf("certs: unsupported curve %s", pub.Curve.Params().Name)
	}
	params, err := asn1.Marshal(oid)
	if err != nil {
		return nil, err
	}
	point := MarshalPoint(pub)
	return asn1.Marshal(subjectPublicKeyInfo{
		Algorithm: pkix.AlgorithmIdentifier{Algorithm: OIDPublicKeyECDSA, Parameters: asn1.RawValue{FullBytes: params}},
		PublicKey: asn1.BitString{Bytes: point, BitLength: 8 * len(point)},
	})
}

// ParseSubjectPublicKeyInfo decodes a DER SubjectPublicKeyInfo holding an EC key on an allowed curve.
func ParseSubjectPublicKeyInfo(der []byte) (*ecdsa.PublicKey, error) {
	var spki subjectPublicKeyInfo
	if rest, err := asn1.Unmarshal(der, &spki); err != nil {
		return nil, fmt.Errorf("certs: parsing SubjectPublicKeyInfo: %w", err)
	} else if len(rest) != 0 {
		return nil, errors.New("certs: trailing data after SubjectPublicKeyInfo")
	}
	if !spki.Algorithm.Algorithm.Equal(OIDPublicKeyECDSA) {
		return nil, fmt.Errorf("certs: public key algorithm %v is not EC", spki.Algorithm.Algorithm)
	}
	var curveOID asn1.ObjectIdentifier
	if rest, err := asn1.Unmarshal(spki.Algorithm.Parameters.FullBytes, &curveOID); err != nil || len(rest) != 0 {
		return nil, errors.New("certs: EC public key has no named curve")
	}
	curve, ok := CurveByOID(curveOID)
	if !ok {
		return nil, fmt.Errorf("certs: public key on unsupported curve %v", curveOID)
	}
	if spki.PublicKey.BitLength%8 != 0 {
		return nil, errors.New("certs: public key bit string is not whole bytes")
	}
	return ParsePoint(curve, spki.PublicKey.Bytes)
}

// derivePublic computes priv's public point; for brainpoolP256r1 in constant time, since the
// scalar is the private key.
func derivePublic(priv *ecdsa.PrivateKey) error {
	d := priv.D.FillBytes(make([]byte, coordinateSize))
	if !isBrainpool(priv.Curve) {
		priv.X, priv.Y = priv.Curve.ScalarBaseMult(d)
		return nil
	}
	pub, err := bp.PublicKey(d)
	if err != nil {
		return fmt.Errorf("certs: EC private key: %w", err)
	}
	priv.X = new(big.Int).SetBytes(pub[1 : 1+coordinateSize])
	priv.Y = new(big.Int).SetBytes(pub[1+coordinateSize:])
	return nil
}
