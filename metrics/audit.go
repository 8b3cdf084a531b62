package metrics

import (
	"context"
	"log/slog"
)

// Auditor writes audit records: one structured log record per operator or administrator action,
// marked "audit": true so that a log pipeline can route them apart (for JSON logs,
// select records with .audit == true). Records carry identifiers (operator, ICCID, EID, key
// identifiers) but never secrets: no matchingId, confirmation code, token or key material.
//
// The durable usage trail of downloads and installations is the store's event table; these
// records are the log-side trail of who changed what, kept by the log retention.
type Auditor struct {
	log *slog.Logger
}

// Audit returns an Auditor writing to log.
func Audit(log *slog.Logger) Auditor { return Auditor{log: log} }

// Audit actions, the value of the "action" attribute.
const (
	ActionDownloadOrder  = "es2plus.DownloadOrder"
	ActionConfirmOrder   = "es2plus.ConfirmOrder"
	ActionCancelOrder    = "es2plus.CancelOrder"
	ActionReleaseProfile = "es2plus.ReleaseProfile"
	ActionAuthFailure    = "es2plus.authentication-failed"
	ActionProfilesImport = "admin.profiles-imported"
	ActionOperatorsSync  = "admin.operators-synced"
	ActionCredentials    = "admin.credentials-loaded"
	ActionPKIGenerated   = "admin.pki-generated"
)

// DownloadOrder records ES2+.DownloadOrder (SGP.22 §5.3.1) by operatorID: the profile it
// allocated (iccid), the EID it is bound to (may be empty) and the result (nil: done).
func (a Auditor) DownloadOrder(ctx context.Context, operatorID, iccid, eid, profileType string, err error) {
	a.write(ctx, ActionDownloadOrder, err, slog.String("operator", operatorID), slog.String("iccid", iccid),
		slog.String("eid", eid), slog.String("profileType", profileType))
}

// ConfirmOrder records ES2+.ConfirmOrder (SGP.22 §5.3.2). The matchingId and confirmation
// code are secrets of the end user and are not recorded.
func (a Auditor) ConfirmOrder(ctx context.Context, operatorID, iccid, eid string, releaseFlag bool, err error) {
	a.write(ctx, ActionConfirmOrder, err, slog.String("operator", operatorID), slog.String("iccid", iccid),
		slog.String("eid", eid), slog.Bool("releaseFlag", releaseFlag))
}

// CancelOrder records ES2+.CancelOrder (SGP.22 §5.3.3) with the final profile status the
// operator asked for.
func (a Auditor) CancelOrder(ctx context.Context, operatorID, iccid, finalProfileStatusIndicator string, err error) {
	a.write(ctx, ActionCancelOrder, err, slog.String("operator", operatorID), slog.String("iccid", iccid),
		slog.String("finalProfileStatusIndicator", finalProfileStatusIndicator))
}

// ReleaseProfile records ES2+.ReleaseProfile (SGP.22 §5.3.4).
func (a Auditor) ReleaseProfile(ctx context.Context, operatorID, iccid string, err error) {
	a.write(ctx, ActionReleaseProfile, err, slog.String("operator", operatorID), slog.String("iccid", iccid))
}

// AuthenticationFailed records an ES2+ request refused for missing or invalid credentials, or
// for naming another operator than the one authenticated.
func (a Auditor) AuthenticationFailed(ctx context.Context, remoteAddr, operatorID, reason string) {
	a.write(ctx, ActionAuthFailure, nil, slog.String("remote", remoteAddr), slog.String("operator", operatorID),
		slog.String("reason", reason))
}

// ProfilesImported records profile packages added to operatorID's pool (count of them, of
// profileType) by an administrator.
func (a Auditor) ProfilesImported(ctx context.Context, operatorID, profileType string, count int, err error) {
	a.write(ctx, ActionProfilesImport, err, slog.String("operator", operatorID),
		slog.String("profileType", profileType), slog.Int("count", count))
}

// OperatorsSynced records the operator registry written to the database at start.
func (a Auditor) OperatorsSynced(ctx context.Context, operatorIDs []string, err error) {
	a.write(ctx, ActionOperatorsSync, err, slog.Any("operators", operatorIDs))
}

// CredentialsLoaded records an SM-DP+ credential set put in service: the CI's key identifier
// (hex) and the serial numbers of CERT.DPauth, CERT.DPpb and CERT.DPtls, so that a key
// rotation shows in the audit trail.
func (a Auditor) CredentialsLoaded(ctx context.Context, dir, ciPKID, dpauthSerial, dppbSerial, dptlsSerial string) {
	a.write(ctx, ActionCredentials, nil, slog.String("dir", dir), slog.String("ciPKID", ciPKID),
		slog.String("dpauthSerial", dpauthSerial), slog.String("dppbSerial", dppbSerial),
		slog.String("dptlsSerial", dptlsSerial))
}

// PKIGenerated records a development PKI written to dir (never for production).
func (a Auditor) PKIGenerated(ctx context.Context, dir, curve string) {
	a.write(ctx, ActionPKIGenerated, nil, slog.String("dir", dir), slog.String("curve", curve))
}

// write logs one audit record at Info, or at Warn with the error when err is not nil.
func (a Auditor) write(ctx context.Context, action string, err error, attrs ...slog.Attr) {
	level, outcome := slog.LevelInfo, OutcomeSuccess
	head := []slog.Attr{slog.Bool("audit", true), slog.String("action", action)}
	if err != nil {
		level, outcome = slog.LevelWarn, OutcomeFailed
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	head = append(head, slog.String("outcome", outcome))
	a.log.LogAttrs(ctx, level, "audit", append(head, attrs...)...)
}
