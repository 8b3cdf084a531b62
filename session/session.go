// Package session is the SM-DP+'s RSP session store.
//
// An RSP session (SGP.22 §3.1.3) is one attempt to download a profile, identified by the
// transactionId the SM-DP+ allocates in ES9+.InitiateAuthentication (§5.6.1). It carries what the
// later ES9+ calls of the same attempt must check or reuse: the server challenge, the chosen CI key,
// the eUICC's certificates and one-time key, and the SM-DP+'s own one-time key pair. Each of those
// calls may reach a different server replica, so sessions live behind [Store], which has two
// implementations: [Memory] (the default, one process) and [Redis] (shared by all replicas).
//
// A session only moves forward, by compare-and-set on its [Step] ([Store.Advance]), and every
// session has a deadline after which it no longer exists. Which transitions are legal is the
// download service's business; the store only makes each one atomic.
//
// Errors: [ErrNotFound] (the download service answers it with subjectCode 8.10.1, reasonCode 3.9
// "transactionId unknown"), [ErrExists], [ErrStepMismatch] and [ErrCorrupt]; match them with
// errors.Is.
package session

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Store keeps RSP sessions keyed by transactionId. Implementations are safe for concurrent use
// by many goroutines and, for [Redis], by many processes.
type Store interface {
	// Create stores a new session; an existing transactionId is ErrExists. ttl derives from s.Deadline.
	Create(ctx context.Context, s *Session) error
	// Get returns the session; ErrNotFound when absent or past its deadline.
	Get(ctx context.Context, transactionID []byte) (*Session, error)
	// Advance atomically moves the session from step `from` to `to`, applying update to the stored copy.
	// It fails with ErrStepMismatch (the stored step differs; the stored session is unchanged) or ErrNotFound.
	// Two concurrent Advance calls from the same step: exactly one succeeds.
	Advance(ctx context.Context, transactionID []byte, from, to Step, update func(*Session) error) (*Session, error)
	// Delete removes the session (idempotent).
	Delete(ctx context.Context, transactionID []byte) error
	// Count returns the number of live sessions (for metrics).
	Count(ctx context.Context) (int, error)
}

var (
	// ErrNotFound reports that no live session has the transactionId: it was never created, was
	// deleted, or is past its deadline. ES9+ answers it with 8.10.1 / 3.9 (SGP.22 §5.6).
	ErrNotFound = errors.New("session: transactionId unknown or expired")
	// ErrExists reports that Create found a live session with the same transactionId.
	ErrExists = errors.New("session: transactionId already in use")
	// ErrStepMismatch reports that Advance found the session at another step than the one it
	// expected: the call is out of order or lost a race. The stored session is unchanged.
	ErrStepMismatch = errors.New("session: session is not at the expected step")
	// ErrCorrupt reports stored bytes that do not decode as a session (unknown encoding version,
	// truncated or trailing data, invalid field).
	ErrCorrupt = errors.New("session: corrupt stored session")
)

// Step is how far an RSP session has gone in the ES9+ sequence (SGP.22 §3.1.3). The zero value is
// not a valid step.
type Step uint8

// The steps of an RSP session, in the order of the ES9+ functions that reach them.
const (
	// StepInitiated follows ES9+.InitiateAuthentication (SGP.22 §5.6.1): the server challenge is
	// sent and the transactionId allocated.
	StepInitiated Step = iota + 1
	// StepAuthenticated follows ES9+.AuthenticateClient (SGP.22 §5.6.3): the eUICC and its
	// certificates are verified and a profile is chosen.
	StepAuthenticated
	// StepBPPSent follows ES9+.GetBoundProfilePackage (SGP.22 §5.6.2): the Bound Profile Package
	// was returned. A retry with the same otPK.EUICC.ECKA may reuse the one-time key pair.
	StepBPPSent
	// StepDone follows ES9+.HandleNotification with the ProfileInstallationResult (SGP.22 §5.6.4).
	StepDone
	// StepCancelled follows ES9+.CancelSession (SGP.22 §5.6.5) or a failure that ends the session.
	StepCancelled

	stepLimit // one past the last valid step
)

