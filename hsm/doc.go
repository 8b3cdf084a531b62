// Package hsm keeps the SM-DP+ signing keys (SK.DPauth.ECDSA, SK.DPpb.ECDSA and the DPtls key;
// SGP.22 §2.6.5, §4.5.2) in a PKCS#11 token and hands them to the rest of the server as
// crypto.Signer, so an HSM key replaces a file key without touching its callers.
//
// A [Module] is one logged-in token of one PKCS#11 library. [Module.Signer] finds a private key
// by its CKA_LABEL and signs with CKM_ECDSA over the digest the caller gives; the token's raw
// r‖s result is returned DER-encoded, as crypto.Signer requires, so certs.SignRaw works
// unchanged. Keys are on NIST P-256 or brainpoolP256r1, the curves SGP.22 allows.
//
// PKCS#11 sessions are not safe for concurrent use: a Module keeps a pool of sessions and each
// signature borrows one, so any number of goroutines may sign at once, up to the pool's size in
// parallel. [Module.GenerateKey] and [Module.ImportKey] provision keys (ImportKey moves an
// existing file key into the token); [Module.DeleteKey] removes one.
//
// Configuration names a key with a PKCS#11 URI (RFC 7512), parsed by [ParseURI] and opened
// through a [Loader], which shares one Module among the keys of the same token:
//
//	pkcs11:token=smdpp;object=dpauth?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/etc/smdpp/hsm.pin
//	pkcs11:module=/usr/lib/softhsm/libsofthsm2.so;token=smdpp;object=dpauth;pin-source=file:/etc/smdpp/hsm.pin
//
// The tests run against SoftHSM2 prepared by scripts/softhsm.sh.
package hsm
