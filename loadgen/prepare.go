package loadgen

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"sync/atomic"

	"github.com/smdpp/smdpp/activation"
	"github.com/smdpp/smdpp/orders"
	"github.com/smdpp/smdpp/profiles"
	"github.com/smdpp/smdpp/store"
)

// MaxPrepare bounds the orders one Prepare creates.
const MaxPrepare = 1000000

// PrepareOptions configures Prepare.
type PrepareOptions struct {
	// Address is the SM-DP+ address of the orders (the server's --address).
	Address string
	// Operator owns the orders; it is created when missing.
	Operator string
	// Package is the SAIP profile package (DER) copied into every order, each copy with its own
	// ICCID.
	Package []byte
	// Count is the number of orders, 1 to MaxPrepare.
	Count int
	// Workers is how many orders are created at once (default 4). SQLite takes one writer at a
	// time anyway; PostgreSQL gains from a few.
	Workers int
	// Progress, when set, is called after each order with the number done.
	Progress func(done int)
}

// Prepare creates opts.Count released orders on db through the same orders service ES2+ uses
// (SGP.22 §5.3: the profile imported, DownloadOrder, ConfirmOrder with releaseFlag) and returns
// their activation codes. Each order gets a copy of the package with a new Luhn-valid ICCID
// (RewriteICCID); an ICCID the database already holds is skipped.
func Prepare(ctx context.Context, db *store.DB, opts PrepareOptions) ([]activation.Code, error) {
	if opts.Count < 1 || opts.Count > MaxPrepare {
		return nil, fmt.Errorf("loadgen: prepare count %d is not between 1 and %d", opts.Count, MaxPrepare)
	}
	if opts.Address == "" || opts.Operator == "" {
		return nil, errors.New("loadgen: prepare needs an SM-DP+ address and an operator")
	}
	pkg, err := profiles.Parse(opts.Package)
	if err != nil {
		return nil, fmt.Errorf("loadgen: profile package: %w", err)
	}
	run, err := rand.Int(rand.Reader, big.NewInt(100000))
	if err != nil {
		return nil, err
	}
	series, err := newICCIDSeries(pkg.Header.ICCID, int(run.Int64()))
	if err != nil {
		return nil, err
	}
	if opts.Count > series.max()/2 {
		return nil, fmt.Errorf("loadgen: prepare count %d is too large for %d-digit ICCIDs", opts.Count, len(pkg.Header.ICCID))
	}
	if _, err := db.GetOperator(ctx, opts.Operator); errors.Is(err, store.ErrNotFound) {
		if _, err := db.CreateOperator(ctx, store.Operator{ID: opts.Operator, Name: opts.Operator}); err != nil && !errors.Is(err, store.ErrDuplicate) {
			return nil, fmt.Errorf("loadgen: creating operator %q: %w", opts.Operator, err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("loadgen: operator %q: %w", opts.Operator, err)
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = 4
	}
	svc := orders.New(db, opts.Address)
	codes := make([]activation.Code, opts.Count)
	var (
		next, done atomic.Int64
		wg         sync.WaitGroup
		mu         sync.Mutex
		firstErr   error
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Slot i takes ICCID numbers i, i+Count, i+2·Count … until one is free.
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= opts.Count || ctx.Err() != nil {
					return
				}
				code, err := prepareOne(ctx, svc, opts, series, i)
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					cancel()
					return
				}
				codes[i] = code
				if n := done.Add(1); opts.Progress != nil {
					opts.Progress(int(n))
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return codes, nil
}

func prepareOne(ctx context.Context, svc *orders.Service, opts PrepareOptions, series iccidSeries, slot int) (activation.Code, error) {
	for k := slot; k < series.max(); k += opts.Count {
		iccid := series.at(k)
		upp, err := RewriteICCID(opts.Package, iccid)
		if err != nil {
			return activation.Code{}, err
		}
		p, err := svc.ImportProfile(ctx, opts.Operator, "", upp)
		if errors.Is(err, store.ErrDuplicate) {
			continue
		}
		if err != nil {
			return activation.Code{}, fmt.Errorf("loadgen: importing ICCID %s: %w", iccid, err)
		}
		if _, err := svc.DownloadOrder(ctx, opts.Operator, orders.DownloadOrderRequest{ICCID: p.ICCID}); err != nil {
			return activation.Code{}, fmt.Errorf("loadgen: ordering ICCID %s: %w", iccid, err)
		}
		res, err := svc.ConfirmOrder(ctx, opts.Operator, orders.ConfirmOrderRequest{ICCID: p.ICCID, ReleaseFlag: true})
		if err != nil {
			return activation.Code{}, fmt.Errorf("loadgen: confirming ICCID %s: %w", iccid, err)
		}
		return activation.Code{Address: res.SMDPAddress, MatchingID: res.MatchingID}, nil
	}
	return activation.Code{}, errors.New("loadgen: no free ICCID left in the series")
}
