package download

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/big"

	"github.com/smdpp/smdpp/bsp"
	"github.com/smdpp/smdpp/certs"
	"github.com/smdpp/smdpp/progress"
	"github.com/smdpp/smdpp/rsp"
	"github.com/smdpp/smdpp/session"
	st "github.com/smdpp/smdpp/status"
	"github.com/smdpp/smdpp/store"
)

// GetBoundProfilePackage binds the profile to the eUICC (SGP.22 §5.6.2): it verifies
// euiccSignature2 over euiccSigned2 as received followed by smdpSignature2, checks the
// confirmation code when the order needs one, agrees session keys with the eUICC's one-time key
// (ECKA, §2.6.4 and Annex G) and returns the Bound Profile Package (§2.5.4): the signed
// InitialiseSecureChannel, ConfigureISDP and StoreMetadata, then the profile in protected segments.
// A retry with the same otPK.EUICC.ECKA reuses the session's one-time key pair.
func (s *Service) GetBoundProfilePackage(ctx context.Context, transactionID, prepareDownloadResponse []byte) (bppDER []byte, err error) {
	sess, err := s.session(ctx, transactionID)
	if err != nil {
		return nil, err
	}
	var resp rsp.PrepareDownloadResponse
	if err := resp.Unmarshal(prepareDownloadResponse); err != nil {
		return nil, st.Wrap(st.SubjectEUICC, st.ReasonInvalid, "prepareDownloadResponse is not a valid PrepareDownloadResponse", err)
	}
	if e := resp.DownloadResponseError; e != nil {
		s.endSession(ctx, sess)
		refused := st.New(st.SubjectEUICC, st.ReasonRefused, fmt.Sprintf("the eUICC refused PrepareDownload (downloadErrorCode %d)", e.DownloadErrorCode))
		if err := s.failAttempt(ctx, sess, "refused", refused.Message); err != nil {
			s.log.WarnContext(ctx, "recording a refused PrepareDownload", "iccid", sess.ICCID, "error", err)
		}
		return nil, refused
	}
	ok := resp.DownloadResponseOk
	signed := &ok.EUICCSigned2
	if !bytes.Equal(signed.TransactionID, sess.TransactionID) {
		return nil, st.New(st.SubjectTransactionID, st.ReasonUnknown, "transactionId in euiccSigned2 differs from the session's")
	}
	if sess.Step != session.StepAuthenticated && !(sess.Step == session.StepBPPSent && bytes.Equal(signed.EuiccOtpk, sess.EuiccOtpk)) {
		return nil, st.New(st.SubjectTransactionID, st.ReasonUnknown, fmt.Sprintf("GetBoundProfilePackage is not expected after %s", sess.Step))
	}
	euicc, err := certs.ParseCertificate(sess.EUICCCertificate)
	if err != nil {
		return nil, fmt.Errorf("session's CERT.EUICC: %w", err)
	}
	tbs := append(append([]byte(nil), signed.Raw...), signatureTLV(sess.SmdpSignature2)...)
	if !certs.VerifyRaw(euicc.PublicKey, tbs, ok.EuiccSignature2) {
		return nil, st.New(st.SubjectEUICC, st.ReasonVerificationFailed, "euiccSignature2 does not verify")
	}
	profile, err := s.boundProfile(ctx, sess)
	if err != nil {
		return nil, err
	}
	if sess.CCRequired {
		if err := s.checkConfirmationCode(ctx, sess, profile, signed.HashCc); err != nil {
			return nil, err
		}
	}
	otsk, err := s.oneTimeKey(sess, euicc.PublicKey.Curve, signed.EuiccOtpk)
	if err != nil {
		return nil, err
	}
	bpp, err := s.bind(sess, profile, otsk, signed.EuiccOtpk)
	if err != nil {
		return nil, err
	}
	if sess.Step == session.StepAuthenticated {
		if err := s.markDownloaded(ctx, sess, otsk, signed.EuiccOtpk); err != nil {
			return nil, err
		}
	}
	return bpp, nil
}

