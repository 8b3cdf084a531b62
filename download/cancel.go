package download

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/smdpp/smdpp/certs"
	"github.com/smdpp/smdpp/rsp"
	"github.com/smdpp/smdpp/session"
	st "github.com/smdpp/smdpp/status"
	"github.com/smdpp/smdpp/store"
	"github.com/smdpp/smdpp/web"
)

// CancelSession ends a download at the LPA's or eUICC's request (SGP.22 §5.6.5): once the eUICC
// is authenticated it verifies the eUICC's signature over euiccCancelSessionSigned as received, the transactionId and our SM-DP+
// OID, then ends the session. An order whose BPP was already sent goes back to Released while it
// has download attempts left, else to Error; an order cancelled before that is untouched. Every
// reason is treated alike because real LPAs (lpac) report technical failures as
// endUserRejection, which must not end an order beyond its re-download policy.
func (s *Service) CancelSession(ctx context.Context, transactionID, cancelSessionResponse []byte) error {
	sess, err := s.session(ctx, transactionID)
	if err != nil {
		return err
	}
	var resp rsp.CancelSessionResponse
	if err := resp.Unmarshal(cancelSessionResponse); err != nil {
		return st.Wrap(st.SubjectEUICC, st.ReasonInvalid, "cancelSessionResponse is not a valid CancelSessionResponse", err)
	}
	if e := resp.CancelSessionResponseError; e != nil {
		// The eUICC had no session to cancel; ours ends all the same.
		web.AddLog(ctx, slog.Int64("cancelSessionResponseError", int64(*e)))
		return s.cancel(ctx, sess, "eUICC reported cancelSessionResponseError")
	}
	ok := resp.CancelSessionResponseOk
	signed := &ok.EuiccCancelSessionSigned
	if !bytes.Equal(signed.TransactionID, sess.TransactionID) {
		return st.New(st.SubjectTransactionID, st.ReasonUnknown, "transactionId in euiccCancelSessionSigned differs from the session's")
	}
	if sess.Step < session.StepAuthenticated {
		// AuthenticateClient failed or never came: no eUICC key is known to check the signature
		// with, and no order is bound, so ending the session is all there is to do. LPAs cancel
		// here after every failure (lpac does), and must get a success.
		return s.cancel(ctx, sess, "cancelled before authentication")
	}
	if !signed.SmdpOid.Equal(s.credentialsFor(sess.CIPKID).SMDPOID()) {
		return st.New(st.SubjectSMDP, st.ReasonInvalidAssociation, "smdpOid is not this SM-DP+'s OID")
	}
	euicc, err := certs.ParseCertificate(sess.EUICCCertificate)
	if err != nil {
		return fmt.Errorf("session's CERT.EUICC: %w", err)
	}
	if !certs.VerifyRaw(euicc.PublicKey, signed.Raw, ok.EuiccCancelSessionSignature) {
		return st.New(st.SubjectEUICC, st.ReasonVerificationFailed, "euiccCancelSessionSignature does not verify")
	}
	web.AddLog(ctx, slog.Int64("reason", int64(signed.Reason)))
	return s.cancel(ctx, sess, fmt.Sprintf("cancelled with reason %d", signed.Reason))
}

// cancel ends the session and returns its order for another attempt when one is left.
func (s *Service) cancel(ctx context.Context, sess *session.Session, detail string) error {
	if _, err := s.sessions.Advance(ctx, sess.TransactionID, sess.Step, session.StepCancelled, nil); err != nil {
		return s.sessionError(err)
	}
	s.endSession(ctx, sess)
	if sess.ICCID == "" {
		return nil
	}
	if err := s.failAttempt(ctx, sess, true); err != nil {
		return err
	}
	s.event(ctx, sess, "cancelled", detail)
	return nil
}

// failAttempt puts an order whose BPP was sent back to Released while it has download attempts
// left, else to Error. report says whether a failure here is the caller's to see.
func (s *Service) failAttempt(ctx context.Context, sess *session.Session, report bool) error {
	p, err := s.db.GetProfile(ctx, sess.ICCID)
	if err != nil || p.State != store.StateDownloaded {
		return nil
	}
	to := store.StateReleased
	if p.DownloadAttempts >= s.downloadLimit(ctx, p) {
		to = store.StateError
	}
	_, err = s.db.TransitionProfile(ctx, p.ICCID, []store.State{store.StateDownloaded}, to, nil)
	if err != nil && !errors.Is(err, store.ErrWrongState) {
		if report {
			return fmt.Errorf("returning the order after a failed attempt: %w", err)
		}
		s.log.WarnContext(ctx, "returning the order after a failed attempt", "iccid", p.ICCID, "error", err)
	}
	return nil
}
