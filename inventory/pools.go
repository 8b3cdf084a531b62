package inventory

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/smdpp/smdpp/store"
)

// PoolAlert is a pool that fell below its low-water mark.
type PoolAlert struct {
	Pool store.PoolKey
	// Available is the number of Available profiles left; LowWater is the mark.
	Available, LowWater int
	At                  time.Time
}

// LowWaterHook is told of a pool falling below its low-water mark, once per crossing. It runs
// inside the transaction that latches the alert and records the "pool-low" event, so that it can
// write an outbox message (store.Tx.EnqueueOutbox) for the operator's callback that is sent
// exactly when the alert is committed; it must not do network I/O itself. An error rolls the alert
// back: the next check raises it again.
type LowWaterHook func(ctx context.Context, tx *store.Tx, a PoolAlert) error

// Pools returns the level of every pool of the operator (of all operators when operatorID is
// empty), with their thresholds.
func (s *Service) Pools(ctx context.Context, operatorID string) ([]store.PoolLevel, error) {
	return s.db.PoolLevels(ctx, operatorID)
}

// SetThreshold sets the low-water mark of a pool and checks the pool at once, so that a mark set
// above the current level alerts now. It returns the threshold as it stands after the check.
func (s *Service) SetThreshold(ctx context.Context, k store.PoolKey, lowWater int) (store.PoolThreshold, error) {
	if _, err := s.db.SetPoolThreshold(ctx, k, lowWater); err != nil {
		return store.PoolThreshold{}, err
	}
	var th store.PoolThreshold
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		c, err := s.checkPoolResult(ctx, tx, k)
		th = c.Threshold
		return err
	})
	return th, err
}

// DeleteThreshold removes the low-water mark of a pool.
func (s *Service) DeleteThreshold(ctx context.Context, k store.PoolKey) error {
	return s.db.DeletePoolThreshold(ctx, k)
}

// OrderPlaced is the hook of the allocation path: call it after ES2+ DownloadOrder (SGP.22
// §5.3.1) took the profile iccid. In one transaction it records a KindOrdered event (a usage
// record) and checks the profile's pool against its low-water mark, alerting once if this
// allocation took it below. A caller that records order events itself calls CheckPoolOf instead.
func (s *Service) OrderPlaced(ctx context.Context, iccid string) error {
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		found, err := tx.FindProfiles(ctx, store.ProfileFilter{ICCID: iccid, Limit: 1}) // without the package
		if err != nil {
			return err
		}
		if len(found) == 0 {
			return fmt.Errorf("inventory: order placed on profile %s: %w", iccid, store.ErrNotFound)
		}
		p := found[0]
		if _, err := tx.RecordEvent(ctx, store.Event{At: s.now(), OperatorID: p.OperatorID, ICCID: iccid, EID: p.EID,
			Kind: KindOrdered, Detail: "profileType " + p.ProfileType}); err != nil {
			return err
		}
		k, err := tx.PoolOf(ctx, iccid)
		if err != nil {
			return err
		}
		return s.checkPool(ctx, tx, k)
	})
}

// CheckPoolOf checks the pool of the profile iccid against its low-water mark, alerting once per
// crossing.
func (s *Service) CheckPoolOf(ctx context.Context, iccid string) error {
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		k, err := tx.PoolOf(ctx, iccid)
		if err != nil {
			return err
		}
		return s.checkPool(ctx, tx, k)
	})
}

// CheckPools checks every pool that has a low-water mark and returns the alerts raised. It catches
// allocations made without OrderPlaced, and re-arms the alerts of replenished pools.
func (s *Service) CheckPools(ctx context.Context) ([]PoolAlert, error) {
	ths, err := s.db.ListPoolThresholds(ctx, "")
	if err != nil {
		return nil, err
	}
	var alerts []PoolAlert
	for _, th := range ths {
		err := s.db.InTx(ctx, func(tx *store.Tx) error {
			c, err := s.checkPoolResult(ctx, tx, th.PoolKey)
			if c.Crossed {
				alerts = append(alerts, PoolAlert{Pool: th.PoolKey, Available: c.Available, LowWater: c.Threshold.LowWater, At: s.now()})
			}
			return err
		})
		if err != nil {
			return alerts, err
		}
	}
	return alerts, nil
}

