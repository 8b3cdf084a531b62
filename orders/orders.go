// Package orders is the operator side of the profile lifecycle: the ES2+ functions
// DownloadOrder, ConfirmOrder, CancelOrder and ReleaseProfile (SGP.22 §5.3) and the import of
// profiles into inventory. It is the one place that moves a profile between Available,
// Allocated, Linked, Confirmed, Released and the operator's final states; the download service
// moves it on from Released. Every change is a compare-and-set transition in the store, and every
// query is scoped to the calling operator: another operator's ICCID is answered as unknown.
package orders

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/smdpp/smdpp/certs"
	"github.com/smdpp/smdpp/profiles"
	st "github.com/smdpp/smdpp/status"
	"github.com/smdpp/smdpp/store"
)

// Service runs ES2+ orders against the store.
type Service struct {
	db      *store.DB
	address string
	rand    io.Reader
	now     func() time.Time
	events  Events
	// allocated runs after a committed DownloadOrder; its failure is the caller's to log only.
	allocated func(ctx context.Context, iccid string) error
}

// Events registers and deletes an order's SM-DS event (ES12, SGP.22 §5.8) inside the
// transaction of the order change; package smds implements it.
type Events interface {
	Register(ctx context.Context, tx *store.Tx, p store.Profile) error
	Delete(ctx context.Context, tx *store.Tx, p store.Profile) error
}

// Option configures a Service.
type Option func(*Service)

// WithAllocated calls f after each committed DownloadOrder with the ICCID it took, so inventory
// can check the pool's low-water mark (inventory.Service.CheckPoolOf).
func WithAllocated(f func(ctx context.Context, iccid string) error) Option {
	return func(s *Service) { s.allocated = f }
}

// WithEvents makes orders that name an SM-DS register their event with it.
func WithEvents(e Events) Option { return func(s *Service) { s.events = e } }

// New returns a Service whose orders download from the SM-DP+ address (SGP.22 §4.1).
func New(db *store.DB, address string, opts ...Option) *Service {
	s := &Service{db: db, address: address, rand: rand.Reader, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Address is the SM-DP+ address ConfirmOrder returns.
func (s *Service) Address() string { return s.address }

// ImportProfile validates a SAIP Unprotected Profile Package and adds it to the operator's
// inventory as Available under its header ICCID.
func (s *Service) ImportProfile(ctx context.Context, operatorID, profileType string, upp []byte) (store.Profile, error) {
	pkg, err := profiles.Parse(upp)
	if err != nil {
		return store.Profile{}, fmt.Errorf("profile package: %w", err)
	}
	if profileType == "" {
		profileType = pkg.Header.ProfileType
	}
	p := store.Profile{ICCID: pkg.Header.ICCID, OperatorID: operatorID, ProfileType: profileType, State: store.StateAvailable, Package: upp}
	if err := s.db.CreateProfiles(ctx, []store.Profile{p}); err != nil {
		return store.Profile{}, err
	}
	return p, nil
}

// DownloadOrderRequest is the input of ES2+.DownloadOrder (SGP.22 §5.3.1): an ICCID, or a profile
// type to take one Available profile from the pool; an EID binds the order to one eUICC.
type DownloadOrderRequest struct {
	EID         string
	ICCID       string
	ProfileType string
}

// DownloadOrder reserves a profile for an order and returns its ICCID: Available → Allocated, or
// Linked when the EID is known.
func (s *Service) DownloadOrder(ctx context.Context, operatorID string, req DownloadOrderRequest) (string, error) {
	if req.EID != "" && !validEID(req.EID) {
		return "", st.New(st.SubjectEID, st.ReasonInvalid, "eid must be 32 decimal digits")
	}
	to := store.StateAllocated
	if req.EID != "" {
		to = store.StateLinked
	}
	bind := func(p *store.Profile) error { p.EID = req.EID; return nil }
	if req.ICCID == "" && req.ProfileType == "" {
		return "", st.New(st.SubjectProfileType, st.ReasonMandatoryElementMissing, "iccid or profileType is required")
	}
	if req.ICCID != "" {
		if _, err := s.profile(ctx, operatorID, req.ICCID); err != nil {
			return "", err
		}
	}
	var p store.Profile
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		var err error
		if req.ICCID == "" {
			// The store allocates into Allocated; a known EID moves the order on to Linked.
			if p, err = tx.AllocateProfile(ctx, operatorID, req.ProfileType, bind); err == nil && to != store.StateAllocated {
				p, err = tx.TransitionProfile(ctx, p.ICCID, []store.State{store.StateAllocated}, to, nil)
			}
		} else {
			p, err = tx.TransitionProfile(ctx, req.ICCID, []store.State{store.StateAvailable}, to, bind)
		}
		if err != nil {
			return err
		}
		return s.audit(ctx, tx, p, "ordered", "DownloadOrder")
	})
	switch {
	case errors.Is(err, store.ErrPoolEmpty):
		return "", st.New(st.SubjectProfileType, st.ReasonUnavailable, "no Available profile of type "+req.ProfileType)
	case errors.Is(err, store.ErrWrongState):
		return "", st.New(st.SubjectICCID, st.ReasonAlreadyInUse, "the profile is not Available")
	case err != nil:
		return "", err
	}
	if s.allocated != nil {
		// The order stands whatever the pool check says; a failed check is retried by the
		// inventory's periodic round.
		_ = s.allocated(ctx, p.ICCID)
	}
	return p.ICCID, nil
}

