package euicc

import (
	"bytes"
	"crypto/subtle"
	"errors"
	"fmt"

	"github.com/smdpp/smdpp/bsp"
	"github.com/smdpp/smdpp/certs"
	"github.com/smdpp/smdpp/rsp"
)

// authenticateServer answers ES10b.AuthenticateServer (SGP.22 §5.7.13); the checks and their
// order are listed in the package documentation.
func (c *ISDR) authenticateServer(req []byte) ([]byte, error) {
	var r rsp.AuthenticateServerRequest
	if err := r.Unmarshal(req); err != nil {
		return nil, malformed(err)
	}
	tid := r.ServerSigned1.TransactionID
	refuse := func(code rsp.AuthenticateErrorCode, why string) ([]byte, error) {
		c.log.Info("AuthenticateServer refused", "transaction_id", fmt.Sprintf("%X", tid), "error_code", int64(code), "reason", why)
		return (&rsp.AuthenticateServerResponse{AuthenticateResponseError: &rsp.AuthenticateResponseError{
			TransactionID: bytes.Clone(tid), AuthenticateErrorCode: code,
		}}).Marshal()
	}

	// A new authentication ends whatever session was open, and uses up the challenge.
	challenge := c.challenge
	c.challenge = nil
	if err := c.endSession(); err != nil {
		return nil, err
	}
	if challenge == nil {
		return refuse(rsp.AuthenticateErrorCodeNoSessionContext, "no euiccChallenge pending")
	}
	if !bytes.Equal(r.EuiccCiPKIdToBeUsed, c.signingCI) {
		return refuse(rsp.AuthenticateErrorCodeCiPKUnknown, fmt.Sprintf("euiccCiPKIdToBeUsed %X is not a CI this eUICC signs under", r.EuiccCiPKIdToBeUsed))
	}
	cert, err := certs.ParseCertificate(r.ServerCertificate)
	if errors.Is(err, certs.ErrUnsupportedAlgorithm) {
		return refuse(rsp.AuthenticateErrorCodeUnsupportedCurve, err.Error())
	}
	if err != nil {
		return refuse(rsp.AuthenticateErrorCodeInvalidCertificate, err.Error())
	}
	id, err := certs.VerifyServerCertificate(cert, certs.RoleDPAuth, c.roots, certs.VerifyOptions{
		Now: c.cfg.Now(), CIPKID: r.EuiccCiPKIdToBeUsed,
	})
	switch {
	case errors.Is(err, certs.ErrWrongRole):
		return refuse(rsp.AuthenticateErrorCodeInvalidOid, err.Error())
	case err != nil:
		return refuse(rsp.AuthenticateErrorCodeInvalidCertificate, err.Error())
	case id.OID == nil:
		return refuse(rsp.AuthenticateErrorCodeInvalidOid, "CERT.DPauth carries no SM-DP+ OID")
	}
	if !certs.VerifyRaw(cert.PublicKey, r.ServerSigned1.Raw, r.ServerSignature1) {
		return refuse(rsp.AuthenticateErrorCodeInvalidSignature, "serverSignature1 does not verify")
	}
	if subtle.ConstantTimeCompare(r.ServerSigned1.EuiccChallenge, challenge) != 1 {
		return refuse(rsp.AuthenticateErrorCodeEuiccChallengeMismatch, "serverSigned1.euiccChallenge is not the pending challenge")
	}

	signed := rsp.EuiccSigned1{
		TransactionID:   bytes.Clone(tid),
		ServerAddress:   r.ServerSigned1.ServerAddress,
		ServerChallenge: bytes.Clone(r.ServerSigned1.ServerChallenge),
		EuiccInfo2:      *c.euiccInfo2(),
		CtxParams1:      r.CtxParams1,
	}
	tbs, err := signed.Marshal()
	if err != nil {
		return nil, fmt.Errorf("euicc: encoding euiccSigned1: %w", err)
	}
	sig, err := c.sign(tbs)
	if err != nil {
		return nil, err
	}
	resp, err := (&rsp.AuthenticateServerResponse{AuthenticateResponseOk: &rsp.AuthenticateResponseOk{
		EuiccSigned1:     signed,
		EuiccSignature1:  sig,
		EuiccCertificate: bytes.Clone(c.cert.Raw),
		EumCertificate:   bytes.Clone(c.eum.Raw),
	}}).Marshal()
	if err != nil {
		return nil, fmt.Errorf("euicc: encoding AuthenticateServerResponse: %w", err)
	}
	c.sess = &session{
		transactionID:   bytes.Clone(tid),
		serverAddress:   r.ServerSigned1.ServerAddress,
		serverChallenge: bytes.Clone(r.ServerSigned1.ServerChallenge),
		ciPKID:          bytes.Clone(r.EuiccCiPKIdToBeUsed),
		smdpOID:         id.OID,
		euiccSignature1: sig,
	}
	c.log.Info("AuthenticateServer", "transaction_id", fmt.Sprintf("%X", tid), "server_address", r.ServerSigned1.ServerAddress, "smdp_oid", id.OID.String())
	return resp, nil
}

