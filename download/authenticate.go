package download

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"

	"github.com/smdpp/smdpp/certs"
	"github.com/smdpp/smdpp/progress"
	"github.com/smdpp/smdpp/rsp"
	"github.com/smdpp/smdpp/session"
	st "github.com/smdpp/smdpp/status"
	"github.com/smdpp/smdpp/store"
	"github.com/smdpp/smdpp/web"
)

// Sizes fixed by SGP.22: transactionId as this server makes it, and the Octet16 challenges.
const (
	transactionIDSize = 16
	challengeSize     = 16
)

// InitiateAuthenticationResult is the output of ES9+.InitiateAuthentication (SGP.22 §5.6.1),
// each field in the form the JSON binding carries.
type InitiateAuthenticationResult struct {
	TransactionID       []byte
	ServerSigned1       []byte // DER ServerSigned1
	ServerSignature1    []byte // the TLV 5F37 40 ‖ r‖s
	EUICCCiPKIdToBeUsed []byte // DER SubjectKeyIdentifier: 04 14 ‖ SKI
	ServerCertificate   []byte // DER CERT.DPauth.ECDSA
}

// InitiateAuthentication opens an RSP session (SGP.22 §5.6.1, §3.1.2): it checks the SM-DP+
// address and the eUICC's specification version, chooses a CI the eUICC can verify our
// certificates with, and signs serverSigned1 with SK.DPauth.
func (s *Service) InitiateAuthentication(ctx context.Context, euiccChallenge, euiccInfo1 []byte, smdpAddress string) (*InitiateAuthenticationResult, error) {
	if len(euiccChallenge) != challengeSize {
		return nil, st.New(st.SubjectEUICC, st.ReasonInvalid, "euiccChallenge must be 16 bytes")
	}
	var info rsp.EUICCInfo1
	if err := info.Unmarshal(euiccInfo1); err != nil {
		return nil, st.Wrap(st.SubjectEUICC, st.ReasonInvalid, "euiccInfo1 is not a valid EUICCInfo1", err)
	}
	if !s.addressMatches(smdpAddress) {
		return nil, st.New(st.SubjectSMDPAddress, st.ReasonRefused, fmt.Sprintf("SM-DP+ address %q is not this server", smdpAddress))
	}
	// SGP.22 v2.x and v3 eUICCs share this protocol; v1 differs.
	if info.SVN[0] != 2 && info.SVN[0] != 3 {
		return nil, st.New(st.SubjectSVN, st.ReasonUnsupported, "specification version "+info.SVN.String()+" is not supported")
	}
	var creds *Credentials
	for _, id := range info.EuiccCiPKIdListForVerification {
		if creds = s.credentialsFor(id); creds != nil {
			break
		}
	}
	if creds == nil {
		return nil, st.New(st.SubjectSecurityConfig, st.ReasonUnsupported, "none of the eUICC's CI public keys for verification is supported")
	}
	random, err := s.random(transactionIDSize + challengeSize)
	if err != nil {
		return nil, err
	}
	txID, serverChallenge := random[:transactionIDSize], random[transactionIDSize:]
	signed := rsp.ServerSigned1{
		TransactionID:   txID,
		EuiccChallenge:  euiccChallenge,
		ServerAddress:   smdpAddress,
		ServerChallenge: serverChallenge,
	}
	signedDER, err := signed.Marshal()
	if err != nil {
		return nil, fmt.Errorf("encoding serverSigned1: %w", err)
	}
	sig, err := certs.SignRaw(creds.DPauthKey, signedDER)
	if err != nil {
		return nil, fmt.Errorf("signing serverSigned1: %w", err)
	}
	now := s.now()
	sess := &session.Session{
		TransactionID:   txID,
		Step:            session.StepInitiated,
		EuiccChallenge:  euiccChallenge,
		ServerChallenge: serverChallenge,
		ServerAddress:   smdpAddress,
		CIPKID:          creds.CIPKID(),
		CreatedAt:       now,
		Deadline:        now.Add(s.ttl),
	}
	if err := s.sessions.Create(ctx, sess); err != nil {
		return nil, fmt.Errorf("creating RSP session: %w", err)
	}
	web.AddLog(ctx, slog.String("transactionId", fmt.Sprintf("%X", txID)))
	return &InitiateAuthenticationResult{
		TransactionID:       txID,
		ServerSigned1:       signedDER,
		ServerSignature1:    signatureTLV(sig),
		EUICCCiPKIdToBeUsed: octetString(creds.CIPKID()),
		ServerCertificate:   creds.DPauth.Raw,
	}, nil
}

