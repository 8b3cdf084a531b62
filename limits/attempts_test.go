package limits

import (
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestNewAttemptsRejects(t *testing.T) {
	tests := []struct {
		name           string
		max            int
		window, lockOf time.Duration
		opts           []Option
	}{
		{"zero max", 0, time.Minute, time.Minute, nil},
		{"negative max", -1, time.Minute, time.Minute, nil},
		{"max too large", maxFailuresLimit + 1, time.Minute, time.Minute, nil},
		{"zero window", 3, 0, time.Minute, nil},
		{"negative window", 3, -time.Second, time.Minute, nil},
		{"zero lock", 3, time.Minute, 0, nil},
		{"negative lock", 3, time.Minute, -time.Minute, nil},
		{"zero max keys", 3, time.Minute, time.Minute, []Option{WithMaxKeys(0)}},
		{"nil clock", 3, time.Minute, time.Minute, []Option{WithClock(nil)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if a, err := NewAttempts(tt.max, tt.window, tt.lockOf, tt.opts...); err == nil {
				t.Fatalf("NewAttempts = %v, want an error", a)
			}
		})
	}
}

// atStep is one action on an Attempts: move the clock, then act on key.
type atStep struct {
	advance time.Duration
	op      string // "fail", "locked" or "reset"
	key     string
	want    bool          // Fail's or Locked's answer
	until   time.Duration // for a locked "locked": the lock's end, from the start of the test
}

func TestAttempts(t *testing.T) {
	const window, lock = time.Minute, 10 * time.Minute
	tests := []struct {
		name  string
		max   int
		steps []atStep
	}{
		{"locks at the max", 3, []atStep{
			{0, "fail", "k", false, 0}, {0, "locked", "k", false, 0},
			{0, "fail", "k", false, 0}, {time.Second, "fail", "k", true, 0},
			{0, "locked", "k", true, time.Second + lock},
		}},
		{"max one locks at once", 1, []atStep{
			{0, "fail", "k", true, 0}, {0, "locked", "k", true, lock},
		}},
		{"failures out of the window do not count", 3, []atStep{
			{0, "fail", "k", false, 0}, {30 * time.Second, "fail", "k", false, 0},
			{30 * time.Second, "fail", "k", false, 0}, // the first is exactly one window old: out
			{29 * time.Second, "fail", "k", true, 0},  // 30 s, 59 s and 88 s are within 60 s
		}},
		{"spaced failures never lock", 2, []atStep{
			{0, "fail", "k", false, 0}, {window, "fail", "k", false, 0}, {window, "fail", "k", false, 0},
			{window, "fail", "k", false, 0}, {0, "locked", "k", false, 0},
		}},
		{"failures while locked neither count nor extend", 2, []atStep{
			{0, "fail", "k", false, 0}, {0, "fail", "k", true, 0},
			{5 * time.Minute, "fail", "k", true, 0}, {0, "locked", "k", true, lock},
			{5*time.Minute - time.Nanosecond, "locked", "k", true, lock},
			{time.Nanosecond, "locked", "k", false, 0}, // the lock has ended
			{0, "fail", "k", false, 0},                 // a clean slate after the lock
			{0, "fail", "k", true, 0},
		}},
		{"reset forgets failures and locks", 2, []atStep{
			{0, "fail", "k", false, 0}, {0, "reset", "k", false, 0}, {0, "fail", "k", false, 0},
			{0, "fail", "k", true, 0}, {0, "reset", "k", false, 0}, {0, "locked", "k", false, 0},
			{0, "fail", "k", false, 0},
		}},
		{"keys are independent", 2, []atStep{
			{0, "fail", "ip:192.0.2.1", false, 0}, {0, "fail", "eid:89049032123451234512345678901235", false, 0},
			{0, "fail", "ip:192.0.2.1", true, 0}, {0, "locked", "eid:89049032123451234512345678901235", false, 0},
			{0, "locked", "", false, 0}, {0, "fail", "", false, 0},
		}},
		{"unknown key is not locked", 3, []atStep{
			{0, "locked", "nobody", false, 0}, {0, "reset", "nobody", false, 0},
		}},
		{"clock running backwards", 2, []atStep{
			{0, "fail", "k", false, 0}, {-time.Hour, "fail", "k", true, 0},
			{time.Hour, "locked", "k", true, lock}, // the failure at -1 h counted as one at 0
			{lock, "locked", "k", false, 0},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newFakeClock()
			start := clk.now()
			a, err := NewAttempts(tt.max, window, lock, WithClock(clk.now))
			if err != nil {
				t.Fatal(err)
			}
			for i, s := range tt.steps {
				clk.advance(s.advance)
				switch s.op {
				case "fail":
					if got := a.Fail(s.key); got != s.want {
						t.Fatalf("step %d: Fail(%q) = %v, want %v", i, s.key, got, s.want)
					}
				case "locked":
					until, got := a.Locked(s.key)
					if got != s.want {
						t.Fatalf("step %d: Locked(%q) = %v, want %v", i, s.key, got, s.want)
					}
					if want := start.Add(s.until); got && !until.Equal(want) {
						t.Errorf("step %d: locked until %v, want %v", i, until, want)
					}
					if !got && !until.IsZero() {
						t.Errorf("step %d: not locked but until %v", i, until)
					}
				case "reset":
					a.Reset(s.key)
				default:
					t.Fatalf("bad op %q", s.op)
				}
			}
		})
	}
}

// keys lists the keys of a one-shard table from the most to the least recently used.
func keys[V any](t *table[V]) []string {
	s := &t.shards[0]
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for e := s.head; e != nil; e = e.next {
		out = append(out, e.key)
	}
	return out
}

func TestAttemptsEviction(t *testing.T) {
	clk := newFakeClock()
	a, err := NewAttempts(1, time.Minute, time.Hour, WithClock(clk.now), WithMaxKeys(3), withShards(1))
	if err != nil {
		t.Fatal(err)
	}
	check := func(step string, want ...string) {
		t.Helper()
		if got := keys(a.keys); !slices.Equal(got, want) {
			t.Fatalf("%s: keys %q, want %q", step, got, want)
		}
	}
	// Max 1: every key that fails is locked at once.
	a.Fail("a")
	a.Fail("b")
	a.Fail("c")
	a.Fail("d")
	check("all locked: the least recently used lock goes", "d", "c", "b")
	clk.advance(2 * time.Hour) // every lock has ended
	a.Locked("b")              // touched: the most recently used
	check("after Locked", "b", "d", "c")
	a.Fail("e")
	check("an ended lock is evictable", "e", "b", "d")
	a.Reset("b")
	check("after Reset", "e", "d")
}

func TestAttemptsEvictionPrefersUnlocked(t *testing.T) {
	clk := newFakeClock()
	a, err := NewAttempts(2, time.Minute, time.Hour, WithClock(clk.now), WithMaxKeys(3), withShards(1))
	if err != nil {
		t.Fatal(err)
	}
	a.Fail("attacker")
	a.Fail("attacker") // locked, least recently used
	a.Fail("user1")    // one failure: not locked
	a.Fail("user2")
	a.Fail("user3") // evicts user1, not the older but locked attacker
	if _, ok := a.Locked("attacker"); !ok {
		t.Error("the locked key was evicted before an unlocked one")
	}
	if a.Fail("user1") {
		t.Error("user1 kept its failure: it should have been evicted")
	}
}

func TestAttemptsMemoryBound(t *testing.T) {
	if testing.Short() {
		t.Skip("fills 300k keys")
	}
	const keys = 300_000
	var a *Attempts
	grew := heapGrowth(t, func() any {
		var err error
		if a, err = NewAttempts(5, time.Minute, time.Hour); err != nil {
			t.Fatal(err)
		}
		for i := range keys {
			k := "eid:8904903212345123451234" + strconv.Itoa(1_000_000+i)
			a.Fail(k)
			a.Fail(k)
		}
		return a
	})
	if n := a.Len(); n > DefaultMaxKeys || n < DefaultMaxKeys*9/10 {
		t.Errorf("Len = %d after %d keys, want at most %d and close to it", n, keys, DefaultMaxKeys)
	}
	const bound = 48 << 20
	t.Logf("%d keys held in %.1f MB", a.Len(), float64(grew)/(1<<20))
	if grew > bound {
		t.Errorf("heap grew by %d bytes, want at most %d", grew, bound)
	}
}

func TestAttemptsConcurrent(t *testing.T) {
	clk := newFakeClock()
	const max, workers, per = 25, 16, 20
	a, err := NewAttempts(max, time.Minute, time.Hour, WithClock(clk.now), WithMaxKeys(10_000))
	if err != nil {
		t.Fatal(err)
	}
	var unlocked atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				if !a.Fail("shared") {
					unlocked.Add(1)
				}
				k := "own-" + strconv.Itoa(w)
				a.Fail(k)
				a.Locked(k)
				if i%7 == 0 {
					a.Reset(k)
				}
				clk.advance(time.Millisecond)
			}
		}()
	}
	wg.Wait()
	if got := unlocked.Load(); got != max-1 {
		t.Errorf("%d failures answered unlocked, want exactly %d", got, max-1)
	}
	if _, ok := a.Locked("shared"); !ok {
		t.Error("shared key not locked")
	}
}