func (s *Service) checkPool(ctx context.Context, tx *store.Tx, k store.PoolKey) error {
	_, err := s.checkPoolResult(ctx, tx, k)
	return err
}

// checkPoolResult checks pool k inside tx and, when the check latched a crossing, raises the
// alert in the same transaction: a log line, a KindPoolLow event and the hook.
func (s *Service) checkPoolResult(ctx context.Context, tx *store.Tx, k store.PoolKey) (store.ThresholdCheck, error) {
	c, err := tx.CheckPoolThreshold(ctx, k)
	if err != nil || !c.Crossed {
		if c.Rearmed {
			s.log.InfoContext(ctx, "pool replenished above its low-water mark", "pool", k.String(), "lowWater", c.Threshold.LowWater)
		}
		return c, err
	}
	a := PoolAlert{Pool: k, Available: c.Available, LowWater: c.Threshold.LowWater, At: s.now()}
	s.log.WarnContext(ctx, "pool below its low-water mark", "operator", k.OperatorID, "profileType", k.ProfileType,
		"region", k.Region, "available", a.Available, "lowWater", a.LowWater)
	_, err = tx.RecordEvent(ctx, store.Event{At: a.At, OperatorID: k.OperatorID, Kind: KindPoolLow,
		Detail: fmt.Sprintf("profileType %q region %q: %d available, low-water mark %d", k.ProfileType, k.Region, a.Available, a.LowWater)})
	if err != nil {
		return c, err
	}
	if s.onLow != nil {
		if err := s.onLow(ctx, tx, a); err != nil {
			return c, fmt.Errorf("inventory: low-water hook for pool %s: %w", k, err)
		}
	}
	return c, nil
}

// errSkip makes a compare-and-set give up without writing.
var errSkip = errors.New("inventory: profile changed; skipped")

// ReturnStaleReleased returns to their pools the orders that were released (SGP.22 §5.3.4) but
// never downloaded and have not changed for maxAge: each moves Released → Available by
// compare-and-set, its EID, matchingId, confirmation code and SM-DS address cleared, with a
// KindReturned event. A profile that a download reached meanwhile is left alone. It returns the
// profiles returned as they were before, so that the caller can, for example, delete an SM-DS
// event registered for the old matchingId (ES12, SGP.22 §5.8).
func (s *Service) ReturnStaleReleased(ctx context.Context, maxAge time.Duration) ([]store.Profile, error) {
	if maxAge <= 0 {
		return nil, fmt.Errorf("inventory: return policy: age %v must be positive", maxAge)
	}
	cutoff := s.now().Add(-maxAge)
	var returned []store.Profile
	tried := map[string]bool{}
	pools := map[store.PoolKey]bool{}
	for {
		batch, err := s.db.StaleReleased(ctx, cutoff, 500)
		if err != nil {
			return returned, err
		}
		progress := false
		for _, p := range batch {
			if tried[p.ICCID] {
				continue
			}
			tried[p.ICCID], progress = true, true
			err := s.db.InTx(ctx, func(tx *store.Tx) error {
				_, err := tx.TransitionProfile(ctx, p.ICCID, []store.State{store.StateReleased}, store.StateAvailable, func(x *store.Profile) error {
					if x.DownloadAttempts != 0 || !x.UpdatedAt.Before(cutoff) {
						return errSkip
					}
					clearOrder(x)
					return nil
				})
				if err != nil {
					return err
				}
				_, err = tx.RecordEvent(ctx, store.Event{At: s.now(), OperatorID: p.OperatorID, ICCID: p.ICCID, EID: p.EID,
					Kind: KindReturned, Detail: fmt.Sprintf("released %s ago and never downloaded; matchingId %s", s.now().Sub(p.UpdatedAt).Round(time.Second), p.MatchingID)})
				return err
			})
			switch {
			case errors.Is(err, errSkip), errors.Is(err, store.ErrWrongState), errors.Is(err, store.ErrConflict):
				continue
			case err != nil:
				return returned, err
			}
			returned = append(returned, p)
			if k, err := s.db.PoolOf(ctx, p.ICCID); err == nil {
				pools[k] = true
			}
		}
		if !progress || len(batch) < 500 {
			break
		}
	}
	if len(returned) > 0 {
		s.log.InfoContext(ctx, "released orders returned to their pools", "count", len(returned), "maxAge", maxAge)
	}
	for k := range pools {
		if err := s.db.InTx(ctx, func(tx *store.Tx) error { return s.checkPool(ctx, tx, k) }); err != nil {
			return returned, err
		}
	}
	return returned, nil
}

