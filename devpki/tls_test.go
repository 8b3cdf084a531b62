package devpki

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/smdpp/smdpp/certs"
)

// serveTLS starts a TLS server on loopback with the DPtls certificate and key read from the PKI
// directory (PEM, as a server would load them) and returns its address. Each connection gets "ok".
func serveTLS(t *testing.T, dir string) string {
	t.Helper()
	certPEM, err := os.ReadFile(filepath.Join(dir, DPtlsCertFile))
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, DPtlsKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatalf("tls.X509KeyPair(%s, %s): %v", DPtlsCertFile, DPtlsKeyFile, err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				conn.SetDeadline(time.Now().Add(10 * time.Second))
				if conn.(*tls.Conn).Handshake() == nil {
					conn.Write([]byte("ok"))
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// handshake dials addr with cfg and returns the server's greeting and peer leaf certificate.
func handshake(addr string, cfg *tls.Config) (string, []byte, error) {
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		return "", nil, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	got, err := io.ReadAll(conn)
	if err != nil {
		return "", nil, err
	}
	return string(got), conn.ConnectionState().PeerCertificates[0].Raw, nil
}

// TestTLSServerNIST serves a real TLS handshake with the NIST hierarchy's DPtls and has clients
// that trust only the generated CI verify it by host name and by IP address.
func TestTLSServerNIST(t *testing.T) {
	p, err := Generate(Options{Curve: "nist", Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := p.WriteDir(dir, false); err != nil {
		t.Fatal(err)
	}
	addr := serveTLS(t, dir)
	ci, err := x509.ParseCertificate(p.CI.Certificate)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ci)

	tests := []struct {
		name       string
		serverName string
		roots      *x509.CertPool
		wantErr    any // pointer to the expected error type; nil for success
	}{
		{"localhost", "localhost", roots, nil},
		{"IPv4 loopback", "127.0.0.1", roots, nil},
		{"IPv6 loopback", "::1", roots, nil},
		{"name not in SAN", "smdp.example.com", roots, new(x509.HostnameError)},
		{"CI not trusted", "localhost", x509.NewCertPool(), new(x509.UnknownAuthorityError)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, leaf, err := handshake(addr, &tls.Config{RootCAs: tt.roots, ServerName: tt.serverName, MinVersion: tls.VersionTLS12})
			if tt.wantErr != nil {
				if err == nil || !errors.As(err, tt.wantErr) {
					t.Fatalf("handshake error %v, want %T", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("handshake: %v", err)
			}
			if got != "ok" || !bytes.Equal(leaf, p.DPtls.Certificate) {
				t.Errorf("got %q and a leaf that is not dptls.crt", got)
			}
		})
	}
}

// TestTLSServerBrainpool serves the brainpool hierarchy's (P-256) DPtls. Go cannot verify a
// signature by the brainpool CI, so the client skips Go's verification and checks the leaf itself:
// it must be dptls.crt, with a signature that the brainpool CI key verifies.
func TestTLSServerBrainpool(t *testing.T) {
	p, err := Generate(Options{Curve: "brainpool", Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := p.WriteDir(dir, false); err != nil {
		t.Fatal(err)
	}
	addr := serveTLS(t, dir)
	ciPub, err := certs.ParseSubjectPublicKeyInfo(mustParse(t, p.CI.Certificate).spki)
	if err != nil {
		t.Fatal(err)
	}

	checked := false
	got, leaf, err := handshake(addr, &tls.Config{
		InsecureSkipVerify: true, // replaced by VerifyPeerCertificate below
		MinVersion:         tls.VersionTLS12,
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			c, err := parseCert(raw[0])
			if err != nil {
				return err
			}
			if !certs.VerifyDER(ciPub, c.tbs, c.signature) {
				return errors.New("leaf not signed by the brainpool CI")
			}
			checked = true
			return nil
		},
	})
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	if got != "ok" || !bytes.Equal(leaf, p.DPtls.Certificate) || !checked {
		t.Errorf("got %q, leaf is dptls.crt %t, CI signature checked %t", got, bytes.Equal(leaf, p.DPtls.Certificate), checked)
	}

	// A client using Go's verification cannot get past the brainpool CI.
	if _, _, err := handshake(addr, &tls.Config{ServerName: "localhost", RootCAs: x509.NewCertPool()}); err == nil {
		t.Error("handshake verified without trusting the CI")
	}
}
