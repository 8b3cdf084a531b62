package session

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/smdpp/smdpp/internal/testenv"
)

// harness is one backend under test, with the clock its deadlines are measured by.
type harness struct {
	store Store
	now   func() time.Time
	// pass lets d go by on the store's clock: the memory store's clock is moved, Redis's is
	// waited for.
	pass func(d time.Duration)
	// shortTTL is a lifetime the expiry tests can afford to wait out.
	shortTTL time.Duration
	// redis is the client and prefix of a Redis backend (nil for memory).
	redis  *redis.Client
	prefix string
}

type backend struct {
	name string
	open func(t testing.TB) *harness
}

// backends is every Store implementation: each suite test runs on all of them.
var backends = []backend{
	{"memory", openMemory},
	{"redis", openRedis},
}

func openMemory(t testing.TB) *harness {
	clk := newFakeClock()
	m := NewMemory(WithClock(clk.Now))
	t.Cleanup(func() { m.Close() })
	return &harness{store: m, now: clk.Now, pass: clk.Add, shortTTL: 10 * time.Minute}
}

// openRedis connects to the test Redis server with a key prefix of the test's own, and removes
// the test's keys when it ends.
func openRedis(t testing.TB) *harness {
	url := testenv.RedisURL(t)
	c, err := OpenRedis(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	prefix := "smdpp:test:" + randHex(t, 8) + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		var keys []string
		it := c.Scan(ctx, 0, scanPattern(prefix), 1000).Iterator()
		for it.Next(ctx) {
			if keys = append(keys, it.Val()); len(keys) == 1000 {
				c.Del(ctx, keys...)
				keys = keys[:0]
			}
		}
		if len(keys) > 0 {
			c.Del(ctx, keys...)
		}
		if err := it.Err(); err != nil {
			t.Errorf("cleaning up %s*: %v", prefix, err)
		}
		c.Close()
	})
	return &harness{
		store:    NewRedis(c, WithKeyPrefix(prefix)),
		now:      time.Now,
		pass:     time.Sleep,
		shortTTL: 250 * time.Millisecond,
		redis:    c,
		prefix:   prefix,
	}
}

