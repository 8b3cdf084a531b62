package lpa

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/smdpp/smdpp/activation"
	"github.com/smdpp/smdpp/es9plus/wire"
	"github.com/smdpp/smdpp/rsp"
	"github.com/smdpp/smdpp/tlv"
)

// ErrConfirmationCodeRequired is returned when the Activation Code or the SM-DP+ (smdpSigned2's
// ccRequiredFlag) asks for a Confirmation Code and the download has none.
var ErrConfirmationCodeRequired = errors.New("lpa: confirmation code required")

// DownloadOptions are what the end user adds to an Activation Code.
type DownloadOptions struct {
	// ConfirmationCode is hashed into PrepareDownload when the SM-DP+ requires one
	// (SGP.22 §3.1.3.3: hashCc = SHA-256(SHA-256(code) ‖ transactionId)).
	ConfirmationCode string
	// IMEI, 15 or 16 digits, is sent in deviceInfo (and its first 8 digits as the TAC unless
	// WithTAC set one); empty sends no IMEI, as lpac does without -i.
	IMEI string
}

// InstallError is a Profile Installation Result that reports a failure (SGP.22 §5.7.6,
// ErrorResult): the eUICC refused the Bound Profile Package during bppCommandId.
type InstallError struct {
	BppCommandID rsp.BppCommandId
	ErrorReason  rsp.ErrorReason
}

func (e *InstallError) Error() string {
	return fmt.Sprintf("lpa: profile installation failed: bppCommandId %d, errorReason %d", e.BppCommandID, e.ErrorReason)
}

// Result describes one download attempt. Download fills in what it got to, so a failed attempt
// still reports its transactionId, timings and cleanup.
type Result struct {
	// TransactionID is the RSP session from ES9+.InitiateAuthentication (nil if none was given).
	TransactionID []byte
	// ICCID, ServiceProviderName and ProfileName come from the Profile Metadata of
	// ES9+.AuthenticateClient.
	ICCID               string
	ServiceProviderName string
	ProfileName         string

	// PIR is true once the eUICC has produced a Profile Installation Result; the fields below
	// it describe that result.
	PIR bool
	// SeqNumber is the notification sequence number of the Profile Installation Result.
	SeqNumber int64
	// Installed reports a successResult; AID is then the ISD-P's.
	Installed bool
	AID       []byte
	// BppCommandID and ErrorReason are set for an errorResult.
	BppCommandID *rsp.BppCommandId
	ErrorReason  *rsp.ErrorReason
	// NotificationDelivered reports that ES9+.HandleNotification accepted the result, and
	// NotificationRemoved that the eUICC then deleted it from its list.
	NotificationDelivered bool
	NotificationRemoved   bool

	// Cancelled reports that the session was cancelled after a failure: ES10b.CancelSession
	// and ES9+.CancelSession both succeeded. CancelErr is why they did not.
	Cancelled bool
	CancelErr error

	// Timings lists every ES9+ request in order, cancelSession included; Total is the whole
	// attempt.
	Timings []Timing
	Total   time.Duration
}

// Duration returns the summed duration of the ES9+ requests to function.
func (r *Result) Duration(function string) time.Duration {
	var d time.Duration
	for _, t := range r.Timings {
		if t.Function == function {
			d += t.Duration
		}
	}
	return d
}

