package limits

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
)

func TestNewRateLimiterRejects(t *testing.T) {
	tests := []struct {
		name  string
		rate  float64
		burst int
		opts  []Option
	}{
		{"zero rate", 0, 1, nil},
		{"negative rate", -1, 1, nil},
		{"NaN rate", math.NaN(), 1, nil},
		{"infinite rate", math.Inf(1), 1, nil},
		{"zero burst", 1, 0, nil},
		{"negative burst", 1, -3, nil},
		{"zero max keys", 1, 1, []Option{WithMaxKeys(0)}},
		{"negative max keys", 1, 1, []Option{WithMaxKeys(-1)}},
		{"nil clock", 1, 1, []Option{WithClock(nil)}},
		{"more shards than keys", 1, 1, []Option{WithMaxKeys(2), withShards(4)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if l, err := NewRateLimiter(tt.rate, tt.burst, tt.opts...); err == nil {
				t.Fatalf("NewRateLimiter(%v, %d) = %v, want an error", tt.rate, tt.burst, l)
			}
		})
	}
}

// rlStep is one action on a limiter: move the clock, then take a token for key.
type rlStep struct {
	advance   time.Duration
	key       string
	want      bool
	wantRetry time.Duration // checked when want is false
}

func TestRateLimiterTake(t *testing.T) {
	tests := []struct {
		name  string
		rate  float64
		burst int
		steps []rlStep
	}{
		{"burst then refused", 1, 3, []rlStep{
			{0, "a", true, 0}, {0, "a", true, 0}, {0, "a", true, 0}, {0, "a", false, time.Second},
		}},
		{"refills at the rate", 2, 1, []rlStep{
			{0, "a", true, 0}, {0, "a", false, 500 * time.Millisecond},
			{499 * time.Millisecond, "a", false, time.Millisecond}, {time.Millisecond, "a", true, 0},
		}},
		{"refill capped at burst", 10, 2, []rlStep{
			{0, "a", true, 0}, {0, "a", true, 0}, {time.Hour, "a", true, 0}, {0, "a", true, 0},
			{0, "a", false, 100 * time.Millisecond},
		}},
		{"keys are independent", 1, 1, []rlStep{
			{0, "a", true, 0}, {0, "a", false, time.Second}, {0, "b", true, 0}, {0, "", true, 0}, {0, "", false, time.Second},
		}},
		{"slow rate", 1.0 / 60, 1, []rlStep{
			{0, "a", true, 0}, {30 * time.Second, "a", false, 30 * time.Second}, {30 * time.Second, "a", true, 0},
		}},
		{"refused takes nothing", 1, 1, []rlStep{
			{0, "a", true, 0}, {500 * time.Millisecond, "a", false, 500 * time.Millisecond},
			{0, "a", false, 500 * time.Millisecond}, {500 * time.Millisecond, "a", true, 0},
		}},
		{"clock running backwards adds nothing", 1, 1, []rlStep{
			{0, "a", true, 0}, {-time.Hour, "a", false, time.Second}, {time.Hour, "a", false, time.Second},
			{time.Second, "a", true, 0},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newFakeClock()
			l, err := NewRateLimiter(tt.rate, tt.burst, WithClock(clk.now))
			if err != nil {
				t.Fatal(err)
			}
			for i, s := range tt.steps {
				clk.advance(s.advance)
				got, retry := l.Take(s.key)
				if got != s.want {
					t.Fatalf("step %d: Take(%q) = %v, want %v", i, s.key, got, s.want)
				}
				if !got && retry != s.wantRetry {
					t.Errorf("step %d: retryAfter %v, want %v", i, retry, s.wantRetry)
				}
				if got && retry != 0 {
					t.Errorf("step %d: retryAfter %v with a token taken", i, retry)
				}
			}
		})
	}
}

