package limits

import (
	"fmt"
	"time"
)

// maxFailuresLimit caps maxFailures: each key keeps the times of its recent failures.
const maxFailuresLimit = 1000

// Attempts counts failures per key (a client IP, an EID, an order) and locks a key out once it
// has failed maxFailures times within a window: every Fail within the lock reports the key
// locked, until the lock duration has passed. The window slides: a key is locked when its last
// maxFailures failures all fall within one window. It is safe for concurrent use.
//
// The counter is kept by key, nothing is ever locked globally, and a lock ends by itself; Reset
// forgets a key at once (after a success, say). When the key bound is reached, unlocked keys are
// forgotten before locked ones where possible; size the bound above the number of keys expected
// to be locked at the same time.
type Attempts struct {
	max    int
	window time.Duration
	lock   time.Duration
	clock  clock
	keys   *table[failures]
}

// failures is one key's recent failures and lock.
type failures struct {
	times       []time.Duration // clock offsets of the failures within the window, oldest first
	lockedUntil time.Duration   // clock offset the lock ends at; 0 when not locked
}

// NewAttempts returns a counter that locks a key for lockFor once it has failed maxFailures
// times within window. maxFailures must be 1 to 1000, window and lockFor positive.
func NewAttempts(maxFailures int, window, lockFor time.Duration, opts ...Option) (*Attempts, error) {
	switch {
	case maxFailures < 1 || maxFailures > maxFailuresLimit:
		return nil, fmt.Errorf("limits: max failures %d is not within 1 to %d", maxFailures, maxFailuresLimit)
	case window <= 0:
		return nil, fmt.Errorf("limits: window %v is not positive", window)
	case lockFor <= 0:
		return nil, fmt.Errorf("limits: lock duration %v is not positive", lockFor)
	}
	o, err := buildOptions(opts)
	if err != nil {
		return nil, err
	}
	a := &Attempts{max: maxFailures, window: window, lock: lockFor, clock: newClock(o.now)}
	a.keys = newTable(o, func(f *failures) bool { return !f.locked(a.clock.since()) })
	return a, nil
}

// locked reports whether the lock is in force at now.
func (f *failures) locked(now time.Duration) bool { return f.lockedUntil != 0 && now < f.lockedUntil }

// Fail records a failure of key and reports whether key is now locked. A failure while the key
// is locked is not counted and does not extend the lock.
func (a *Attempts) Fail(key string) (locked bool) {
	now := a.clock.since()
	a.keys.update(key, true, func() failures { return failures{} }, func(f *failures) bool {
		if f.locked(now) {
			locked = true
			return true
		}
		if f.lockedUntil != 0 {
			// The lock has ended: the key starts again with a clean slate.
			f.lockedUntil, f.times = 0, f.times[:0]
		}
		f.times = append(dropBefore(f.times, now-a.window), now)
		if len(f.times) >= a.max {
			f.lockedUntil = now + a.lock // positive: now ≥ 0, and 0 means "not locked"
			f.times = f.times[:0]
			locked = true
		}
		return true
	})
	return locked
}

// dropBefore removes the failures at or before cutoff, which are out of the window.
func dropBefore(times []time.Duration, cutoff time.Duration) []time.Duration {
	i := 0
	for i < len(times) && times[i] <= cutoff {
		i++
	}
	if i == 0 {
		return times
	}
	return append(times[:0], times[i:]...)
}

// Locked reports whether key is locked now and until when. It does not count as a failure, but
// keeps the key among the recently used.
func (a *Attempts) Locked(key string) (until time.Time, locked bool) {
	now := a.clock.since()
	a.keys.update(key, false, nil, func(f *failures) bool {
		if f.locked(now) {
			until, locked = a.clock.at(f.lockedUntil), true
		}
		return true
	})
	return until, locked
}

// Reset forgets key: its failures and its lock.
func (a *Attempts) Reset(key string) { a.keys.remove(key) }

// Len returns the number of keys the counter holds state for.
func (a *Attempts) Len() int { return a.keys.len() }
