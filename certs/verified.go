package certs

import (
	"crypto/sha256"
	"sync"
)

// VerifiedSignatures remembers certificates found to bear their issuer's signature, by the
// SHA-256 of both certificates' DER (DER is self-delimiting, so the concatenation is
// unambiguous). An EUM certificate arrives with every download to its eUICCs, and its ECDSA
// verification is an eighth of the SM-DP+'s cryptography per download; set as
// VerifyOptions.EUMSignatures it is verified once. Only the signature is remembered: issuer,
// validity, key usage and profile are checked every time. Safe for concurrent use.
type VerifiedSignatures struct {
	mu   sync.Mutex
	max  int
	seen map[[sha256.Size]byte]struct{}
}

// NewVerifiedSignatures remembers up to max pairs; beyond that it starts afresh.
func NewVerifiedSignatures(max int) *VerifiedSignatures {
	return &VerifiedSignatures{max: max, seen: make(map[[sha256.Size]byte]struct{})}
}

// check is c.CheckSignatureFrom(parent), skipped for a pair verified before. A nil v verifies
// every time.
func (v *VerifiedSignatures) check(c, parent *Certificate) error {
	if v == nil {
		return c.CheckSignatureFrom(parent)
	}
	h := sha256.New()
	h.Write(c.Raw)
	h.Write(parent.Raw)
	var key [sha256.Size]byte
	h.Sum(key[:0])
	v.mu.Lock()
	_, ok := v.seen[key]
	v.mu.Unlock()
	if ok {
		return nil
	}
	if err := c.CheckSignatureFrom(parent); err != nil {
		return err
	}
	v.mu.Lock()
	if len(v.seen) >= v.max {
		clear(v.seen)
	}
	v.seen[key] = struct{}{}
	v.mu.Unlock()
	return nil
}
