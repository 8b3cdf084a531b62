//go:build cgo

package hsm

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/miekg/pkcs11"

	"github.com/smdpp/smdpp/certs"
)

// signer is an EC private key in the token, used through crypto.Signer.
type signer struct {
	m     *Module
	label string
	id    []byte // CKA_ID the key was looked up with, nil for any
	pub   *ecdsa.PublicKey
	size  int // byte length of the curve order and of each of r and s

	mu     sync.Mutex
	handle pkcs11.ObjectHandle
}

var _ crypto.Signer = (*signer)(nil)

// Signer returns the EC private key labelled label (CKA_LABEL) as a crypto.Signer. Its Public
// method returns the *ecdsa.PublicKey read from the matching public key object (same CKA_ID,
// or same label when the key has no CKA_ID) on P-256 or certs.BrainpoolP256r1(). Before
// returning, Signer signs a random digest and verifies it with that public key, so a public
// object that belongs to another key is reported here rather than at the first download.
func (m *Module) Signer(label string) (crypto.Signer, error) {
	return m.signer(label, nil)
}

func (m *Module) signer(label string, id []byte) (*signer, error) {
	if label == "" {
		return nil, fmt.Errorf("%w: no key label given", ErrKeyNotFound)
	}
	s := &signer{m: m, label: label, id: id}
	err := m.do(func(sh pkcs11.SessionHandle) error {
		h, err := m.findPrivate(sh, label, id)
		if err != nil {
			return err
		}
		pub, err := m.publicKey(sh, h, label)
		if err != nil {
			return err
		}
		s.handle, s.pub = h, pub
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.size = (s.pub.Curve.Params().N.BitLen() + 7) / 8
	if err := s.selfTest(); err != nil {
		return nil, err
	}
	return s, nil
}

// Public returns the key's *ecdsa.PublicKey.
func (s *signer) Public() crypto.PublicKey { return s.pub }

// Sign signs digest with CKM_ECDSA and returns the DER Ecdsa-Sig-Value (RFC 3279 §2.2.3), as
// crypto.Signer requires; certs.SignRaw turns it back into the r‖s SGP.22 messages carry. The
// token's own random number generator is used, so rand is ignored. A digest longer than the
// curve order is cut to its leftmost bytes, as ECDSA does (SEC 1 §4.1.3 step 5).
func (s *signer) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if len(digest) == 0 {
		return nil, fmt.Errorf("hsm: key %q: empty digest", s.label)
	}
	if opts != nil {
		if h := opts.HashFunc(); h != 0 && h.Size() != len(digest) {
			return nil, fmt.Errorf("hsm: key %q: digest is %d bytes, not the %d of %v", s.label, len(digest), h.Size(), h)
		}
	}
	if len(digest) > s.size {
		digest = digest[:s.size]
	}
	raw, err := s.signRaw(digest)
	if err != nil {
		return nil, err
	}
	if len(raw) != 2*s.size {
		return nil, fmt.Errorf("hsm: key %q: token returned a %d-byte signature, want %d", s.label, len(raw), 2*s.size)
	}
	der, err := certs.RawToDER(raw)
	if err != nil {
		return nil, fmt.Errorf("hsm: key %q: %w", s.label, err)
	}
	return der, nil
}

// signRaw returns the token's r‖s. When the object handle is no longer valid (the token was
// reset), the key is looked up again by label once.
func (s *signer) signRaw(digest []byte) ([]byte, error) {
	ctx := s.m.lib.ctx
	mech := []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_ECDSA, nil)}
	for attempt := 0; ; attempt++ {
		s.mu.Lock()
		h := s.handle
		s.mu.Unlock()
		var raw []byte
		err := s.m.do(func(sh pkcs11.SessionHandle) error {
			if err := ctx.SignInit(sh, mech, h); err != nil {
				return fmt.Errorf("hsm: key %q on token %q: C_SignInit: %w", s.label, s.m.token, err)
			}
			var err error
			if raw, err = ctx.Sign(sh, digest); err != nil {
				return fmt.Errorf("hsm: key %q on token %q: C_Sign: %w", s.label, s.m.token, err)
			}
			return nil
		})
		if err == nil {
			return raw, nil
		}
		if attempt > 0 || !(isCKR(err, pkcs11.CKR_KEY_HANDLE_INVALID) || isCKR(err, pkcs11.CKR_OBJECT_HANDLE_INVALID)) {
			return nil, err
		}
		if err := s.m.do(func(sh pkcs11.SessionHandle) error {
			nh, err := s.m.findPrivate(sh, s.label, s.id)
			if err == nil {
				s.mu.Lock()
				s.handle = nh
				s.mu.Unlock()
			}
			return err
		}); err != nil {
			return nil, err
		}
	}
}

// selfTest signs a random digest and verifies the signature with the public key.
func (s *signer) selfTest() error {
	digest := make([]byte, s.size)
	if _, err := rand.Read(digest); err != nil {
		return fmt.Errorf("hsm: self-test of key %q: %w", s.label, err)
	}
	der, err := s.Sign(nil, digest, crypto.SHA256)
	if err != nil {
		return fmt.Errorf("hsm: self-test of key %q: %w", s.label, err)
	}
	if !ecdsa.VerifyASN1(s.pub, digest, der) {
		return fmt.Errorf("hsm: key %q on token %q: its signature does not verify with its public key object (CKA_ID or label shared with another key?)", s.label, s.m.token)
	}
	return nil
}

