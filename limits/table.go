package limits

import (
	"errors"
	"fmt"
	"hash/maphash"
	"math/bits"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultMaxKeys is how many keys a RateLimiter or Attempts keeps unless WithMaxKeys says
// otherwise: some 13 MB (RateLimiter) to 20 MB (Attempts with 5 failures) of state at most.
const DefaultMaxKeys = 100_000

// maxShards caps the number of independently locked parts of a table.
const maxShards = 32

// Option configures a RateLimiter or an Attempts.
type Option func(*options)

type options struct {
	now     func() time.Time
	maxKeys int
	shards  int // 0: derived from maxKeys (tests set 1 for an exact LRU order)
}

// WithClock sets the clock (default time.Now). Time that runs backwards counts as no time.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithMaxKeys bounds the number of keys kept (default DefaultMaxKeys). When a new key arrives at
// the bound, the least recently used key of its shard is forgotten.
func WithMaxKeys(n int) Option { return func(o *options) { o.maxKeys = n } }

func withShards(n int) Option { return func(o *options) { o.shards = n } }

func buildOptions(opts []Option) (options, error) {
	o := options{now: time.Now, maxKeys: DefaultMaxKeys}
	for _, opt := range opts {
		opt(&o)
	}
	if o.now == nil {
		return o, errors.New("limits: nil clock")
	}
	if o.maxKeys < 1 {
		return o, fmt.Errorf("limits: max keys %d is not positive", o.maxKeys)
	}
	if o.shards == 0 {
		// The largest power of two ≤ min(maxShards, maxKeys), so that shards × perShard ≤ maxKeys.
		o.shards = 1 << (bits.Len(uint(min(maxShards, o.maxKeys))) - 1)
	}
	if o.shards < 1 || o.shards > o.maxKeys {
		return o, fmt.Errorf("limits: %d shards for %d keys", o.shards, o.maxKeys)
	}
	return o, nil
}

// clock measures time as an offset from the moment the table was made, so entries hold 8 bytes
// of time instead of a time.Time, and never lets it run backwards: a clock set back (a wall
// clock without a monotonic reading, a test's fake) reads as standing still until it catches up.
type clock struct {
	now   func() time.Time
	epoch time.Time
	last  *atomic.Int64 // the latest offset returned
}

func newClock(now func() time.Time) clock {
	return clock{now: now, epoch: now(), last: new(atomic.Int64)}
}

// since returns the current offset from the epoch, never less than one it returned before.
func (c clock) since() time.Duration {
	d := int64(c.now().Sub(c.epoch))
	for {
		last := c.last.Load()
		if d <= last {
			return time.Duration(last)
		}
		if c.last.CompareAndSwap(last, d) {
			return time.Duration(d)
		}
	}
}

// at returns the wall time of an offset.
func (c clock) at(d time.Duration) time.Time { return c.epoch.Add(d) }

// entry is one key's state in a shard's LRU list.
type entry[V any] struct {
	key        string
	val        V
	prev, next *entry[V] // prev is more recently used
}

// shard is one independently locked part of a table: a map and an LRU list through its entries.
type shard[V any] struct {
	mu         sync.Mutex
	m          map[string]*entry[V]
	head, tail *entry[V] // most and least recently used
	max        int
}

// table maps keys to values of type V in shards with a bounded number of entries each.
type table[V any] struct {
	seed   maphash.Seed
	shards []shard[V]
	// evictable, when not nil, tells whether a value may be evicted before older ones; see
	// shard.evict.
	evictable func(*V) bool
}

func newTable[V any](o options, evictable func(*V) bool) *table[V] {
	t := &table[V]{seed: maphash.MakeSeed(), shards: make([]shard[V], o.shards), evictable: evictable}
	per := o.maxKeys / o.shards
	for i := range t.shards {
		t.shards[i].m = make(map[string]*entry[V])
		t.shards[i].max = per
	}
	return t
}

func (t *table[V]) shard(key string) *shard[V] {
	if len(t.shards) == 1 {
		return &t.shards[0]
	}
	return &t.shards[maphash.String(t.seed, key)&uint64(len(t.shards)-1)]
}

// update runs fn on key's value under its shard's lock, creating the value with init when the key
// is new and create is true (fn then sees it as fresh). It reports whether fn ran. If fn returns
// false the key is removed.
func (t *table[V]) update(key string, create bool, init func() V, fn func(v *V) (keep bool)) bool {
	s := t.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[key]
	if !ok {
		if !create {
			return false
		}
		if len(s.m) >= s.max {
			s.evict(t.evictable)
		}
		e = &entry[V]{key: key, val: init()}
		s.m[key] = e
		s.pushFront(e)
	} else {
		s.moveToFront(e)
	}
	if !fn(&e.val) {
		s.remove(e)
	}
	return true
}

// remove forgets key.
func (t *table[V]) remove(key string) {
	s := t.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.m[key]; ok {
		s.remove(e)
	}
}

// len returns the number of keys kept.
func (t *table[V]) len() int {
	n := 0
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}

// evictScan is how many of the least recently used entries evict looks at for an evictable one.
const evictScan = 8

// evict forgets one entry to make room: the least recently used one among the last evictScan
// that evictable accepts, else the least recently used one. The scan is bounded so that a shard
// full of unevictable entries costs O(1) per insertion, not O(n).
func (s *shard[V]) evict(evictable func(*V) bool) {
	victim := s.tail
	if evictable != nil {
		for e, i := s.tail, 0; e != nil && i < evictScan; e, i = e.prev, i+1 {
			if evictable(&e.val) {
				victim = e
				break
			}
		}
	}
	if victim != nil {
		s.remove(victim)
	}
}

func (s *shard[V]) pushFront(e *entry[V]) {
	e.prev, e.next = nil, s.head
	if s.head != nil {
		s.head.prev = e
	}
	s.head = e
	if s.tail == nil {
		s.tail = e
	}
}

func (s *shard[V]) unlink(e *entry[V]) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		s.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		s.tail = e.prev
	}
	e.prev, e.next = nil, nil
}

func (s *shard[V]) moveToFront(e *entry[V]) {
	if s.head == e {
		return
	}
	s.unlink(e)
	s.pushFront(e)
}

func (s *shard[V]) remove(e *entry[V]) {
	s.unlink(e)
	delete(s.m, e.key)
}
