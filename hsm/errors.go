package hsm

import "errors"

// Errors a caller can test for with errors.Is. Every error the package returns says which
// module, token or key it concerns and wraps the PKCS#11 return value (pkcs11.Error) when the
// token gave one.
var (
	// ErrModule is returned when the PKCS#11 library cannot be loaded or initialised.
	ErrModule = errors.New("hsm: cannot load PKCS#11 module")
	// ErrTokenNotFound is returned when no present token has the requested label (or serial).
	ErrTokenNotFound = errors.New("hsm: token not found")
	// ErrPINIncorrect is returned when the token refuses the user PIN.
	ErrPINIncorrect = errors.New("hsm: incorrect PIN")
	// ErrKeyNotFound is returned when no EC private key has the requested label (and id).
	ErrKeyNotFound = errors.New("hsm: key not found")
	// ErrKeyExists is returned by GenerateKey and ImportKey when the label is already in use.
	ErrKeyExists = errors.New("hsm: a key with this label already exists")
	// ErrUnsupportedCurve is returned for a curve other than NIST P-256 and brainpoolP256r1.
	ErrUnsupportedCurve = errors.New("hsm: unsupported curve")
	// ErrClosed is returned by a Module, or a Signer of it, used after Close.
	ErrClosed = errors.New("hsm: module closed")
	// ErrInvalidURI is returned by ParseURI for a URI outside the supported subset of RFC 7512.
	ErrInvalidURI = errors.New("hsm: invalid PKCS#11 URI")
	// ErrNoCgo is returned by every HSM operation of a binary built with CGO_ENABLED=0: loading a
	// PKCS#11 library needs cgo. URI parsing still works, so such a binary can say why it cannot
	// use the HSM key its configuration names.
	ErrNoCgo = errors.New("hsm: built without cgo (CGO_ENABLED=0); PKCS#11 keys need a cgo build")
)
