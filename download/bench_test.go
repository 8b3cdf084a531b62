package download

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/smdpp/smdpp/orders"
	"github.com/smdpp/smdpp/profiles"
	"github.com/smdpp/smdpp/store"
)

// BenchmarkDownload runs complete downloads through the service (no HTTP) against the SGP.26 PKI
// and reports the server's time per ES9+ function next to the total per download. The card's
// work is outside the timed sections.
func BenchmarkDownload(b *testing.B) {
	for _, curve := range []string{"NIST", "BRP"} {
		b.Run(curve, func(b *testing.B) {
			e := newEnv(b, curve)
			tmpl, err := os.ReadFile(filepath.Join("..", "testdata", "upp", upp))
			if err != nil {
				b.Fatal(err)
			}
			pkg, err := profiles.Parse(tmpl)
			if err != nil {
				b.Fatal(err)
			}
			var spent [5]time.Duration
			timed := func(i int, f func() error) {
				start := time.Now()
				if err := f(); err != nil {
					b.Fatal(err)
				}
				spent[i] += time.Since(start)
			}
			b.ResetTimer()
			for n := 0; n < b.N; n++ {
				b.StopTimer()
				iccid := profiles.WithLuhn(fmt.Sprintf("89000%014d", n))
				p := store.Profile{ICCID: iccid, OperatorID: operator, ProfileType: "bench", State: store.StateAvailable, Package: withICCID(tmpl, pkg, iccid)}
				if err := e.db.CreateProfiles(e.ctx, []store.Profile{p}); err != nil {
					b.Fatal(err)
				}
				if _, err := e.orders.DownloadOrder(e.ctx, operator, orders.DownloadOrderRequest{ICCID: iccid}); err != nil {
					b.Fatal(err)
				}
				res, err := e.orders.ConfirmOrder(e.ctx, operator, orders.ConfirmOrderRequest{ICCID: iccid, ReleaseFlag: true})
				if err != nil {
					b.Fatal(err)
				}
				e.newCard()
				b.StartTimer()
				var ia *InitiateAuthenticationResult
				var ac *AuthenticateClientResult
				var bpp []byte
				timed(0, func() (err error) { ia, err = e.initiate(); return })
				b.StopTimer()
				asr := e.authenticateServer(ia, res.MatchingID)
				b.StartTimer()
				timed(1, func() (err error) { ac, err = e.svc.AuthenticateClient(e.ctx, ia.TransactionID, asr); return })
				b.StopTimer()
				pd := e.prepareDownload(ac, nil)
				b.StartTimer()
				timed(2, func() (err error) { bpp, err = e.svc.GetBoundProfilePackage(e.ctx, ia.TransactionID, pd); return })
				b.StopTimer()
				pir := e.load(bpp)
				b.StartTimer()
				timed(3, func() error { return e.svc.HandleNotification(e.ctx, pir) })
			}
			for i, name := range []string{"initiate", "authenticate", "bpp", "notify"} {
				b.ReportMetric(float64(spent[i].Microseconds())/float64(b.N), name+"-µs/op")
			}
		})
	}
}

// withICCID rewrites the ProfileHeader's iccid (reading-order BCD, F-padded) of a TS.48 package.
func withICCID(tmpl []byte, pkg *profiles.Package, iccid string) []byte {
	out := append([]byte(nil), tmpl...)
	raw := pkg.Header.ICCIDRaw
	for i := 0; i+len(raw) <= len(out); i++ {
		if string(out[i:i+len(raw)]) == string(raw[:]) {
			var enc [10]byte
			for j := range enc {
				hi, lo := byte(0xF), byte(0xF)
				if 2*j < len(iccid) {
					hi = iccid[2*j] - '0'
				}
				if 2*j+1 < len(iccid) {
					lo = iccid[2*j+1] - '0'
				}
				enc[j] = hi<<4 | lo
			}
			copy(out[i:], enc[:])
			break
		}
	}
	return out
}
