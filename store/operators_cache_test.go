package store

import (
	"context"
	"testing"
	"time"

	"github.com/smdpp/smdpp/internal/testenv"
)

// TestOperatorCache: an update through the same DB is seen at once, one through another handle
// (another replica) once the cache entry expires, and a rolled-back update never.
func TestOperatorCache(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, b testenv.Database) {
		ctx := context.Background()
		dsn := b.NewDSN(t)
		clock := newFakeClock()
		db := openDB(t, dsn, WithClock(clock.Now))
		other := openDB(t, dsn)
		if _, err := db.CreateOperator(ctx, Operator{ID: "op", Name: "op", CallbackURL: "https://a.example"}); err != nil {
			t.Fatal(err)
		}
		get := func() string {
			op, err := db.GetOperator(ctx, "op")
			if err != nil {
				t.Fatal(err)
			}
			return op.CallbackURL
		}
		if got := get(); got != "https://a.example" {
			t.Fatalf("callback %q", got)
		}
		if _, err := db.UpdateOperator(ctx, Operator{ID: "op", Name: "op", CallbackURL: "https://b.example"}); err != nil {
			t.Fatal(err)
		}
		if got := get(); got != "https://b.example" {
			t.Errorf("own update not seen: %q", got)
		}
		// A rolled-back update through this DB is not cached.
		db.InTx(ctx, func(tx *Tx) error {
			tx.UpdateOperator(ctx, Operator{ID: "op", Name: "op", CallbackURL: "https://rolled-back.example"})
			tx.GetOperator(ctx, "op")
			return context.Canceled
		})
		if got := get(); got != "https://b.example" {
			t.Errorf("rolled-back update seen: %q", got)
		}
		if _, err := other.UpdateOperator(ctx, Operator{ID: "op", Name: "op", CallbackURL: "https://c.example"}); err != nil {
			t.Fatal(err)
		}
		if got := get(); got != "https://b.example" {
			t.Errorf("another replica's update seen before the cache expired: %q (the cache is not used)", got)
		}
		clock.Advance(operatorCacheTTL + time.Second)
		if got := get(); got != "https://c.example" {
			t.Errorf("another replica's update not seen after the TTL: %q", got)
		}
	})
}
