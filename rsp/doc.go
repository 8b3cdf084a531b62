// Package rsp owns the Go form of the SGP.22 v2 RSPDefinitions ASN.1 types that a Profile
// download exchanges over ES9+ (LPA ↔ SM-DP+, SGP.22 §5.6), ES10b/ES10c (LPA ↔ eUICC, §5.7) and
// ES8+ (the Bound Profile Package, §2.5.4 and §5.5), with exact DER encoding and decoding
// through package tlv. The module text is in testdata/asn1/rsp/rsp.asn (SGP.22 Annex H).
//
// Each type has Marshal, which encodes with the module's tags and checks SIZE constraints, and
// Unmarshal, which accepts exactly one DER element of the type: wrong tags, bad lengths, values
// out of range, missing mandatory fields and trailing bytes are refused with an error wrapping
// ErrMalformed. The module is EXTENSIBILITY IMPLIED, so later SGP.22 versions append fields to
// its SEQUENCEs; decoders keep such trailing unknown fields in the type's Extensions (and
// Marshal writes them back), but never skip anything where a mandatory field is due, and
// refuse an unknown field whose tag belongs to a known one. A decoded value re-encodes to
// exactly the bytes it came from.
//
// Signatures are never computed over a re-encoding: every signed sub-structure (ServerSigned1,
// EuiccSigned1, SmdpSigned2, EUICCSigned2, ProfileInstallationResultData, NotificationMetadata,
// EuiccCancelSessionSigned, and the signed part of InitialiseSecureChannelRequest) keeps the
// bytes as received in its Raw field, which verifiers must use. Signatures themselves are the
// plain r‖s OCTET STRINGs of [APPLICATION 55] (5F37); certificates are carried as DER bytes and
// parsed elsewhere. Decoded values never alias the caller's input.
//
// The package knows nothing of keys, sessions or JSON: the ES9+ front end base64-decodes the
// fields, the download service verifies and signs, and the BSP layer protects the Bound Profile
// Package segments that BoundProfilePackage assembles and BPPSegmentReader follows.
package rsp