func TestRateLimiterAllow(t *testing.T) {
	clk := newFakeClock()
	l, err := NewRateLimiter(1, 2, WithClock(clk.now))
	if err != nil {
		t.Fatal(err)
	}
	got := []bool{l.Allow("k"), l.Allow("k"), l.Allow("k")}
	if !got[0] || !got[1] || got[2] {
		t.Fatalf("Allow ×3 = %v, want [true true false]", got)
	}
}

func TestRateLimiterEvictsLeastRecentlyUsed(t *testing.T) {
	clk := newFakeClock()
	l, err := NewRateLimiter(1, 1, WithClock(clk.now), WithMaxKeys(2), withShards(1))
	if err != nil {
		t.Fatal(err)
	}
	l.Allow("a")
	l.Allow("b")
	l.Allow("a") // refused, but a is now the most recently used
	l.Allow("c") // evicts b
	if n := l.Len(); n != 2 {
		t.Fatalf("Len = %d, want 2", n)
	}
	if l.Allow("a") {
		t.Error("a was evicted: it got a fresh bucket")
	}
	if !l.Allow("b") {
		t.Error("b was kept: its bucket is still empty")
	}
}

func TestRateLimiterMemoryBound(t *testing.T) {
	if testing.Short() {
		t.Skip("fills 300k keys")
	}
	const keys = 300_000
	var l *RateLimiter
	grew := heapGrowth(t, func() any {
		var err error
		if l, err = NewRateLimiter(1, 5); err != nil {
			t.Fatal(err)
		}
		for i := range keys {
			l.Allow("ip:10." + strconv.Itoa(i))
		}
		return l
	})
	if n := l.Len(); n > DefaultMaxKeys || n < DefaultMaxKeys*9/10 {
		t.Errorf("Len = %d after %d keys, want at most %d and close to it", n, keys, DefaultMaxKeys)
	}
	const bound = 32 << 20
	t.Logf("%d keys held in %.1f MB", l.Len(), float64(grew)/(1<<20))
	if grew > bound {
		t.Errorf("heap grew by %d bytes, want at most %d", grew, bound)
	}
}

func TestRateLimiterConcurrent(t *testing.T) {
	clk := newFakeClock() // frozen: no refill, so exactly burst tokens exist per key
	const burst, workers, per = 50, 16, 40
	l, err := NewRateLimiter(1, burst, WithClock(clk.now), WithMaxKeys(1000))
	if err != nil {
		t.Fatal(err)
	}
	var shared atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				if l.Allow("shared") {
					shared.Add(1)
				}
				l.Allow(fmt.Sprintf("own-%d-%d", w, i%10))
			}
		}()
	}
	wg.Wait()
	if got := shared.Load(); got != burst {
		t.Errorf("%d requests on one key allowed, want exactly the burst %d", got, burst)
	}
	if n := l.Len(); n != 1+workers*10 {
		t.Errorf("Len = %d, want %d", n, 1+workers*10)
	}
}

func TestMiddleware(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	custom := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK) // overridden: the middleware always answers 429
		w.Write([]byte(`{"error":"slow down"}`))
	})
	tests := []struct {
		name      string
		onLimit   http.Handler
		wantBody  string
		wantRetry string
	}{
		{"default answer", nil, "Too Many Requests\n", "4"},
		{"custom body keeps 429", custom, `{"error":"slow down"}`, "4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := NewRateLimiter(0.25, 1, WithClock(newFakeClock().now))
			if err != nil {
				t.Fatal(err)
			}
			r := chi.NewRouter()
			r.Use(l.Middleware(RemoteIP, tt.onLimit))
			r.Get("/", ok)
			srv := httptest.NewServer(r)
			defer srv.Close()
			get := func(remote string) *httptest.ResponseRecorder {
				req := httptest.NewRequest(http.MethodGet, "/", nil)
				req.RemoteAddr = remote
				rec := httptest.NewRecorder()
				r.ServeHTTP(rec, req)
				return rec
			}
			const remote = "192.0.2.1:1234"
			if rec := get(remote); rec.Code != http.StatusNoContent {
				t.Fatalf("first request: %d, want 204", rec.Code)
			}
			rec := get(remote)
			if rec.Code != http.StatusTooManyRequests {
				t.Fatalf("second request: %d, want 429", rec.Code)
			}
			if got := rec.Header().Get("Retry-After"); got != tt.wantRetry {
				t.Errorf("Retry-After %q, want %q", got, tt.wantRetry)
			}
			if got := rec.Body.String(); got != tt.wantBody {
				t.Errorf("body %q, want %q", got, tt.wantBody)
			}
			if rec := get("198.51.100.7:80"); rec.Code != http.StatusNoContent {
				t.Errorf("another client: %d, want 204", rec.Code)
			}
			// Through a real server too: the middleware sits in an ordinary net/http stack.
			resp, err := http.Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusNoContent {
				t.Errorf("over HTTP: %d, want 204", resp.StatusCode)
			}
		})
	}
}

