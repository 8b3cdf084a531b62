package store

import (
	"context"
	"errors"
	"fmt"
	"github.com/smdpp/smdpp/internal/testenv"
	"slices"
	"sync"
	"testing"
	"time"
)

// poolProfiles returns n PoolProfiles of the pool, ICCIDs and IMSIs from first on.
func poolProfiles(k PoolKey, first, n int) []PoolProfile {
	ps := make([]PoolProfile, n)
	for i, p := range pool(k.OperatorID, k.ProfileType, first, n) {
		ps[i] = PoolProfile{Profile: p, Region: k.Region, IMSI: fmt.Sprintf("00101%010d", first+i), BatchID: "batch"}
	}
	return ps
}

func TestImportProfiles(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, b testenv.Database) {
		ctx := context.Background()
		db, _ := newDB(t, b)
		mustOperator(t, db, "op1")
		eu := PoolKey{"op1", "T", "eu"}
		if err := db.ImportProfiles(ctx, poolProfiles(eu, 0, 3)); err != nil {
			t.Fatal(err)
		}
		if k, err := db.PoolOf(ctx, iccid(1)); err != nil || k != eu {
			t.Errorf("PoolOf = %v, %v; want %v", k, err, eu)
		}
		mustCreateProfiles(t, db, pool("op1", "T", 100, 1)) // imported singly: region ""
		if k, err := db.PoolOf(ctx, iccid(100)); err != nil || k != (PoolKey{"op1", "T", ""}) {
			t.Errorf("PoolOf(single) = %v, %v", k, err)
		}
		if _, err := db.PoolOf(ctx, iccid(999)); !errors.Is(err, ErrNotFound) {
			t.Errorf("PoolOf(unknown) = %v, want ErrNotFound", err)
		}
		got, err := db.ExistingICCIDs(ctx, []string{iccid(0), iccid(2), iccid(100), iccid(7)})
		slices.Sort(got)
		if err != nil || !slices.Equal(got, []string{iccid(0), iccid(2), iccid(100)}) {
			t.Errorf("ExistingICCIDs = %v, %v", got, err)
		}
		got, err = db.ExistingIMSIs(ctx, []string{"001010000000001", "001010000000009"})
		if err != nil || !slices.Equal(got, []string{"001010000000001"}) {
			t.Errorf("ExistingIMSIs = %v, %v", got, err)
		}

		// The inventory row refers to its profile.
		err = db.writer.Create(&profileInventoryRow{ProfileICCID: iccid(555), IMSI: "001019999999999", CreatedAt: time.Now()}).Error
		if !errors.Is(translate(err), ErrNotFound) {
			t.Errorf("inventory row without a profile: %v, want a foreign key violation", err)
		}

		// All or nothing: a duplicate IMSI or ICCID anywhere in the batch inserts nothing.
		for _, tc := range []struct {
			name string
			ps   []PoolProfile
			want error
		}{
			{"IMSI in database", append(poolProfiles(eu, 10, 600), PoolProfile{Profile: pool("op1", "T", 700, 1)[0], IMSI: "001010000000002"}), ErrDuplicate},
			{"IMSI twice", append(poolProfiles(eu, 10, 600), PoolProfile{Profile: pool("op1", "T", 700, 1)[0], IMSI: "001010000000010"}), ErrDuplicate},
			{"ICCID in database", append(poolProfiles(eu, 10, 600), poolProfiles(eu, 1, 1)...), ErrDuplicate},
			{"unknown operator", poolProfiles(PoolKey{"nobody", "T", ""}, 10, 2), ErrNotFound},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if err := db.ImportProfiles(ctx, tc.ps); !errors.Is(err, tc.want) {
					t.Fatalf("ImportProfiles = %v, want %v", err, tc.want)
				}
				if n := countProfiles(t, db); n != 4 {
					t.Errorf("%d profiles after the failed import, want 4", n)
				}
				var inv int64
				db.reader.Model(&profileInventoryRow{}).Count(&inv)
				if inv != 3 {
					t.Errorf("%d inventory rows after the failed import, want 3", inv)
				}
			})
		}
	})
}