// audit records an operator's action on an order as an event (the usage and audit record) in the
// transaction of the change.
func (s *Service) audit(ctx context.Context, tx *store.Tx, p store.Profile, kind, detail string) error {
	_, err := tx.RecordEvent(ctx, store.Event{At: s.now(), OperatorID: p.OperatorID, ICCID: p.ICCID, EID: p.EID, Kind: kind, Detail: detail})
	return err
}

// ConfirmOrderRequest is the input of ES2+.ConfirmOrder (SGP.22 §5.3.2).
type ConfirmOrderRequest struct {
	ICCID            string
	EID              string
	MatchingID       string // empty: the server generates one
	ConfirmationCode string // empty: none required
	SMDSAddress      string
	ReleaseFlag      bool
}

// ConfirmOrderResult is the output of ES2+.ConfirmOrder.
type ConfirmOrderResult struct {
	EID         string
	MatchingID  string
	SMDPAddress string
}

// ConfirmOrder confirms an allocated order: Allocated/Linked → Confirmed, or Released with
// releaseFlag. It fixes the EID (when given; it must equal one set before), the matchingId and
// the confirmation code.
func (s *Service) ConfirmOrder(ctx context.Context, operatorID string, req ConfirmOrderRequest) (ConfirmOrderResult, error) {
	if req.EID != "" && !validEID(req.EID) {
		return ConfirmOrderResult{}, st.New(st.SubjectEID, st.ReasonInvalid, "eid must be 32 decimal digits")
	}
	if req.MatchingID != "" && !ValidMatchingID(req.MatchingID) {
		return ConfirmOrderResult{}, st.New(st.SubjectMatchingID, st.ReasonInvalid, "matchingId may hold only letters, digits and '-' (at most 64)")
	}
	cur, err := s.profile(ctx, operatorID, req.ICCID)
	if err != nil {
		return ConfirmOrderResult{}, err
	}
	if req.EID != "" && cur.EID != "" && cur.EID != req.EID {
		return ConfirmOrderResult{}, st.New(st.SubjectEID, st.ReasonInvalidAssociation, "eid differs from the one given in DownloadOrder")
	}
	matchingID := req.MatchingID
	if matchingID == "" {
		if matchingID, err = s.newMatchingID(); err != nil {
			return ConfirmOrderResult{}, err
		}
	}
	if req.SMDSAddress != "" {
		if req.EID == "" && cur.EID == "" {
			return ConfirmOrderResult{}, st.New(st.SubjectEID, st.ReasonConditionalElementMiss, "an order registered with an SM-DS needs the eid")
		}
		if s.events == nil {
			return ConfirmOrderResult{}, st.New(st.SubjectSMDSAddress, st.ReasonUnsupported, "this SM-DP+ does not register events with an SM-DS")
		}
	}
	to := store.StateConfirmed
	if req.ReleaseFlag {
		to = store.StateReleased
	}
	var p store.Profile
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		var err error
		p, err = tx.TransitionProfile(ctx, req.ICCID, []store.State{store.StateAllocated, store.StateLinked}, to, func(p *store.Profile) error {
			if req.EID != "" {
				p.EID = req.EID
			}
			p.MatchingID = matchingID
			p.SMDSAddress = req.SMDSAddress
			p.ConfirmationCodeHash = nil
			if req.ConfirmationCode != "" {
				h := sha256.Sum256([]byte(req.ConfirmationCode))
				p.ConfirmationCodeHash = h[:]
			}
			return nil
		})
		if err != nil {
			return err
		}
		if err := s.audit(ctx, tx, p, "confirmed", fmt.Sprintf("ConfirmOrder releaseFlag=%t", req.ReleaseFlag)); err != nil || p.SMDSAddress == "" {
			return err
		}
		return s.events.Register(ctx, tx, p)
	})
	switch {
	case errors.Is(err, store.ErrDuplicate):
		return ConfirmOrderResult{}, st.New(st.SubjectMatchingID, st.ReasonAlreadyInUse, "matchingId is already in use")
	case errors.Is(err, store.ErrWrongState):
		return ConfirmOrderResult{}, st.Wrap(st.SubjectICCID, st.ReasonNotAllowed, "the order is not awaiting confirmation", err)
	case err != nil:
		return ConfirmOrderResult{}, err
	}
	return ConfirmOrderResult{EID: p.EID, MatchingID: p.MatchingID, SMDPAddress: s.address}, nil
}

