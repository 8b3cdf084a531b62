package web

import (
	"crypto/tls"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/smdpp/smdpp/devpki"
)

// TestTLSSuites: TLS 1.2 offers only the ECDHE-ECDSA AES-128 suites of SGP.22 §2.6.6.
func TestTLSSuites(t *testing.T) {
	p, err := devpki.Generate(devpki.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.NotFoundHandler())
	srv.TLS = TLSConfig(tls.Certificate{Certificate: [][]byte{p.DPtls.Certificate}, PrivateKey: p.DPtls.Key})
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	defer srv.Close()
	for _, tc := range []struct {
		suite uint16
		ok    bool
	}{
		{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, true},
		{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, true},
		{tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, false},
		{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, false},
	} {
		conn, err := tls.Dial("tcp", srv.Listener.Addr().String(), &tls.Config{
			InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tc.suite},
		})
		if (err == nil) != tc.ok {
			t.Errorf("suite %s: err %v, want ok=%v", tls.CipherSuiteName(tc.suite), err, tc.ok)
		}
		if conn != nil {
			conn.Close()
		}
	}
	if _, err := tls.Dial("tcp", srv.Listener.Addr().String(), &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS11}); err == nil {
		t.Error("TLS 1.1 accepted")
	}
}
