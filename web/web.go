// Package web owns the HTTP plumbing every front end shares: the TLS settings SGP.22 requires,
// the HTTP server with its limits and graceful shutdown, one structured log event per request,
// panic recovery, and the SGP.22 JSON binding (§6.5): header checks, size-limited decoding, and
// the one place where an error becomes functionExecutionStatus.
package web

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// TLSConfig returns the server TLS settings: TLS 1.2 and 1.3, and for TLS 1.2 only the
// ECDHE-ECDSA AES-128 suites SGP.22 §2.6.6 lists for ES9+ (GCM and CBC-SHA256), on P-256.
func TLSConfig(cert tls.Certificate) *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12,
		CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
		},
		CurvePreferences: []tls.CurveID{tls.CurveP256, tls.X25519},
		NextProtos:       []string{"h2", "http/1.1"},
	}
}

// ServerOptions bounds the HTTP server.
type ServerOptions struct {
	ReadTimeout, WriteTimeout, IdleTimeout, ShutdownTimeout time.Duration
}

// Serve runs an HTTPS server on ln until ctx is done, then shuts down gracefully, giving in-flight
// requests opts.ShutdownTimeout.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, tlsConfig *tls.Config, opts ServerOptions, log *slog.Logger) error {
	srv := &http.Server{
		Handler:           h,
		TLSConfig:         tlsConfig,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       opts.ReadTimeout,
		WriteTimeout:      opts.WriteTimeout,
		IdleTimeout:       opts.IdleTimeout,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ServeTLS(ln, "", "") }()
	select {
	case err := <-errc:
		return fmt.Errorf("https server: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down", "grace", opts.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), opts.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("https server shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