// Download runs a Profile download and installation (SGP.22 §3.1.3) for code: ES10b
// GetEUICCChallenge and GetEUICCInfo, ES9+ InitiateAuthentication, ES10b AuthenticateServer,
// ES9+ AuthenticateClient, ES10b PrepareDownload, ES9+ GetBoundProfilePackage, the Bound Profile
// Package loaded segment by segment (§2.5.5), then the Profile Installation Result delivered with
// ES9+ HandleNotification and removed from the card.
//
// The Result is never nil. A failure before the eUICC produced a Profile Installation Result,
// after the SM-DP+ gave a transactionId, cancels the session on the card and on the SM-DP+
// (see the package documentation) and returns the original error: a *ServerError, a
// *TransportError, a *CardError or another error of this package. A Profile Installation
// Result with an errorResult is delivered like a successful one and then returned as an
// *InstallError. Failing to deliver or remove the result is an error too, but the profile's
// outcome stays in the Result (and the notification on the card, for ProcessNotifications).
func (l *LPA) Download(ctx context.Context, code activation.Code, opts DownloadOptions) (*Result, error) {
	res := &Result{}
	start := l.now()
	defer func() { res.Total = l.now().Sub(start) }()

	if err := code.Validate(); err != nil {
		return res, fmt.Errorf("lpa: %w", err)
	}
	if code.ConfirmationCodeRequired && opts.ConfirmationCode == "" {
		return res, ErrConfirmationCodeRequired
	}
	di := rsp.DeviceInfo{TAC: l.tac}
	if opts.IMEI != "" {
		imei, err := bcdIMEI(opts.IMEI)
		if err != nil {
			return res, err
		}
		di.IMEI = imei
		if !l.tacSet {
			di.TAC, _ = bcdTAC(opts.IMEI[:8])
		}
	}

	challenge, info1, err := l.challengeAndInfo1(ctx)
	if err != nil {
		return res, err
	}
	var ia wire.InitiateAuthenticationResponse
	err = l.es9(ctx, code.Address, FunctionInitiateAuthentication, &wire.InitiateAuthenticationRequest{
		EUICCChallenge: challenge,
		EUICCInfo1:     info1,
		SMDPAddress:    code.Address,
	}, &ia, &res.Timings)
	if err != nil {
		return res, err
	}
	if len(ia.TransactionID) == 0 {
		return res, fmt.Errorf("lpa: ES9+ %s: %w: no transactionId", FunctionInitiateAuthentication, ErrMalformedResponse)
	}
	res.TransactionID = ia.TransactionID

	s := &session{l: l, code: code, opts: opts, res: res, device: di}
	if err := s.run(ctx, &ia); err != nil {
		if !res.PIR {
			l.cancel(ctx, code.Address, ia.TransactionID, res)
		}
		return res, err
	}
	return res, nil
}

// session is the part of a download that follows InitiateAuthentication.
type session struct {
	l      *LPA
	code   activation.Code
	opts   DownloadOptions
	res    *Result
	device rsp.DeviceInfo
}

func (s *session) run(ctx context.Context, ia *wire.InitiateAuthenticationResponse) error {
	l, res, addr := s.l, s.res, s.code.Address
	txID := []byte(ia.TransactionID)

	// ES10b.AuthenticateServer (SGP.22 §5.7.13).
	asReq, err := s.authenticateServerRequest(ia)
	if err != nil {
		return err
	}
	asResp, err := l.es10Element(ctx, FunctionAuthenticateServer, asReq, tagAuthenticateServer)
	if err != nil {
		return err
	}

	// ES9+.AuthenticateClient (§5.6.3).
	var ac wire.AuthenticateClientResponse
	if err := l.es9(ctx, addr, FunctionAuthenticateClient, &wire.AuthenticateClientRequest{
		TransactionID:              txID,
		AuthenticateServerResponse: asResp,
	}, &ac, &res.Timings); err != nil {
		return err
	}
	if err := checkTransactionID(FunctionAuthenticateClient, txID, ac.TransactionID); err != nil {
		return err
	}
	if err := s.readMetadata(ac.ProfileMetadata); err != nil {
		return err
	}

	// ES10b.PrepareDownload (§5.7.5).
	pdReq, err := s.prepareDownloadRequest(&ac)
	if err != nil {
		return err
	}
	pdResp, err := l.es10Element(ctx, FunctionPrepareDownload, pdReq, tagPrepareDownload)
	if err != nil {
		return err
	}

	// ES9+.GetBoundProfilePackage (§5.6.2).
	var gb wire.GetBoundProfilePackageResponse
	if err := l.es9(ctx, addr, FunctionGetBoundProfilePackage, &wire.GetBoundProfilePackageRequest{
		TransactionID:           txID,
		PrepareDownloadResponse: pdResp,
	}, &gb, &res.Timings); err != nil {
		return err
	}
	if err := checkTransactionID(FunctionGetBoundProfilePackage, txID, gb.TransactionID); err != nil {
		return err
	}

	// ES10b.LoadBoundProfilePackage (§2.5.5, §5.7.6).
	pirDER, err := s.loadBPP(ctx, gb.BoundProfilePackage)
	if err != nil {
		return err
	}
	return s.deliverPIR(ctx, pirDER)
}

