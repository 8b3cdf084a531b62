package progress

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/smdpp/smdpp/internal/testenv"
	"github.com/smdpp/smdpp/store"
)

// TestPoolLowDelivered: a pool alert written in a transaction reaches the operator at
// PoolLowPath beside its ES2+ endpoint; an operator without a callback URL gets nothing queued.
func TestPoolLowDelivered(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, b testenv.Database) {
		ctx := context.Background()
		var mu sync.Mutex
		var got []string
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			mu.Lock()
			got = append(got, r.URL.Path+" "+string(body))
			mu.Unlock()
			w.WriteHeader(http.StatusNoContent)
		}))
		defer srv.Close()
		db, err := store.Open(ctx, b.NewDSN(t))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		for _, op := range []store.Operator{{ID: "op", Name: "op", CallbackURL: srv.URL + "/gsma/rsp2/es2plus/handleDownloadProgressInfo"}, {ID: "quiet", Name: "quiet"}} {
			if _, err := db.CreateOperator(ctx, op); err != nil {
				t.Fatal(err)
			}
		}
		n := NewNotifier("smdp.example.com")
		at := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
		err = db.InTx(ctx, func(tx *store.Tx) error {
			if err := n.EnqueuePoolLow(ctx, tx, PoolLow{OperatorID: "op", ProfileType: "travel", Region: "eu", Available: 9, LowWater: 10}, at); err != nil {
				return err
			}
			return n.EnqueuePoolLow(ctx, tx, PoolLow{OperatorID: "quiet", ProfileType: "travel", Available: 0, LowWater: 1}, at)
		})
		if err != nil {
			t.Fatal(err)
		}
		if pending, _ := db.CountPendingOutbox(ctx); pending != 1 {
			t.Fatalf("%d messages queued, want 1 (none for the operator without a callback)", pending)
		}
		if _, err := NewDeliverer(db).DeliverDue(ctx); err != nil {
			t.Fatal(err)
		}
		want := PoolLow{OperatorID: "op", ProfileType: "travel", Region: "eu", Available: 9, LowWater: 10, Timestamp: "2026-11-30T12:00:00Z"}
		wantJSON, _ := json.Marshal(want)
		if len(got) != 1 || got[0] != PoolLowPath+" "+string(wantJSON) {
			t.Errorf("operator got %q, want [%s %s]", got, PoolLowPath, wantJSON)
		}
	})
}
