package loadgen

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/smdpp/smdpp/apdu"
	"github.com/smdpp/smdpp/certs"
	"github.com/smdpp/smdpp/devpki"
	"github.com/smdpp/smdpp/euicc"
	"github.com/smdpp/smdpp/store"
)

// writePKI writes a development PKI of one curve, as `smdpp serve` generates it, and returns its
// directory.
func writePKI(t *testing.T, curve string) string {
	t.Helper()
	p, err := devpki.Generate(devpki.Options{Curve: curve, EUICCCount: 1})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), curve)
	if err := p.WriteDir(dir, false); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestEUICCs issues identities under a server PKI and checks that the server's chain rules
// accept them, that the cache gives the same ones back, and that the virtual eUICC takes them.
func TestEUICCs(t *testing.T) {
	for _, curve := range []string{"nist", "brainpool"} {
		t.Run(curve, func(t *testing.T) {
			a, err := LoadAuthority(writePKI(t, curve))
			if err != nil {
				t.Fatal(err)
			}
			cache := t.TempDir()
			ids, err := EUICCs(a, cache, 3)
			if err != nil {
				t.Fatal(err)
			}
			roots, err := certs.NewRoots(a.CI)
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			for _, id := range ids {
				if seen[id.EID] {
					t.Errorf("EID %s twice", id.EID)
				}
				seen[id.EID] = true
				cert, err := certs.ParseCertificate(id.Certificate)
				if err != nil {
					t.Fatal(err)
				}
				got, err := certs.VerifyEUICCChain(cert, a.EUM, roots, certs.VerifyOptions{Now: time.Now(), RequireEIDCheckDigits: true})
				if err != nil {
					t.Fatalf("the server would refuse %s: %v", id.EID, err)
				}
				if got.EID != id.EID || cert.Role() != certs.RoleEUICC {
					t.Errorf("EID %s role %v", got.EID, cert.Role())
				}
				card, err := euicc.New(a.Config(id))
				if err != nil {
					t.Fatal(err)
				}
				if _, err := apdu.OpenES10(context.Background(), apdu.NewCardTransport(apdu.NewCard(card))); err != nil {
					t.Fatal(err)
				}
			}
			again, err := EUICCs(a, cache, 3)
			if err != nil {
				t.Fatal(err)
			}
			for i := range ids {
				if again[i].EID != ids[i].EID || !again[i].Key.Equal(ids[i].Key) {
					t.Errorf("cached identity %d differs", i)
				}
			}
			more, err := EUICCs(a, cache, 4)
			if err != nil || len(more) != 4 {
				t.Fatalf("growing the cache: %d, %v", len(more), err)
			}
		})
	}
}

func TestEUICCsRejects(t *testing.T) {
	dir := writePKI(t, "nist")
	a, err := LoadAuthority(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, -1, MaxEUICCs + 1} {
		if _, err := EUICCs(a, t.TempDir(), n); err == nil {
			t.Errorf("count %d accepted", n)
		}
	}
	// A stray or half-written file in the cache is skipped, not used.
	cache := t.TempDir()
	sub := a.cacheSubdir(cache)
	os.MkdirAll(sub, 0o700)
	os.WriteFile(filepath.Join(sub, "89049999000000000000000000000000.crt"), []byte("junk"), 0o600)
	ids, err := EUICCs(a, cache, 1)
	if err != nil || len(ids) != 1 || ids[0].EID == "89049999000000000000000000000000" {
		t.Errorf("junk cache entry: %v %v", ids, err)
	}
	if _, err := a.IssueEUICC("1234", &ids[0].Key.PublicKey, time.Now()); err == nil {
		t.Error("a bad EID was issued")
	}
	// Another PKI's EUM key does not match this EUM.
	other := writePKI(t, "nist")
	os.Rename(filepath.Join(other, devpki.EUMKeyFile), filepath.Join(dir, devpki.EUMKeyFile))
	if _, err := LoadAuthority(dir); err == nil {
		t.Error("a mismatched EUM key was accepted")
	}
	if _, err := LoadAuthority(t.TempDir()); err == nil {
		t.Error("an empty directory was accepted")
	}
}

func TestMeasureFloor(t *testing.T) {
	dir := writePKI(t, "nist")
	a, err := LoadAuthority(dir)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := EUICCs(a, t.TempDir(), 1)
	if err != nil {
		t.Fatal(err)
	}
	pkg, err := os.ReadFile(filepath.Join(uppDir, "TS48V2-SAIP2-3-BERTLV-UNIQUE.der"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := MeasureFloor(a, dir, ids[0], pkg, time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Primitives) != 11 || f.PerDownload <= 0 || f.Curve == "" || f.ProfileBytes != len(pkg) {
		t.Errorf("floor %+v", f)
	}
	for _, p := range f.Primitives {
		if p.Iterations < 1 || p.PerDownload != 1 {
			t.Errorf("primitive %+v", p)
		}
	}
}

// TestPrepare creates orders on a SQLite database, as --prepare does, and checks each is a
// distinct released profile with its own Luhn-valid ICCID.
func TestPrepare(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "smdpp.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	pkg, err := os.ReadFile(filepath.Join(uppDir, "TS48V2-SAIP2-3-BERTLV-UNIQUE.der"))
	if err != nil {
		t.Fatal(err)
	}
	opts := PrepareOptions{Address: "127.0.0.1:8443", Operator: "loadgen", Package: pkg, Count: 5}
	codes, err := Prepare(ctx, db, opts)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, c := range codes {
		if c.Address != "127.0.0.1:8443" || c.MatchingID == "" || seen[c.MatchingID] {
			t.Errorf("code %+v", c)
		}
		seen[c.MatchingID] = true
		p, err := db.GetProfileByMatchingID(ctx, c.MatchingID)
		if err != nil {
			t.Fatal(err)
		}
		if p.State != store.StateReleased || !LuhnValid(p.ICCID) || seen[p.ICCID] {
			t.Errorf("profile %s state %s", p.ICCID, p.State)
		}
		seen[p.ICCID] = true
	}
	// A second run on the same database works (the operator exists, ICCIDs do not collide).
	if _, err := Prepare(ctx, db, opts); err != nil {
		t.Fatalf("second prepare: %v", err)
	}
	for _, bad := range []PrepareOptions{
		{Address: "a", Operator: "o", Package: pkg, Count: 0},
		{Address: "", Operator: "o", Package: pkg, Count: 1},
		{Address: "a", Operator: "o", Package: []byte{1, 2, 3}, Count: 1},
	} {
		if _, err := Prepare(ctx, db, bad); err == nil {
			t.Errorf("options %+v accepted", bad)
		}
	}
}
