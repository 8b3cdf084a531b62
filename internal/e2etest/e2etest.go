// Package e2etest runs the real SM-DP+ in process for end-to-end tests: the download service
// behind the ES9+ front end, served by web.Serve over HTTPS with the DPtls certificate of a
// throwaway development PKI, on a SQLite store and in-memory RSP sessions; and a test LPA with a
// virtual eUICC of that PKI to download with.
package e2etest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/smdpp/smdpp/apdu"
	"github.com/smdpp/smdpp/devpki"
	"github.com/smdpp/smdpp/download"
	"github.com/smdpp/smdpp/es9plus"
	"github.com/smdpp/smdpp/euicc"
	"github.com/smdpp/smdpp/lpa"
	"github.com/smdpp/smdpp/session"
	"github.com/smdpp/smdpp/store"
	"github.com/smdpp/smdpp/web"
)

// Env is a running SM-DP+ and an LPA pointed at nothing yet.
type Env struct {
	Addr string // host:port: the SM-DP+ address of activation codes
	DB   *store.DB
	LPA  *lpa.LPA
	Card *euicc.ISDR // the LPA's eUICC
	EID  string      // its EID
}

// Start serves ES9+ and, when mount is not nil, the routes it adds (with the store and the
// SM-DP+ address), until the test ends; the LPA's ES9+ requests time out after timeout.
func Start(t *testing.T, timeout time.Duration, mount func(r chi.Router, db *store.DB, addr string)) *Env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
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

	// The listener is kept open from here to web.Serve, so no other process can take its port.
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
	if mount != nil {
		mount(r, db, addr)
	}
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
	card, err := euicc.New(cardCfg)
	if err != nil {
		t.Fatal(err)
	}
	es10, err := apdu.OpenES10(ctx, apdu.NewCardTransport(apdu.NewCard(card)))
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
	l, err := lpa.New(es10, lpa.WithHTTPClient(client), lpa.WithTimeout(timeout))
	if err != nil {
		t.Fatal(err)
	}
	return &Env{Addr: addr, DB: db, LPA: l, Card: card, EID: pki.EUICCs[0].EID}
}