// Valid reports whether s is one of the defined steps.
func (s Step) Valid() bool { return s >= StepInitiated && s < stepLimit }

// String returns the step's name, e.g. "authenticated".
func (s Step) String() string {
	switch s {
	case StepInitiated:
		return "initiated"
	case StepAuthenticated:
		return "authenticated"
	case StepBPPSent:
		return "bppSent"
	case StepDone:
		return "done"
	case StepCancelled:
		return "cancelled"
	}
	return "Step(" + strconv.Itoa(int(s)) + ")"
}

// MaxTransactionIDLen is the longest transactionId: SGP.22 defines
// TransactionId ::= OCTET STRING (SIZE(1..16)); this SM-DP+ allocates 16 bytes.
const MaxTransactionIDLen = 16

// Session is the state of one RSP session. Byte-slice fields that are empty are returned as nil.
// Sessions returned by a [Store] are copies: changing one changes nothing stored.
type Session struct {
	// TransactionID identifies the session (SGP.22 §5.6.1, 1 to 16 bytes; this SM-DP+ uses 16).
	// It is the store's key and never changes.
	TransactionID []byte
	// Step is how far the session has gone.
	Step Step

	// EuiccChallenge is the eUICC's challenge from InitiateAuthentication (16 bytes), signed back in
	// serverSigned1.
	EuiccChallenge []byte
	// ServerChallenge is the SM-DP+'s challenge (16 bytes); AuthenticateClient checks that
	// euiccSigned1 returns it.
	ServerChallenge []byte
	// ServerAddress is the SM-DP+ address the eUICC was given in serverSigned1.
	ServerAddress string
	// CIPKID is the Subject Key Identifier of the CI public key chosen in InitiateAuthentication;
	// CERT.EUM must chain to it (SGP.22 §5.6.3).
	CIPKID []byte

	// EID is the eUICC identifier (32 digits) read from CERT.EUICC in AuthenticateClient.
	EID string
	// ICCID is the profile bound to this download, chosen in AuthenticateClient.
	ICCID string
	// MatchingID is the activation code's matchingId (or empty for SM-DS and default-server
	// downloads).
	MatchingID string
	// OperatorID identifies the operator that ordered the profile (for progress notifications).
	OperatorID string
	// EUICCCertificate is CERT.EUICC.ECDSA (DER), kept to verify euiccSignature2 and later eUICC
	// signatures of this session.
	EUICCCertificate []byte
	// EUMCertificate is CERT.EUM.ECDSA (DER).
	EUMCertificate []byte

	// ProfileMetadata is the StoreMetadataRequest (DER) sent in AuthenticateClient; the BPP
	// carries the same bytes, so they are built once.
	ProfileMetadata []byte

	// SmdpSignature2 is the SM-DP+'s signature over smdpSigned2 (r‖s), which euiccSignature2
	// covers too (SGP.22 §5.6.2), so GetBoundProfilePackage needs it.
	SmdpSignature2 []byte

	// EuiccOtpk is otPK.EUICC.ECKA from PrepareDownloadResponse (SGP.22 §5.6.2).
	EuiccOtpk []byte
	// SmdpOtpk is otPK.DP.ECKA, the SM-DP+'s one-time public key.
	SmdpOtpk []byte
	// SmdpOtsk is otSK.DP.ECKA, the SM-DP+'s one-time private key, kept so that a retried
	// GetBoundProfilePackage with the same otPK.EUICC.ECKA binds with the same key pair
	// (SGP.22 §5.6.2). It is secret: [Session.String] never shows it, and a Redis store keeps it
	// in the clear, so the Redis server must be as trusted as the SM-DP+ itself.
	SmdpOtsk []byte

	// CCRequired is the ccRequiredFlag of smdpSigned2: the download needs the Confirmation Code.
	CCRequired bool

	// Deadline is when the session ends; after it the session no longer exists. Every session has
	// one.
	Deadline time.Time
	// CreatedAt is when InitiateAuthentication created the session.
	CreatedAt time.Time
}

