//go:build cgo

package hsm

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/asn1"
	"fmt"

	"github.com/miekg/pkcs11"

	"github.com/smdpp/smdpp/certs"
)

// GenerateKey creates an EC key pair on curve (elliptic.P256() or certs.BrainpoolP256r1())
// inside the token, labelled label, and returns its Signer. The private key is a token object
// that is private, sensitive and not extractable; both objects get CKA_ID = SHA-1 of the public
// point, the key identifier of RFC 5280 §4.2.1.2 method (1) that a certificate for it will
// carry as its subjectKeyIdentifier. It refuses a label already in use; the check and the
// generation are not atomic, so provision keys from one process at a time.
func (m *Module) GenerateKey(label string, curve elliptic.Curve) (crypto.Signer, error) {
	params, err := curveParams(curve)
	if err != nil {
		return nil, err
	}
	if label == "" {
		return nil, fmt.Errorf("hsm: generating a key: no label given")
	}
	// A random CKA_ID at first: the public point, and so the real identifier, is not known yet.
	tmpID := make([]byte, sha1.Size)
	if _, err := rand.Read(tmpID); err != nil {
		return nil, fmt.Errorf("hsm: generating key %q: %w", label, err)
	}
	err = m.do(func(sh pkcs11.SessionHandle) error {
		if err := m.checkFree(sh, label); err != nil {
			return err
		}
		ctx := m.lib.ctx
		pubH, privH, err := ctx.GenerateKeyPair(sh,
			[]*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_EC_KEY_PAIR_GEN, nil)},
			publicTemplate(label, tmpID, params, nil),
			privateTemplate(label, tmpID, params, nil))
		if err != nil {
			return fmt.Errorf("hsm: generating key %q on token %q: %w", label, m.token, err)
		}
		attrs, err := ctx.GetAttributeValue(sh, pubH, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_EC_POINT, nil)})
		if err != nil {
			return nil // the key exists; it keeps the random CKA_ID
		}
		pub, err := parsePublicKey(params, attrs[0].Value)
		if err != nil {
			return nil // reported by the lookup below
		}
		id := keyID(pub)
		// Best effort: a token that refuses to change CKA_ID keeps the random one.
		if ctx.SetAttributeValue(sh, pubH, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_ID, id)}) == nil {
			if ctx.SetAttributeValue(sh, privH, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_ID, id)}) != nil {
				ctx.SetAttributeValue(sh, pubH, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_ID, tmpID)})
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return m.signer(label, nil)
}