func TestPoolLevels(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, b testenv.Database) {
		ctx := context.Background()
		db, _ := newDB(t, b)
		mustOperator(t, db, "op1")
		mustOperator(t, db, "op2")
		eu, us, plain := PoolKey{"op1", "T", "eu"}, PoolKey{"op1", "T", "us"}, PoolKey{"op1", "T", ""}
		for _, ps := range [][]PoolProfile{poolProfiles(eu, 0, 5), poolProfiles(us, 10, 2), poolProfiles(PoolKey{"op2", "U", ""}, 20, 1)} {
			if err := db.ImportProfiles(ctx, ps); err != nil {
				t.Fatal(err)
			}
		}
		mustCreateProfiles(t, db, pool("op1", "T", 30, 2))
		if _, err := db.TransitionProfile(ctx, iccid(1), []State{StateAvailable}, StateAllocated, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := db.SetPoolThreshold(ctx, PoolKey{"op1", "empty", ""}, 4); err != nil {
			t.Fatal(err)
		}
		if _, err := db.SetPoolThreshold(ctx, eu, 2); err != nil {
			t.Fatal(err)
		}
		levels, err := db.PoolLevels(ctx, "op1")
		if err != nil {
			t.Fatal(err)
		}
		type summary struct {
			key                    PoolKey
			available, total, mark int
		}
		var got []summary
		for _, l := range levels {
			s := summary{l.PoolKey, l.Available, l.Total, 0}
			if l.Threshold != nil {
				s.mark = l.Threshold.LowWater
			}
			got = append(got, s)
		}
		want := []summary{
			{PoolKey{"op1", "T", ""}, 2, 2, 0},
			{eu, 4, 5, 2},
			{us, 2, 2, 0},
			{PoolKey{"op1", "empty", ""}, 0, 0, 4},
		}
		if !slices.Equal(got, want) {
			t.Errorf("PoolLevels(op1) = %+v\nwant %+v", got, want)
		}
		if levels[1].Counts[StateAllocated] != 1 || levels[1].Counts[StateAvailable] != 4 {
			t.Errorf("counts of %v = %v", eu, levels[1].Counts)
		}
		all, err := db.PoolLevels(ctx, "")
		if err != nil || len(all) != 5 {
			t.Errorf("PoolLevels(all) = %d pools, %v", len(all), err)
		}
		if n, err := db.CountAvailable(ctx, plain, 0); err != nil || n != 2 {
			t.Errorf("CountAvailable = %d, %v", n, err)
		}
		if n, err := db.CountAvailable(ctx, eu, 3); err != nil || n != 3 {
			t.Errorf("CountAvailable(limit 3) = %d, %v", n, err)
		}

		// Threshold validation and deletion.
		for _, bad := range []struct {
			k  PoolKey
			lw int
		}{{eu, 0}, {eu, -1}, {PoolKey{"", "T", ""}, 1}, {PoolKey{"op1", "", ""}, 1}} {
			if _, err := db.SetPoolThreshold(ctx, bad.k, bad.lw); err == nil {
				t.Errorf("SetPoolThreshold(%v, %d) succeeded", bad.k, bad.lw)
			}
		}
		if _, err := db.SetPoolThreshold(ctx, PoolKey{"nobody", "T", ""}, 1); !errors.Is(err, ErrNotFound) {
			t.Errorf("SetPoolThreshold(unknown operator) = %v, want ErrNotFound", err)
		}
		if err := db.DeletePoolThreshold(ctx, eu); err != nil {
			t.Fatal(err)
		}
		if err := db.DeletePoolThreshold(ctx, eu); !errors.Is(err, ErrNotFound) {
			t.Errorf("second DeletePoolThreshold = %v, want ErrNotFound", err)
		}
		if ths, err := db.ListPoolThresholds(ctx, ""); err != nil || len(ths) != 1 {
			t.Errorf("ListPoolThresholds = %+v, %v", ths, err)
		}
	})
}

