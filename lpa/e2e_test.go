package lpa_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/smdpp/smdpp/activation"
	"github.com/smdpp/smdpp/apdu"
	"github.com/smdpp/smdpp/devpki"
	"github.com/smdpp/smdpp/download"
	"github.com/smdpp/smdpp/es9plus"
	"github.com/smdpp/smdpp/euicc"
	"github.com/smdpp/smdpp/lpa"
	"github.com/smdpp/smdpp/profiles"
	"github.com/smdpp/smdpp/session"
	"github.com/smdpp/smdpp/store"
	"github.com/smdpp/smdpp/web"
)

// TestAgainstServer drives the real SM-DP+ (download service, ES9+ front end, web.Serve with
// its TLS settings, SQLite store, in-memory sessions) on a throwaway development PKI with the
// virtual eUICC, as the smdpp-lpa command does.
func TestAgainstServer(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	log := slog.New(slog.DiscardHandler)

	pki, err := devpki.Generate(devpki.Options{EUICCCount: 1})
	if err != nil {
		t.Fatal(err)
	}
	pkiDir := filepath.Join(dir, "pki")
	if err := pki.WriteDir(pkiDir, false); err != nil {
		t.Fatal(err)
	}
	creds, err := download.LoadCredentials(pkiDir, time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(ctx, filepath.Join(dir, "smdpp.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
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

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	sessions := session.NewMemory()
	t.Cleanup(func() { sessions.Close() })
	svc, err := download.New(addr, []*download.Credentials{creds}, db, sessions, download.WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	r := chi.NewRouter()
	es9plus.Routes(r, svc, 1<<20, log)
	tlsCert := tls.Certificate{Certificate: [][]byte{pki.DPtls.Certificate, pki.CI.Certificate}, PrivateKey: pki.DPtls.Key}
	served := make(chan error, 1)
	go func() {
		served <- web.Serve(ctx, ln, r, web.TLSConfig(tlsCert), web.ServerOptions{ShutdownTimeout: 5 * time.Second}, log)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("server: %v", err)
		}
	})

	cardCfg, err := euicc.LoadDir(pkiDir, pki.EUICCs[0].EID)
	if err != nil {
		t.Fatal(err)
	}
	isdr, err := euicc.New(cardCfg)
	if err != nil {
		t.Fatal(err)
	}
	es10, err := apdu.OpenES10(ctx, apdu.NewCardTransport(apdu.NewCard(isdr)))
	if err != nil {
		t.Fatal(err)
	}
	ci, err := x509.ParseCertificate(pki.CI.Certificate)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ci)
	client := lpa.NewHTTPClient(&tls.Config{RootCAs: roots})
	t.Cleanup(client.CloseIdleConnections) // runs before the server shutdown registered above
	l, err := lpa.New(es10, lpa.WithHTTPClient(client), lpa.WithTimeout(10*time.Second))
	if err != nil {
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
