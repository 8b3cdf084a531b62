package session

import (
	"context"
	"hash/maphash"
	"math"
	"sync"
	"time"
)

// Memory is a [Store] inside one process: the default when a single SM-DP+ serves all ES9+
// calls. Sessions are kept in their encoded form in a sharded map, so 100,000 of them cost little
// more than their contents; there is no goroutine or timer per session. An expired session is
// dropped when it is next touched, by [Memory.Sweep], or by the sweeper that
// [WithSweepInterval] starts.
type Memory struct {
	now    func() time.Time
	seed   maphash.Seed
	shards [memShards]memShard

	sweepEvery time.Duration
	stop       chan struct{}
	done       chan struct{}
	closeOnce  sync.Once
}

var _ Store = (*Memory)(nil)

const memShards = 64 // a power of two

type memShard struct {
	mu sync.Mutex
	m  map[memKey]memEntry
}

// memKey is a transactionId of up to 16 bytes, usable as a map key without an allocation.
type memKey struct {
	n uint8
	b [MaxTransactionIDLen]byte
}

// memEntry is one stored session: its encoding, which is never modified once stored (a write
// stores a new slice), and its deadline in Unix nanoseconds so expiry needs no decoding.
type memEntry struct {
	deadline int64
	data     []byte
}

// MemoryOption configures a [Memory] store.
type MemoryOption func(*Memory)

// WithClock sets the clock that decides when sessions expire (default time.Now). Tests inject one
// to expire sessions without sleeping.
func WithClock(now func() time.Time) MemoryOption { return func(m *Memory) { m.now = now } }

// WithSweepInterval starts a goroutine that removes expired sessions every d, until
// [Memory.Close]. Without it, expired sessions are removed only when touched or swept by the
// caller ([Memory.Sweep]); they are never returned either way.
func WithSweepInterval(d time.Duration) MemoryOption {
	return func(m *Memory) { m.sweepEvery = d }
}

// NewMemory returns an empty in-memory store. Call Close when done if [WithSweepInterval] is used.
func NewMemory(opts ...MemoryOption) *Memory {
	m := &Memory{now: time.Now, seed: maphash.MakeSeed()}
	for _, o := range opts {
		o(m)
	}
	for i := range m.shards {
		m.shards[i].m = make(map[memKey]memEntry)
	}
	if m.sweepEvery > 0 {
		m.stop, m.done = make(chan struct{}), make(chan struct{})
		go m.sweeper()
	}
	return m
}

func (m *Memory) sweeper() {
	defer close(m.done)
	t := time.NewTicker(m.sweepEvery)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
			m.Sweep(m.now())
		}
	}
}

// Close stops the sweeper, if any, and waits for it. The store stays usable. Close is idempotent.
func (m *Memory) Close() error {
	m.closeOnce.Do(func() {
		if m.stop != nil {
			close(m.stop)
			<-m.done
		}
	})
	return nil
}

// Sweep removes every session whose deadline is before now and returns how many it removed.
// It locks one shard at a time.
func (m *Memory) Sweep(now time.Time) int {
	t := unixNano(now)
	removed := 0
	for i := range m.shards {
		sh := &m.shards[i]
		sh.mu.Lock()
		for k, e := range sh.m {
			if t > e.deadline {
				delete(sh.m, k)
				removed++
			}
		}
		sh.mu.Unlock()
	}
	return removed
}

func (m *Memory) shard(id []byte) (*memShard, memKey) {
	k := memKey{n: uint8(len(id))}
	copy(k.b[:], id)
	return &m.shards[maphash.Bytes(m.seed, id)&(memShards-1)], k
}

// Create implements [Store.Create].
func (m *Memory) Create(ctx context.Context, s *Session) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s == nil {
		return errNilSession
	}
	if err := s.validate(); err != nil {
		return err
	}
	now := m.now()
	if !s.Deadline.After(now) {
		return errDeadlinePassed(s, now)
	}
	e := memEntry{deadline: unixNano(s.Deadline), data: encode(s)}
	sh, k := m.shard(s.TransactionID)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if old, ok := sh.m[k]; ok && unixNano(now) <= old.deadline {
		return ErrExists
	}
	sh.m[k] = e
	return nil
}

// Get implements [Store.Get].
func (m *Memory) Get(ctx context.Context, transactionID []byte) (*Session, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	e, err := m.load(transactionID)
	if err != nil {
		return nil, err
	}
	return decode(e.data)
}

// load returns the live entry for id, dropping it if it has expired.
func (m *Memory) load(id []byte) (memEntry, error) {
	if len(id) == 0 || len(id) > MaxTransactionIDLen {
		return memEntry{}, ErrNotFound
	}
	sh, k := m.shard(id)
	now := unixNano(m.now())
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e, ok := sh.m[k]
	if !ok {
		return memEntry{}, ErrNotFound
	}
	if now > e.deadline {
		delete(sh.m, k)
		return memEntry{}, ErrNotFound
	}
	return e, nil
}

// Advance implements [Store.Advance]. It is optimistic, like [Redis.Advance]: update runs on a
// decoded copy with no lock held (so it may call the store), and the result is stored only if the
// entry is still the one that was read; otherwise Advance starts over, so update may run more than
// once and must depend only on the session it is given. Advance with from == to is allowed and
// serialises concurrent updates without losing any.
func (m *Memory) Advance(ctx context.Context, transactionID []byte, from, to Step, update func(*Session) error) (*Session, error) {
	if err := checkAdvance(transactionID, from, to); err != nil {
		return nil, err
	}
	sh, k := m.shard(transactionID)
	for range maxAdvanceAttempts {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		old, err := m.load(transactionID)
		if err != nil {
			return nil, err
		}
		s, err := decode(old.data)
		if err != nil {
			return nil, err
		}
		if err := advance(s, from, to, update); err != nil {
			return nil, err
		}
		e := memEntry{deadline: unixNano(s.Deadline), data: encode(s)}

		sh.mu.Lock()
		cur, ok := sh.m[k]
		// Every write stores a freshly allocated slice and old.data is still referenced here, so
		// an unchanged entry is exactly one whose data is the same array (no ABA). An entry that
		// expired meanwhile is not revived: the next round finds it gone.
		if ok && &cur.data[0] == &old.data[0] && unixNano(m.now()) <= cur.deadline {
			sh.m[k] = e
			sh.mu.Unlock()
			return s, nil
		}
		sh.mu.Unlock()
	}
	return nil, errContended(transactionID)
}

// Delete implements [Store.Delete].
func (m *Memory) Delete(ctx context.Context, transactionID []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(transactionID) == 0 || len(transactionID) > MaxTransactionIDLen {
		return nil
	}
	sh, k := m.shard(transactionID)
	sh.mu.Lock()
	delete(sh.m, k)
	sh.mu.Unlock()
	return nil
}

// Count implements [Store.Count]. It visits every session (one shard locked at a time), so it is
// meant for a metrics scrape, not for every request.
func (m *Memory) Count(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	now := unixNano(m.now())
	n := 0
	for i := range m.shards {
		sh := &m.shards[i]
		sh.mu.Lock()
		for _, e := range sh.m {
			if now <= e.deadline {
				n++
			}
		}
		sh.mu.Unlock()
	}
	return n, nil
}

var (
	minNanoTime = time.Unix(0, math.MinInt64)
	maxNanoTime = time.Unix(0, math.MaxInt64)
)

// unixNano is t.UnixNano clamped to the int64 range (UnixNano is undefined outside it).
func unixNano(t time.Time) int64 {
	switch {
	case t.Before(minNanoTime):
		return math.MinInt64
	case t.After(maxNanoTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}
