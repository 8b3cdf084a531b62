// Package devpki generates a complete SGP.22 development PKI, built the way the GSMA SGP.26 test PKI
// is built, on NIST P-256 or brainpoolP256r1 (SGP.22 §2.6.5, §4.5):
//
//	CI (self-signed root, id-rspRole-ci)
//	├── DPauth   SM-DP+ authentication (ES9+ AuthenticateClient / ES10b AuthenticateServer)
//	├── DPpb     SM-DP+ profile binding (smdpSign in the Bound Profile Package)
//	├── DPtls    SM-DP+ TLS server certificate; its key is always P-256 (see below)
//	└── EUM      eUICC manufacturer, name-constrained to an EID prefix
//	    └── eUICC × N, subject serialNumber = EID
//
// Every certificate carries the same extensions, in the same order and with the same criticality,
// subject shapes and string types, as the certificate of the same role in the SGP.26 test PKI
// (CERT_CI_ECDSA_*, CERT_S_SM_DPauth_ECDSA_*, CERT_S_SM_DPpb_ECDSA_*, CERT_S_SM_DP_TLS_*,
// CERT_EUM_ECDSA_*, CERT_EUICC_ECDSA_*), so that software accepting the GSMA test PKI accepts this one.
// Like the GSMA certificates, the EUM's critical nameConstraints carry the EID prefix as the
// serialNumber of a permitted directoryName. SGP.22 reads that as "the EID starts with this prefix";
// RFC 5280 path validation (openssl verify) does not, and rejects EUM → eUICC with error 47
// "permitted subtree violation" for the GSMA certificates and for these alike.
//
// crypto/x509 can neither sign with nor certify brainpool keys, so this package encodes the
// TBSCertificate itself and signs it with a crypto.Signer (ECDSA with SHA-256, DER signature):
// one code path for both curves.
//
// The DPtls key is a P-256 key even in a brainpool hierarchy, because Go's TLS stack cannot serve a
// brainpool key; the certificate is still issued and signed by the (brainpool) CI.
//
// # Directory layout
//
// [PKI.WriteDir] writes PEM files ("CERTIFICATE", and "EC PRIVATE KEY" in SEC 1 form) under fixed
// names: certificates with mode 0644, keys with mode 0600.
//
//	ci.crt      ci.key       CI
//	dpauth.crt  dpauth.key   DPauth
//	dppb.crt    dppb.key     DPpb
//	dptls.crt   dptls.key    DPtls (the leaf only; the server appends the CI when building its chain)
//	eum.crt     eum.key      EUM
//	euicc/<EID>.crt  euicc/<EID>.key   one pair per eUICC
//
// The names are exported as constants ([CICertFile] and the rest, [EUICCCertFile], [EUICCKeyFile]).
//
// The keys are development keys written in the clear: never use this PKI outside development and tests.
package devpki