// String identifies the session by transactionId and step only, so that logging a session never
// shows its keys or personal data.
func (s *Session) String() string {
	if s == nil {
		return "session <nil>"
	}
	return "session " + hex.EncodeToString(s.TransactionID) + " " + s.Step.String()
}

// Clone returns a deep copy of s.
func (s *Session) Clone() *Session {
	c := *s
	for _, p := range c.byteFields() {
		*p = cloneBytes(*p)
	}
	return &c
}

// byteFields lists the session's byte-slice fields, in encoding order.
func (s *Session) byteFields() [11]*[]byte {
	return [...]*[]byte{
		&s.TransactionID, &s.EuiccChallenge, &s.ServerChallenge, &s.CIPKID,
		&s.EUICCCertificate, &s.EUMCertificate, &s.EuiccOtpk, &s.SmdpOtpk, &s.SmdpOtsk,
		&s.SmdpSignature2, &s.ProfileMetadata,
	}
}

// stringFields lists the session's string fields, in encoding order.
func (s *Session) stringFields() [5]*string {
	return [...]*string{&s.ServerAddress, &s.EID, &s.ICCID, &s.MatchingID, &s.OperatorID}
}

func cloneBytes(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return append([]byte(nil), b...)
}

// validate checks what every stored session must satisfy.
func (s *Session) validate() error {
	if err := checkID(s.TransactionID); err != nil {
		return err
	}
	if !s.Step.Valid() {
		return fmt.Errorf("session: invalid step %d", s.Step)
	}
	if s.Deadline.IsZero() {
		return errors.New("session: no deadline")
	}
	return nil
}

func checkID(id []byte) error {
	if len(id) == 0 || len(id) > MaxTransactionIDLen {
		return fmt.Errorf("session: transactionId must be 1 to %d bytes, got %d", MaxTransactionIDLen, len(id))
	}
	return nil
}

// advance applies one Advance to a decoded copy of the stored session: it checks the step, moves
// it to `to` and runs update. Both stores share it, so they behave alike.
func advance(s *Session, from, to Step, update func(*Session) error) error {
	if s.Step != from {
		return fmt.Errorf("%w: %s is at %s, not %s", ErrStepMismatch, s, s.Step, from)
	}
	id := string(s.TransactionID)
	s.Step = to
	if update != nil {
		if err := update(s); err != nil {
			return err
		}
	}
	switch {
	case s.Step != to:
		return fmt.Errorf("session: update changed the step to %s, want %s", s.Step, to)
	case string(s.TransactionID) != id:
		return errors.New("session: update changed the transactionId")
	}
	return s.validate()
}

// checkAdvance validates Advance's arguments.
func checkAdvance(id []byte, from, to Step) error {
	if err := checkID(id); err != nil {
		return err
	}
	if !from.Valid() || !to.Valid() {
		return fmt.Errorf("session: invalid step in Advance(%d → %d)", from, to)
	}
	return nil
}

// maxAdvanceAttempts bounds Advance's optimistic retries. A round fails only when another write
// to the same session succeeded in between, so it is reached only under more than this many
// concurrent writers of one session; a download has one client at a time.
const maxAdvanceAttempts = 64

var errNilSession = errors.New("session: nil session")

func errDeadlinePassed(s *Session, now time.Time) error {
	return fmt.Errorf("session: %s has deadline %s, not after now (%s)", s, s.Deadline.Format(time.RFC3339Nano), now.Format(time.RFC3339Nano))
}

func errContended(id []byte) error {
	return fmt.Errorf("session: %X changed concurrently %d times; Advance gave up", id, maxAdvanceAttempts)
}
