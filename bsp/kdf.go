package bsp

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
)

// Values of the Control Reference Template (ControlRefTemplate, tag 'A6') of
// InitialiseSecureChannel that SGP.22 supports (§5.5.1).
const (
	// KeyTypeAES is keyType '88': AES (GlobalPlatform Card Specification
	// Table 11-16).
	KeyTypeAES byte = 0x88
	// KeyLength is keyLen: SGP.22 fixes it at 16 bytes (AES-128).
	KeyLength byte = 0x10
)

// Bounds on the other inputs of the key derivation.
const (
	// MaxHostIDLength is the largest hostId (ASN.1 OctetTo16).
	MaxHostIDLength = 16
	// EIDLength is the length of an EID (ASN.1 Octet16).
	EIDLength = 16
)

const keySize = 16

// SessionKeys is a BSP key set: the output of the key derivation (SGP.22
// §2.6.4, Annex G) or a Profile Protection Key delivered by ReplaceSessionKeys
// (§5.5.4).
type SessionKeys struct {
	// InitialMCV is the initial MAC chaining value (initialMacChainingValue of a
	// PPK).
	InitialMCV [keySize]byte
	// SEnc is S-ENC, the AES-128 key for segment encryption (PPK-ENC of a PPK).
	SEnc [keySize]byte
	// SMAC is S-MAC, the AES-128 key for the C-MAC (PPK-MAC, ppkCmac, of a PPK).
	SMAC [keySize]byte
}

// String hides the key values so a SessionKeys printed by mistake leaks nothing.
func (SessionKeys) String() string { return "bsp.SessionKeys{redacted}" }

// GoString hides the key values from %#v as well.
func (k SessionKeys) GoString() string { return k.String() }

// DeriveSessionKeys derives the BSP session keys from the ECKA shared secret
// ShS (see [SharedSecret]) as SGP.22 §2.6.4 and Annex G specify: the ANSI X9.63
// KDF with SHA-256, with
//
//	SharedInfo = keyType || keyLen || len(hostId) || hostId || len(EID) || EID
//
// (each length one byte) and 48 bytes of output split into the initial MAC
// chaining value, S-ENC and S-MAC, in that order.
//
// keyType, keyLen and hostID are the fields of the Control Reference Template
// of InitialiseSecureChannel; only [KeyTypeAES] with [KeyLength] is supported,
// and hostID must be 1 to 16 bytes, else the error wraps [ErrUnsupportedCRT].
// eid is the 16-byte EID.
func DeriveSessionKeys(sharedSecret []byte, keyType, keyLen byte, hostID []byte, eid []byte) (SessionKeys, error) {
	if len(sharedSecret) == 0 {
		return SessionKeys{}, fmt.Errorf("bsp: empty shared secret")
	}
	if keyType != KeyTypeAES {
		return SessionKeys{}, fmt.Errorf("%w: keyType '%02X', want '%02X'", ErrUnsupportedCRT, keyType, KeyTypeAES)
	}
	if keyLen != KeyLength {
		return SessionKeys{}, fmt.Errorf("%w: keyLen %d, want %d", ErrUnsupportedCRT, keyLen, KeyLength)
	}
	if len(hostID) == 0 || len(hostID) > MaxHostIDLength {
		return SessionKeys{}, fmt.Errorf("%w: hostId is %d bytes, want 1 to %d", ErrUnsupportedCRT, len(hostID), MaxHostIDLength)
	}
	if len(eid) != EIDLength {
		return SessionKeys{}, fmt.Errorf("bsp: EID is %d bytes, want %d", len(eid), EIDLength)
	}
	out := x963KDF(sharedSecret, sharedInfo(keyType, keyLen, hostID, eid), 3*keySize)
	var k SessionKeys
	copy(k.InitialMCV[:], out[0:keySize])
	copy(k.SEnc[:], out[keySize:2*keySize])
	copy(k.SMAC[:], out[2*keySize:3*keySize])
	return k, nil
}

// sharedInfo builds the X9.63 SharedInfo of SGP.22 Annex G. The callers keep
// hostID and eid under 128 bytes, so each length is one byte.
func sharedInfo(keyType, keyLen byte, hostID, eid []byte) []byte {
	si := make([]byte, 0, 4+len(hostID)+len(eid))
	si = append(si, keyType, keyLen, byte(len(hostID)))
	si = append(si, hostID...)
	si = append(si, byte(len(eid)))
	return append(si, eid...)
}

// x963KDF is the ANSI X9.63 key derivation function (SEC 1 §3.6.1) with
// SHA-256: the concatenation of SHA-256(Z || counter || SharedInfo) for a
// 32-bit big-endian counter from 1, cut to n bytes.
func x963KDF(z, sharedInfo []byte, n int) []byte {
	out := make([]byte, 0, n+sha256.Size)
	h := sha256.New()
	var counter [4]byte
	for i := uint32(1); len(out) < n; i++ {
		h.Reset()
		h.Write(z)
		binary.BigEndian.PutUint32(counter[:], i)
		h.Write(counter[:])
		h.Write(sharedInfo)
		out = h.Sum(out)
	}
	return out[:n]
}

// GenerateProfileProtectionKeys draws a fresh Profile Protection Key set
// (PPK-ENC, PPK-MAC and its initial MAC chaining value) from rand, for a
// profile protected once and delivered to the eUICC with ReplaceSessionKeys
// (SGP.22 §2.5.3, §5.5.4). Pass crypto/rand.Reader.
func GenerateProfileProtectionKeys(rand io.Reader) (SessionKeys, error) {
	var buf [3 * keySize]byte
	if _, err := io.ReadFull(rand, buf[:]); err != nil {
		return SessionKeys{}, fmt.Errorf("bsp: generating PPK: %w", err)
	}
	var k SessionKeys
	copy(k.InitialMCV[:], buf[0:keySize])
	copy(k.SEnc[:], buf[keySize:2*keySize])
	copy(k.SMAC[:], buf[2*keySize:])
	return k, nil
}