func TestRetryAfterSeconds(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want int64
	}{
		{0, 1}, {time.Nanosecond, 1}, {time.Second, 1}, {time.Second + 1, 2}, {90 * time.Second, 90}, {-time.Second, 1},
	}
	for _, tt := range tests {
		if got := retryAfterSeconds(tt.in); got != tt.want {
			t.Errorf("retryAfterSeconds(%v) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestRemoteIP(t *testing.T) {
	tests := []struct {
		name, remote, want string
	}{
		{"IPv4", "192.0.2.1:443", "ip:192.0.2.1"},
		{"IPv4-mapped IPv6", "[::ffff:192.0.2.1]:443", "ip:192.0.2.1"},
		{"IPv6 by /64", "[2001:db8:1:2:3:4:5:6]:443", "ip:2001:db8:1:2::/64"},
		{"same /64", "[2001:db8:1:2::ffff]:1", "ip:2001:db8:1:2::/64"},
		{"IPv6 with zone", "[fe80::1%eth0]:443", "ip:fe80::/64"},
		{"loopback", "127.0.0.1:0", "ip:127.0.0.1"},
		{"no port", "192.0.2.1", "addr:192.0.2.1"},
		{"empty", "", "addr:"},
		{"garbage", "not an address", "addr:not an address"},
		{"unix socket", "@", "addr:@"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tt.remote
			if got := RemoteIP(r); got != tt.want {
				t.Errorf("RemoteIP(%q) = %q, want %q", tt.remote, got, tt.want)
			}
		})
	}
}

func TestClientCertOrIP(t *testing.T) {
	cert := &x509.Certificate{Raw: []byte("a certificate")}
	sum := sha256.Sum256(cert.Raw)
	tests := []struct {
		name string
		tls  *tls.ConnectionState
		want string
	}{
		{"no TLS", nil, "ip:192.0.2.9"},
		{"TLS without client certificate", &tls.ConnectionState{}, "ip:192.0.2.9"},
		{"client certificate", &tls.ConnectionState{PeerCertificates: []*x509.Certificate{cert}},
			"cert:" + hex.EncodeToString(sum[:])},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = "192.0.2.9:5000"
			r.TLS = tt.tls
			if got := ClientCertOrIP(r); got != tt.want {
				t.Errorf("ClientCertOrIP = %q, want %q", got, tt.want)
			}
		})
	}
}

// FuzzRemoteIP: any RemoteAddr gives a key, "ip:" or "addr:" prefixed, without panicking.
func FuzzRemoteIP(f *testing.F) {
	for _, s := range []string{"192.0.2.1:443", "[2001:db8::1]:1", "[fe80::1%eth0]:443", "", "@", "[::ffff:1.2.3.4]:5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, remote string) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = remote
		k := RemoteIP(r)
		if !strings.HasPrefix(k, "ip:") && k != "addr:"+remote {
			t.Fatalf("RemoteIP(%q) = %q", remote, k)
		}
	})
}
