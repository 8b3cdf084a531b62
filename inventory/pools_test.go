package inventory

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smdpp/smdpp/store"
)

// allocate takes one profile of op1/T from the pool, as DownloadOrder does, and calls the hook.
func allocate(t *testing.T, e *env) {
	t.Helper()
	ctx := context.Background()
	p, err := e.db.AllocateProfile(ctx, "op1", "T", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.OrderPlaced(ctx, p.ICCID); err != nil {
		t.Fatal(err)
	}
}

// TestThresholdOnce allocates a pool down past its low-water mark, refills it and allocates it
// down again: each crossing raises exactly one alert (event, hook call and log line).
func TestThresholdOnce(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		var hooked []PoolAlert
		e := newEnv(t, b, WithLowWaterHook(func(ctx context.Context, tx *store.Tx, a PoolAlert) error {
			hooked = append(hooked, a)
			// What the ES2+ callback engineer would do: a message in the same transaction.
			_, err := tx.EnqueueOutbox(ctx, store.OutboxMessage{OperatorID: a.Pool.OperatorID, Kind: "test.pool-low"})
			return err
		}))
		k := store.PoolKey{OperatorID: "op1", ProfileType: "T", Region: ""}
		if _, err := e.svc.Import(ctx, batch(t, csvFile(0, 10, ""))); err != nil {
			t.Fatal(err)
		}
		th, err := e.svc.SetThreshold(ctx, k, 5)
		if err != nil || th.LowWater != 5 || th.Low {
			t.Fatalf("SetThreshold = %+v, %v", th, err)
		}
		for i := range 5 { // 10 → 5 available: not below the mark
			allocate(t, e)
			if n := len(events(t, e.db, KindPoolLow)); n != 0 {
				t.Fatalf("alert after %d allocations", i+1)
			}
		}
		allocate(t, e) // 4 available: crossed
		allocate(t, e)
		allocate(t, e)
		low := events(t, e.db, KindPoolLow)
		if len(low) != 1 || len(hooked) != 1 {
			t.Fatalf("%d alert events and %d hook calls, want 1 and 1", len(low), len(hooked))
		}
		if hooked[0].Available != 4 || hooked[0].LowWater != 5 || hooked[0].Pool != k {
			t.Errorf("alert %+v", hooked[0])
		}
		if !strings.Contains(low[0].Detail, "4 available, low-water mark 5") || low[0].OperatorID != "op1" {
			t.Errorf("alert event %+v", low[0])
		}
		if c := strings.Count(e.logs.String(), "pool below its low-water mark"); c != 1 {
			t.Errorf("%d warnings logged, want 1", c)
		}
		if n := len(events(t, e.db, KindOrdered)); n != 8 {
			t.Errorf("%d order events, want 8", n)
		}
		if alerts, err := e.svc.CheckPools(ctx); err != nil || len(alerts) != 0 {
			t.Errorf("CheckPools = %v, %v; the alert was raised already", alerts, err)
		}

		// Refilled above the mark (re-armed by the import), then down again: a second alert.
		if _, err := e.svc.Import(ctx, batch(t, csvFile(100, 5, ""))); err != nil {
			t.Fatal(err)
		}
		if levels, _ := e.svc.Pools(ctx, "op1"); len(levels) != 1 || levels[0].Available != 7 || levels[0].Threshold.Low {
			t.Fatalf("after refill: %+v", levels)
		}
		for range 3 {
			allocate(t, e)
		}
		if low := events(t, e.db, KindPoolLow); len(low) != 2 || len(hooked) != 2 {
			t.Errorf("%d alert events, %d hook calls after the second crossing, want 2", len(low), len(hooked))
		}

		// Allocations made without the hook are caught by CheckPools, once.
		if _, err := e.svc.Import(ctx, batch(t, csvFile(200, 10, ""))); err != nil {
			t.Fatal(err)
		}
		for range 10 {
			if _, err := e.db.AllocateProfile(ctx, "op1", "T", nil); err != nil {
				t.Fatal(err)
			}
		}
		alerts, err := e.svc.CheckPools(ctx)
		if err != nil || len(alerts) != 1 || alerts[0].Available != 4 {
			t.Errorf("CheckPools = %+v, %v", alerts, err)
		}
		if alerts, _ := e.svc.CheckPools(ctx); len(alerts) != 0 {
			t.Errorf("second CheckPools = %+v", alerts)
		}
		if low := events(t, e.db, KindPoolLow); len(low) != 3 {
			t.Errorf("%d alert events, want 3", len(low))
		}
	})
}