// prepareDownload answers ES10b.PrepareDownload (SGP.22 §5.7.5); the checks and their order are
// listed in the package documentation.
func (c *ISDR) prepareDownload(req []byte) ([]byte, error) {
	var r rsp.PrepareDownloadRequest
	if err := r.Unmarshal(req); err != nil {
		return nil, malformed(err)
	}
	tid := r.SmdpSigned2.TransactionID
	refuse := func(code rsp.DownloadErrorCode, why string) ([]byte, error) {
		c.log.Info("PrepareDownload refused", "transaction_id", fmt.Sprintf("%X", tid), "error_code", int64(code), "reason", why)
		return (&rsp.PrepareDownloadResponse{DownloadResponseError: &rsp.PrepareDownloadResponseError{
			TransactionID: bytes.Clone(tid), DownloadErrorCode: code,
		}}).Marshal()
	}
	s := c.sess
	if s == nil || s.load != nil {
		return refuse(rsp.DownloadErrorCodeNoSessionContext, "no authenticated session waiting for PrepareDownload")
	}
	cert, err := certs.ParseCertificate(r.SmdpCertificate)
	if errors.Is(err, certs.ErrUnsupportedAlgorithm) {
		return refuse(rsp.DownloadErrorCodeUnsupportedCurve, err.Error())
	}
	if err != nil {
		return refuse(rsp.DownloadErrorCodeInvalidCertificate, err.Error())
	}
	id, err := certs.VerifyServerCertificate(cert, certs.RoleDPPb, c.roots, certs.VerifyOptions{
		Now: c.cfg.Now(), CIPKID: s.ciPKID,
	})
	if err != nil {
		return refuse(rsp.DownloadErrorCodeInvalidCertificate, err.Error())
	}
	if !id.OID.Equal(s.smdpOID) {
		return refuse(rsp.DownloadErrorCodeInvalidCertificate, fmt.Sprintf("CERT.DPpb names SM-DP+ %v, CERT.DPauth %v", id.OID, s.smdpOID))
	}
	if cert.PublicKey.Curve != c.curve {
		return refuse(rsp.DownloadErrorCodeUnsupportedCurve, "CERT.DPpb is not on the eUICC's curve")
	}
	tbs := append(bytes.Clone(r.SmdpSigned2.Raw), signatureTLV(s.euiccSignature1)...)
	if !certs.VerifyRaw(cert.PublicKey, tbs, r.SmdpSignature2) {
		return refuse(rsp.DownloadErrorCodeInvalidSignature, "smdpSignature2 does not verify")
	}
	if !bytes.Equal(tid, s.transactionID) {
		return refuse(rsp.DownloadErrorCodeInvalidTransactionId, "smdpSigned2.transactionId is not the session's")
	}
	if r.SmdpSigned2.CcRequiredFlag && r.HashCc == nil {
		return refuse(rsp.DownloadErrorCodeUndefinedError, "confirmation code required but no hashCc")
	}

	// otSK/otPK.EUICC.ECKA: the one kept for the package already bound to it, or a new one.
	otk, otpk := c.otk, c.otpk
	if otk == nil || r.SmdpSigned2.BppEuiccOtpk == nil || !bytes.Equal(r.SmdpSigned2.BppEuiccOtpk, otpk) {
		if otk, err = bsp.GenerateOneTimeKey(c.curve, c.cfg.Rand); err != nil {
			return nil, fmt.Errorf("euicc: generating otSK.EUICC.ECKA: %w", err)
		}
		if otpk, err = bsp.MarshalUncompressedPoint(&otk.PublicKey); err != nil {
			return nil, fmt.Errorf("euicc: encoding otPK.EUICC.ECKA: %w", err)
		}
	}
	signed := rsp.EUICCSigned2{TransactionID: bytes.Clone(tid), EuiccOtpk: otpk, HashCc: bytes.Clone(r.HashCc)}
	der, err := signed.Marshal()
	if err != nil {
		return nil, fmt.Errorf("euicc: encoding euiccSigned2: %w", err)
	}
	sig, err := c.sign(append(der, signatureTLV(r.SmdpSignature2)...))
	if err != nil {
		return nil, err
	}
	resp, err := (&rsp.PrepareDownloadResponse{DownloadResponseOk: &rsp.PrepareDownloadResponseOk{
		EUICCSigned2: signed, EuiccSignature2: sig,
	}}).Marshal()
	if err != nil {
		return nil, fmt.Errorf("euicc: encoding PrepareDownloadResponse: %w", err)
	}
	c.otk, c.otpk = otk, otpk
	s.dppb, s.otk, s.euiccOtpk = cert, otk, otpk
	c.log.Info("PrepareDownload", "transaction_id", fmt.Sprintf("%X", tid), "reused_otpk", r.SmdpSigned2.BppEuiccOtpk != nil && bytes.Equal(r.SmdpSigned2.BppEuiccOtpk, otpk))
	return resp, nil
}