// authenticateServerRequest builds ES10b.AuthenticateServer from the InitiateAuthentication
// output: serverSigned1 decoded from the server's DER (which re-encodes to the same bytes),
// serverSignature1 and euiccCiPKIdToBeUsed taken out of the TLVs the JSON carries, and
// ctxParams1 with the matching ID and this device.
func (s *session) authenticateServerRequest(ia *wire.InitiateAuthenticationResponse) ([]byte, error) {
	const fn = FunctionInitiateAuthentication
	var ss1 rsp.ServerSigned1
	if err := ss1.Unmarshal(ia.ServerSigned1); err != nil {
		return nil, malformed(fn, "serverSigned1", err)
	}
	if !bytes.Equal(ss1.TransactionID, ia.TransactionID) {
		return nil, malformed(fn, "serverSigned1", fmt.Errorf("transactionId %X differs from %X", ss1.TransactionID, []byte(ia.TransactionID)))
	}
	sig, err := tlvValue(ia.ServerSignature1, 0x5F37)
	if err != nil {
		return nil, malformed(fn, "serverSignature1", err)
	}
	ciPKID, err := tlvValue(ia.EUICCCiPKIdToBeUsed, tlv.TagOctetString)
	if err != nil {
		return nil, malformed(fn, "euiccCiPKIdToBeUsed", err)
	}
	if len(ia.ServerCertificate) == 0 {
		return nil, malformed(fn, "serverCertificate", errors.New("missing"))
	}
	mid := s.code.MatchingID
	req := rsp.AuthenticateServerRequest{
		ServerSigned1:       ss1,
		ServerSignature1:    sig,
		EuiccCiPKIdToBeUsed: ciPKID,
		ServerCertificate:   ia.ServerCertificate,
		CtxParams1: rsp.CtxParams1{CtxParamsForCommonAuthentication: &rsp.CtxParamsForCommonAuthentication{
			MatchingID: &mid,
			DeviceInfo: s.device,
		}},
	}
	der, err := req.Marshal()
	if err != nil {
		return nil, malformed(fn, "AuthenticateServerRequest", err)
	}
	return der, nil
}

// readMetadata checks the AuthenticateClient outputs and keeps what the Result reports.
func (s *session) readMetadata(der []byte) error {
	var md rsp.StoreMetadataRequest
	if err := md.Unmarshal(der); err != nil {
		return malformed(FunctionAuthenticateClient, "profileMetadata", err)
	}
	s.res.ICCID = iccidString(md.Iccid)
	s.res.ServiceProviderName = md.ServiceProviderName
	s.res.ProfileName = md.ProfileName
	return nil
}

// prepareDownloadRequest builds ES10b.PrepareDownload from the AuthenticateClient output, with
// hashCc when smdpSigned2 requires the Confirmation Code.
func (s *session) prepareDownloadRequest(ac *wire.AuthenticateClientResponse) ([]byte, error) {
	const fn = FunctionAuthenticateClient
	var ss2 rsp.SmdpSigned2
	if err := ss2.Unmarshal(ac.SMDPSigned2); err != nil {
		return nil, malformed(fn, "smdpSigned2", err)
	}
	if !bytes.Equal(ss2.TransactionID, s.res.TransactionID) {
		return nil, malformed(fn, "smdpSigned2", fmt.Errorf("transactionId %X differs from %X", ss2.TransactionID, []byte(s.res.TransactionID)))
	}
	sig, err := tlvValue(ac.SMDPSignature2, 0x5F37)
	if err != nil {
		return nil, malformed(fn, "smdpSignature2", err)
	}
	if len(ac.SMDPCertificate) == 0 {
		return nil, malformed(fn, "smdpCertificate", errors.New("missing"))
	}
	req := rsp.PrepareDownloadRequest{
		SmdpSigned2:     ss2,
		SmdpSignature2:  sig,
		SmdpCertificate: ac.SMDPCertificate,
	}
	if ss2.CcRequiredFlag {
		if s.opts.ConfirmationCode == "" {
			return nil, ErrConfirmationCodeRequired
		}
		req.HashCc = HashConfirmationCode(s.opts.ConfirmationCode, ss2.TransactionID)
	}
	der, err := req.Marshal()
	if err != nil {
		return nil, malformed(fn, "PrepareDownloadRequest", err)
	}
	return der, nil
}

// HashConfirmationCode returns hashCc, SHA-256(SHA-256(code) ‖ transactionID)
// (SGP.22 §3.1.3.3, §5.7.5).
func HashConfirmationCode(code string, transactionID []byte) []byte {
	h1 := sha256.Sum256([]byte(code))
	h2 := sha256.Sum256(append(h1[:], transactionID...))
	return h2[:]
}

