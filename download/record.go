package download

import (
	"context"
	"fmt"

	"github.com/smdpp/smdpp/progress"
	"github.com/smdpp/smdpp/store"
)

// Progress is where the service reports each step of a download to the profile's operator
// (ES2+.HandleDownloadProgressInfo, SGP.22 §5.3.5), inside the transaction of the step; queued
// says whether a message was written (operators without a callback get none).
type Progress interface {
	Enqueue(ctx context.Context, tx *store.Tx, ev progress.Event) (queued bool, err error)
}

// Events deletes an order's SM-DS event (ES12) when the order ends; package smds implements it.
type Events interface {
	Delete(ctx context.Context, tx *store.Tx, p store.Profile) error
}

// WithEvents makes the service delete the SM-DS event of each order that ends.
func WithEvents(e Events) Option { return func(s *Service) { s.events = e } }

// WithProgress makes the service report download steps to operators; wake, when not nil, is
// called after each committed step that queued a message, so a deliverer sends it at once.
func WithProgress(p Progress, wake func()) Option {
	return func(s *Service) { s.progress, s.wake = p, wake }
}

// step is one committed step of a download: an optional profile state change, the usage event
// that records it, and the operator's progress notification.
type step struct {
	iccid, eid string
	// from and to, when from is not nil, move the profile by compare-and-set; mutate may change
	// other fields on the way.
	from   []store.State
	to     store.State
	mutate func(*store.Profile) error
	// profile, for a step that moves nothing, is the order as the caller has just read it, so
	// the step's transaction only writes; nil reads it in the transaction.
	profile *store.Profile
	// kind and detail are the usage event (store.Event); kind "" records none.
	kind, detail string
	// final says the order ends with this step, so its SM-DS event, if any, is deleted.
	final bool
	// point is the notificationPointId (0: none); failure its failed status, nil for success;
	// resultData goes with it (the ProfileInstallationResult at point 4).
	point      int
	failure    error
	resultData []byte
}

// record commits a step in one transaction, so the state, its event and the operator's
// notification are written together or not at all.
func (s *Service) record(ctx context.Context, st step) (store.Profile, error) {
	var p store.Profile
	queued := false
	// The step may share its transaction with other downloads' steps (group commit); the
	// function below may then run again on its own if another step of the group fails.
	err := s.db.InGroupTx(ctx, func(tx *store.Tx) error {
		queued = false
		var err error
		switch {
		case st.from != nil:
			p, err = tx.TransitionProfile(ctx, st.iccid, st.from, st.to, st.mutate)
		case st.profile != nil:
			p = *st.profile
		default:
			p, err = tx.GetProfileWithoutPackage(ctx, st.iccid)
		}
		if err != nil {
			return err
		}
		eid := st.eid
		if eid == "" {
			eid = p.EID
		}
		if st.final && p.SMDSAddress != "" && s.events != nil {
			if err := s.events.Delete(ctx, tx, p); err != nil {
				return err
			}
		}
		if st.kind != "" {
			ev := store.Event{At: s.now(), OperatorID: p.OperatorID, ICCID: p.ICCID, EID: eid, Kind: st.kind, Detail: st.detail}
			if _, err := tx.RecordEvent(ctx, ev); err != nil {
				return err
			}
		}
		if s.progress != nil && st.point != 0 {
			queued, err = s.progress.Enqueue(ctx, tx, progress.Event{
				OperatorID: p.OperatorID, EID: eid, ICCID: p.ICCID, ProfileType: p.ProfileType,
				Timestamp: s.now(), PointID: st.point, Failure: st.failure, ResultData: st.resultData,
			})
		}
		return err
	})
	if err != nil {
		return store.Profile{}, fmt.Errorf("recording %s of %s: %w", st.kind, st.iccid, err)
	}
	if s.wake != nil && queued {
		s.wake()
	}
	return p, nil
}