// cancelSession answers ES10b.CancelSession (SGP.22 §5.7.14): for the open session's
// transactionId it signs {transactionId, smdpOid, reason} and ends the session, discarding a
// partly loaded package; any other transactionId is refused.
func (c *ISDR) cancelSession(req []byte) ([]byte, error) {
	var r rsp.CancelSessionRequest
	if err := r.Unmarshal(req); err != nil {
		return nil, malformed(err)
	}
	s := c.sess
	if s == nil || !bytes.Equal(r.TransactionID, s.transactionID) {
		e := rsp.CancelSessionResponseErrorInvalidTransactionId
		c.log.Info("CancelSession refused", "transaction_id", fmt.Sprintf("%X", r.TransactionID))
		return (&rsp.CancelSessionResponse{CancelSessionResponseError: &e}).Marshal()
	}
	signed := rsp.EuiccCancelSessionSigned{TransactionID: bytes.Clone(s.transactionID), SmdpOid: s.smdpOID, Reason: r.Reason}
	tbs, err := signed.Marshal()
	if err != nil {
		return nil, fmt.Errorf("euicc: encoding euiccCancelSessionSigned: %w", err)
	}
	sig, err := c.sign(tbs)
	if err != nil {
		return nil, err
	}
	resp, err := (&rsp.CancelSessionResponse{CancelSessionResponseOk: &rsp.CancelSessionResponseOk{
		EuiccCancelSessionSigned: signed, EuiccCancelSessionSignature: sig,
	}}).Marshal()
	if err != nil {
		return nil, fmt.Errorf("euicc: encoding CancelSessionResponse: %w", err)
	}
	// The one-time key survives a postponement or a timeout, for the retry that may follow.
	if r.Reason != rsp.CancelSessionReasonPostponed && r.Reason != rsp.CancelSessionReasonTimeout {
		c.otk, c.otpk = nil, nil
	}
	c.sess = nil // a partly loaded package goes with it, without a result
	c.log.Info("CancelSession", "transaction_id", fmt.Sprintf("%X", s.transactionID), "reason", int64(r.Reason))
	return resp, nil
}

// endSession closes the open session before another starts. A Bound Profile Package whose
// loading had begun is interrupted: its result (installFailedDueToInterruption) becomes a pending
// notification.
func (c *ISDR) endSession() error {
	s := c.sess
	if s == nil {
		return nil
	}
	if s.load != nil && s.load.keys != nil {
		if _, err := c.installResult(s.load.failure(rsp.ErrorReasonInstallFailedDueToInterruption, nil)); err != nil {
			return err
		}
	}
	c.sess = nil
	return nil
}
