package bsp

import (
	"errors"
	"fmt"
	"strings"
)

// The two values of ErrorReason (the errorResult of ProfileInstallationResult,
// SGP.22 ASN.1 module) that a BSP failure on the eUICC maps to. Every
// [*SegmentError] wraps exactly one of them.
var (
	// ErrSCP03tStructure is scp03tStructureError(7): a segment is not a
	// well-formed BSP TLV (wrong tag, bad or inconsistent length, truncated,
	// ciphertext not a whole number of blocks).
	ErrSCP03tStructure = errors.New("bsp: scp03tStructureError")
	// ErrSCP03tSecurity is scp03tSecurityError(8): the C-MAC does not verify,
	// or the decrypted data does not end in valid padding.
	ErrSCP03tSecurity = errors.New("bsp: scp03tSecurityError")
)

// Causes carried by a [*SegmentError] next to its reason, so tests and logs can
// tell them apart with [errors.Is].
var (
	// ErrMAC means the received C-MAC differs from the one computed.
	ErrMAC = errors.New("bsp: C-MAC mismatch")
	// ErrPadding means the decrypted data does not end in ISO/IEC 9797-1
	// method 2 padding ('80' followed by at most 15 '00' bytes).
	ErrPadding = errors.New("bsp: invalid padding")
	// ErrTag means the segment tag is not the expected '86', '87' or '88'.
	ErrTag = errors.New("bsp: unexpected tag")
	// ErrLength means the length field is malformed, not minimal, or does not
	// match the data, or the data is too short or not block aligned.
	ErrLength = errors.New("bsp: invalid length")
)

// Errors of the key agreement and key derivation steps.
var (
	// ErrUnsupportedCurve means the key is on a curve other than NIST P-256 or
	// brainpoolP256r1, or the two keys of an agreement are on different curves.
	ErrUnsupportedCurve = errors.New("bsp: unsupported curve")
	// ErrInvalidPublicKey means a public key is not a valid point of its
	// curve: bad encoding, a coordinate out of range, not on the curve, or the
	// point at infinity.
	ErrInvalidPublicKey = errors.New("bsp: invalid public key")
	// ErrInvalidPrivateKey means a private scalar is missing or not in [1, n-1].
	ErrInvalidPrivateKey = errors.New("bsp: invalid private key")
	// ErrUnsupportedCRT is unsupportedCrtValues(4): the Control Reference
	// Template asks for a key type other than AES ('88') or a key length other
	// than 16, or its hostId is not 1 to 16 bytes long.
	ErrUnsupportedCRT = errors.New("bsp: unsupportedCrtValues")
)

// SegmentError reports why the eUICC side rejected one BSP segment.
//
// It matches both its Reason ([ErrSCP03tStructure] or [ErrSCP03tSecurity]) and
// its Cause ([ErrMAC], [ErrPadding], [ErrTag] or [ErrLength]) under [errors.Is].
type SegmentError struct {
	// Tag is the tag the segment was expected to have ('86', '87' or '88').
	Tag byte
	// Index is the position of the segment in the sequence passed to
	// [Session.UnwrapSegments], or 0 for [Session.Unwrap].
	Index int
	// Reason is ErrSCP03tStructure or ErrSCP03tSecurity.
	Reason error
	// Cause is the specific failure.
	Cause error
	// Detail says more about the cause; it never contains key material.
	Detail string
}

func (e *SegmentError) Error() string {
	msg := fmt.Sprintf("bsp: segment %d ('%02X'): %s", e.Index, e.Tag, strings.TrimPrefix(e.Cause.Error(), "bsp: "))
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg
}

// Unwrap returns the reason and the cause, so errors.Is matches either.
func (e *SegmentError) Unwrap() []error { return []error{e.Reason, e.Cause} }

func structureError(tag byte, cause error, format string, args ...any) *SegmentError {
	return &SegmentError{Tag: tag, Reason: ErrSCP03tStructure, Cause: cause, Detail: fmt.Sprintf(format, args...)}
}

func securityError(tag byte, cause error, format string, args ...any) *SegmentError {
	return &SegmentError{Tag: tag, Reason: ErrSCP03tSecurity, Cause: cause, Detail: fmt.Sprintf(format, args...)}
}