// forEachBackend runs f as a parallel subtest on every backend.
func forEachBackend(t *testing.T, f func(t *testing.T, h *harness)) {
	t.Helper()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			f(t, b.open(t))
		})
	}
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func randBytes(t testing.TB, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func randHex(t testing.TB, n int) string { return hex.EncodeToString(randBytes(t, n)) }

// newSession is a session as InitiateAuthentication creates it.
func newSession(t testing.TB, h *harness) *Session {
	now := h.now()
	return &Session{
		TransactionID:   randBytes(t, 16),
		Step:            StepInitiated,
		EuiccChallenge:  randBytes(t, 16),
		ServerChallenge: randBytes(t, 16),
		ServerAddress:   "smdp.example.com",
		CIPKID:          randBytes(t, 20),
		Deadline:        now.Add(time.Hour),
		CreatedAt:       now,
	}
}

// fullSession has every field set, with realistic sizes.
func fullSession(t testing.TB, h *harness) *Session {
	s := newSession(t, h)
	s.Step = StepBPPSent
	s.EID = "89049032123451234512345678901235"
	s.ICCID = "8944476500001224158"
	s.MatchingID = "QR-G-5C-KR-1PJCSNP"
	s.OperatorID = "operator-1"
	s.EUICCCertificate = randBytes(t, 560)
	s.EUMCertificate = randBytes(t, 620)
	s.EuiccOtpk = append([]byte{0x04}, randBytes(t, 64)...)
	s.SmdpOtpk = append([]byte{0x04}, randBytes(t, 64)...)
	s.SmdpOtsk = randBytes(t, 32)
	s.SmdpSignature2 = randBytes(t, 64)
	s.ProfileMetadata = randBytes(t, 120)
	s.CCRequired = true
	return s
}

// sameSession reports how got differs from want, or "" (times compared with Equal).
func sameSession(got, want *Session) string {
	if got == nil || want == nil {
		if got != want {
			return fmt.Sprintf("got %v, want %v", got, want)
		}
		return ""
	}
	var diffs []string
	if !got.Deadline.Equal(want.Deadline) {
		diffs = append(diffs, fmt.Sprintf("Deadline %v, want %v", got.Deadline, want.Deadline))
	}
	if !got.CreatedAt.Equal(want.CreatedAt) {
		diffs = append(diffs, fmt.Sprintf("CreatedAt %v, want %v", got.CreatedAt, want.CreatedAt))
	}
	g, w := reflect.ValueOf(*got), reflect.ValueOf(*want)
	for i := range g.NumField() {
		name := g.Type().Field(i).Name
		if name == "Deadline" || name == "CreatedAt" {
			continue
		}
		gf, wf := g.Field(i).Interface(), w.Field(i).Interface()
		if gb, ok := gf.([]byte); ok && len(gb) == 0 && len(wf.([]byte)) == 0 {
			continue // nil and empty are the same
		}
		if !reflect.DeepEqual(gf, wf) {
			diffs = append(diffs, fmt.Sprintf("%s = %v, want %v", name, gf, wf))
		}
	}
	return strings.Join(diffs, "; ")
}

// mustGet returns the stored session, failing the test if there is none.
func mustGet(t testing.TB, st Store, id []byte) *Session {
	t.Helper()
	s, err := st.Get(context.Background(), id)
	if err != nil {
		t.Fatalf("Get(%X): %v", id, err)
	}
	return s
}

func mustCreate(t testing.TB, st Store, s *Session) {
	t.Helper()
	if err := st.Create(context.Background(), s); err != nil {
		t.Fatalf("Create(%v): %v", s, err)
	}
}

func wantCount(t testing.TB, st Store, want int) {
	t.Helper()
	n, err := st.Count(context.Background())
	if err != nil {
		t.Fatalf("Count: %v", err)
	}
	if n != want {
		t.Errorf("Count = %d, want %d", n, want)
	}
}

func TestCreateGetRoundTrip(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		full := fullSession(t, h)
		// Every field set, so a field added to Session without a place in the encoding fails here.
		v := reflect.ValueOf(*full)
		for i := range v.NumField() {
			if v.Field(i).IsZero() {
				t.Fatalf("fullSession leaves %s zero", v.Type().Field(i).Name)
			}
		}
		minimal := &Session{TransactionID: []byte{0x42}, Step: StepInitiated, Deadline: h.now().Add(time.Minute)}
		for _, tc := range []struct {
			name string
			s    *Session
		}{
			{"every field", full},
			{"minimal", minimal},
		} {
			t.Run(tc.name, func(t *testing.T) {
				want := tc.s.Clone()
				mustCreate(t, h.store, tc.s)
				// The store keeps no reference to what it was given.
				tc.s.EID = "changed after Create"
				tc.s.TransactionID[0] ^= 0xFF
				if len(tc.s.EuiccChallenge) > 0 {
					tc.s.EuiccChallenge[0] ^= 0xFF
				}
				got := mustGet(t, h.store, want.TransactionID)
				if d := sameSession(got, want); d != "" {
					t.Fatalf("Get after Create: %s", d)
				}
				got.MatchingID = "changed after Get"
				got.TransactionID[0] ^= 0xFF
				if d := sameSession(mustGet(t, h.store, want.TransactionID), want); d != "" {
					t.Errorf("changing a returned session changed the store: %s", d)
				}
			})
		}
		if _, err := h.store.Get(ctx, randBytes(t, 16)); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get(unknown) = %v, want ErrNotFound", err)
		}
	})
}

func TestGetNotFound(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		for _, tc := range []struct {
			name string
			id   []byte
		}{
			{"unknown", randBytes(t, 16)},
			{"nil", nil},
			{"empty", []byte{}},
			{"17 bytes", randBytes(t, 17)},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if s, err := h.store.Get(context.Background(), tc.id); !errors.Is(err, ErrNotFound) || s != nil {
					t.Errorf("Get = %v, %v; want nil, ErrNotFound", s, err)
				}
			})
		}
	})
}