// check runs CheckPoolThreshold in its own transaction.
func check(t *testing.T, db *DB, k PoolKey) ThresholdCheck {
	t.Helper()
	var c ThresholdCheck
	err := db.InTx(context.Background(), func(tx *Tx) error {
		var err error
		c, err = tx.CheckPoolThreshold(context.Background(), k)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestPoolThresholdLatch(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, b testenv.Database) {
		ctx := context.Background()
		db, _ := newDB(t, b)
		mustOperator(t, db, "op1")
		k := PoolKey{"op1", "T", "eu"}
		if err := db.ImportProfiles(ctx, poolProfiles(k, 0, 5)); err != nil {
			t.Fatal(err)
		}
		if c := check(t, db, k); c != (ThresholdCheck{}) {
			t.Errorf("check without threshold = %+v", c)
		}
		if _, err := db.SetPoolThreshold(ctx, k, 3); err != nil {
			t.Fatal(err)
		}
		allocate := func() {
			t.Helper()
			if _, err := db.AllocateProfile(ctx, "op1", "T", nil); err != nil {
				t.Fatal(err)
			}
		}
		steps := []struct {
			do               func()
			available        int
			crossed, rearmed bool
			low              bool
			description      string
		}{
			{func() {}, 3, false, false, false, "5 available"},
			{allocate, 3, false, false, false, "4 available"},
			{allocate, 3, false, false, false, "3 available: at the mark, not below"},
			{allocate, 2, true, false, true, "2 available: crossed"},
			{func() {}, 2, false, false, true, "checked again"},
			{allocate, 1, false, false, true, "1 available"},
			{func() {
				if err := db.ImportProfiles(ctx, poolProfiles(k, 10, 4)); err != nil {
					t.Fatal(err)
				}
			}, 3, false, true, false, "5 available after import: re-armed"},
			{allocate, 3, false, false, false, "4 available"},
			{allocate, 3, false, false, false, "3 available"},
			{allocate, 2, true, false, true, "2 available: crossed again"},
		}
		for i, s := range steps {
			s.do()
			c := check(t, db, k)
			if c.Available != s.available || c.Crossed != s.crossed || c.Rearmed != s.rearmed || c.Threshold.Low != s.low {
				t.Errorf("step %d (%s): %+v", i, s.description, c)
			}
		}
	})
}

// TestPoolThresholdConcurrent allocates the pool down from several goroutines, each checking the
// threshold in the allocation's transaction: exactly one of them sees the crossing.
func TestPoolThresholdConcurrent(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, b testenv.Database) {
		ctx := context.Background()
		db, _ := newDB(t, b)
		mustOperator(t, db, "op1")
		k := PoolKey{"op1", "T", ""}
		if err := db.ImportProfiles(ctx, poolProfiles(k, 0, 40)); err != nil {
			t.Fatal(err)
		}
		if _, err := db.SetPoolThreshold(ctx, k, 25); err != nil {
			t.Fatal(err)
		}
		var (
			mu      sync.Mutex
			crossed int
			wg      sync.WaitGroup
		)
		for range 8 {
			wg.Go(func() {
				for range 4 {
					err := db.InTx(ctx, func(tx *Tx) error {
						if _, err := tx.AllocateProfile(ctx, "op1", "T", nil); err != nil {
							return err
						}
						c, err := tx.CheckPoolThreshold(ctx, k)
						if c.Crossed {
							mu.Lock()
							crossed++
							mu.Unlock()
						}
						return err
					})
					if err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		if crossed != 1 {
			t.Errorf("%d checks saw the crossing, want exactly 1", crossed)
		}
		if n, _ := db.CountAvailable(ctx, k, 0); n != 8 {
			t.Errorf("%d left, want 8", n)
		}
	})
}

func TestStaleReleased(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, b testenv.Database) {
		ctx := context.Background()
		db, clock := newDB(t, b)
		mustOperator(t, db, "op1")
		mustCreateProfiles(t, db, pool("op1", "T", 0, 4))
		release := func(i int, attempts int) {
			t.Helper()
			_, err := db.TransitionProfile(ctx, iccid(i), []State{StateAvailable}, StateReleased, func(p *Profile) error {
				p.MatchingID, p.EID, p.DownloadAttempts = fmt.Sprintf("M%d", i), "89049032123451234512345678901235", attempts
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		release(0, 0) // old, never downloaded
		release(1, 1) // old, downloaded once and back to Released
		clock.Advance(2 * time.Hour)
		release(2, 0) // recent
		cutoff := clock.Now().Add(-time.Hour)
		got, err := db.StaleReleased(ctx, cutoff, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].ICCID != iccid(0) || got[0].Package != nil {
			t.Errorf("StaleReleased = %+v, want only %s without package", got, iccid(0))
		}
	})
}

func TestScanEvents(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, b testenv.Database) {
		ctx := context.Background()
		db, _ := newDB(t, b)
		// 2500 events, one a second, alternating operators; events 7 and 8 share a timestamp.
		for i := range 2500 {
			at := testEpoch.Add(time.Duration(i) * time.Second)
			if i == 8 {
				at = testEpoch.Add(7 * time.Second)
			}
			if _, err := db.RecordEvent(ctx, Event{At: at, OperatorID: []string{"a", "b"}[i%2], ICCID: iccid(i), Kind: "k"}); err != nil {
				t.Fatal(err)
			}
		}
		collect := func(f EventFilter) []string {
			var out []string
			if err := db.ScanEvents(ctx, f, func(e Event) error { out = append(out, e.ICCID); return nil }); err != nil {
				t.Fatal(err)
			}
			return out
		}
		if all := collect(EventFilter{}); len(all) != 2500 || all[7] != iccid(7) || all[8] != iccid(8) || all[2499] != iccid(2499) {
			t.Errorf("scan of all: %d events", len(all))
		}
		window := collect(EventFilter{OperatorID: "a", Since: testEpoch.Add(1000 * time.Second), Until: testEpoch.Add(2200 * time.Second)})
		if len(window) != 600 || window[0] != iccid(1000) || window[599] != iccid(2198) {
			t.Errorf("window: %d events from %v", len(window), window[:min(3, len(window))])
		}
		if limited := collect(EventFilter{Limit: 1500}); len(limited) != 1500 {
			t.Errorf("limit 1500: %d events", len(limited))
		}
		stop := errors.New("stop")
		n := 0
		err := db.ScanEvents(ctx, EventFilter{}, func(Event) error {
			if n++; n == 3 {
				return stop
			}
			return nil
		})
		if err != stop || n != 3 {
			t.Errorf("ScanEvents with a failing fn = %v after %d", err, n)
		}
	})
}

// TestMigrateFromVersion1 opens a database of schema version 1 (without the inventory tables) and
// checks that they are added.
func TestMigrateFromVersion1(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, b testenv.Database) {
		ctx := context.Background()
		dsn := b.NewDSN(t)
		db := openDB(t, dsn)
		mustOperator(t, db, "op1")
		mustCreateProfiles(t, db, pool("op1", "T", 0, 2))
		for _, table := range []string{"profile_inventory", "pool_thresholds"} {
			if err := db.writer.Migrator().DropTable(table); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.writer.Exec("UPDATE schema_versions SET version = 1").Error; err != nil {
			t.Fatal(err)
		}
		db.Close()
		db = openDB(t, dsn)
		if err := db.ImportProfiles(ctx, poolProfiles(PoolKey{"op1", "T", "eu"}, 10, 2)); err != nil {
			t.Fatalf("import after migration: %v", err)
		}
		if _, err := db.SetPoolThreshold(ctx, PoolKey{"op1", "T", "eu"}, 1); err != nil {
			t.Fatalf("threshold after migration: %v", err)
		}
		if n := countProfiles(t, db); n != 4 {
			t.Errorf("%d profiles, want 4", n)
		}
	})
}