// boundProfile returns what bind and checkConfirmationCode need of the session's order: the
// package AuthenticateClient kept for an order without a confirmation code (the ICCID and
// package are all bind reads), else the stored profile.
func (s *Service) boundProfile(ctx context.Context, sess *session.Session) (store.Profile, error) {
	if !sess.CCRequired {
		if pkg, ok := s.packages.take(sess.ICCID, s.now()); ok {
			return store.Profile{ICCID: sess.ICCID, Package: pkg}, nil
		}
	}
	p, err := s.db.GetProfile(ctx, sess.ICCID)
	if err != nil {
		return store.Profile{}, fmt.Errorf("loading the session's profile: %w", err)
	}
	return p, nil
}

// checkConfirmationCode compares hashCc with SHA-256(SHA-256(code) ‖ transactionId) (SGP.22
// §5.6.2, §3.1.3.3), counting wrong codes; the last allowed failure ends the order.
func (s *Service) checkConfirmationCode(ctx context.Context, sess *session.Session, p store.Profile, hashCc []byte) error {
	if len(hashCc) == 0 {
		return st.New(st.SubjectConfirmationCode, st.ReasonMandatoryElementMissing, "the order requires a confirmation code")
	}
	want := sha256.Sum256(append(append([]byte(nil), p.ConfirmationCodeHash...), sess.TransactionID...))
	if subtle.ConstantTimeCompare(hashCc, want[:]) == 1 {
		return nil
	}
	// One transaction counts the wrong code and, at the limit, ends the order (Released → Error).
	refused := st.New(st.SubjectConfirmationCode, st.ReasonRefused, "wrong confirmation code")
	locked := st.New(st.SubjectConfirmationCode, st.ReasonMaxRetriesExceeded, "too many wrong confirmation codes; the order has ended")
	final := p.CCAttempts+1 >= s.maxCCAttempts
	to, failure, kind := store.StateReleased, error(refused), "confirmation-code-refused"
	if final {
		to, failure, kind = store.StateError, locked, "confirmation-code-locked"
	}
	_, err := s.record(ctx, step{
		iccid: p.ICCID, eid: sess.EID, from: []store.State{store.StateReleased}, to: to, final: final,
		mutate: func(x *store.Profile) error { x.CCAttempts++; return nil },
		kind:   kind, point: progress.PointConfirmationFailed, failure: failure,
	})
	if err != nil {
		return fmt.Errorf("counting a wrong confirmation code: %w", err)
	}
	if final {
		s.endSession(ctx, sess)
		return locked
	}
	return refused
}

// oneTimeKey returns otSK.DP.ECKA: the session's when the eUICC repeats its one-time key (a
// retried download), else a new one on the eUICC's curve.
func (s *Service) oneTimeKey(sess *session.Session, curve elliptic.Curve, euiccOtpk []byte) (*ecdsa.PrivateKey, error) {
	if _, err := bsp.ParseUncompressedPoint(curve, euiccOtpk); err != nil {
		return nil, st.Wrap(st.SubjectEUICC, st.ReasonInvalid, "euiccOtpk is not a point on the eUICC's curve", err)
	}
	if len(sess.SmdpOtsk) != 0 && bytes.Equal(sess.EuiccOtpk, euiccOtpk) {
		// The public half was kept too, so no scalar multiplication touches the secret here.
		pub, err := bsp.ParseUncompressedPoint(curve, sess.SmdpOtpk)
		if err != nil {
			return nil, fmt.Errorf("session's one-time key: %w", err)
		}
		return &ecdsa.PrivateKey{PublicKey: *pub, D: new(big.Int).SetBytes(sess.SmdpOtsk)}, nil
	}
	return bsp.GenerateOneTimeKey(curve, s.rand)
}