func TestCreateDuplicate(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		first := newSession(t, h)
		mustCreate(t, h.store, first)
		second := fullSession(t, h)
		second.TransactionID = first.TransactionID
		if err := h.store.Create(context.Background(), second); !errors.Is(err, ErrExists) {
			t.Fatalf("second Create = %v, want ErrExists", err)
		}
		if d := sameSession(mustGet(t, h.store, first.TransactionID), first); d != "" {
			t.Errorf("a refused Create changed the stored session: %s", d)
		}
		wantCount(t, h.store, 1)
	})
}

func TestCreateInvalid(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		for _, tc := range []struct {
			name   string
			mutate func(*Session)
		}{
			{"nil transactionId", func(s *Session) { s.TransactionID = nil }},
			{"17-byte transactionId", func(s *Session) { s.TransactionID = make([]byte, 17) }},
			{"zero step", func(s *Session) { s.Step = 0 }},
			{"unknown step", func(s *Session) { s.Step = stepLimit }},
			{"no deadline", func(s *Session) { s.Deadline = time.Time{} }},
			{"deadline now", func(s *Session) { s.Deadline = h.now() }},
			{"deadline passed", func(s *Session) { s.Deadline = h.now().Add(-time.Second) }},
		} {
			t.Run(tc.name, func(t *testing.T) {
				s := newSession(t, h)
				tc.mutate(s)
				err := h.store.Create(context.Background(), s)
				if err == nil || errors.Is(err, ErrExists) {
					t.Fatalf("Create = %v, want a validation error", err)
				}
				t.Log(err)
			})
		}
		if err := h.store.Create(context.Background(), nil); err == nil {
			t.Error("Create(nil) succeeded")
		}
		wantCount(t, h.store, 0)
	})
}

func TestAdvance(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		s := newSession(t, h)
		mustCreate(t, h.store, s)
		cert := randBytes(t, 500)
		got, err := h.store.Advance(ctx, s.TransactionID, StepInitiated, StepAuthenticated, func(s *Session) error {
			if s.Step != StepAuthenticated {
				t.Errorf("update sees step %s, want authenticated", s.Step)
			}
			s.EID = "89049032123451234512345678901235"
			s.EUICCCertificate = cert
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		want := s.Clone()
		want.Step, want.EID, want.EUICCCertificate = StepAuthenticated, "89049032123451234512345678901235", cert
		if d := sameSession(got, want); d != "" {
			t.Errorf("Advance returned: %s", d)
		}
		if d := sameSession(mustGet(t, h.store, s.TransactionID), want); d != "" {
			t.Errorf("stored after Advance: %s", d)
		}
		// A nil update only moves the step.
		if _, err := h.store.Advance(ctx, s.TransactionID, StepAuthenticated, StepBPPSent, nil); err != nil {
			t.Fatal(err)
		}
		want.Step = StepBPPSent
		if d := sameSession(mustGet(t, h.store, s.TransactionID), want); d != "" {
			t.Errorf("stored after Advance with nil update: %s", d)
		}
	})
}

// TestAdvanceRefused covers every way Advance fails: each leaves the stored session as it was.
func TestAdvanceRefused(t *testing.T) {
	errUpdate := errors.New("update refuses")
	forEachBackend(t, func(t *testing.T, h *harness) {
		for _, tc := range []struct {
			name     string
			from, to Step
			update   func(*Session) error
			want     error // nil: any error
		}{
			{"wrong step", StepAuthenticated, StepBPPSent, nil, ErrStepMismatch},
			{"later step", StepBPPSent, StepDone, nil, ErrStepMismatch},
			{"update error", StepInitiated, StepAuthenticated, func(*Session) error { return errUpdate }, errUpdate},
			{"update changes step", StepInitiated, StepAuthenticated, func(s *Session) error { s.Step = StepDone; return nil }, nil},
			{"update changes transactionId", StepInitiated, StepAuthenticated, func(s *Session) error { s.TransactionID[0] ^= 1; return nil }, nil},
			{"update removes deadline", StepInitiated, StepAuthenticated, func(s *Session) error { s.Deadline = time.Time{}; return nil }, nil},
			{"invalid from", 0, StepAuthenticated, nil, nil},
			{"invalid to", StepInitiated, stepLimit, nil, nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				s := fullSession(t, h)
				s.Step = StepInitiated
				mustCreate(t, h.store, s)
				calls := 0
				update := tc.update
				if update == nil {
					update = func(*Session) error { calls++; return nil }
				}
				got, err := h.store.Advance(context.Background(), s.TransactionID, tc.from, tc.to, update)
				if err == nil || got != nil {
					t.Fatalf("Advance = %v, %v; want an error", got, err)
				}
				if tc.want != nil && !errors.Is(err, tc.want) {
					t.Fatalf("Advance error %v, want %v", err, tc.want)
				}
				if tc.want == ErrStepMismatch && calls != 0 {
					t.Errorf("update ran %d times on a step mismatch", calls)
				}
				if d := sameSession(mustGet(t, h.store, s.TransactionID), s); d != "" {
					t.Errorf("a failed Advance changed the stored session: %s", d)
				}
			})
		}
		t.Run("not found", func(t *testing.T) {
			_, err := h.store.Advance(context.Background(), randBytes(t, 16), StepInitiated, StepAuthenticated, nil)
			if !errors.Is(err, ErrNotFound) {
				t.Errorf("Advance(unknown) = %v, want ErrNotFound", err)
			}
		})
	})
}

