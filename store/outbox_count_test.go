package store

import (
	"context"
	"testing"
	"time"

	"github.com/smdpp/smdpp/internal/testenv"
)

func TestCountPendingOutbox(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, b testenv.Database) {
		ctx := context.Background()
		db, _ := newDB(t, b)
		for i := range 3 {
			if _, err := db.EnqueueOutbox(ctx, OutboxMessage{OperatorID: "op", ICCID: iccid(i), Kind: "k", Payload: []byte("x")}); err != nil {
				t.Fatal(err)
			}
		}
		claimed, err := db.ClaimOutbox(ctx, 1, time.Minute)
		if err != nil || len(claimed) != 1 {
			t.Fatalf("claim: %v %v", claimed, err)
		}
		if err := db.MarkOutboxDelivered(ctx, claimed[0].ID); err != nil {
			t.Fatal(err)
		}
		if n, err := db.CountPendingOutbox(ctx); err != nil || n != 2 {
			t.Errorf("pending %d, %v; want 2", n, err)
		}
	})
}