// ReleaseProfile releases a confirmed order for download (SGP.22 §5.3.4): Confirmed → Released.
func (s *Service) ReleaseProfile(ctx context.Context, operatorID, iccid string) error {
	if _, err := s.profile(ctx, operatorID, iccid); err != nil {
		return err
	}
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		p, err := tx.TransitionProfile(ctx, iccid, []store.State{store.StateConfirmed}, store.StateReleased, nil)
		if err != nil {
			return err
		}
		return s.audit(ctx, tx, p, "released", "ReleaseProfile")
	})
	if errors.Is(err, store.ErrWrongState) {
		return st.Wrap(st.SubjectICCID, st.ReasonNotAllowed, "only a Confirmed order can be released", err)
	}
	return err
}

// CancelOrderRequest is the input of ES2+.CancelOrder (SGP.22 §5.3.3).
type CancelOrderRequest struct {
	ICCID      string
	EID        string
	MatchingID string
	// FinalProfileStatusIndicator is "Available" (the profile returns to the pool, unbound) or
	// "Unavailable" (it may never be used again).
	FinalProfileStatusIndicator string
}

// CancelOrder ends an order that has not been downloaded.
func (s *Service) CancelOrder(ctx context.Context, operatorID string, req CancelOrderRequest) error {
	var to store.State
	switch req.FinalProfileStatusIndicator {
	case "Available":
		to = store.StateAvailable
	case "Unavailable":
		to = store.StateUnavailable
	default:
		return st.New(st.SubjectProfile, st.ReasonInvalid, `finalProfileStatusIndicator must be "Available" or "Unavailable"`)
	}
	cur, err := s.profile(ctx, operatorID, req.ICCID)
	if err != nil {
		return err
	}
	if req.EID != "" && cur.EID != req.EID {
		return st.New(st.SubjectEID, st.ReasonInvalidAssociation, "eid does not match the order")
	}
	if req.MatchingID != "" && cur.MatchingID != req.MatchingID {
		return st.New(st.SubjectMatchingID, st.ReasonInvalidAssociation, "matchingId does not match the order")
	}
	from := []store.State{store.StateAllocated, store.StateLinked, store.StateConfirmed, store.StateReleased}
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		before, err := tx.GetProfile(ctx, req.ICCID)
		if err != nil {
			return err
		}
		_, err = tx.TransitionProfile(ctx, req.ICCID, from, to, func(p *store.Profile) error {
			if to == store.StateAvailable {
				p.EID, p.MatchingID, p.ConfirmationCodeHash, p.SMDSAddress = "", "", nil, ""
				p.CCAttempts, p.DownloadAttempts = 0, 0
			}
			return nil
		})
		if err != nil {
			return err
		}
		if err := s.audit(ctx, tx, before, "order-cancelled", "CancelOrder finalProfileStatusIndicator="+req.FinalProfileStatusIndicator); err != nil ||
			before.SMDSAddress == "" || s.events == nil {
			return err
		}
		return s.events.Delete(ctx, tx, before)
	})
	if errors.Is(err, store.ErrWrongState) {
		return st.Wrap(st.SubjectICCID, st.ReasonNotAllowed, "the order can no longer be cancelled", err)
	}
	return err
}

// profile loads an ICCID of the operator's; anything else is unknown to the caller.
func (s *Service) profile(ctx context.Context, operatorID, iccid string) (store.Profile, error) {
	if iccid == "" {
		return store.Profile{}, st.New(st.SubjectICCID, st.ReasonMandatoryElementMissing, "iccid is required")
	}
	p, err := s.db.GetProfile(ctx, iccid)
	if errors.Is(err, store.ErrNotFound) || (err == nil && p.OperatorID != operatorID) {
		return store.Profile{}, st.New(st.SubjectICCID, st.ReasonUnknown, "unknown iccid")
	}
	return p, err
}

// matchingIDAlphabet has no look-alike characters (0/O, 1/I/L), so a code read aloud survives.
const matchingIDAlphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

// newMatchingID returns a random matchingId of four groups of five characters, about 99 bits.
func (s *Service) newMatchingID() (string, error) {
	var b strings.Builder
	buf := make([]byte, 20)
	if _, err := io.ReadFull(s.rand, buf); err != nil {
		return "", fmt.Errorf("generating a matchingId: %w", err)
	}
	for i, x := range buf {
		if i > 0 && i%5 == 0 {
			b.WriteByte('-')
		}
		// 256 mod 31 = 8: a tiny bias, irrelevant to an identifier that is also rate-limited.
		b.WriteByte(matchingIDAlphabet[int(x)%len(matchingIDAlphabet)])
	}
	return b.String(), nil
}

// ValidMatchingID reports whether id uses only letters, digits and '-', the characters every
// LPA accepts in an activation code (lpac refuses '_'), and is at most 64 characters.
func ValidMatchingID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func validEID(eid string) bool {
	return len(eid) == certs.EIDLength && strings.Trim(eid, "0123456789") == ""
}