// TestAdvanceConcurrent races 20 Advance calls from the same step: exactly one may win, and the
// stored session is the winner's.
func TestAdvanceConcurrent(t *testing.T) {
	const n = 20
	forEachBackend(t, func(t *testing.T, h *harness) {
		s := newSession(t, h)
		mustCreate(t, h.store, s)
		var (
			wg     sync.WaitGroup
			start  = make(chan struct{})
			errs   [n]error
			winner = -1
		)
		for i := range n {
			wg.Go(func() {
				<-start
				_, errs[i] = h.store.Advance(context.Background(), s.TransactionID, StepInitiated, StepAuthenticated, func(s *Session) error {
					s.EID = fmt.Sprint(i)
					time.Sleep(time.Millisecond) // let the others read the session meanwhile
					return nil
				})
			})
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			switch {
			case err == nil && winner >= 0:
				t.Fatalf("calls %d and %d both won", winner, i)
			case err == nil:
				winner = i
			case !errors.Is(err, ErrStepMismatch):
				t.Errorf("call %d: %v, want ErrStepMismatch", i, err)
			}
		}
		if winner < 0 {
			t.Fatal("no call won")
		}
		got := mustGet(t, h.store, s.TransactionID)
		if got.Step != StepAuthenticated || got.EID != fmt.Sprint(winner) {
			t.Errorf("stored step %s, EID %q; want authenticated, %q (the winner's)", got.Step, got.EID, fmt.Sprint(winner))
		}
	})
}

// TestAdvanceSameStep runs 20 concurrent Advance calls that keep the step and each append to a
// field: all succeed and no update is lost.
func TestAdvanceSameStep(t *testing.T) {
	const n = 20
	forEachBackend(t, func(t *testing.T, h *harness) {
		s := newSession(t, h)
		mustCreate(t, h.store, s)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				_, err := h.store.Advance(context.Background(), s.TransactionID, StepInitiated, StepInitiated, func(s *Session) error {
					s.OperatorID += string(rune('a' + i))
					time.Sleep(time.Millisecond) // let the others read the session meanwhile
					return nil
				})
				if err != nil {
					t.Errorf("call %d: %v", i, err)
				}
			})
		}
		wg.Wait()
		got := mustGet(t, h.store, s.TransactionID).OperatorID
		for i := range n {
			if c := strings.Count(got, string(rune('a'+i))); c != 1 {
				t.Errorf("OperatorID %q holds update %d %d times, want once", got, i, c)
			}
		}
	})
}

