package lpa_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/smdpp/smdpp/activation"
	"github.com/smdpp/smdpp/internal/e2etest"
	"github.com/smdpp/smdpp/lpa"
	"github.com/smdpp/smdpp/profiles"
	"github.com/smdpp/smdpp/store"
)

// TestAgainstServer drives the real SM-DP+ (download service, ES9+ front end, web.Serve with
// its TLS settings, SQLite store, in-memory sessions) on a throwaway development PKI with the
// virtual eUICC, as the smdpp-lpa command does.
func TestAgainstServer(t *testing.T) {
	ctx := context.Background()
	env := e2etest.Start(t, 10*time.Second, nil)
	db, addr, l, isdr := env.DB, env.Addr, env.LPA, env.Card
	upp, err := os.ReadFile(filepath.Join("..", "testdata", "upp", "TS48V2-SAIP2-3-BERTLV-UNIQUE.der"))
	if err != nil {
		t.Fatal(err)
	}
	pkg, err := profiles.Parse(upp)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateOperator(ctx, store.Operator{ID: "op", Name: "Operator"}); err != nil {
		t.Fatal(err)
	}
	const matchingID = "E2E-MATCHING-1"
	if err := db.CreateProfiles(ctx, []store.Profile{{ICCID: pkg.Header.ICCID, OperatorID: "op", ProfileType: "test",
		State: store.StateReleased, MatchingID: matchingID, Package: upp}}); err != nil {
		t.Fatal(err)
	}

	t.Run("download", func(t *testing.T) {
		code, err := activation.Parse("LPA:1$" + addr + "$" + matchingID)
		if err != nil {
			t.Fatal(err)
		}
		res, err := l.Download(ctx, code, lpa.DownloadOptions{})
		if err != nil {
			t.Fatalf("Download: %v (result %+v)", err, res)
		}
		if !res.Installed || !res.NotificationDelivered || !res.NotificationRemoved || res.ICCID != pkg.Header.ICCID {
			t.Errorf("Result %+v, want installed %s with the notification delivered", res, pkg.Header.ICCID)
		}
		p, err := db.GetProfile(ctx, pkg.Header.ICCID)
		if err != nil {
			t.Fatal(err)
		}
		if p.State != store.StateInstalled {
			t.Errorf("profile state %s, want %s", p.State, store.StateInstalled)
		}
		if len(isdr.State().Profiles) != 1 {
			t.Errorf("card holds %d profiles, want 1", len(isdr.State().Profiles))
		}
	})

	t.Run("unknown matching ID", func(t *testing.T) {
		code, err := activation.Parse("1$" + addr + "$NO-SUCH-ORDER")
		if err != nil {
			t.Fatal(err)
		}
		res, err := l.Download(ctx, code, lpa.DownloadOptions{})
		var se *lpa.ServerError
		if !errors.As(err, &se) || se.Function != lpa.FunctionAuthenticateClient || se.SubjectCode != "8.2.6" || se.ReasonCode != "3.8" {
			t.Fatalf("error %v, want a ServerError 8.2.6/3.8 from authenticateClient", err)
		}
		if res.TransactionID == nil || len(res.Timings) < 3 || res.Timings[len(res.Timings)-1].Function != lpa.FunctionCancelSession {
			t.Errorf("Result %+v: want the session cancelled on the server", res)
		}
	})

	t.Run("notifications", func(t *testing.T) {
		got, err := l.ProcessNotifications(ctx)
		if err != nil || len(got) != 0 {
			t.Errorf("ProcessNotifications = %+v, %v; want nothing pending", got, err)
		}
	})
}
