package limits

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"time"
)

// RateLimiter allows each client key a sustained rate of events with bursts: a token bucket per
// key that holds at most burst tokens, refills at rate tokens per second, and starts full.
// It is safe for concurrent use.
type RateLimiter struct {
	rate  float64 // tokens per second
	burst float64
	clock clock
	keys  *table[bucket]
}

// bucket is one key's token bucket as of last.
type bucket struct {
	tokens float64
	last   time.Duration // clock offset of the last update
}

// NewRateLimiter returns a limiter allowing each key rate events per second on average and burst
// events at once. rate must be positive and finite, burst at least 1.
func NewRateLimiter(rate float64, burst int, opts ...Option) (*RateLimiter, error) {
	if !(rate > 0) || math.IsInf(rate, 1) {
		return nil, fmt.Errorf("limits: rate %v is not a positive number", rate)
	}
	if burst < 1 {
		return nil, fmt.Errorf("limits: burst %d is less than 1", burst)
	}
	o, err := buildOptions(opts)
	if err != nil {
		return nil, err
	}
	return &RateLimiter{rate: rate, burst: float64(burst), clock: newClock(o.now), keys: newTable[bucket](o, nil)}, nil
}

// Allow takes one token from key's bucket and reports whether there was one.
func (l *RateLimiter) Allow(key string) bool {
	ok, _ := l.Take(key)
	return ok
}

// Take takes one token from key's bucket. When the bucket is empty it takes nothing, and
// retryAfter is how long until a token is available.
func (l *RateLimiter) Take(key string) (ok bool, retryAfter time.Duration) {
	now := l.clock.since()
	l.keys.update(key, true, func() bucket { return bucket{tokens: l.burst, last: now} }, func(b *bucket) bool {
		b.tokens = min(l.burst, b.tokens+(now-b.last).Seconds()*l.rate)
		b.last = now
		if b.tokens >= 1 {
			b.tokens--
			ok = true
			return true
		}
		// Rounded to the nanosecond: a token is whole again then, up to float rounding.
		retryAfter = max(time.Duration(math.Round((1-b.tokens)/l.rate*float64(time.Second))), 1)
		return true
	})
	return ok, retryAfter
}

// Len returns the number of keys the limiter holds state for.
func (l *RateLimiter) Len() int { return l.keys.len() }

// Middleware limits requests by the key keyFunc gives each request (see RemoteIP and
// ClientCertOrIP; an empty key is one key shared by all requests that have it). A request over
// the limit is not passed on: the response gets a Retry-After header in whole seconds and HTTP
// status 429 Too Many Requests, with the body onLimit writes (nil: a plain-text one). The status
// is 429 whatever onLimit asks for. The result plugs into chi's Router.Use.
func (l *RateLimiter) Middleware(keyFunc func(*http.Request) string, onLimit http.Handler) func(http.Handler) http.Handler {
	if onLimit == nil {
		onLimit = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, http.StatusText(http.StatusTooManyRequests), http.StatusTooManyRequests)
		})
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ok, wait := l.Take(keyFunc(r))
			if ok {
				next.ServeHTTP(w, r)
				return
			}
			w.Header().Set("Retry-After", strconv.FormatInt(retryAfterSeconds(wait), 10))
			onLimit.ServeHTTP(&tooMany{ResponseWriter: w}, r)
		})
	}
}

// retryAfterSeconds rounds a wait up to whole seconds, at least 1 (RFC 9110 §10.2.3).
func retryAfterSeconds(d time.Duration) int64 {
	s := int64((d + time.Second - 1) / time.Second)
	return max(s, 1)
}

// tooMany makes every response status 429.
type tooMany struct {
	http.ResponseWriter
	wrote bool
}

func (w *tooMany) WriteHeader(int) {
	if !w.wrote {
		w.wrote = true
		w.ResponseWriter.WriteHeader(http.StatusTooManyRequests)
	}
}

func (w *tooMany) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusTooManyRequests)
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *tooMany) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// RemoteIP keys a request by its peer's IP address, "ip:" ‖ address: an IPv4 address (also when
// mapped into IPv6) as is, an IPv6 address by its /64 prefix, since one subscriber usually holds
// a whole /64. A RemoteAddr that is not ip:port is used as it is, "addr:" ‖ RemoteAddr.
//
// Behind a load balancer or proxy the peer is the proxy: give the middleware a key function that
// reads the client address the proxy vouches for instead (never a header the client can set).
func RemoteIP(r *http.Request) string {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return "addr:" + r.RemoteAddr
	}
	ip := ap.Addr().Unmap().WithZone("")
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return "ip:" + p.String()
	}
	return "ip:" + ip.String()
}

// ClientCertOrIP keys a request by the SHA-256 fingerprint of its TLS client certificate,
// "cert:" ‖ hex, or by RemoteIP when it presented none (an LPA presents none; an operator on
// ES2+ may).
func ClientCertOrIP(r *http.Request) string {
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		sum := sha256.Sum256(r.TLS.PeerCertificates[0].Raw)
		return "cert:" + hex.EncodeToString(sum[:])
	}
	return RemoteIP(r)
}
