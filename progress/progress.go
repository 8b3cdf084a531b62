// Package progress tells operators how their downloads go: ES2+.HandleDownloadProgressInfo
// (SGP.22 §5.3.5), called by the SM-DP+ on the operator's ES2+ endpoint.
//
// Notifications travel through the store's durable outbox. A Notifier writes one in the same
// transaction as the state change it reports (Enqueue takes the *store.Tx), so a notification
// exists exactly when its change was committed. A Deliverer, running in every replica, claims
// due messages, POSTs them and marks them delivered, or reschedules them with exponential backoff
// and jitter, forever: delivery is at least once and in order per ICCID, and survives restarts
// because all its state is in the database. Each message carries a functionCallIdentifier fixed
// when it was written, so an operator can recognise a repeated delivery.
//
// Notification points (SGP.22 §5.3.5 notificationPointId). 1 to 4 are the steps of a download;
// 5, 101 and 102 follow one operator's published ES2+ interface built on SGP.22 and should be
// checked against the SGP.22 version an operator certifies with:
//
//	1    Eligibility and retry limit check (AuthenticateClient)
//	2    ConfirmationFailure (a wrong confirmation code in GetBoundProfilePackage)
//	3    BPP download (GetBoundProfilePackage answered)
//	4    BPP installation (ProfileInstallationResult received by HandleNotification)
//	5    Profile deleted (a delete notification from the eUICC)
//	101  Profile enabled (an enable notification from the eUICC)
//	102  Profile disabled (a disable notification from the eUICC)
//
// Extension point: the outbox also carries messages for an SM-DS (ES12 RegisterEvent and
// DeleteEvent, SGP.22 §5.8). Such a sender implements Sender, writes its messages with its own
// Kind, and is registered with Deliverer.Handle; the Deliverer then claims, retries and orders
// them like progress notifications. Messages share the per-ICCID order with everything written
// under the same ICCID string, so a sender that must not wait behind operator callbacks (or hold
// them up) should use a key of its own, e.g. "smds:" + ICCID.
package progress

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/smdpp/smdpp/status"
	"github.com/smdpp/smdpp/store"
)

// Notification point IDs (see the package documentation).
const (
	PointEligibility        = 1
	PointConfirmationFailed = 2
	PointBPPDownload        = 3
	PointBPPInstallation    = 4
	PointProfileDeleted     = 5
	PointProfileEnabled     = 101
	PointProfileDisabled    = 102
)

// Kind is the outbox kind of a HandleDownloadProgressInfo message.
const Kind = "es2plus.HandleDownloadProgressInfo"

// Path is where the operator's ES2+ endpoint receives HandleDownloadProgressInfo (SGP.22 §6.5).
const Path = "/gsma/rsp2/es2plus/handleDownloadProgressInfo"

// Event is one step of a download to report to the operator.
type Event struct {
	// OperatorID is the operator to tell: the profile's owner.
	OperatorID  string
	EID         string // optional
	ICCID       string
	ProfileType string
	// Timestamp is when the step happened; zero means when Enqueue runs.
	Timestamp time.Time
	// PointID is the notificationPointId (PointEligibility …).
	PointID int
	// Failure is nil for Executed-Success; otherwise the step failed with this error's SGP.22
	// status (an error without one is reported as a generic execution error).
	Failure error
	// ResultData is optional raw data sent base64-encoded, e.g. the DER of the eUICC's
	// ProfileInstallationResult at PointBPPInstallation.
	ResultData []byte
}

// RequestHeader is the ES2+ request header (SGP.22 §6.5.1.3) of a notification.
type RequestHeader struct {
	FunctionRequesterIdentifier string `json:"functionRequesterIdentifier"`
	FunctionCallIdentifier      string `json:"functionCallIdentifier"`
}

