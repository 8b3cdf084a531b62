package store

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/smdpp/smdpp/internal/testenv"
)

// BenchmarkAllocateTransition measures the DownloadOrder and ConfirmOrder pair of writes: take a
// profile from the pool, then move it on with a compare-and-set; serially and from parallel
// goroutines (which contend for the head of the pool).
func BenchmarkAllocateTransition(b *testing.B) {
	for _, be := range testenv.Databases {
		for _, parallel := range []bool{false, true} {
			name := be.Name + "/serial"
			if parallel {
				name = be.Name + "/parallel"
			}
			b.Run(name, func(b *testing.B) {
				ctx := context.Background()
				db := openDB(b, be.NewDSN(b))
				mustOperator(b, db, "op1")
				for first := 0; first < b.N; first += 10 * createBatch {
					mustCreateProfiles(b, db, pool("op1", "T", first, min(10*createBatch, b.N-first)))
				}
				var seq atomic.Int64
				step := func() error {
					p, err := db.AllocateProfile(ctx, "op1", "T", func(p *Profile) error {
						p.MatchingID = fmt.Sprintf("M%d", seq.Add(1))
						return nil
					})
					if err != nil {
						return err
					}
					_, err = db.TransitionProfile(ctx, p.ICCID, []State{StateAllocated}, StateReleased, func(p *Profile) error {
						p.EID = "89049032123451234512345678901235"
						return nil
					})
					return err
				}
				b.ResetTimer()
				if parallel {
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							if err := step(); err != nil {
								b.Error(err)
								return
							}
						}
					})
				} else {
					for range b.N {
						if err := step(); err != nil {
							b.Fatal(err)
						}
					}
				}
			})
		}
	}
}

// BenchmarkDownloadWrites measures the writes of one download as package download makes them:
// a transaction with the eligibility event (AuthenticateClient), then Released → Downloaded and
// Downloaded → Installed, each with its event (GetBoundProfilePackage, HandleNotification).
func BenchmarkDownloadWrites(b *testing.B) {
	for _, be := range testenv.Databases {
		b.Run(be.Name, func(b *testing.B) {
			ctx := context.Background()
			db := openDB(b, be.NewDSN(b))
			mustOperator(b, db, "op1")
			ps := pool("op1", "T", 0, b.N)
			for i := range ps {
				ps[i].State, ps[i].MatchingID = StateReleased, fmt.Sprintf("M%d", i)
			}
			for first := 0; first < b.N; first += 10 * createBatch {
				mustCreateProfiles(b, db, ps[first:min(first+10*createBatch, b.N)])
			}
			const eid = "89049032123451234512345678901235"
			event := func(tx *Tx, p Profile, kind string) error {
				_, err := tx.RecordEvent(ctx, Event{OperatorID: p.OperatorID, ICCID: p.ICCID, EID: eid, Kind: kind})
				return err
			}
			b.ResetTimer()
			for _, p := range ps {
				err := db.InTx(ctx, func(tx *Tx) error { return event(tx, p, "authenticated") })
				if err == nil {
					err = db.InTx(ctx, func(tx *Tx) error {
						p, err := tx.TransitionProfile(ctx, p.ICCID, []State{StateReleased}, StateDownloaded, func(p *Profile) error {
							p.DownloadAttempts++
							p.EID = eid
							p.EUICCCertificate = make([]byte, 500)
							return nil
						})
						if err != nil {
							return err
						}
						return event(tx, p, "downloaded")
					})
				}
				if err == nil {
					err = db.InTx(ctx, func(tx *Tx) error {
						p, err := tx.TransitionProfile(ctx, p.ICCID, []State{StateDownloaded}, StateInstalled, nil)
						if err != nil {
							return err
						}
						return event(tx, p, "installed")
					})
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
