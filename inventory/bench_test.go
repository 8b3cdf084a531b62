package inventory

import (
	"context"
	"strings"
	"testing"

	"github.com/smdpp/smdpp/store"
)

// BenchmarkImport100k imports a 100 000-row CSV file (personalising the TS.48 template for each
// row: about 1.2 GB of packages) in one transaction, on each backend; profiles/s counts the whole
// Import, checks against the database included. Run it with -benchtime=1x.
func BenchmarkImport100k(b *testing.B) {
	const rows = 100_000
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			ctx := context.Background()
			e := newEnv(b, be)
			round := 0
			for b.Loop() {
				b.StopTimer()
				in := mustCSV(b, csvFile(round*rows, rows, "eu"))
				bt := Batch{OperatorID: "op1", ProfileType: "T", Template: template(b), Input: in}
				b.StartTimer()
				r, err := e.svc.Import(ctx, bt)
				if err != nil || r.Imported != rows {
					b.Fatalf("Import: %d imported, %v", r.Imported, err)
				}
				round++
			}
			b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "profiles/s")
		})
	}
}

// BenchmarkAllocateConcurrent measures the allocation path of DownloadOrder by profile type under
// concurrency: AllocateProfile (Available → Allocated, the store's skip-locked or single-writer
// allocation) followed by OrderPlaced (the usage event and the low-water check, with a threshold
// set so that the check counts), from 8 goroutines at once, on each backend.
func BenchmarkAllocateConcurrent(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			ctx := context.Background()
			e := newEnv(b, be)
			n := max(b.N, 1) + 64
			for first := 0; first < n; first += 20_000 {
				if _, err := e.svc.Import(ctx, batch(b, csvFile(first, min(20_000, n-first), ""))); err != nil {
					b.Fatal(err)
				}
			}
			if _, err := e.svc.SetThreshold(ctx, store.PoolKey{OperatorID: "op1", ProfileType: "T"}, 10); err != nil {
				b.Fatal(err)
			}
			b.SetParallelism(4)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					p, err := e.db.AllocateProfile(ctx, "op1", "T", nil)
					if err == nil {
						err = e.svc.OrderPlaced(ctx, p.ICCID)
					}
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "allocations/s")
			if strings.Count(e.logs.String(), "pool below its low-water mark") > 1 {
				b.Error("more than one low-water alert")
			}
		})
	}
}