// ImportKey stores a file key in the token under label, so that an SM-DP+ can move from file
// keys to the HSM while keeping its certificates, and returns its Signer. The private key object
// is private, sensitive and not extractable; the public key object is stored beside it; both get
// CKA_ID = SHA-1 of the public point. The caller should then delete the key file. It refuses a
// key whose public half does not match its private scalar, and a label already in use.
func (m *Module) ImportKey(label string, priv *ecdsa.PrivateKey) (crypto.Signer, error) {
	if priv == nil || priv.D == nil || priv.X == nil || priv.Y == nil {
		return nil, fmt.Errorf("hsm: importing key %q: no key given", label)
	}
	params, err := curveParams(priv.Curve)
	if err != nil {
		return nil, err
	}
	if label == "" {
		return nil, fmt.Errorf("hsm: importing a key: no label given")
	}
	if err := checkPair(priv); err != nil {
		return nil, fmt.Errorf("hsm: importing key %q: %w", label, err)
	}
	size := (priv.Curve.Params().N.BitLen() + 7) / 8
	scalar, err := priv.Bytes()
	if err != nil { // not a curve crypto/ecdsa implements: brainpool
		scalar = priv.D.FillBytes(make([]byte, size))
	}
	defer clear(scalar)
	id := keyID(&priv.PublicKey)
	point, err := asn1.Marshal(certs.MarshalPoint(&priv.PublicKey))
	if err != nil {
		return nil, fmt.Errorf("hsm: importing key %q: %w", label, err)
	}
	err = m.do(func(sh pkcs11.SessionHandle) error {
		if err := m.checkFree(sh, label); err != nil {
			return err
		}
		ctx := m.lib.ctx
		privH, err := ctx.CreateObject(sh, privateTemplate(label, id, params, scalar))
		if err != nil {
			return fmt.Errorf("hsm: importing key %q to token %q: %w", label, m.token, err)
		}
		if _, err := ctx.CreateObject(sh, publicTemplate(label, id, params, point)); err != nil {
			ctx.DestroyObject(sh, privH)
			return fmt.Errorf("hsm: importing the public key %q to token %q: %w", label, m.token, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return m.signer(label, nil)
}

// DeleteKey destroys every private and public key object labelled label, for re-provisioning and
// test clean-up. It returns ErrKeyNotFound when there is none.
func (m *Module) DeleteKey(label string) error {
	n := 0
	err := m.do(func(sh pkcs11.SessionHandle) error {
		for _, class := range []uint{pkcs11.CKO_PRIVATE_KEY, pkcs11.CKO_PUBLIC_KEY} {
			hs, err := m.findObjects(sh, []*pkcs11.Attribute{
				pkcs11.NewAttribute(pkcs11.CKA_CLASS, class),
				pkcs11.NewAttribute(pkcs11.CKA_LABEL, label),
			})
			if err != nil {
				return err
			}
			for _, h := range hs {
				if err := m.lib.ctx.DestroyObject(sh, h); err != nil {
					return fmt.Errorf("hsm: deleting key %q from token %q: %w", label, m.token, err)
				}
				n++
			}
		}
		return nil
	})
	if err == nil && n == 0 {
		err = fmt.Errorf("%w: no key labelled %q on token %q", ErrKeyNotFound, label, m.token)
	}
	return err
}

// checkFree returns ErrKeyExists when a private or public key object already has the label.
func (m *Module) checkFree(sh pkcs11.SessionHandle, label string) error {
	for _, class := range []uint{pkcs11.CKO_PRIVATE_KEY, pkcs11.CKO_PUBLIC_KEY} {
		hs, err := m.findObjects(sh, []*pkcs11.Attribute{
			pkcs11.NewAttribute(pkcs11.CKA_CLASS, class),
			pkcs11.NewAttribute(pkcs11.CKA_LABEL, label),
		})
		if err != nil {
			return err
		}
		if len(hs) > 0 {
			return fmt.Errorf("%w: %q on token %q", ErrKeyExists, label, m.token)
		}
	}
	return nil
}

// privateTemplate is the attribute set of a signing-only token private key; value is the
// private scalar for an import, nil for generation.
func privateTemplate(label string, id, params, value []byte) []*pkcs11.Attribute {
	t := []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true),
		pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, true),
		pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, true),
		pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, false),
		pkcs11.NewAttribute(pkcs11.CKA_SIGN, true),
		pkcs11.NewAttribute(pkcs11.CKA_DERIVE, false),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, label),
		pkcs11.NewAttribute(pkcs11.CKA_ID, id),
	}
	if value != nil {
		t = append(t,
			pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PRIVATE_KEY),
			pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_EC),
			pkcs11.NewAttribute(pkcs11.CKA_EC_PARAMS, params),
			pkcs11.NewAttribute(pkcs11.CKA_VALUE, value))
	}
	return t
}

// publicTemplate is the attribute set of a token public key; point is the DER CKA_EC_POINT for
// an import, nil for generation.
func publicTemplate(label string, id, params, point []byte) []*pkcs11.Attribute {
	t := []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true),
		pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, false),
		pkcs11.NewAttribute(pkcs11.CKA_VERIFY, true),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, label),
		pkcs11.NewAttribute(pkcs11.CKA_ID, id),
		pkcs11.NewAttribute(pkcs11.CKA_EC_PARAMS, params),
	}
	if point != nil {
		t = append(t,
			pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PUBLIC_KEY),
			pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_EC),
			pkcs11.NewAttribute(pkcs11.CKA_EC_POINT, point))
	}
	return t
}

// curveParams returns the DER CKA_EC_PARAMS (namedCurve OID) of an allowed curve.
func curveParams(c elliptic.Curve) ([]byte, error) {
	if c == nil {
		return nil, fmt.Errorf("%w: none given", ErrUnsupportedCurve)
	}
	oid, ok := certs.CurveOID(c)
	if !ok {
		return nil, fmt.Errorf("%w: %s (want P-256 or brainpoolP256r1)", ErrUnsupportedCurve, c.Params().Name)
	}
	return asn1.Marshal(oid)
}

// keyID is SHA-1 of the uncompressed public point: RFC 5280 §4.2.1.2 method (1), as devpki
// computes subjectKeyIdentifier.
func keyID(pub *ecdsa.PublicKey) []byte {
	sum := sha1.Sum(certs.MarshalPoint(pub))
	return sum[:]
}

// checkPair signs and verifies with the key, which fails when the public point is not D·G.
func checkPair(priv *ecdsa.PrivateKey) error {
	n := priv.Curve.Params().N
	if priv.D.Sign() <= 0 || priv.D.Cmp(n) >= 0 {
		return fmt.Errorf("private scalar out of range")
	}
	if !priv.Curve.IsOnCurve(priv.X, priv.Y) {
		return fmt.Errorf("public key is not on %s", priv.Curve.Params().Name)
	}
	digest := sha256.Sum256([]byte("smdpp hsm import check"))
	sig, err := ecdsa.SignASN1(rand.Reader, priv, digest[:])
	if err != nil {
		return fmt.Errorf("test signature: %w", err)
	}
	if !ecdsa.VerifyASN1(&priv.PublicKey, digest[:], sig) {
		return fmt.Errorf("public key does not match the private key")
	}
	return nil
}