// TestThresholdOnceConcurrent allocates from many goroutines at once: one alert.
func TestThresholdOnceConcurrent(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		var hooks atomic.Int32
		e := newEnv(t, b, WithLowWaterHook(func(context.Context, *store.Tx, PoolAlert) error { hooks.Add(1); return nil }))
		if _, err := e.svc.Import(ctx, batch(t, csvFile(0, 60, "eu"))); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.SetThreshold(ctx, store.PoolKey{OperatorID: "op1", ProfileType: "T", Region: "eu"}, 30); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for range 10 {
			wg.Go(func() {
				for range 5 {
					p, err := e.db.AllocateProfile(ctx, "op1", "T", nil)
					if err == nil {
						err = e.svc.OrderPlaced(ctx, p.ICCID)
					}
					if err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		if n := len(events(t, e.db, KindPoolLow)); n != 1 || hooks.Load() != 1 {
			t.Errorf("%d alert events and %d hook calls, want exactly 1", n, hooks.Load())
		}
	})
}

func TestReturnStaleReleased(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		e := newEnv(t, b)
		if _, err := e.svc.Import(ctx, batch(t, csvFile(0, 5, ""))); err != nil {
			t.Fatal(err)
		}
		release := func(i, attempts int) {
			t.Helper()
			_, err := e.db.TransitionProfile(ctx, testICCID(i), []store.State{store.StateAvailable}, store.StateReleased, func(p *store.Profile) error {
				p.EID, p.MatchingID, p.SMDSAddress = "89049032123451234512345678901235", "MATCH-"+testICCID(i), "smds.example"
				p.ConfirmationCodeHash, p.DownloadAttempts, p.CCAttempts = []byte{1}, attempts, 1
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		release(0, 0) // stale: returned
		release(1, 1) // downloaded once: stays
		e.clock.Advance(3 * time.Hour)
		release(2, 0) // recent: stays
		if _, err := e.svc.ReturnStaleReleased(ctx, 0); err == nil {
			t.Error("a zero age was accepted")
		}
		got, err := e.svc.ReturnStaleReleased(ctx, 2*time.Hour)
		if err != nil || len(got) != 1 || got[0].ICCID != testICCID(0) || got[0].MatchingID != "MATCH-"+testICCID(0) {
			t.Fatalf("ReturnStaleReleased = %+v, %v", got, err)
		}
		p, _ := e.db.GetProfile(ctx, testICCID(0))
		if p.State != store.StateAvailable || p.EID != "" || p.MatchingID != "" || p.SMDSAddress != "" ||
			p.ConfirmationCodeHash != nil || p.CCAttempts != 0 {
			t.Errorf("returned profile %+v", p)
		}
		for _, i := range []int{1, 2} {
			if p, _ := e.db.GetProfile(ctx, testICCID(i)); p.State != store.StateReleased {
				t.Errorf("profile %d is %s", i, p.State)
			}
		}
		if ev := events(t, e.db, KindReturned); len(ev) != 1 || ev[0].ICCID != testICCID(0) {
			t.Errorf("events %+v", ev)
		}
		if got, err := e.svc.ReturnStaleReleased(ctx, 2*time.Hour); err != nil || len(got) != 0 {
			t.Errorf("second run = %+v, %v", got, err)
		}
		// The returned profile can be ordered again.
		if _, err := e.db.TransitionProfile(ctx, testICCID(0), []store.State{store.StateAvailable}, store.StateAllocated, nil); err != nil {
			t.Error(err)
		}
	})
}

func TestResetProfile(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		e := newEnv(t, b)
		if _, err := e.svc.Import(ctx, batch(t, csvFile(0, 2, ""))); err != nil {
			t.Fatal(err)
		}
		installed, err := e.db.TransitionProfile(ctx, testICCID(0), []store.State{store.StateAvailable}, store.StateInstalled, func(p *store.Profile) error {
			p.EID, p.MatchingID, p.DownloadAttempts = "89049032123451234512345678901235", "M1", 1
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name string
			r    ResetRequest
			want error
		}{
			{"to Released", ResetRequest{ICCID: testICCID(0), From: store.StateInstalled, To: store.StateReleased}, ErrResetTarget},
			{"from a state it is not in", ResetRequest{ICCID: testICCID(0), From: store.StateDownloaded, To: store.StateAvailable}, store.ErrWrongState},
			{"stale version", ResetRequest{ICCID: testICCID(0), From: store.StateInstalled, To: store.StateAvailable, Version: installed.Version - 1}, store.ErrConflict},
			{"unknown profile", ResetRequest{ICCID: testICCID(9), From: store.StateInstalled, To: store.StateAvailable}, store.ErrNotFound},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if _, err := e.svc.ResetProfile(ctx, tc.r); !errors.Is(err, tc.want) {
					t.Errorf("ResetProfile = %v, want %v", err, tc.want)
				}
			})
		}
		p, err := e.svc.ResetProfile(ctx, ResetRequest{ICCID: testICCID(0), From: store.StateInstalled, To: store.StateAvailable,
			Version: installed.Version, Actor: "admin", Reason: "delete notification lost"})
		if err != nil || p.State != store.StateAvailable || p.EID != "" || p.MatchingID != "" || p.DownloadAttempts != 0 {
			t.Fatalf("ResetProfile = %+v, %v", p, err)
		}
		ev := events(t, e.db, KindAdminReset)
		if len(ev) != 1 || ev[0].EID != installed.EID || !strings.Contains(ev[0].Detail, "Installed → Available by admin: delete notification lost") {
			t.Errorf("events %+v", ev)
		}
	})
}