// AuthenticateClientResult is the output of ES9+.AuthenticateClient (SGP.22 §5.6.3).
type AuthenticateClientResult struct {
	TransactionID   []byte
	ProfileMetadata []byte // DER StoreMetadataRequest
	SMDPSigned2     []byte // DER SmdpSigned2
	SMDPSignature2  []byte // the TLV 5F37 40 ‖ r‖s
	SMDPCertificate []byte // DER CERT.DPpb.ECDSA
}

// AuthenticateClient authenticates the eUICC and chooses the profile (SGP.22 §5.6.3): it verifies
// CERT.EUM by the CI chosen in InitiateAuthentication, CERT.EUICC by the EUM (EID within the EUM's
// range), euiccSignature1 over euiccSigned1 as received, the transactionId and serverChallenge;
// it finds the order by matchingId (or, without one, the released order bound to the EID), checks
// the eUICC is eligible, and signs smdpSigned2 with SK.DPpb.
func (s *Service) AuthenticateClient(ctx context.Context, transactionID, authenticateServerResponse []byte) (*AuthenticateClientResult, error) {
	sess, err := s.session(ctx, transactionID)
	if err != nil {
		return nil, err
	}
	var resp rsp.AuthenticateServerResponse
	if err := resp.Unmarshal(authenticateServerResponse); err != nil {
		return nil, st.Wrap(st.SubjectEUICC, st.ReasonInvalid, "authenticateServerResponse is not a valid AuthenticateServerResponse", err)
	}
	if e := resp.AuthenticateResponseError; e != nil {
		s.endSession(ctx, sess)
		return nil, st.New(st.SubjectEUICC, st.ReasonRefused, fmt.Sprintf("the eUICC refused authentication (authenticateErrorCode %d)", e.AuthenticateErrorCode))
	}
	ok := resp.AuthenticateResponseOk
	signed := &ok.EuiccSigned1
	if !bytes.Equal(signed.TransactionID, sess.TransactionID) {
		return nil, st.New(st.SubjectTransactionID, st.ReasonUnknown, "transactionId in euiccSigned1 differs from the session's")
	}
	creds := s.credentialsFor(sess.CIPKID)
	identity, err := s.verifyEUICC(ok.EuiccCertificate, ok.EumCertificate, sess.CIPKID)
	if err != nil {
		return nil, err
	}
	web.AddLog(ctx, slog.String("eid", identity.EID))
	if !certs.VerifyRaw(identity.EUICC.PublicKey, signed.Raw, ok.EuiccSignature1) {
		return nil, st.New(st.SubjectEUICC, st.ReasonVerificationFailed, "euiccSignature1 does not verify")
	}
	if subtle.ConstantTimeCompare(signed.ServerChallenge, sess.ServerChallenge) != 1 {
		return nil, st.New(st.SubjectEUICC, st.ReasonVerificationFailed, "serverChallenge in euiccSigned1 is not the session's")
	}
	if signed.ServerAddress != sess.ServerAddress {
		return nil, st.New(st.SubjectSMDPAddress, st.ReasonInvalid, "serverAddress in euiccSigned1 differs from serverSigned1")
	}
	ctxParams := signed.CtxParams1.CtxParamsForCommonAuthentication
	if ctxParams == nil {
		return nil, st.New(st.SubjectEUICC, st.ReasonMandatoryElementMissing, "ctxParams1 has no ctxParamsForCommonAuthentication")
	}
	matchingID := ""
	if ctxParams.MatchingID != nil {
		matchingID = *ctxParams.MatchingID
	}
	profile, err := s.findOrder(ctx, matchingID, identity.EID)
	if err != nil {
		return nil, err
	}
	web.AddLog(ctx, slog.String("iccid", profile.ICCID))
	pkg, err := parsePackage(profile)
	if err != nil {
		return nil, err
	}
	if err := s.checkEligibility(pkg, &signed.EuiccInfo2); err != nil {
		if _, rerr := s.record(ctx, step{iccid: profile.ICCID, eid: identity.EID, profile: &profile, kind: "ineligible", detail: err.Error(),
			point: progress.PointEligibility, failure: err}); rerr != nil {
			s.log.WarnContext(ctx, "recording an ineligible eUICC", "iccid", profile.ICCID, "error", rerr)
		}
		return nil, err
	}
	metadata, err := s.profileMetadata(profile, pkg)
	if err != nil {
		return nil, err
	}
	ccRequired := len(profile.ConfirmationCodeHash) != 0
	smdpSigned := rsp.SmdpSigned2{TransactionID: sess.TransactionID, CcRequiredFlag: ccRequired}
	smdpSignedDER, err := smdpSigned.Marshal()
	if err != nil {
		return nil, fmt.Errorf("encoding smdpSigned2: %w", err)
	}
	// SGP.22 §5.6.3: smdpSignature2 covers smdpSigned2 ‖ the euiccSignature1 TLV (5F37 40 ‖ sig).
	sig, err := certs.SignRaw(creds.DPpbKey, append(smdpSignedDER, signatureTLV(ok.EuiccSignature1)...))
	if err != nil {
		return nil, fmt.Errorf("signing smdpSigned2: %w", err)
	}
	_, err = s.sessions.Advance(ctx, sess.TransactionID, session.StepInitiated, session.StepAuthenticated, func(x *session.Session) error {
		x.EID = identity.EID
		x.ICCID = profile.ICCID
		x.MatchingID = matchingID
		x.OperatorID = profile.OperatorID
		x.EUICCCertificate = ok.EuiccCertificate
		x.EUMCertificate = ok.EumCertificate
		x.CCRequired = ccRequired
		x.SmdpSignature2 = sig
		x.ProfileMetadata = metadata
		return nil
	})
	if err != nil {
		return nil, s.sessionError(err)
	}
	if _, err := s.record(ctx, step{iccid: profile.ICCID, eid: identity.EID, profile: &profile, kind: "authenticated", point: progress.PointEligibility}); err != nil {
		return nil, err
	}
	if !ccRequired {
		// With a confirmation code, GetBoundProfilePackage reads the order anyway.
		s.packages.put(profile.ICCID, profile.Package, s.now())
	}
	return &AuthenticateClientResult{
		TransactionID:   sess.TransactionID,
		ProfileMetadata: metadata,
		SMDPSigned2:     smdpSignedDER,
		SMDPSignature2:  signatureTLV(sig),
		SMDPCertificate: creds.DPpb.Raw,
	}, nil
}

