package loadgen

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"
)

// ErrNotLoopback is returned (wrapped) by CheckLoopback for an address outside this machine.
var ErrNotLoopback = errors.New("not a loopback address (only 127.0.0.0/8, ::1 and localhost may be targets)")

// CheckLoopback accepts host:port where host is "localhost" or an IP address in 127.0.0.0/8 or
// ::1 (also written [::1]:port), the only places a load test may send traffic. Names other
// than localhost are refused even if they resolve to a loopback address, since what they
// resolve to can change between the check and the connection.
func CheckLoopback(hostport string) error {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return fmt.Errorf("target %q: %w", hostport, err)
	}
	if port == "" {
		return fmt.Errorf("target %q: no port", hostport)
	}
	if strings.EqualFold(host, "localhost") {
		return nil
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || ip.Zone() != "" || !ip.Unmap().IsLoopback() {
		return fmt.Errorf("target %q: %w", hostport, ErrNotLoopback)
	}
	return nil
}

// Protocol is the HTTP version the load generator speaks.
type Protocol string

// The protocols: HTTP/2 (one multiplexed connection per target) and HTTP/1.1 (one keep-alive
// connection per concurrent request).
const (
	HTTP2  Protocol = "h2"
	HTTP11 Protocol = "http/1.1"
)

// newTransport returns the shared keep-alive transport: TLS 1.2 at least with roots as the only
// trust anchors, and the protocol fixed by ALPN so a run measures what it says.
func newTransport(roots *tls.Config, proto Protocol, conns int) *http.Transport {
	tc := roots.Clone()
	if tc.MinVersion < tls.VersionTLS12 {
		tc.MinVersion = tls.VersionTLS12
	}
	t := &http.Transport{
		TLSClientConfig:     tc,
		TLSHandshakeTimeout: 10 * time.Second,
		MaxIdleConns:        conns + 16,
		MaxIdleConnsPerHost: conns + 16,
		IdleConnTimeout:     90 * time.Second,
		// Proxies from the environment are ignored on purpose: the traffic stays on loopback.
		Proxy: nil,
	}
	switch proto {
	case HTTP11:
		tc.NextProtos = []string{"http/1.1"}
		t.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{} // never h2
	default:
		tc.NextProtos = []string{"h2", "http/1.1"}
		t.ForceAttemptHTTP2 = true
	}
	return t
}

// rotator sends each request to the next target in turn, whatever host the URL names: the
// activation code carries the SM-DP+ address the server checks (smdpAddress), while the
// connection goes to one of the replicas behind it. One download uses its own rotator, so its
// successive ES9+ calls alternate between replicas (initiateAuthentication on A,
// authenticateClient on B, …).
type rotator struct {
	base    http.RoundTripper
	targets []string
	next    atomic.Uint64
	// used records which targets served this rotator's requests, as a bit set.
	used atomic.Uint64
	// perTarget counts requests sent to each target, shared by every rotator of a run.
	perTarget []atomic.Int64
}

func (r *rotator) RoundTrip(req *http.Request) (*http.Response, error) {
	i := int((r.next.Add(1) - 1) % uint64(len(r.targets)))
	target := r.targets[i]
	// Check again at the last moment: nothing may leave this machine whatever the URL says.
	if err := CheckLoopback(target); err != nil {
		return nil, err
	}
	out := req.Clone(req.Context())
	out.URL.Host = target
	out.Host = target
	if i < 64 {
		r.used.Or(1 << i)
	}
	if r.perTarget != nil {
		r.perTarget[i].Add(1)
	}
	return r.base.RoundTrip(out)
}

// replicas reports how many distinct targets served this rotator.
func (r *rotator) replicas() int {
	n := 0
	for u := r.used.Load(); u != 0; u &= u - 1 {
		n++
	}
	return n
}

// client returns an HTTP client over the rotator that follows no redirect (an ES9+ redirect is
// a transport error, as for the LPA).
func (r *rotator) client() *http.Client {
	return &http.Client{
		Transport:     r,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
