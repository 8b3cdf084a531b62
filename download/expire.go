package download

import (
	"context"
	"fmt"
	"time"

	"github.com/smdpp/smdpp/progress"
	st "github.com/smdpp/smdpp/status"
	"github.com/smdpp/smdpp/store"
)

// expiryBatch bounds how many stranded orders one sweep looks at.
const expiryBatch = 1000

// ExpireDownloads ends download attempts whose BPP was sent but whose session is over without a
// ProfileInstallationResult or CancelSession — the server restarted with memory sessions, the
// session store lost them, or the LPA's cancellation never arrived. Each such order counts the
// attempt as failed: back to Released while it has attempts left, else Error, and the operator
// hears a failed BPP download (point 3). It returns how many orders it moved; the server runs it
// periodically.
func (s *Service) ExpireDownloads(ctx context.Context) (int, error) {
	stranded, err := s.db.FindProfiles(ctx, store.ProfileFilter{State: store.StateDownloaded, Limit: expiryBatch})
	if err != nil {
		return 0, fmt.Errorf("finding downloaded orders: %w", err)
	}
	// A session lives at most ttl from InitiateAuthentication, and the BPP comes after that, so
	// an order unchanged for longer than ttl has no session left.
	cutoff := s.now().Add(-s.ttl)
	moved := 0
	for _, p := range stranded {
		if p.UpdatedAt.After(cutoff) {
			continue
		}
		to, final := s.afterFailedAttempt(ctx, p)
		_, err := s.record(ctx, step{
			iccid: p.ICCID, from: []store.State{store.StateDownloaded}, to: to, final: final,
			kind: "expired", detail: "no installation result before the session ended",
			point:   progress.PointBPPDownload,
			failure: st.New(st.SubjectProfile, st.ReasonExecutionError, "the download ended without an installation result"),
		})
		if err != nil {
			// Another replica's sweep or a late result won the race; it is no longer ours to move.
			s.log.InfoContext(ctx, "expiring a download", "iccid", p.ICCID, "error", err)
			continue
		}
		moved++
	}
	return moved, nil
}

// RunExpiry calls ExpireDownloads every interval until ctx ends.
func (s *Service) RunExpiry(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := s.ExpireDownloads(ctx); err != nil {
				s.log.WarnContext(ctx, "expiring stranded downloads", "error", err)
			} else if n > 0 {
				s.log.InfoContext(ctx, "expired stranded downloads", "orders", n)
			}
		}
	}
}
