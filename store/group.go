package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// Group commit. Each download step is a small transaction, and its BEGIN and commit cost about
// as much as its statements: on SQLite, which has one writer that the steps queue for anyway,
// BEGIN IMMEDIATE and writing and checksumming the WAL frames; on PostgreSQL two of the four or
// five round trips of a step, and a WAL flush. InGroupTx lets the steps that queued while one
// transaction ran share the next one, on one connection. On PostgreSQL that serialises a
// replica's download steps on that connection: the rate of two replicas did not change, and
// PostgreSQL's own CPU fell by a sixth (0.52 -> 0.43 cores at 237-274 downloads/s). Row locks
// are held until the group commits; a deadlock with another transaction only makes the group
// run again one by one.

// maxGroup bounds the functions in one group transaction, and so the latency one caller can add
// to another.
const maxGroup = 32

// errGroupFailed rolls a group back when one of its functions fails.
var errGroupFailed = errors.New("store: a function of the group failed")

// errClosed answers InGroupTx after Close.
var errClosed = errors.New("store: closed")

type groupCall struct {
	ctx  context.Context
	fn   func(*Tx) error
	done chan groupResult
}

type groupResult struct {
	err      error
	panicked any // a panic in fn, raised again in the caller's goroutine
}

// groupCommitter runs the queued calls of InGroupTx in its own goroutine.
type groupCommitter struct {
	calls  chan *groupCall
	closed chan struct{}
	once   sync.Once
	wg     sync.WaitGroup
}

func (db *DB) startGroupCommitter() {
	g := &groupCommitter{calls: make(chan *groupCall), closed: make(chan struct{})}
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		for {
			select {
			case c := <-g.calls:
				batch := []*groupCall{c}
			drain:
				for len(batch) < maxGroup {
					select {
					case c := <-g.calls:
						batch = append(batch, c)
					default:
						break drain
					}
				}
				db.commitGroup(batch)
			case <-g.closed:
				return
			}
		}
	}()
	db.group = g
}

func (g *groupCommitter) stop() {
	g.once.Do(func() { close(g.closed) })
	g.wg.Wait()
}

// InGroupTx runs fn in a transaction as InTx does — committed when fn returns nil, rolled back
// when it fails — but possibly together with the functions of other concurrent
// callers in one transaction, each seeing the writes of those before it as if run one after
// another. It returns after the transaction holding fn has committed. When any function of a
// group fails, the group is rolled back and each function runs again in a transaction of its
// own, so that one fails alone. fn may therefore run more than once: it must have no effect
// outside tx other than setting its own results, and it must not create or change operators
// (the operator cache trusts what a committed transaction wrote).
func (db *DB) InGroupTx(ctx context.Context, fn func(tx *Tx) error) error {
	c := &groupCall{ctx: ctx, fn: fn, done: make(chan groupResult, 1)}
	select {
	case db.group.calls <- c:
	case <-db.group.closed:
		return errClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once handed over, fn may commit: wait for the outcome even if ctx ends meanwhile (a
	// cancelled statement makes fn fail).
	r := <-c.done
	if r.panicked != nil {
		panic(r.panicked)
	}
	return r.err
}

// commitGroup runs batch in one transaction, or one by one when a function fails or panics.
func (db *DB) commitGroup(batch []*groupCall) {
	live := batch[:0]
	for _, c := range batch {
		if err := c.ctx.Err(); err != nil {
			c.done <- groupResult{err: err}
			continue
		}
		live = append(live, c)
	}
	if len(live) == 0 {
		return
	}
	if len(live) > 1 {
		panicked := make([]any, len(live))
		err := db.InTx(context.Background(), func(tx *Tx) error {
			for i, c := range live {
				if err := callFn(c.fn, &Tx{db: db, g: tx.g.WithContext(c.ctx)}, &panicked[i]); err != nil {
					return errGroupFailed
				}
			}
			return nil
		})
		if err == nil {
			for _, c := range live {
				c.done <- groupResult{}
			}
			return
		}
		retry := live[:0]
		for i, c := range live {
			if panicked[i] != nil {
				c.done <- groupResult{panicked: panicked[i]}
			} else {
				retry = append(retry, c)
			}
		}
		live = retry
	}
	for _, c := range live {
		var p any
		err := db.InTx(c.ctx, func(tx *Tx) error { return callFn(c.fn, tx, &p) })
		c.done <- groupResult{err: err, panicked: p}
	}
}

// callFn runs fn, turning a panic into an error and recording it in *panicked.
func callFn(fn func(*Tx) error, tx *Tx, panicked *any) (err error) {
	defer func() {
		if v := recover(); v != nil {
			*panicked = v
			err = fmt.Errorf("store: panic in a transaction: %v", v)
		}
	}()
	return fn(tx)
}