// loadBPP sends the Bound Profile Package to the card segment by segment (SGP.22 §2.5.5) and
// returns the Profile Installation Result the card answers, as received. The card answers the
// last segment, or the one it failed on, with the result.
func (s *session) loadBPP(ctx context.Context, der []byte) ([]byte, error) {
	var bpp rsp.BoundProfilePackage
	if err := bpp.Unmarshal(der); err != nil {
		return nil, malformed(FunctionGetBoundProfilePackage, "boundProfilePackage", err)
	}
	segs, err := bpp.Segments()
	if err != nil {
		return nil, malformed(FunctionGetBoundProfilePackage, "boundProfilePackage", err)
	}
	for i, seg := range segs {
		resp, err := s.l.es10(ctx, FunctionLoadBoundProfilePackage, seg)
		if err != nil {
			var ce *CardError
			if errors.As(err, &ce) {
				ce.Err = fmt.Errorf("segment %d of %d: %w", i+1, len(segs), ce.Err)
			}
			return nil, err
		}
		if len(resp) == 0 {
			continue
		}
		var pir rsp.ProfileInstallationResult
		if err := pir.Unmarshal(resp); err != nil {
			return nil, &CardError{Function: FunctionLoadBoundProfilePackage,
				Err: fmt.Errorf("segment %d of %d: %w: ProfileInstallationResult: %v", i+1, len(segs), ErrMalformedResponse, err)}
		}
		s.recordPIR(&pir)
		if pir.ProfileInstallationResultData.SuccessResult != nil && i != len(segs)-1 {
			s.l.log.WarnContext(ctx, "successful ProfileInstallationResult before the last segment", "segment", i+1, "segments", len(segs))
		}
		return resp, nil
	}
	return nil, &CardError{Function: FunctionLoadBoundProfilePackage, Err: errors.New("no ProfileInstallationResult after the last segment")}
}

func (s *session) recordPIR(pir *rsp.ProfileInstallationResult) {
	d := &pir.ProfileInstallationResultData
	s.res.PIR = true
	s.res.SeqNumber = d.NotificationMetadata.SeqNumber
	if r := d.SuccessResult; r != nil {
		s.res.Installed = true
		s.res.AID = r.AID
	}
	if r := d.ErrorResult; r != nil {
		cmd, reason := r.BppCommandId, r.ErrorReason
		s.res.BppCommandID, s.res.ErrorReason = &cmd, &reason
	}
}

// deliverPIR sends the Profile Installation Result to the SM-DP+ of this session with
// ES9+.HandleNotification and removes it from the card once accepted.
func (s *session) deliverPIR(ctx context.Context, pir []byte) error {
	var installErr error
	if s.res.BppCommandID != nil {
		installErr = &InstallError{BppCommandID: *s.res.BppCommandID, ErrorReason: *s.res.ErrorReason}
	}
	err := s.l.es9(ctx, s.code.Address, FunctionHandleNotification,
		&wire.HandleNotificationRequest{PendingNotification: pir}, nil, &s.res.Timings)
	if err != nil {
		return joinErrors(installErr, err)
	}
	s.res.NotificationDelivered = true
	if err := s.l.notificationSent(ctx, s.res.SeqNumber); err != nil {
		return joinErrors(installErr, err)
	}
	s.res.NotificationRemoved = true
	return installErr
}

// cancel ends the session after a failure as lpac does: ES10b.CancelSession with
// endUserRejection, then ES9+.CancelSession with the card's answer. It runs even if ctx is
// done, each call within the per-call timeout, and records the outcome in res.
func (l *LPA) cancel(ctx context.Context, address string, txID []byte, res *Result) {
	ctx = context.WithoutCancel(ctx)
	csr, err := l.cancelOnCard(ctx, txID, rsp.CancelSessionReasonEndUserRejection)
	if err != nil {
		res.CancelErr = err
		return
	}
	var out wire.CancelSessionResponse
	if err := l.es9(ctx, address, FunctionCancelSession, &wire.CancelSessionRequest{
		TransactionID:         txID,
		CancelSessionResponse: csr,
	}, &out, &res.Timings); err != nil {
		res.CancelErr = err
		return
	}
	res.Cancelled = true
}

// joinErrors joins errors like errors.Join, but returns a single non-nil error as it is.
func joinErrors(a, b error) error {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	return errors.Join(a, b)
}

func checkTransactionID(function string, want, got []byte) error {
	if len(got) == 0 {
		return fmt.Errorf("lpa: ES9+ %s: %w: no transactionId", function, ErrMalformedResponse)
	}
	if !bytes.Equal(want, got) {
		return fmt.Errorf("lpa: ES9+ %s: %w: transactionId %X, want %X", function, ErrMalformedResponse, got, want)
	}
	return nil
}

// tlvValue returns the value of der, which must be exactly one element with tag.
func tlvValue(der []byte, tag tlv.Tag) ([]byte, error) {
	if len(der) == 0 {
		return nil, errors.New("missing")
	}
	s := tlv.String(der)
	var v []byte
	if !s.ReadOctets(tag, &v) || !s.Empty() {
		return nil, fmt.Errorf("not a single %s element: %s", tag, hex.EncodeToString(der[:min(len(der), 8)]))
	}
	return v, nil
}

func malformed(function, field string, err error) error {
	return fmt.Errorf("lpa: ES9+ %s: %w: %s: %v", function, ErrMalformedResponse, field, err)
}