// verifyEUICC checks CI → EUM → eUICC (SGP.22 §5.6.3 steps on CERT.EUM and CERT.EUICC) and maps
// each failure to its SGP.22 code.
func (s *Service) verifyEUICC(euiccDER, eumDER, ciPKID []byte) (*certs.EUICCIdentity, error) {
	eum, err := certs.ParseCertificate(eumDER)
	if err != nil {
		return nil, st.Wrap(st.SubjectEUMCertificate, st.ReasonVerificationFailed, "CERT.EUM is malformed", err)
	}
	if !bytes.Equal(eum.AuthorityKeyId, ciPKID) {
		return nil, st.New(st.SubjectCIPublicKey, st.ReasonUnknown, "CERT.EUM is not issued by the CI chosen in InitiateAuthentication")
	}
	euicc, err := certs.ParseCertificate(euiccDER)
	if err != nil {
		return nil, st.Wrap(st.SubjectEUICCCertificate, st.ReasonVerificationFailed, "CERT.EUICC is malformed", err)
	}
	identity, err := certs.VerifyEUICCChain(euicc, eum, s.roots, certs.VerifyOptions{Now: s.now(), CIPKID: ciPKID, EUMSignatures: s.eumSignatures})
	if err == nil {
		return identity, nil
	}
	subject := st.SubjectEUICCCertificate
	var ve *certs.VerifyError
	if errors.As(err, &ve) && (ve.Role == certs.RoleEUM || ve.Role == certs.RoleCI) {
		subject = st.SubjectEUMCertificate
	}
	reason := st.ReasonVerificationFailed
	if errors.Is(err, certs.ErrExpired) || errors.Is(err, certs.ErrNotYetValid) {
		reason = st.ReasonExpired
	}
	msg := "certificate verification failed"
	switch {
	case errors.Is(err, certs.ErrEIDOutOfRange):
		msg = "the EID is outside the range the EUM may issue"
	case reason == st.ReasonExpired:
		msg = "certificate expired or not yet valid"
	case errors.Is(err, certs.ErrBadSignature), errors.Is(err, certs.ErrUnknownIssuer):
		msg = "certificate signature does not verify"
	}
	if subject == st.SubjectEUMCertificate {
		msg = "CERT.EUM: " + msg
	} else {
		msg = "CERT.EUICC: " + msg
	}
	return nil, st.Wrap(subject, reason, msg, err)
}

