package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/smdpp/smdpp/internal/testenv"
)

// TestInGroupTx checks the contract of group commit: concurrent functions commit together, yet a
// failing one fails alone, a panic reaches only its own caller, and a call whose context ended
// before it ran writes nothing. The writer is held busy first so that the calls queue up and
// form a group on SQLite.
func TestInGroupTx(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, b testenv.Database) {
		ctx := context.Background()
		db, _ := newDB(t, b)
		mustOperator(t, db, "op1")
		release := make(chan struct{})
		held := make(chan struct{})
		go db.InTx(ctx, func(tx *Tx) error {
			close(held)
			<-release
			return nil
		})
		<-held

		errRefused := errors.New("refused")
		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		type outcome struct {
			err      error
			panicked any
		}
		kinds := []string{"ok-1", "fails", "ok-2", "panics", "cancelled", "ok-3"}
		out := make([]outcome, len(kinds))
		var wg sync.WaitGroup
		for i, kind := range kinds {
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { out[i].panicked = recover() }()
				callCtx := ctx
				if kind == "cancelled" {
					callCtx = cancelled
				}
				out[i].err = db.InGroupTx(callCtx, func(tx *Tx) error {
					if _, err := tx.RecordEvent(callCtx, Event{OperatorID: "op1", ICCID: iccid(i), Kind: kind}); err != nil {
						return err
					}
					switch kind {
					case "fails":
						return errRefused
					case "panics":
						panic("boom")
					}
					return nil
				})
			}()
		}
		time.Sleep(100 * time.Millisecond) // let the calls queue behind the held writer
		close(release)
		wg.Wait()

		for i, kind := range kinds {
			o := out[i]
			switch kind {
			case "fails":
				if !errors.Is(o.err, errRefused) || o.panicked != nil {
					t.Errorf("%s: err %v, panic %v", kind, o.err, o.panicked)
				}
			case "panics":
				if o.panicked != "boom" {
					t.Errorf("%s: panic %v, err %v", kind, o.panicked, o.err)
				}
			case "cancelled":
				if !errors.Is(o.err, context.Canceled) {
					t.Errorf("%s: err %v", kind, o.err)
				}
			default:
				if o.err != nil || o.panicked != nil {
					t.Errorf("%s: err %v, panic %v", kind, o.err, o.panicked)
				}
			}
		}
		events, err := db.ListEvents(ctx, EventFilter{OperatorID: "op1"})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int{}
		for _, e := range events {
			got[e.Kind]++
		}
		want := map[string]int{"ok-1": 1, "ok-2": 1, "ok-3": 1}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("committed events %v, want %v", got, want)
		}
	})
}

// TestInGroupTxAfterClose checks that a closed DB refuses group calls instead of blocking.
func TestInGroupTxAfterClose(t *testing.T) {
	db := openDB(t, sqliteDSN(t))
	db.Close()
	done := make(chan error, 1)
	go func() { done <- db.InGroupTx(context.Background(), func(*Tx) error { return nil }) }()
	select {
	case err := <-done:
		if err == nil {
			t.Error("InGroupTx after Close succeeded")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("InGroupTx after Close blocked")
	}
}
