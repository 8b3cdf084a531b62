// Package bsp implements the protection of a Bound Profile Package: the BPP
// Protection Protocol (BSP) of GSMA SGP.22, called SCP03t in SGP.22 v2.x.
//
// The package is pure: no I/O, no clocks, no logging. The same code serves both
// ends of ES8+, the SM-DP+ that builds a BoundProfilePackage and the (virtual)
// eUICC that verifies and decrypts it.
//
// The pieces, in the order a profile download uses them:
//
//   - ECKA (SGP.22 §2.6.4 with BSI TR-03111 and GlobalPlatform Card Specification
//     §6.4.2.3): [GenerateOneTimeKey] makes otSK/otPK.DP.ECKA or
//     otSK/otPK.EUICC.ECKA, [MarshalUncompressedPoint] and
//     [ParseUncompressedPoint] carry an otPK in the smdpOtpk / euiccOtpk fields
//     (tag '5F49'), and [SharedSecret] computes the shared secret ShS. NIST P-256
//     and brainpoolP256r1 are supported.
//   - Key derivation (SGP.22 §2.6.4 and Annex G): [DeriveSessionKeys] runs the
//     ANSI X9.63 KDF with SHA-256 over ShS and the Control Reference Template of
//     InitialiseSecureChannel (keyType, keyLen, hostId) plus the EID, giving the
//     initial MAC chaining value, S-ENC and S-MAC ([SessionKeys]).
//   - SCP03t segment protection (SGP.22 §2.6.4, GlobalPlatform Amendment D
//     SCP03): a [Session] encrypts with AES-128-CBC under an ICV derived from
//     the block counter, pads per ISO/IEC 9797-1 method 2, and MACs with
//     AES-CMAC over the MAC chaining value, tag, length and data. '86' and '87'
//     segments are encrypted and MACed, '88' segments (StoreMetadata) are only
//     MACed. [Session.WrapSegments] splits a payload into segments of at most
//     [MaxSegmentSize] bytes as SGP.22 §2.5.5 (segmented BPP) requires.
//   - ReplaceSessionKeys (SGP.22 §5.5.4): [MarshalReplaceSessionKeysRequest]
//     builds the BF26 content of the '87' segment that delivers a Profile
//     Protection Key (PPK), [ParseReplaceSessionKeysRequest] reads it on the
//     card, and [Session.ReplaceSessionKeys] switches a session to the PPK for
//     the '86' segments.
//
// The ES8+ functions whose data these segments carry are specified in SGP.22
// §5.5: InitialiseSecureChannel (§5.5.1), ConfigureISDP (§5.5.2),
// StoreMetadata (§5.5.3), ReplaceSessionKeys (§5.5.4) and LoadProfileElements
// (§5.5.5). Section numbers follow SGP.22 v2.x.
//
// Failures on the card side are [*SegmentError] values whose reason is
// [ErrSCP03tStructure] or [ErrSCP03tSecurity], the two BSP values of
// ErrorReason in ProfileInstallationResult.
//
// On brainpoolP256r1 the secret-key operations (one-time key generation and
// ECDH) use the project's constant-time implementation (internal/brainpool);
// github.com/ProtonMail/go-crypto still names the curve and checks public points.
package bsp
