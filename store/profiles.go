package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// State is the lifecycle state of a profile on the SM-DP+ (SGP.22 §3.1 and the ES2+ functions
// of §5.3 that move it).
type State string

// Profile states. The normal path is Available → Allocated (DownloadOrder) → Linked (EID known)
// → Confirmed (ConfirmOrder) → Released (ReleaseProfile) → Downloaded (BPP sent) → Installed
// (installation result notification); Error and Unavailable end it.
const (
	StateAvailable   State = "Available"
	StateAllocated   State = "Allocated"
	StateLinked      State = "Linked"
	StateConfirmed   State = "Confirmed"
	StateReleased    State = "Released"
	StateDownloaded  State = "Downloaded"
	StateInstalled   State = "Installed"
	StateError       State = "Error"
	StateUnavailable State = "Unavailable"
)

// Valid reports whether s is one of the defined states.
func (s State) Valid() bool {
	switch s {
	case StateAvailable, StateAllocated, StateLinked, StateConfirmed, StateReleased,
		StateDownloaded, StateInstalled, StateError, StateUnavailable:
		return true
	}
	return false
}

// Profile is one profile of the inventory together with the download order placed on it
// (SGP.22 §5.3.1 DownloadOrder, §5.3.2 ConfirmOrder).
type Profile struct {
	// ICCID identifies the profile: 18 to 20 decimal digits.
	ICCID       string
	OperatorID  string
	ProfileType string
	State       State
	// EID binds the order to one eUICC; empty when the order is not bound.
	EID string
	// MatchingID is the order's matchingId (SGP.22 §5.3.2); empty until one is assigned, unique
	// among profiles when set.
	MatchingID string
	// ConfirmationCodeHash is SHA-256 of the confirmation code; nil when none is required.
	ConfirmationCodeHash []byte
	// CCAttempts counts wrong confirmation codes (hashCc mismatches in ES9+
	// GetBoundProfilePackage, SGP.22 §5.6).
	CCAttempts int
	// DownloadAttempts counts BPPs built for this profile.
	DownloadAttempts int
	// SMDSAddress is the SM-DS to register the event with (ES12); empty for none.
	SMDSAddress string
	// Package is the SAIP Unprotected Profile Package (DER). FindProfiles leaves it nil.
	Package []byte
	// LastErrorReason and LastBppCommandID record the errorReason and bppCommandId of the last
	// failed ProfileInstallationResult (ES9+ HandleNotification, SGP.22 §5.6); nil when none.
	LastErrorReason  *int
	LastBppCommandID *int
	// EUICCCertificate is CERT.EUICC of the eUICC the last BPP was bound to, kept so that its
	// ProfileInstallationResult can be verified even after the RSP session is gone.
	EUICCCertificate []byte
	// Version is incremented by every change; TransitionProfile compares it.
	Version   int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ProfileFilter selects profiles for FindProfiles. Empty fields match everything.
type ProfileFilter struct {
	OperatorID  string
	ICCID       string
	EID         string
	State       State
	ProfileType string
	// Limit caps the result; 0 means DefaultFindLimit, and it is capped at MaxFindLimit.
	Limit int
}

// Limits of FindProfiles.
const (
	DefaultFindLimit = 100
	MaxFindLimit     = 10000
)

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func copyInt(p *int) *int {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

func toProfileRow(p Profile) profileRow {
	return profileRow{
		ICCID: p.ICCID, OperatorID: p.OperatorID, ProfileType: p.ProfileType, State: string(p.State),
		EID: nullable(p.EID), MatchingID: nullable(p.MatchingID),
		ConfirmationCodeHash: p.ConfirmationCodeHash, CCAttempts: p.CCAttempts,
		DownloadAttempts: p.DownloadAttempts, SMDSAddress: p.SMDSAddress, Package: p.Package,
		LastErrorReason: copyInt(p.LastErrorReason), LastBppCommandID: copyInt(p.LastBppCommandID),
		EUICCCertificate: p.EUICCCertificate,
		Version:          p.Version, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt,
	}
}

func (r profileRow) domain() Profile {
	return Profile{
		ICCID: r.ICCID, OperatorID: r.OperatorID, ProfileType: r.ProfileType, State: State(r.State),
		EID: deref(r.EID), MatchingID: deref(r.MatchingID),
		ConfirmationCodeHash: r.ConfirmationCodeHash, CCAttempts: r.CCAttempts,
		DownloadAttempts: r.DownloadAttempts, SMDSAddress: r.SMDSAddress, Package: r.Package,
		LastErrorReason: r.LastErrorReason, LastBppCommandID: r.LastBppCommandID,
		EUICCCertificate: r.EUICCCertificate,
		Version:          r.Version, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
}

func validICCID(s string) bool {
	if len(s) < 18 || len(s) > 20 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func validateProfile(p Profile) error {
	switch {
	case !validICCID(p.ICCID):
		return fmt.Errorf("store: profile ICCID %q is not 18 to 20 digits", p.ICCID)
	case p.OperatorID == "":
		return fmt.Errorf("store: profile %s: empty OperatorID", p.ICCID)
	case !p.State.Valid():
		return fmt.Errorf("store: profile %s: invalid state %q", p.ICCID, p.State)
	case p.CCAttempts < 0 || p.DownloadAttempts < 0:
		return fmt.Errorf("store: profile %s: negative attempt counter", p.ICCID)
	}
	return nil
}

// createBatch is the number of rows per INSERT statement in CreateProfiles; PostgreSQL allows
// 65535 bind parameters per statement.
const createBatch = 500

// CreateProfiles inserts profiles in one transaction: all of them or, on any error, none. A
// profile with an empty State is Available. Version starts at 1 and the timestamps are set to
// now. An ICCID or MatchingID that exists already (or twice in profiles) gives ErrDuplicate; an
// unknown OperatorID gives ErrNotFound.
func (db *DB) CreateProfiles(ctx context.Context, profiles []Profile) error {
	_, err := write(ctx, db, func(tx *Tx) (struct{}, error) { return struct{}{}, tx.CreateProfiles(ctx, profiles) })
	return err
}

// CreateProfiles is DB.CreateProfiles inside tx; on error the caller must roll tx back (return the
// error from the InTx function), since some rows may have been inserted.
func (tx *Tx) CreateProfiles(ctx context.Context, profiles []Profile) error {
	if len(profiles) == 0 {
		return nil
	}
	now := tx.db.now()
	rows := make([]profileRow, len(profiles))
	for i, p := range profiles {
		if p.State == "" {
			p.State = StateAvailable
		}
		if err := validateProfile(p); err != nil {
			return err
		}
		p.Version, p.CreatedAt, p.UpdatedAt = 1, now, now
		rows[i] = toProfileRow(p)
	}
	if err := tx.q(ctx).Omit(clause.Associations).CreateInBatches(&rows, createBatch).Error; err != nil {
		return fmt.Errorf("store: create %d profiles: %w", len(rows), translate(err))
	}
	return nil
}

// GetProfile returns the profile with the given ICCID, or ErrNotFound.
func (db *DB) GetProfile(ctx context.Context, iccid string) (Profile, error) {
	return read(ctx, db, func(tx *Tx) (Profile, error) { return tx.GetProfile(ctx, iccid) })
}

// GetProfile is DB.GetProfile inside tx.
func (tx *Tx) GetProfile(ctx context.Context, iccid string) (Profile, error) {
	return tx.getProfile(ctx, iccid, true)
}

func (tx *Tx) getProfile(ctx context.Context, iccid string, withPackage bool) (Profile, error) {
	r, err := tx.selectProfile(ctx, "iccid", iccid, withPackage, false)
	if err != nil {
		return Profile{}, fmt.Errorf("store: get profile %s: %w", iccid, err)
	}
	return r.domain(), nil
}

// GetProfileWithoutPackage returns the profile with the given ICCID without its Package, or
// ErrNotFound: the read for callers that only need the order and lifecycle fields, which
// spares reading and copying a package of several kilobytes.
func (db *DB) GetProfileWithoutPackage(ctx context.Context, iccid string) (Profile, error) {
	return read(ctx, db, func(tx *Tx) (Profile, error) { return tx.GetProfileWithoutPackage(ctx, iccid) })
}

// GetProfileWithoutPackage is DB.GetProfileWithoutPackage inside tx.
func (tx *Tx) GetProfileWithoutPackage(ctx context.Context, iccid string) (Profile, error) {
	return tx.getProfile(ctx, iccid, false)
}

// GetProfileByMatchingID returns the profile whose order has the given matchingId, or
// ErrNotFound (also for an empty matchingId).
func (db *DB) GetProfileByMatchingID(ctx context.Context, matchingID string) (Profile, error) {
	return read(ctx, db, func(tx *Tx) (Profile, error) { return tx.GetProfileByMatchingID(ctx, matchingID) })
}

// GetProfileByMatchingID is DB.GetProfileByMatchingID inside tx.
func (tx *Tx) GetProfileByMatchingID(ctx context.Context, matchingID string) (Profile, error) {
	if matchingID == "" {
		return Profile{}, fmt.Errorf("store: get profile by empty matchingId: %w", ErrNotFound)
	}
	r, err := tx.selectProfile(ctx, "matching_id", matchingID, true, false)
	if err != nil {
		return Profile{}, fmt.Errorf("store: get profile by matchingId: %w", err)
	}
	return r.domain(), nil
}

// FindProfiles returns the profiles matching f, ordered by ICCID, without their Package.
func (db *DB) FindProfiles(ctx context.Context, f ProfileFilter) ([]Profile, error) {
	return read(ctx, db, func(tx *Tx) ([]Profile, error) { return tx.FindProfiles(ctx, f) })
}

// FindProfiles is DB.FindProfiles inside tx.
func (tx *Tx) FindProfiles(ctx context.Context, f ProfileFilter) ([]Profile, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultFindLimit
	}
	limit = min(limit, MaxFindLimit)
	q := tx.q(ctx).Omit("package")
	q = whereEqual(q, "operator_id", f.OperatorID, "iccid", f.ICCID, "eid", f.EID,
		"state", string(f.State), "profile_type", f.ProfileType)
	var rows []profileRow
	if err := q.Order("iccid").Limit(limit).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: find profiles: %w", translate(err))
	}
	out := make([]Profile, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out, nil
}

// TransitionProfile moves the profile iccid from one of the states from to the state to, as a
// compare-and-set in its own transaction. It reads the profile; if its state is not in from it
// returns a *WrongStateError (errors.Is ErrWrongState); otherwise it sets State to to, calls mutate (if
// not nil) to change other fields, and writes the row only if its Version is still the one read,
// incrementing Version. Losing that race gives ErrConflict; an error from mutate is returned as
// is and nothing is written. mutate may not change ICCID, OperatorID, State, Version or
// CreatedAt: those are restored after it returns. The Package is not read (mutate and the result
// see it nil) and never changes: a transition moves the order, not the profile's content. to may equal a state in from, to update a
// profile without moving it (e.g. to count a wrong confirmation code).
func (db *DB) TransitionProfile(ctx context.Context, iccid string, from []State, to State, mutate func(*Profile) error) (Profile, error) {
	return write(ctx, db, func(tx *Tx) (Profile, error) { return tx.TransitionProfile(ctx, iccid, from, to, mutate) })
}

// TransitionProfile is DB.TransitionProfile inside tx, so that outbox messages and events can be
// written in the same transaction as the state change.
func (tx *Tx) TransitionProfile(ctx context.Context, iccid string, from []State, to State, mutate func(*Profile) error) (Profile, error) {
	if len(from) == 0 || !to.Valid() {
		return Profile{}, fmt.Errorf("store: transition profile %s: invalid transition %v → %q", iccid, from, to)
	}
	// On PostgreSQL the row is locked so a concurrent transition waits and then judges the state
	// this one leaves, instead of failing its version check with ErrConflict. On SQLite the
	// transaction already holds the only write lock.
	r, err := tx.selectProfile(ctx, "iccid", iccid, false, true)
	if err != nil {
		return Profile{}, fmt.Errorf("store: transition profile %s: %w", iccid, err)
	}
	return tx.update(ctx, r.domain(), from, to, mutate)
}

// update checks p.State against from, applies to and mutate, and writes p if its version is
// unchanged.
func (tx *Tx) update(ctx context.Context, p Profile, from []State, to State, mutate func(*Profile) error) (Profile, error) {
	if !slices.Contains(from, p.State) {
		return Profile{}, &WrongStateError{ICCID: p.ICCID, Current: p.State, Allowed: slices.Clone(from)}
	}
	// old keeps its own copies of what mutate could change in place.
	old := p
	old.ConfirmationCodeHash = bytes.Clone(p.ConfirmationCodeHash)
	old.EUICCCertificate = bytes.Clone(p.EUICCCertificate)
	old.LastErrorReason, old.LastBppCommandID = copyInt(p.LastErrorReason), copyInt(p.LastBppCommandID)
	p.State = to
	if mutate != nil {
		if err := mutate(&p); err != nil {
			return Profile{}, err
		}
	}
	p.ICCID, p.OperatorID, p.State, p.CreatedAt, p.Package = old.ICCID, old.OperatorID, to, old.CreatedAt, nil
	p.Version, p.UpdatedAt = old.Version+1, tx.db.now()
	if err := validateProfile(p); err != nil {
		return Profile{}, err
	}
	n, err := tx.updateProfile(ctx, p.ICCID, old.Version, changedColumns(toProfileRow(old), toProfileRow(p)))
	if err != nil {
		return Profile{}, fmt.Errorf("store: transition profile %s %s → %s: %w", p.ICCID, old.State, to, err)
	}
	if n != 1 {
		return Profile{}, fmt.Errorf("store: transition profile %s %s → %s: %w", p.ICCID, old.State, to, ErrConflict)
	}
	return p, nil
}

// AllocateProfile takes one Available profile of the operator and profile type (the one with the
// lowest ICCID that no other transaction holds), moves it to Allocated and applies mutate, as
// TransitionProfile does (the Package left out as there); this is the inventory side of
// DownloadOrder without an ICCID (SGP.22 §5.3.1). No profile is ever handed out twice: on
// PostgreSQL the candidate row is locked with SELECT … FOR UPDATE SKIP LOCKED, on SQLite the
// transaction holds the only write lock. An empty pool gives ErrPoolEmpty; an error from mutate
// is returned as is and the profile stays Available.
func (db *DB) AllocateProfile(ctx context.Context, operatorID, profileType string, mutate func(*Profile) error) (Profile, error) {
	return write(ctx, db, func(tx *Tx) (Profile, error) { return tx.AllocateProfile(ctx, operatorID, profileType, mutate) })
}

// AllocateProfile is DB.AllocateProfile inside tx.
func (tx *Tx) AllocateProfile(ctx context.Context, operatorID, profileType string, mutate func(*Profile) error) (Profile, error) {
	q := tx.q(ctx).Where("operator_id = ? AND profile_type = ? AND state = ?", operatorID, profileType, string(StateAvailable))
	if tx.db.backend == BackendPostgres {
		q = q.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate, Options: clause.LockingOptionsSkipLocked})
	}
	var r profileRow
	if err := q.Omit("package").Order("iccid").Take(&r).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return Profile{}, fmt.Errorf("store: allocate profile of operator %s type %q: %w", operatorID, profileType, ErrPoolEmpty)
		}
		return Profile{}, fmt.Errorf("store: allocate profile of operator %s type %q: %w", operatorID, profileType, translate(err))
	}
	return tx.update(ctx, r.domain(), []State{StateAvailable}, StateAllocated, mutate)
}