func TestExpiry(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		short, long := newSession(t, h), newSession(t, h)
		short.Deadline = h.now().Add(h.shortTTL)
		long.Deadline = h.now().Add(h.shortTTL)
		mustCreate(t, h.store, short)
		mustCreate(t, h.store, long)
		// Advance may move the deadline: long gets more time.
		if _, err := h.store.Advance(ctx, long.TransactionID, StepInitiated, StepAuthenticated, func(s *Session) error {
			s.Deadline = h.now().Add(time.Hour)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		mustGet(t, h.store, short.TransactionID)
		wantCount(t, h.store, 2)

		h.pass(h.shortTTL + h.shortTTL/5)

		if _, err := h.store.Get(ctx, short.TransactionID); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get after the deadline = %v, want ErrNotFound", err)
		}
		if _, err := h.store.Advance(ctx, short.TransactionID, StepInitiated, StepAuthenticated, nil); !errors.Is(err, ErrNotFound) {
			t.Errorf("Advance after the deadline = %v, want ErrNotFound", err)
		}
		mustGet(t, h.store, long.TransactionID)
		wantCount(t, h.store, 1)
		// An expired transactionId is free again.
		short.Deadline = h.now().Add(time.Hour)
		mustCreate(t, h.store, short)
	})
}

func TestDelete(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		s, other := newSession(t, h), newSession(t, h)
		mustCreate(t, h.store, s)
		mustCreate(t, h.store, other)
		for i := range 2 {
			if err := h.store.Delete(ctx, s.TransactionID); err != nil {
				t.Fatalf("Delete #%d: %v", i+1, err)
			}
			if _, err := h.store.Get(ctx, s.TransactionID); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Get after Delete #%d = %v, want ErrNotFound", i+1, err)
			}
		}
		for _, id := range [][]byte{randBytes(t, 16), nil, make([]byte, 17)} {
			if err := h.store.Delete(ctx, id); err != nil {
				t.Errorf("Delete(%X) = %v, want nil", id, err)
			}
		}
		mustGet(t, h.store, other.TransactionID)
		if _, err := h.store.Advance(ctx, s.TransactionID, StepInitiated, StepAuthenticated, nil); !errors.Is(err, ErrNotFound) {
			t.Errorf("Advance after Delete = %v, want ErrNotFound", err)
		}
	})
}

func TestCount(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		wantCount(t, h.store, 0)
		var ids [][]byte
		for range 5 {
			s := newSession(t, h)
			mustCreate(t, h.store, s)
			ids = append(ids, s.TransactionID)
		}
		wantCount(t, h.store, 5)
		for _, id := range ids[:2] {
			if err := h.store.Delete(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := h.store.Advance(ctx, ids[2], StepInitiated, StepCancelled, nil); err != nil {
			t.Fatal(err)
		}
		wantCount(t, h.store, 3)
	})
}

func TestCancelledContext(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h *harness) {
		s := newSession(t, h)
		mustCreate(t, h.store, s)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := h.store.Create(ctx, newSession(t, h)); !errors.Is(err, context.Canceled) {
			t.Errorf("Create = %v, want context.Canceled", err)
		}
		if _, err := h.store.Get(ctx, s.TransactionID); !errors.Is(err, context.Canceled) {
			t.Errorf("Get = %v, want context.Canceled", err)
		}
		if _, err := h.store.Advance(ctx, s.TransactionID, StepInitiated, StepAuthenticated, nil); !errors.Is(err, context.Canceled) {
			t.Errorf("Advance = %v, want context.Canceled", err)
		}
		if err := h.store.Delete(ctx, s.TransactionID); !errors.Is(err, context.Canceled) {
			t.Errorf("Delete = %v, want context.Canceled", err)
		}
		if _, err := h.store.Count(ctx); !errors.Is(err, context.Canceled) {
			t.Errorf("Count = %v, want context.Canceled", err)
		}
		mustGet(t, h.store, s.TransactionID)
	})
}

// BenchmarkStore measures one download's worth of store traffic per iteration: Create, Get and
// Advance of a fresh session.
func BenchmarkStore(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			h := be.open(b)
			ctx := context.Background()
			proto := fullSession(b, h)
			proto.Step = StepInitiated
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				s := *proto
				s.TransactionID = fmt.Appendf(nil, "%016d", i)
				if err := h.store.Create(ctx, &s); err != nil {
					b.Fatal(err)
				}
				if _, err := h.store.Get(ctx, s.TransactionID); err != nil {
					b.Fatal(err)
				}
				if _, err := h.store.Advance(ctx, s.TransactionID, StepInitiated, StepAuthenticated, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
