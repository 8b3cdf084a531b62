package loadgen

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

func TestCheckLoopback(t *testing.T) {
	tests := []struct {
		addr string
		ok   bool
	}{
		{"127.0.0.1:8443", true},
		{"127.1.2.3:1", true},
		{"localhost:8443", true},
		{"LocalHost:8443", true},
		{"[::1]:8443", true},
		{"[::ffff:127.0.0.1]:8443", true},
		{"10.0.0.1:8443", false},
		{"192.168.1.1:443", false},
		{"172.16.0.1:443", false},
		{"8.8.8.8:443", false},
		{"0.0.0.0:8443", false},
		{"[::]:8443", false},
		{"[fe80::1%lo]:8443", false},
		{"example.com:443", false},
		{"localhost.example.com:443", false},
		{"127.0.0.1.nip.io:443", false},
		{"127.0.0.1", false},      // no port
		{"127.0.0.1:", false},     // empty port
		{"localhost", false},      // no port
		{"", false},               // nothing
		{"[::1]", false},          // no port
		{"128.0.0.1:8443", false}, // just outside 127/8
	}
	for _, tc := range tests {
		t.Run(tc.addr, func(t *testing.T) {
			err := CheckLoopback(tc.addr)
			if (err == nil) != tc.ok {
				t.Errorf("CheckLoopback(%q) = %v, want ok=%v", tc.addr, err, tc.ok)
			}
		})
	}
	if err := CheckLoopback("10.1.1.1:1"); !errors.Is(err, ErrNotLoopback) {
		t.Errorf("error %v does not wrap ErrNotLoopback", err)
	}
}

// TestRotator checks that successive requests of one download go to successive targets,
// whatever host the URL names, and that the rotator itself refuses a non-loopback target.
func TestRotator(t *testing.T) {
	var got []string
	mk := func(name string) *httptest.Server {
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got = append(got, name)
		}))
	}
	a, b := mk("A"), mk("B")
	defer a.Close()
	defer b.Close()
	hostOf := func(s *httptest.Server) string { return strings.TrimPrefix(s.URL, "http://") }
	targets := []string{hostOf(a), hostOf(b)}
	r := &rotator{base: http.DefaultTransport, targets: targets, perTarget: make([]atomic.Int64, 2)}
	r.next.Store(1)
	c := r.client()
	for range 3 {
		resp, err := c.Get("http://smdp.example.com:8443/x")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if strings.Join(got, "") != "BAB" {
		t.Errorf("requests went to %q, want BAB", got)
	}
	if r.replicas() != 2 {
		t.Errorf("replicas %d, want 2", r.replicas())
	}
	if r.perTarget[0].Load() != 1 || r.perTarget[1].Load() != 2 {
		t.Errorf("per target %d %d, want 1 2", r.perTarget[0].Load(), r.perTarget[1].Load())
	}

	bad := &rotator{base: http.DefaultTransport, targets: []string{"192.0.2.1:443"}}
	if _, err := bad.client().Get("http://127.0.0.1:1/"); !errors.Is(err, ErrNotLoopback) {
		t.Errorf("non-loopback target: error %v, want ErrNotLoopback", err)
	}
}
