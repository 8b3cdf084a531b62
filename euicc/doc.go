// Package euicc is a virtual eUICC: the ISD-R of an SGP.22 v2.x eUICC as an [apdu.Applet], so that
// an LPA (our own, or lpac through its stdio APDU driver) can download, install and manage
// Profiles against a real SM-DP+ without a physical card.
//
// It implements the card side of ES10a/ES10b/ES10c (SGP.22 §5.7) and, inside the Bound Profile
// Package, of ES8+ (§5.5), and it is meant to be honest: it verifies what a real eUICC verifies and
// refuses what a real eUICC refuses, with the error codes SGP.22 gives, so that a server that works
// against it has a fair chance of working against a real card.
//
// # What it checks
//
// AuthenticateServer (BF38, §5.7.13), in this order:
//   - a challenge from GetEuiccChallenge (BF2E) must be pending, else noSessionContext; the
//     challenge is used up by the attempt, whatever its outcome;
//   - euiccCiPKIdToBeUsed must name a trusted CI to which this eUICC's own certificate chain
//     leads (euiccCiPKIdListForSigning), else ciPKUnknown;
//   - serverCertificate must parse with a P-256 or brainpoolP256r1 key, else unsupportedCurve (or
//     invalidCertificate when it is not a certificate at all);
//   - it must be a CERT.DPauth.ECDSA issued by that CI and valid at the injected clock
//     (certs.VerifyServerCertificate with RoleDPAuth): a certificate whose policies name another
//     role gives invalidOid, every other failure (other CI, expired, bad signature, profile
//     violation) invalidCertificate;
//   - serverSignature1 must verify over serverSigned1 as received, else invalidSignature;
//   - serverSigned1.euiccChallenge must equal the pending challenge, else euiccChallengeMismatch.
//
// The serverAddress is not compared with an activation code: SGP.22 v2 does not give the eUICC
// one. On success the eUICC signs euiccSigned1 {transactionId, serverAddress, serverChallenge,
// euiccInfo2, ctxParams1 as received} and opens a session (replacing any previous one).
//
// PrepareDownload (BF21, §5.7.5), in this order: a session must be open (noSessionContext);
// smdpCertificate must parse (unsupportedCurve / invalidCertificate), be a CERT.DPpb.ECDSA of the
// session's CI valid at the clock, and carry the same SM-DP+ OID as CERT.DPauth
// (invalidCertificate); its key must be on this eUICC's curve (unsupportedCurve); smdpSignature2
// must verify over smdpSigned2 as received ‖ 5F37 40 ‖ euiccSignature1 (invalidSignature);
// smdpSigned2.transactionId must be the session's (invalidTransactionId); with ccRequiredFlag the
// LPA must supply hashCc (undefinedError). The one-time key otPK.EUICC.ECKA is generated on the
// eUICC's curve, or reused when bppEuiccOtpk names the one kept from an earlier PrepareDownload
// whose Bound Profile Package never reached the card; it is discarded once InitialiseSecureChannel
// has used it.
//
// LoadBoundProfilePackage (BF36, §5.7.6, §2.5.5) is followed segment by segment with
// rsp.BPPSegmentReader; every segment is answered with no data (9000) except the last one and the
// first that fails, which are answered with the signed ProfileInstallationResult (BF37). Errors,
// as errorResult {bppCommandId, errorReason}:
//   - a segment that does not continue the package in order: scp03tStructureError;
//   - InitialiseSecureChannel: transactionId not the session's (invalidTransactionId), remoteOpId
//     not installBoundProfilePackage (unsupportedRemoteOperationType), keyType/keyLen/hostId other
//     than AES-128 and 1 to 16 octets (unsupportedCrtValues), smdpSign not verifying with
//     CERT.DPpb over the signed fields ‖ 5F49 euiccOtpk (invalidSignature), smdpOtpk not a point of
//     the curve (incorrectInputValues). Then ECKA and the key derivation with the EID as 16 octets;
//   - every '87', '88' and '86' through bsp.Session: a C-MAC or padding failure gives
//     scp03tSecurityError, a malformed segment scp03tStructureError, with the bppCommandId of the
//     command it belongs to;
//   - ConfigureISDP and ReplaceSessionKeys plaintexts that do not decode, and StoreMetadata that
//     does not decode or has an icon without iconType: incorrectInputValues; an ICCID already on
//     the card: installFailedDueToIccidAlreadyExistsOnEuicc;
//   - the profile segments: more plaintext than the free non-volatile memory gives
//     installFailedDueToInsufficientMemoryForProfile. Unless Config.AcceptInvalidProfile is set,
//     the plaintext must be a SAIP profile package: a sequence of DER ProfileElements starting
//     with the ProfileHeader (A0) and ending with the End element (AA), whose SAIP version is not
//     above Config.ProfileVersion (installFailedDueToPEProcessingError otherwise) and whose ICCID
//     equals StoreMetadata's (installFailedDueToIccidMismatch): the header has the digits in
//     reading order (89 49 44 … as in the TS.48 packages), StoreMetadata as EF.ICCID codes them,
//     nibbles swapped (98 94 44 …, SGP.22 Iccid), so one is compared with the other swapped.
//
// The result, success {ISD-P AID, simaResponse} or error, is signed with SK.EUICC over
// ProfileInstallationResultData, kept as a pending notification, and ends the session: further
// segments are refused with 6985 until a new session. A new GetEuiccChallenge or
// AuthenticateServer while a package is being loaded interrupts it
// (installFailedDueToInterruption, also kept as a pending notification).
//
// CancelSession (BF41, §5.7.14) signs {transactionId, smdpOid of CERT.DPauth, reason} for the
// session's transactionId and ends the session, discarding any partly loaded package (the
// one-time key is kept for a retry when the reason is postponed or timeout); any other
// transactionId gives cancelSessionResponseError invalidTransactionId.
//
// The ES10c functions manage what was installed: GetProfilesInfo (BF2D, with searchCriteria and
// tagList), Enable (BF31, disabling the enabled Profile), Disable (BF32), Delete (BF33, only a
// disabled Profile), SetNickname (BF29), eUICCMemoryReset (BF34), GetEuiccData (BF3E, the EID).
// Enable, disable and delete queue an OtherSignedNotification (NotificationMetadata signed with
// SK.EUICC, with CERT.EUICC and CERT.EUM) for each notificationConfigurationInfo entry of the
// Profile's metadata that asks for that event, as SGP.22 §5.5.3 has it: a Profile whose metadata
// asks for none gets none. ListNotification (BF28), RetrieveNotificationsList (BF2B) and
// NotificationSent (BF30) serve the pending notifications. GetEUICCInfo1/2 (BF20/BF22),
// GetEuiccChallenge (BF2E), GetEuiccConfiguredAddresses (BF3C), SetDefaultDpAddress (BF3F) and
// GetRAT (BF43, an empty Rules Authorisation Table) complete what lpac uses.
//
// A request that is not one DER element of a known function is answered with SW 6A80; an
// unknown tag with 6A88; a BPP segment with no download session ready with 6985. Nothing it is
// sent makes it panic.
//
// Not implemented: Profile Policy Rules are stored and reported but never enforced, there is no
// CRL handling, no REFRESH, no ES6 UpdateMetadata, no SGP.22 v3 features.
//
// # Driving it from lpac
//
// The command smdpp-euicc (cmd/smdpp-euicc) serves this card on lpac's stdio APDU driver. lpac
// writes its APDU requests on its standard output and reads the replies on its standard input, so
// the two programs are connected both ways, for example with a bash coprocess:
//
//	coproc CARD { smdpp-euicc --pki ./pki --eid 89049999000000000000000000000012 --state card.json; }
//	LPAC_APDU=stdio lpac chip info <&"${CARD[0]}" >&"${CARD[1]}"
//	wait
//
// or with two named pipes:
//
//	mkfifo to-card to-lpac
//	smdpp-euicc --pki ./pki --eid 89049999000000000000000000000012 --state card.json <to-card >to-lpac &
//	LPAC_APDU=stdio lpac profile download -a 'LPA:1$localhost:8443$MATCHING-ID' >to-card <to-lpac
//
// lpac's own output lines (progress and result) reach smdpp-euicc's standard input too; it copies
// them to its standard error. Each run of lpac is one card session; the --state file keeps the
// installed Profiles and pending notifications from one run to the next.
package euicc
