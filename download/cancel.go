package download

import (
	"bytes"
	"context"
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
	return s.failAttempt(ctx, sess, "cancelled", detail)
}

// failAttempt ends a download attempt that did not install: an order whose BPP was sent goes back
// to Released while it has download attempts left, else to Error; either way the attempt is
// recorded and reported to the operator as a failed BPP download.
func (s *Service) failAttempt(ctx context.Context, sess *session.Session, kind, detail string) error {
	p, err := s.db.GetProfileWithoutPackage(ctx, sess.ICCID)
	if err != nil {
		return fmt.Errorf("loading the order after a failed attempt: %w", err)
	}
	rec := step{
		iccid: p.ICCID, eid: sess.EID, kind: kind, detail: detail,
		point: progress.PointBPPDownload, failure: st.New(st.SubjectProfile, st.ReasonExecutionError, "download "+kind+": "+detail),
	}
	if p.State == store.StateDownloaded {
		rec.from = []store.State{store.StateDownloaded}
		rec.to, rec.final = s.afterFailedAttempt(ctx, p)
	} else {
		rec.profile = &p
	}
	if _, err := s.record(ctx, rec); err != nil && !errors.Is(err, store.ErrWrongState) {
		return err
	}
	return nil
}