// clearOrder removes the order from a profile going back to its pool, as ES2+ CancelOrder with
// finalProfileStatusIndicator Available does.
func clearOrder(p *store.Profile) {
	p.EID, p.MatchingID, p.ConfirmationCodeHash, p.SMDSAddress = "", "", nil, ""
	p.CCAttempts, p.DownloadAttempts = 0, 0
	p.LastErrorReason, p.LastBppCommandID = nil, nil
}

// RunConfig configures Run.
type RunConfig struct {
	// Interval is the time between two rounds (default one minute).
	Interval time.Duration
	// ReleasedMaxAge is the age after which a released, never downloaded order returns to its
	// pool; 0 disables the return policy.
	ReleasedMaxAge time.Duration
}

// Run checks the pools and applies the return policy every Interval until ctx is done, logging
// failures. Every replica may run it: the changes are compare-and-set and the alerts latched.
func (s *Service) Run(ctx context.Context, cfg RunConfig) error {
	if cfg.Interval <= 0 {
		cfg.Interval = time.Minute
	}
	t := time.NewTicker(cfg.Interval)
	defer t.Stop()
	for {
		if cfg.ReleasedMaxAge > 0 {
			if _, err := s.ReturnStaleReleased(ctx, cfg.ReleasedMaxAge); err != nil && ctx.Err() == nil {
				s.log.ErrorContext(ctx, "return policy", "error", err)
			}
		}
		if _, err := s.CheckPools(ctx); err != nil && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "pool check", "error", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// ResetRequest is an administrator's reset of a profile's state.
type ResetRequest struct {
	ICCID string
	// From is the state the administrator saw; the reset fails with store.ErrWrongState if the
	// profile is no longer in it.
	From store.State
	// To is Available (the profile returns to its pool, its order cleared) or Unavailable.
	To store.State
	// Version, when not 0, must be the profile's current Version (store.ErrConflict otherwise).
	Version int64
	// Actor and Reason are recorded in the audit event.
	Actor, Reason string
}

// ErrResetTarget reports a reset to a state other than Available or Unavailable.
var ErrResetTarget = errors.New("inventory: a reset moves a profile to Available or Unavailable only")

// ResetProfile moves a profile from the state the administrator saw to Available or Unavailable
// by compare-and-set, with a KindAdminReset event in the same transaction: e.g. an Installed
// profile whose deletion notification (SGP.22 §5.6.4) never arrived, returned to its pool.
func (s *Service) ResetProfile(ctx context.Context, r ResetRequest) (store.Profile, error) {
	if r.To != store.StateAvailable && r.To != store.StateUnavailable {
		return store.Profile{}, fmt.Errorf("%w, not %q", ErrResetTarget, r.To)
	}
	if !r.From.Valid() {
		return store.Profile{}, fmt.Errorf("inventory: reset from unknown state %q", r.From)
	}
	var out store.Profile
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		var err error
		eid := ""
		out, err = tx.TransitionProfile(ctx, r.ICCID, []store.State{r.From}, r.To, func(p *store.Profile) error {
			eid = p.EID
			if r.Version != 0 && p.Version != r.Version {
				return fmt.Errorf("inventory: profile %s is at version %d, not %d: %w", r.ICCID, p.Version, r.Version, store.ErrConflict)
			}
			if r.To == store.StateAvailable {
				clearOrder(p)
			}
			return nil
		})
		if err != nil {
			return err
		}
		_, err = tx.RecordEvent(ctx, store.Event{At: s.now(), OperatorID: out.OperatorID, ICCID: r.ICCID, EID: eid, Kind: KindAdminReset,
			Detail: fmt.Sprintf("%s → %s by %s: %s", r.From, r.To, r.Actor, r.Reason)})
		if err != nil {
			return err
		}
		k, err := tx.PoolOf(ctx, r.ICCID)
		if err != nil {
			return err
		}
		return s.checkPool(ctx, tx, k)
	})
	if err != nil {
		return store.Profile{}, err
	}
	s.log.InfoContext(ctx, "profile state reset", "iccid", r.ICCID, "from", r.From, "to", r.To, "actor", r.Actor, "reason", r.Reason)
	return out, nil
}