// bind builds the Bound Profile Package for one session and one-time key.
func (s *Service) bind(sess *session.Session, p store.Profile, otsk *ecdsa.PrivateKey, euiccOtpk []byte) ([]byte, error) {
	creds := s.credentialsFor(sess.CIPKID)
	peer, err := bsp.ParseUncompressedPoint(otsk.Curve, euiccOtpk)
	if err != nil {
		return nil, st.Wrap(st.SubjectEUICC, st.ReasonInvalid, "euiccOtpk is not a point on the eUICC's curve", err)
	}
	shared, err := bsp.SharedSecret(otsk, peer)
	if err != nil {
		return nil, st.Wrap(st.SubjectEUICC, st.ReasonInvalid, "key agreement with euiccOtpk failed", err)
	}
	eid, err := hex.DecodeString(sess.EID)
	if err != nil {
		return nil, fmt.Errorf("session EID %q: %w", sess.EID, err)
	}
	keys, err := bsp.DeriveSessionKeys(shared, bsp.KeyTypeAES, bsp.KeyLength, s.hostID, eid)
	if err != nil {
		return nil, fmt.Errorf("deriving BSP session keys: %w", err)
	}
	smdpOtpk, err := bsp.MarshalUncompressedPoint(&otsk.PublicKey)
	if err != nil {
		return nil, err
	}
	isc := rsp.InitialiseSecureChannelRequest{
		RemoteOpID:    rsp.RemoteOpIdInstallBoundProfilePackage,
		TransactionID: sess.TransactionID,
		ControlRefTemplate: rsp.ControlRefTemplate{
			KeyType: []byte{bsp.KeyTypeAES},
			KeyLen:  []byte{bsp.KeyLength},
			HostID:  s.hostID,
		},
		SmdpOtpk: smdpOtpk,
	}
	tbs, err := isc.MarshalTBS(euiccOtpk)
	if err != nil {
		return nil, fmt.Errorf("encoding InitialiseSecureChannel: %w", err)
	}
	if isc.SmdpSign, err = certs.SignRaw(creds.DPpbKey, tbs); err != nil {
		return nil, fmt.Errorf("signing InitialiseSecureChannel: %w", err)
	}
	configure, err := (&rsp.ConfigureISDPRequest{}).Marshal()
	if err != nil {
		return nil, err
	}
	bspSession := bsp.NewSession(keys)
	bpp := rsp.BoundProfilePackage{InitialiseSecureChannelRequest: isc}
	if bpp.FirstSequenceOf87, err = bspSession.WrapSegments(0x87, configure); err != nil {
		return nil, fmt.Errorf("protecting ConfigureISDP: %w", err)
	}
	if bpp.SequenceOf88, err = bspSession.WrapSegments(0x88, sess.ProfileMetadata); err != nil {
		return nil, fmt.Errorf("protecting StoreMetadata: %w", err)
	}
	if bpp.SequenceOf86, err = bspSession.WrapSegments(0x86, p.Package); err != nil {
		return nil, fmt.Errorf("protecting the profile: %w", err)
	}
	out, err := bpp.Marshal()
	if err != nil {
		return nil, fmt.Errorf("encoding the Bound Profile Package: %w", err)
	}
	return out, nil
}

// markDownloaded records the first BPP of a session: the profile moves Released → Downloaded
// with one more download attempt counted, and the session keeps the one-time key for retries.
func (s *Service) markDownloaded(ctx context.Context, sess *session.Session, otsk *ecdsa.PrivateKey, euiccOtpk []byte) error {
	_, err := s.record(ctx, step{
		iccid: sess.ICCID, eid: sess.EID, from: []store.State{store.StateReleased}, to: store.StateDownloaded,
		mutate: func(p *store.Profile) error {
			p.DownloadAttempts++
			p.EID = sess.EID
			p.EUICCCertificate = sess.EUICCCertificate
			return nil
		},
		kind: "downloaded", point: progress.PointBPPDownload,
	})
	if errors.Is(err, store.ErrWrongState) || errors.Is(err, store.ErrConflict) {
		return st.Wrap(st.SubjectProfile, st.ReasonNotAllowed, "the order changed during the download", err)
	}
	if err != nil {
		return fmt.Errorf("marking the profile downloaded: %w", err)
	}
	otpk, _ := bsp.MarshalUncompressedPoint(&otsk.PublicKey)
	_, err = s.sessions.Advance(ctx, sess.TransactionID, session.StepAuthenticated, session.StepBPPSent, func(x *session.Session) error {
		x.EuiccOtpk = euiccOtpk
		x.SmdpOtpk = otpk
		x.SmdpOtsk = otsk.D.FillBytes(make([]byte, 32))
		return nil
	})
	if err != nil {
		return s.sessionError(err)
	}
	s.log.InfoContext(ctx, "bound profile package sent", slog.String("iccid", sess.ICCID), slog.String("eid", sess.EID))
	return nil
}
