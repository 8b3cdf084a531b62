// Package brainpool implements the elliptic curve brainpoolP256r1 (RFC 5639 §3.4), the
// second curve of SGP.22 §2.6 next to NIST P-256, in constant time: ECDH (ECKA-DH, for the
// BSP session keys of SGP.22 §2.6.4), ECDSA with SHA-256 digests (SGP.22 §2.6.5), key
// generation, and the point operations underneath.
//
// It replaces github.com/ProtonMail/go-crypto/brainpool, a big.Int elliptic.Curve that goes
// through crypto/ecdsa's generic path: variable time on the private key, and 2–4 ms per
// operation. The design follows crypto/internal/fips140/nistec and filippo.io/nistec:
//
//   - Field arithmetic modulo p, and modulo n for signing, is Montgomery arithmetic on four
//     64-bit limbs with math/bits; nothing branches on or indexes memory by a secret.
//     Inversion is Fermat's x^(m−2) by square-and-multiply over the public exponent.
//   - Points are projective (X:Y:Z) and are added and doubled with the complete formulas of
//     Renes, Costello and Batina, "Complete addition formulas for prime order elliptic
//     curves" (EUROCRYPT 2016, eprint 2015/1060), Algorithms 1 and 3 for arbitrary a: there is
//     no special case for doubling, for P + (−P) or for the point at infinity, so there is
//     no branch to leak. brainpoolP256r1 has a ≠ −3, so nistec's a = −3 formulas do not apply.
//   - Scalar multiplication is a fixed 4-bit window over all 64 nibbles with constant-time
//     table lookups; the base point uses 64 precomputed tables instead of doublings.
//
// # Encodings and ranges
//
// Points are uncompressed, 04 ‖ X ‖ Y (65 bytes); SetBytes refuses every other form, the
// point at infinity included, and checks the curve equation. Scalars are 32 bytes
// big-endian. Point.ScalarMult and Point.ScalarBaseMult take any 32-byte k and compute
// [k]P exactly (k and k mod n agree; 0 and n give the point at infinity); ECDH, Sign,
// PublicKey and Verify's r and s require [1, n−1] and refuse the rest with ErrInvalidScalar
// or false, which covers 0, n and anything above.
//
// Signatures are the pair (r, s) of 32-byte halves; the nonce is hedged (RFC 6979 HMAC_DRBG
// over the private key and the digest, plus 32 random bytes as the extra input of RFC 6979
// §3.6): hedged like crypto/ecdsa's, which arranges the same inputs differently
// (draft-irtf-cfrg-det-sigs-with-noise). Verify handles only public data: it returns early
// on malformed input and need not be constant time.
//
// # Where it is used
//
// certs signs with brainpool file keys (SignRaw), verifies brainpool signatures (VerifyDER)
// and derives public keys from private ones through this package; bsp uses it for one-time
// keys and ECDH. Keys stay *ecdsa.PublicKey / *ecdsa.PrivateKey, whose ProtonMail curve value
// now only names the curve; certificate generation in devpki still uses crypto/ecdsa's
// generic path, which is fine for development keys.
package brainpool
