package orders

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smdpp/smdpp/internal/testenv"
	"github.com/smdpp/smdpp/store"
)

// TestOperatorActionsAreRecorded: each ES2+ action writes its audit and usage event in the
// transaction of the change, and a failed action writes none.
func TestOperatorActionsAreRecorded(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, b testenv.Database) {
		ctx := context.Background()
		db, err := store.Open(ctx, b.NewDSN(t))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := db.CreateOperator(ctx, store.Operator{ID: "op", Name: "op"}); err != nil {
			t.Fatal(err)
		}
		svc := New(db, "smdp.example.com")
		for _, f := range []string{"TS48V2-SAIP2-3-BERTLV-UNIQUE.der", "TS48V3-SAIP2-3-BERTLV-UNIQUE.der"} {
			upp, err := os.ReadFile(filepath.Join("..", "testdata", "upp", f))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := svc.ImportProfile(ctx, "op", "travel", upp); err != nil {
				t.Fatal(err)
			}
		}
		iccid, err := svc.DownloadOrder(ctx, "op", DownloadOrderRequest{ProfileType: "travel"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.ConfirmOrder(ctx, "op", ConfirmOrderRequest{ICCID: iccid}); err != nil {
			t.Fatal(err)
		}
		if err := svc.ReleaseProfile(ctx, "op", iccid); err != nil {
			t.Fatal(err)
		}
		if err := svc.ReleaseProfile(ctx, "op", iccid); err == nil {
			t.Fatal("a second ReleaseProfile succeeded")
		}
		if err := svc.CancelOrder(ctx, "op", CancelOrderRequest{ICCID: iccid, FinalProfileStatusIndicator: "Available"}); err != nil {
			t.Fatal(err)
		}
		evs, err := db.ListEvents(ctx, store.EventFilter{ICCID: iccid})
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for _, e := range evs {
			kinds = append(kinds, e.Kind)
		}
		if got := strings.Join(kinds, " "); got != "ordered confirmed released order-cancelled" {
			t.Errorf("events %q", got)
		}
		if p, err := db.GetProfile(ctx, iccid); err != nil || p.State != store.StateAvailable || p.MatchingID != "" {
			t.Errorf("after CancelOrder: %+v %v", p, err)
		}
	})
}
