package es2plus

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/smdpp/smdpp/internal/testenv"
	"github.com/smdpp/smdpp/inventory"
	"github.com/smdpp/smdpp/orders"
	"github.com/smdpp/smdpp/profiles"
	"github.com/smdpp/smdpp/status"
	"github.com/smdpp/smdpp/store"
	"github.com/smdpp/smdpp/web"
)

// benchType is the profile type of the benchmark's pool.
const benchType = "bench-5g"

// benchClients is the number of concurrent operator clients of the parallel runs, per
// GOMAXPROCS (b.SetParallelism).
const benchClients = 4

// BenchmarkOrders measures ES2+ orders per second through the real HTTP handlers: an order is
// DownloadOrder by profileType (SGP.22 §5.3.1, drawing from a pool of imported TS.48 profiles)
// then ConfirmOrder with releaseFlag true (§5.3.2), each a JWT-authenticated HTTPS request with
// its functionCallIdentifier record, wired as cmd/smdpp wires it (the pool's low-water check
// after each allocation, one request log line per call). It runs on SQLite and PostgreSQL,
// serially and from benchClients×GOMAXPROCS concurrent clients. Importing the pool (b.N profiles
// and some to spare, on a fresh database) is outside the timed section; ns/op is the time of one
// order.
//
//	eval "$(scripts/services.sh)"; go test -run '^$' -bench BenchmarkOrders -benchtime 200x ./es2plus/
func BenchmarkOrders(b *testing.B) {
	tpl, err := os.ReadFile(filepath.Join("..", "testdata", "upp", "TS48v3_SAIP2.3_BERTLV.der"))
	if err != nil {
		b.Fatal(err)
	}
	for _, d := range testenv.Databases {
		for _, parallel := range []bool{false, true} {
			name := d.Name + "/serial"
			if parallel {
				name = d.Name + "/parallel"
			}
			b.Run(name, func(b *testing.B) {
				e, c, tok := newBenchEnv(b, d, tpl, b.N+100)
				b.ResetTimer()
				if parallel {
					b.SetParallelism(benchClients)
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							if err := e.order(c, tok); err != nil {
								b.Error(err)
								return
							}
						}
					})
				} else {
					for range b.N {
						if err := e.order(c, tok); err != nil {
							b.Fatal(err)
						}
					}
				}
				b.StopTimer()
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "orders/s")
				levels, err := e.db.PoolLevels(context.Background(), opA)
				if err != nil {
					b.Fatal(err)
				}
				if len(levels) != 1 || levels[0].Counts[store.StateReleased] != b.N {
					b.Fatalf("after %d orders the pools are %+v", b.N, levels)
				}
			})
		}
	}
}

// newBenchEnv starts an ES2+ server on a fresh database of backend d as newEnv does, with operator
// A alone, authenticated by JWT, and n profiles of benchType imported from the TS.48 template. It
// returns the env, an HTTPS client keeping enough idle connections for the parallel runs, and a
// bearer token of A (valid for five minutes, longer than any run).
func newBenchEnv(b *testing.B, d testenv.Database, tpl []byte, n int) (*env, *http.Client, string) {
	b.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, d.NewDSN(b))
	if err != nil {
		b.Fatalf("store.Open: %v", err)
	}
	b.Cleanup(func() { db.Close() })
	a := newParty(b, opA, true)
	reg, err := ParseRegistry(registryJSON(b, a, newParty(b, opB, false)))
	if err != nil {
		b.Fatalf("ParseRegistry: %v", err)
	}
	if err := reg.Sync(ctx, db); err != nil {
		b.Fatalf("Sync: %v", err)
	}

	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	inv := inventory.New(db, inventory.WithLogger(log))
	const chunk = 20_000
	for first := 0; first < n; first += chunk {
		in, err := inventory.ReadCSV(strings.NewReader(benchCSV(first, min(chunk, n-first))))
		if err != nil {
			b.Fatal(err)
		}
		rep, err := inv.Import(ctx, inventory.Batch{OperatorID: opA, ProfileType: benchType, Template: tpl, Input: in})
		if err != nil {
			b.Fatalf("Import: %v %+v", err, rep.Errors)
		}
	}

	jwtAuth, err := NewJWTAuthenticator(reg, address)
	if err != nil {
		b.Fatal(err)
	}
	r := chi.NewRouter()
	r.Use(web.RequestLog(log))
	Routes(r, orders.New(db, address, orders.WithAllocated(inv.CheckPoolOf)),
		Any(jwtAuth, NewClientCertAuthenticator(reg)), db, 64<<10, log)
	e := &env{db: db, a: a, tokAud: address}
	e.srv = httptest.NewUnstartedServer(r)
	e.srv.TLS = &tls.Config{ClientAuth: tls.RequestClientCert}
	e.srv.StartTLS()
	b.Cleanup(e.srv.Close)

	c := e.client(nil)
	c.Transport.(*http.Transport).MaxIdleConnsPerHost = 1024
	return e, c, e.token(b, a)
}

// benchCSV is an inventory input file of n profiles from first on, with Luhn-valid ICCIDs.
func benchCSV(first, n int) string {
	var s strings.Builder
	s.WriteString("iccid,imsi,ki,opc,pin1,puk1,pin2,puk2,adm1\n")
	for i := first; i < first+n; i++ {
		fmt.Fprintf(&s, "%s,23450%010d,%032x,%032x,1234,12345678,5678,87654321,55555555\n", profiles.WithLuhn(fmt.Sprintf("894450%012d", i)), i, i, i)
	}
	return s.String()
}

// order places one order as operator A: DownloadOrder by benchType, then ConfirmOrder of the
// ICCID it got with releaseFlag true.
func (e *env) order(c *http.Client, tok string) error {
	var do DownloadOrderResponse
	if err := e.call(c, tok, "downloadOrder", DownloadOrderRequest{Header: e.hdr(opA), ProfileType: benchType}, &do, &do.Response); err != nil {
		return err
	}
	var co ConfirmOrderResponse
	if err := e.call(c, tok, "confirmOrder", ConfirmOrderRequest{Header: e.hdr(opA), ICCID: do.ICCID, ReleaseFlag: ptr(true)}, &co, &co.Response); err != nil {
		return err
	}
	if co.MatchingID == "" {
		return fmt.Errorf("ConfirmOrder of %s: no matchingId", do.ICCID)
	}
	return nil
}

// call posts one ES2+ function with a bearer token and decodes the answer into out, checking that
// hdr, out's header, says Executed-Success.
func (e *env) call(c *http.Client, tok, function string, in, out any, hdr *web.Response) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+PathPrefix+function, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(web.AdminProtocolHeader, "gsma/rsp/v2.5.0")
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", function, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s: %w", function, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: HTTP %d %s", function, resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s: %w in %s", function, err, b)
	}
	if hdr.Header.FunctionExecutionStatus.Status != status.ExecutedSuccess {
		return fmt.Errorf("%s: %s", function, b)
	}
	return nil
}
