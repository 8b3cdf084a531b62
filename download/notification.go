package download

import (
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

// NotificationEvent bits (SGP.22 §2.4.4 / NotificationEvent).
const (
	notificationInstall = 0
	notificationEnable  = 1
	notificationDisable = 2
	notificationDelete  = 3
)

// HandleNotification takes a pending notification from the LPA (SGP.22 §5.6.4). A
// ProfileInstallationResult signed by the session's eUICC moves the profile to Installed or
// Error; a signed enable, disable or delete notification is verified against its own
// certificate chain and recorded. It is idempotent: replays and notifications for ended
// sessions are acknowledged without changing anything, since the LPA only needs to know it may
// delete the notification.
func (s *Service) HandleNotification(ctx context.Context, pendingNotification []byte) error {
	var n rsp.PendingNotification
	if err := n.Unmarshal(pendingNotification); err != nil {
		return st.Wrap(st.SubjectEUICC, st.ReasonInvalid, "pendingNotification is not a valid PendingNotification", err)
	}
	if pir := n.ProfileInstallationResult; pir != nil {
		return s.handleInstallationResult(ctx, pir, pendingNotification)
	}
	return s.handleOtherNotification(ctx, n.OtherSignedNotification)
}

func (s *Service) handleInstallationResult(ctx context.Context, pir *rsp.ProfileInstallationResult, raw []byte) error {
	data := &pir.ProfileInstallationResultData
	web.AddLog(ctx, slog.String("transactionId", fmt.Sprintf("%X", data.TransactionID)), slog.Int64("seqNumber", data.NotificationMetadata.SeqNumber))
	notified := iccidDigits(data.NotificationMetadata.Iccid)
	// The result belongs to the session's order; once the session is gone (a restart, an
	// expired session, a late retry by the LPA) to the order named by the notification, whose
	// BPP's eUICC certificate was kept for this. The signature decides either way.
	from := []store.State{store.StateDownloaded}
	var iccid, eid string
	var certDER []byte
	sess, err := s.sessions.Get(ctx, data.TransactionID)
	switch {
	case err == nil:
		iccid, eid, certDER = sess.ICCID, sess.EID, sess.EUICCCertificate
		if notified != "" && notified != iccid {
			return st.New(st.SubjectICCID, st.ReasonInvalid, "the notification's ICCID is not the session's profile")
		}
	case errors.Is(err, session.ErrNotFound):
		p, err := s.db.GetProfileWithoutPackage(ctx, notified)
		if err != nil || len(p.EUICCCertificate) == 0 {
			// Not an order of ours that got a BPP: nothing to verify against.
			web.AddLog(ctx, slog.String("notification", "no session and no order; acknowledged"))
			return nil
		}
		iccid, eid, certDER = p.ICCID, p.EID, p.EUICCCertificate
		// The order may have been returned to Released when its session expired.
		from = append(from, store.StateReleased)
	default:
		return fmt.Errorf("session store: %w", err)
	}
	euicc, err := certs.ParseCertificate(certDER)
	if err != nil {
		return fmt.Errorf("CERT.EUICC of %s: %w", iccid, err)
	}
	if !certs.VerifyRaw(euicc.PublicKey, data.Raw, pir.EuiccSignPIR) {
		return st.New(st.SubjectEUICC, st.ReasonVerificationFailed, "euiccSignPIR does not verify")
	}
	to, detail := store.StateInstalled, "installed"
	var reason, command *int
	var failure error
	kind, final := string(store.StateInstalled), true
	if e := data.ErrorResult; e != nil {
		r, c := int(e.ErrorReason), int(e.BppCommandId)
		reason, command = &r, &c
		detail = fmt.Sprintf("bppCommandId %d, errorReason %d", c, r)
		failure = st.New(st.SubjectProfile, st.ReasonExecutionError, "the eUICC could not install the profile: "+detail)
		kind = string(store.StateError)
		// The re-download policy decides; a failed result after the order went back to Released
		// changes nothing: the next attempt is already allowed.
		from = []store.State{store.StateDownloaded}
		to, final = store.StateError, true
		if p, err := s.db.GetProfileWithoutPackage(ctx, iccid); err == nil {
			to, final = s.afterFailedAttempt(ctx, p)
		}
	}
	_, err = s.record(ctx, step{
		iccid: iccid, eid: eid, from: from, to: to, final: final,
		mutate: func(p *store.Profile) error {
			p.LastErrorReason, p.LastBppCommandID = reason, command
			return nil
		},
		kind: kind, detail: detail,
		point: progress.PointBPPInstallation, failure: failure, resultData: raw,
	})
	switch {
	case errors.Is(err, store.ErrWrongState):
		web.AddLog(ctx, slog.String("notification", "order no longer awaiting this result; acknowledged"))
	case err != nil:
		return err
	}
	if sess != nil {
		s.endSession(ctx, sess)
	}
	web.AddLog(ctx, slog.String("iccid", iccid), slog.String("result", detail))
	return nil
}

func (s *Service) handleOtherNotification(ctx context.Context, n *rsp.OtherSignedNotification) error {
	eum, err := certs.ParseCertificate(n.EumCertificate)
	if err != nil {
		return st.Wrap(st.SubjectEUMCertificate, st.ReasonVerificationFailed, "CERT.EUM is malformed", err)
	}
	euicc, err := certs.ParseCertificate(n.EuiccCertificate)
	if err != nil {
		return st.Wrap(st.SubjectEUICCCertificate, st.ReasonVerificationFailed, "CERT.EUICC is malformed", err)
	}
	identity, err := certs.VerifyEUICCChain(euicc, eum, s.roots, certs.VerifyOptions{Now: s.now(), EUMSignatures: s.eumSignatures})
	if err != nil {
		return st.Wrap(st.SubjectEUICCCertificate, st.ReasonVerificationFailed, "the notification's eUICC certificate chain does not verify", err)
	}
	meta := &n.TbsOtherNotification
	if !certs.VerifyRaw(euicc.PublicKey, meta.Raw, n.EuiccNotificationSignature) {
		return st.New(st.SubjectEUICC, st.ReasonVerificationFailed, "euiccNotificationSignature does not verify")
	}
	op := "unknown"
	switch {
	case meta.ProfileManagementOperation.At(notificationEnable) == 1:
		op = "enabled"
	case meta.ProfileManagementOperation.At(notificationDisable) == 1:
		op = "disabled"
	case meta.ProfileManagementOperation.At(notificationDelete) == 1:
		op = "deleted"
	case meta.ProfileManagementOperation.At(notificationInstall) == 1:
		op = "installed"
	}
	iccid := iccidDigits(meta.Iccid)
	web.AddLog(ctx, slog.String("eid", identity.EID), slog.String("iccid", iccid), slog.String("operation", op), slog.Int64("seqNumber", meta.SeqNumber))
	point := map[string]int{"enabled": progress.PointProfileEnabled, "disabled": progress.PointProfileDisabled, "deleted": progress.PointProfileDeleted}[op]
	detail := fmt.Sprintf("seqNumber %d", meta.SeqNumber)
	p, err := s.db.GetProfileWithoutPackage(ctx, iccid)
	if errors.Is(err, store.ErrNotFound) {
		// A profile another SM-DP+ provided: nothing of ours to change or report.
		web.AddLog(ctx, slog.String("notification", "profile unknown here; acknowledged"))
		return nil
	}
	if err != nil {
		return fmt.Errorf("loading the notified profile: %w", err)
	}
	if p.EID != identity.EID {
		return st.New(st.SubjectEID, st.ReasonRefused, "the profile was not downloaded to this EID")
	}
	if _, err := s.record(ctx, step{iccid: iccid, eid: identity.EID, profile: &p, kind: op, detail: detail, point: point}); err != nil {
		return err
	}
	return nil
}

// iccidDigits decodes an ICCID as coded in EF.ICCID and SGP.22 Iccid (BCD, swapped nibbles,
// F filler; ETSI TS 102 221 §13.2) to its digits.
func iccidDigits(b []byte) string {
	out := make([]byte, 0, 2*len(b))
	for _, x := range b {
		for _, d := range []byte{x & 0x0F, x >> 4} {
			if d > 9 {
				return string(out)
			}
			out = append(out, '0'+d)
		}
	}
	return string(out)
}