// HandleDownloadProgressInfoRequest is the JSON body sent to the operator (SGP.22 §5.3.5).
type HandleDownloadProgressInfoRequest struct {
	Header      RequestHeader `json:"header"`
	EID         string        `json:"eid,omitempty"`
	ICCID       string        `json:"iccid"`
	ProfileType string        `json:"profileType"`
	// Timestamp is W3C/ISO 8601 in UTC: YYYY-MM-DDThh:mm:ssZ.
	Timestamp               string                         `json:"timestamp"`
	NotificationPointID     int                            `json:"notificationPointId"`
	NotificationPointStatus status.FunctionExecutionStatus `json:"notificationPointStatus"`
	// ResultData is base64 (standard, padded); encoding/json writes []byte that way.
	ResultData []byte `json:"resultData,omitempty"`
}

// TimestampFormat is the W3C date-time format of the timestamp field, always written in UTC.
const TimestampFormat = "2006-01-02T15:04:05Z07:00"

// Notifier writes HandleDownloadProgressInfo messages into the outbox.
type Notifier struct {
	requester string
	now       func() time.Time
}

// NotifierOption configures a Notifier.
type NotifierOption func(*Notifier)

// WithNotifierClock sets the clock for events without a timestamp (default time.Now).
func WithNotifierClock(now func() time.Time) NotifierOption { return func(n *Notifier) { n.now = now } }

// NewNotifier returns a Notifier that signs its messages as requesterID, the SM-DP+'s own
// functionRequesterIdentifier towards operators.
func NewNotifier(requesterID string, opts ...NotifierOption) *Notifier {
	n := &Notifier{requester: requesterID, now: time.Now}
	for _, o := range opts {
		o(n)
	}
	return n
}

// Enqueue writes ev into the outbox inside tx, the transaction of the change it reports; the
// message is delivered only if tx commits. An operator without a callback URL is not told:
// Enqueue then writes nothing and reports queued false, so the caller need not wake a
// deliverer. An unknown operator is an error (wrapping store.ErrNotFound).
func (n *Notifier) Enqueue(ctx context.Context, tx *store.Tx, ev Event) (queued bool, err error) {
	if ev.ICCID == "" || ev.PointID <= 0 {
		return false, fmt.Errorf("progress: event needs an ICCID and a notification point, got %q and %d", ev.ICCID, ev.PointID)
	}
	op, err := tx.GetOperator(ctx, ev.OperatorID)
	if err != nil {
		return false, fmt.Errorf("progress: operator of %s: %w", ev.ICCID, err)
	}
	if op.CallbackURL == "" {
		return false, nil
	}
	payload, err := n.payload(ev)
	if err != nil {
		return false, err
	}
	if _, err := tx.EnqueueOutbox(ctx, store.OutboxMessage{OperatorID: ev.OperatorID, ICCID: ev.ICCID, Kind: Kind, Payload: payload}); err != nil {
		return false, fmt.Errorf("progress: %w", err)
	}
	return true, nil
}

// payload builds the complete request body, header included, so every delivery of the message
// is the same bytes with the same functionCallIdentifier.
func (n *Notifier) payload(ev Event) ([]byte, error) {
	var id [12]byte
	if _, err := rand.Read(id[:]); err != nil {
		return nil, fmt.Errorf("progress: functionCallIdentifier: %w", err)
	}
	ts := ev.Timestamp
	if ts.IsZero() {
		ts = n.now()
	}
	st := status.FunctionExecutionStatus{Status: status.ExecutedSuccess}
	if ev.Failure != nil {
		h, _ := status.Header(ev.Failure)
		st = h.FunctionExecutionStatus
	}
	body, err := json.Marshal(HandleDownloadProgressInfoRequest{
		Header: RequestHeader{
			FunctionRequesterIdentifier: n.requester,
			FunctionCallIdentifier:      "HDPI-" + hex.EncodeToString(id[:]),
		},
		EID:                     ev.EID,
		ICCID:                   ev.ICCID,
		ProfileType:             ev.ProfileType,
		Timestamp:               ts.UTC().Truncate(time.Second).Format(TimestampFormat),
		NotificationPointID:     ev.PointID,
		NotificationPointStatus: st,
		ResultData:              ev.ResultData,
	})
	if err != nil {
		return nil, fmt.Errorf("progress: encoding the notification: %w", err)
	}
	return body, nil
}

// errNoCallback is the delivery error of a message whose operator has no callback URL (any
// more); the message waits until one is configured.
var errNoCallback = errors.New("progress: the operator has no callback URL")