// maxObjects bounds a search: more keys than this under one label is a provisioning mistake.
const maxObjects = 16

// findObjects returns the handles of the objects matching tmpl.
func (m *Module) findObjects(sh pkcs11.SessionHandle, tmpl []*pkcs11.Attribute) ([]pkcs11.ObjectHandle, error) {
	ctx := m.lib.ctx
	if err := ctx.FindObjectsInit(sh, tmpl); err != nil {
		return nil, fmt.Errorf("hsm: searching token %q: C_FindObjectsInit: %w", m.token, err)
	}
	hs, _, err := ctx.FindObjects(sh, maxObjects)
	if ferr := ctx.FindObjectsFinal(sh); err == nil && ferr != nil {
		err = ferr
	}
	if err != nil {
		return nil, fmt.Errorf("hsm: searching token %q: %w", m.token, err)
	}
	return hs, nil
}

// findPrivate returns the one EC private key with the label (and CKA_ID, when id is not nil).
func (m *Module) findPrivate(sh pkcs11.SessionHandle, label string, id []byte) (pkcs11.ObjectHandle, error) {
	tmpl := []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PRIVATE_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_EC),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, label),
	}
	what := fmt.Sprintf("labelled %q", label)
	if id != nil {
		tmpl = append(tmpl, pkcs11.NewAttribute(pkcs11.CKA_ID, id))
		what += fmt.Sprintf(" with id %X", id)
	}
	hs, err := m.findObjects(sh, tmpl)
	if err != nil {
		return 0, err
	}
	switch len(hs) {
	case 0:
		return 0, fmt.Errorf("%w: no EC private key %s on token %q", ErrKeyNotFound, what, m.token)
	case 1:
		return hs[0], nil
	}
	return 0, fmt.Errorf("hsm: %d EC private keys %s on token %q; name one by id", len(hs), what, m.token)
}

// publicKey reads the public key matching the private key priv: the CKO_PUBLIC_KEY object with
// the same CKA_ID, or with the same label when the private key has no CKA_ID.
func (m *Module) publicKey(sh pkcs11.SessionHandle, priv pkcs11.ObjectHandle, label string) (*ecdsa.PublicKey, error) {
	ctx := m.lib.ctx
	attrs, err := ctx.GetAttributeValue(sh, priv, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_ID, nil)})
	if err != nil {
		return nil, fmt.Errorf("hsm: key %q on token %q: reading CKA_ID: %w", label, m.token, err)
	}
	id := attrs[0].Value
	tmpl := []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PUBLIC_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_EC),
	}
	if len(id) > 0 {
		tmpl = append(tmpl, pkcs11.NewAttribute(pkcs11.CKA_ID, id))
	} else {
		tmpl = append(tmpl, pkcs11.NewAttribute(pkcs11.CKA_LABEL, label))
	}
	hs, err := m.findObjects(sh, tmpl)
	if err == nil && len(hs) > 1 && len(id) > 0 {
		hs, err = m.findObjects(sh, append(tmpl, pkcs11.NewAttribute(pkcs11.CKA_LABEL, label)))
	}
	if err != nil {
		return nil, err
	}
	switch len(hs) {
	case 0:
		return nil, fmt.Errorf("%w: key %q on token %q has no EC public key object with its CKA_ID or label", ErrKeyNotFound, label, m.token)
	case 1:
	default:
		return nil, fmt.Errorf("hsm: key %q on token %q: %d public key objects match it", label, m.token, len(hs))
	}
	attrs, err = ctx.GetAttributeValue(sh, hs[0], []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_EC_PARAMS, nil),
		pkcs11.NewAttribute(pkcs11.CKA_EC_POINT, nil),
	})
	if err != nil {
		return nil, fmt.Errorf("hsm: key %q on token %q: reading the public key: %w", label, m.token, err)
	}
	pub, err := parsePublicKey(attrs[0].Value, attrs[1].Value)
	if err != nil {
		return nil, fmt.Errorf("hsm: key %q on token %q: %w", label, m.token, err)
	}
	return pub, nil
}

// parsePublicKey decodes CKA_EC_PARAMS (a DER namedCurve OID) and CKA_EC_POINT (a DER OCTET
// STRING holding the uncompressed point, PKCS#11 v2.40 §2.3.3; some tokens give the bare point).
func parsePublicKey(params, point []byte) (*ecdsa.PublicKey, error) {
	var oid asn1.ObjectIdentifier
	rest, err := asn1.Unmarshal(params, &oid)
	if err != nil || len(rest) != 0 {
		return nil, errors.New("CKA_EC_PARAMS is not a namedCurve OID")
	}
	curve, ok := certs.CurveByOID(oid)
	if !ok {
		return nil, fmt.Errorf("%w: %v", ErrUnsupportedCurve, oid)
	}
	raw := point
	if !(len(point) == 65 && point[0] == 4) {
		rest, err := asn1.Unmarshal(point, &raw)
		if err != nil || len(rest) != 0 {
			return nil, errors.New("CKA_EC_POINT is not a DER OCTET STRING")
		}
	}
	pub, err := certs.ParsePoint(curve, raw)
	if err != nil {
		return nil, fmt.Errorf("CKA_EC_POINT: %w", err)
	}
	return pub, nil
}