// changedColumns returns the columns of r that differ from old, always with version and
// updated_at; the package is not among them (see TransitionProfile).
func changedColumns(old, r profileRow) []column {
	cols := []column{{"version", r.Version}, {"updated_at", r.UpdatedAt}}
	set := func(col string, changed bool, v any) {
		if changed {
			cols = append(cols, column{col, v})
		}
	}
	set("profile_type", r.ProfileType != old.ProfileType, r.ProfileType)
	set("state", r.State != old.State, r.State)
	set("eid", !equalPtr(r.EID, old.EID), r.EID)
	set("matching_id", !equalPtr(r.MatchingID, old.MatchingID), r.MatchingID)
	set("confirmation_code_hash", !equalBytes(r.ConfirmationCodeHash, old.ConfirmationCodeHash), r.ConfirmationCodeHash)
	set("cc_attempts", r.CCAttempts != old.CCAttempts, r.CCAttempts)
	set("download_attempts", r.DownloadAttempts != old.DownloadAttempts, r.DownloadAttempts)
	set("smds_address", r.SMDSAddress != old.SMDSAddress, r.SMDSAddress)
	set("last_error_reason", !equalPtr(r.LastErrorReason, old.LastErrorReason), r.LastErrorReason)
	set("last_bpp_command_id", !equalPtr(r.LastBppCommandID, old.LastBppCommandID), r.LastBppCommandID)
	set("euicc_certificate", !equalBytes(r.EUICCCertificate, old.EUICCCertificate), r.EUICCCertificate)
	return cols
}

func equalPtr[T comparable](a, b *T) bool {
	return a == b || (a != nil && b != nil && *a == *b)
}

// equalBytes tells nil (NULL) from empty.
func equalBytes(a, b []byte) bool {
	return (a == nil) == (b == nil) && bytes.Equal(a, b)
}