// findOrder returns the released order the download is for (SGP.22 §3.1.3, §5.6.3): by
// matchingId from an activation code or SM-DS event, else the one released for this EID
// (the default SM-DP+ address case).
func (s *Service) findOrder(ctx context.Context, matchingID, eid string) (store.Profile, error) {
	if matchingID == "" {
		found, err := s.db.FindProfiles(ctx, store.ProfileFilter{EID: eid, State: store.StateReleased, Limit: 2})
		if err != nil {
			return store.Profile{}, fmt.Errorf("finding orders for EID: %w", err)
		}
		if len(found) == 0 {
			return store.Profile{}, st.New(st.SubjectEID, st.ReasonRefused, "no released order for this EID without a matchingId")
		}
		// FindProfiles leaves Package out; the BPP needs it later, the metadata now.
		return s.db.GetProfile(ctx, found[0].ICCID)
	}
	if s.guesses != nil {
		if _, locked := s.guesses.Locked(eid); locked {
			// Refused like an unknown matchingId, without looking: the answer reveals nothing.
			return store.Profile{}, st.New(st.SubjectMatchingID, st.ReasonRefused, "unknown matchingId")
		}
	}
	p, err := s.db.GetProfileByMatchingID(ctx, matchingID)
	if errors.Is(err, store.ErrNotFound) {
		s.guessed(ctx, eid)
		return store.Profile{}, st.New(st.SubjectMatchingID, st.ReasonRefused, "unknown matchingId")
	}
	if err != nil {
		return store.Profile{}, fmt.Errorf("finding order by matchingId: %w", err)
	}
	if p.EID != "" && p.EID != eid {
		s.guessed(ctx, eid)
		return store.Profile{}, st.New(st.SubjectEID, st.ReasonRefused, "the order is bound to another EID")
	}
	if p.State != store.StateReleased {
		return store.Profile{}, st.New(st.SubjectProfile, st.ReasonNotAllowed, fmt.Sprintf("the order is %s, not released for download", p.State))
	}
	if p.DownloadAttempts >= s.downloadLimit(ctx, p) {
		return store.Profile{}, st.New(st.SubjectDownloadOrder, st.ReasonMaxRetriesExceeded, "the order has used all its download attempts")
	}
	return p, nil
}

// guessed counts a wrong matchingId against the eUICC.
func (s *Service) guessed(ctx context.Context, eid string) {
	if s.guesses != nil && s.guesses.Fail(eid) {
		s.log.WarnContext(ctx, "eUICC locked out after too many wrong matchingIds", "eid", eid)
	}
}

// afterFailedAttempt is where the re-download policy sends an order whose download attempt
// failed (cancelled, expired, or not installed): back to Released while the operator's allowance
// has attempts left, else Error, which ends the order.
func (s *Service) afterFailedAttempt(ctx context.Context, p store.Profile) (to store.State, final bool) {
	if p.DownloadAttempts >= s.downloadLimit(ctx, p) {
		return store.StateError, true
	}
	return store.StateReleased, false
}

// downloadLimit is the number of BPPs an order may get: the initial download plus the
// operator's re-download allowance.
func (s *Service) downloadLimit(ctx context.Context, p store.Profile) int {
	op, err := s.db.GetOperator(ctx, p.OperatorID)
	if err != nil {
		return s.maxDownloads
	}
	return 1 + op.RedownloadLimit
}

// session loads a live session or answers 8.10.1/3.9.
func (s *Service) session(ctx context.Context, transactionID []byte) (*session.Session, error) {
	sess, err := s.sessions.Get(ctx, transactionID)
	if err != nil {
		return nil, s.sessionError(err)
	}
	web.AddLog(ctx, slog.String("transactionId", fmt.Sprintf("%X", transactionID)))
	return sess, nil
}

// sessionError maps session-store failures: a missing or expired session and a call out of
// order are both an unknown transactionId to the caller (SGP.22 §5.6).
func (s *Service) sessionError(err error) error {
	switch {
	case errors.Is(err, session.ErrNotFound):
		return st.Wrap(st.SubjectTransactionID, st.ReasonUnknown, "transactionId is unknown or its session has ended", err)
	case errors.Is(err, session.ErrStepMismatch):
		return st.Wrap(st.SubjectTransactionID, st.ReasonUnknown, "this function is not expected at this step of the session", err)
	}
	return fmt.Errorf("session store: %w", err)
}

// endSession removes a session after a failure that ends it; the store's deadline would
// remove it anyway, so a failure here is only logged.
func (s *Service) endSession(ctx context.Context, sess *session.Session) {
	if err := s.sessions.Delete(ctx, sess.TransactionID); err != nil {
		s.log.WarnContext(ctx, "ending RSP session", "transactionId", fmt.Sprintf("%X", sess.TransactionID), "error", err)
	}
}

// signatureTLV wraps a plain r‖s signature as the [APPLICATION 55] TLV 5F37 the JSON binding and
// signed concatenations use.
func signatureTLV(sig []byte) []byte {
	return append([]byte{0x5F, 0x37, byte(len(sig))}, sig...)
}

// octetString is the DER OCTET STRING of a short value (a SubjectKeyIdentifier).
func octetString(v []byte) []byte {
	return append([]byte{0x04, byte(len(v))}, v...)
}
