package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smdpp/smdpp/internal/testenv"
)

func TestIsPostgresDSN(t *testing.T) {
	for _, tc := range []struct {
		dsn  string
		want bool
	}{
		{"postgres://u:p@db:5432/smdpp?sslmode=disable", true},
		{"postgresql://db/smdpp", true},
		{"host=127.0.0.1 port=5432 dbname=smdpp", true},
		{"user=smdpp host=/var/run/postgresql", true},
		{"/var/lib/smdpp/smdpp.db", false},
		{"file:smdpp.db?cache=shared", false},
		{"smdpp.db", false},
		{"hostname.db", false},
		{"", false},
	} {
		t.Run(tc.dsn, func(t *testing.T) {
			if got := IsPostgresDSN(tc.dsn); got != tc.want {
				t.Errorf("IsPostgresDSN(%q) = %v, want %v", tc.dsn, got, tc.want)
			}
		})
	}
}

func TestOpenBadDSN(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, dsn, secret string
	}{
		{"empty", "", ""},
		{"blank", "   ", ""},
		{"sqlite missing directory", "/nonexistent-smdpp-dir/sub/smdpp.db", ""},
		{"sqlite directory as file", t.TempDir(), ""},
		{"postgres refused", "host=127.0.0.1 port=1 user=smdpp dbname=smdpp sslmode=disable connect_timeout=5", ""},
		{"postgres malformed URL", "postgres://smdpp:hunter2@[::1/smdpp", "hunter2"},
		{"postgres bad port", "postgres://smdpp:hunter2@127.0.0.1:notaport/smdpp", "hunter2"},
		{"postgres bad option", "host=127.0.0.1 port=1 sslmode=bogus", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			db, err := Open(ctx, tc.dsn)
			if err == nil {
				db.Close()
				t.Fatalf("Open(%q) succeeded", tc.dsn)
			}
			t.Logf("Open: %v", err)
			if !strings.HasPrefix(err.Error(), "store: ") {
				t.Errorf("error %q lacks the store: prefix", err)
			}
			if tc.secret != "" && strings.Contains(err.Error(), tc.secret) {
				t.Errorf("error %q reveals the password", err)
			}
		})
	}
}

func TestOpenMigrations(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, b testenv.Database) {
		ctx := context.Background()
		dsn := b.NewDSN(t)
		db := openDB(t, dsn)
		if got := db.Backend(); got != b.Name {
			t.Errorf("Backend() = %q, want %q", got, b.Name)
		}
		if err := db.Ping(ctx); err != nil {
			t.Fatalf("Ping: %v", err)
		}
		mustOperator(t, db, "op1")
		mustCreateProfiles(t, db, pool("op1", "T", 0, 3))
		if err := db.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if err := db.Ping(ctx); err == nil {
			t.Error("Ping after Close succeeded")
		}

		// Opening again, also several times at once, migrates nothing and keeps the data.
		var wg sync.WaitGroup
		dbs := make([]*DB, 4)
		errs := make([]error, len(dbs))
		for i := range dbs {
			wg.Go(func() { dbs[i], errs[i] = Open(ctx, dsn) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("reopen %d: %v", i, err)
			}
			t.Cleanup(func() { dbs[i].Close() })
		}
		db = dbs[0]
		if _, err := db.GetOperator(ctx, "op1"); err != nil {
			t.Errorf("operator lost on reopen: %v", err)
		}
		if n := countProfiles(t, db); n != 3 {
			t.Errorf("%d profiles after reopen, want 3", n)
		}
		var versions []schemaVersionRow
		if err := db.reader.Find(&versions).Error; err != nil {
			t.Fatal(err)
		}
		if len(versions) != 1 || versions[0].Version != SchemaVersion {
			t.Errorf("schema_versions = %+v, want one row with version %d", versions, SchemaVersion)
		}

		// A database whose tables exist but whose version row is missing (a crash between the
		// two, or a schema from before versioning) is migrated again over its data.
		if err := db.writer.Where("version = ?", SchemaVersion).Delete(&schemaVersionRow{}).Error; err != nil {
			t.Fatal(err)
		}
		db = openDB(t, dsn)
		if n := countProfiles(t, db); n != 3 {
			t.Errorf("%d profiles after re-migration, want 3", n)
		}
		versions = nil
		if err := db.reader.Find(&versions).Error; err != nil {
			t.Fatal(err)
		}
		if len(versions) != 1 || versions[0].Version != SchemaVersion {
			t.Errorf("schema_versions = %+v after re-migration, want one row with version %d", versions, SchemaVersion)
		}

		// A database migrated by a newer build is refused.
		if err := db.writer.Create(&schemaVersionRow{Version: SchemaVersion + 1, AppliedAt: time.Now()}).Error; err != nil {
			t.Fatal(err)
		}
		if db2, err := Open(ctx, dsn); err == nil {
			db2.Close()
			t.Error("Open of a newer schema succeeded")
		} else if !strings.Contains(err.Error(), "newer") {
			t.Errorf("Open of a newer schema: %v", err)
		}
	})
}

func TestSQLiteSettings(t *testing.T) {
	t.Parallel()
	db := openDB(t, sqliteDSN(t))
	ctx := context.Background()
	for _, tc := range []struct {
		pragma string
		want   string
	}{
		{"journal_mode", "wal"},
		{"foreign_keys", "1"},
		{"busy_timeout", "5000"},
	} {
		var got string
		if err := db.writer.WithContext(ctx).Raw("PRAGMA " + tc.pragma).Scan(&got).Error; err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("writer PRAGMA %s = %q, want %q", tc.pragma, got, tc.want)
		}
		if err := db.reader.WithContext(ctx).Raw("PRAGMA " + tc.pragma).Scan(&got).Error; err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("reader PRAGMA %s = %q, want %q", tc.pragma, got, tc.want)
		}
	}
	// The read pool cannot write.
	if err := db.reader.Exec("DELETE FROM operators").Error; err == nil {
		t.Error("write through the read pool succeeded")
	}
}

func TestOperators(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, b testenv.Database) {
		ctx := context.Background()
		db, clock := newDB(t, b)

		op, err := db.CreateOperator(ctx, Operator{ID: "mno-b", Name: "B", CallbackURL: "https://b.example"})
		if err != nil {
			t.Fatal(err)
		}
		want := Operator{ID: "mno-b", Name: "B", CallbackURL: "https://b.example", RedownloadLimit: DefaultRedownloadLimit,
			CreatedAt: testEpoch.Truncate(time.Microsecond), UpdatedAt: testEpoch.Truncate(time.Microsecond)}
		if op != want {
			t.Errorf("CreateOperator = %+v, want %+v", op, want)
		}
		if got, err := db.GetOperator(ctx, "mno-b"); err != nil || got != want {
			t.Errorf("GetOperator = %+v, %v; want %+v", got, err, want)
		}
		if _, err := db.CreateOperator(ctx, Operator{ID: "mno-a", RedownloadLimit: 1}); err != nil {
			t.Fatal(err)
		}

		for _, tc := range []struct {
			name string
			op   Operator
			want error
		}{
			{"duplicate", Operator{ID: "mno-b"}, ErrDuplicate},
			{"empty ID", Operator{Name: "x"}, nil},
			{"negative limit", Operator{ID: "mno-c", RedownloadLimit: -1}, nil},
		} {
			t.Run("create/"+tc.name, func(t *testing.T) {
				_, err := db.CreateOperator(ctx, tc.op)
				if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
					t.Errorf("CreateOperator(%+v) = %v, want error %v", tc.op, err, tc.want)
				}
			})
		}

		ops, err := db.ListOperators(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(ops) != 2 || ops[0].ID != "mno-a" || ops[1].ID != "mno-b" || ops[0].RedownloadLimit != 1 {
			t.Errorf("ListOperators = %+v", ops)
		}

		clock.Advance(time.Hour)
		upd, err := db.UpdateOperator(ctx, Operator{ID: "mno-b", Name: "B2", CallbackURL: "", RedownloadLimit: 0})
		if err != nil {
			t.Fatal(err)
		}
		if upd.Name != "B2" || upd.CallbackURL != "" || upd.RedownloadLimit != 0 ||
			!upd.CreatedAt.Equal(want.CreatedAt) || !upd.UpdatedAt.Equal(want.CreatedAt.Add(time.Hour)) {
			t.Errorf("UpdateOperator = %+v", upd)
		}
		if _, err := db.UpdateOperator(ctx, Operator{ID: "nobody"}); !errors.Is(err, ErrNotFound) {
			t.Errorf("UpdateOperator(unknown) = %v, want ErrNotFound", err)
		}
		if _, err := db.GetOperator(ctx, "nobody"); !errors.Is(err, ErrNotFound) {
			t.Errorf("GetOperator(unknown) = %v, want ErrNotFound", err)
		}
	})
}

func TestProfiles(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, b testenv.Database) {
		ctx := context.Background()
		db, _ := newDB(t, b)
		mustOperator(t, db, "op1")
		mustOperator(t, db, "op2")
		hash := sha256.Sum256([]byte("12345678"))
		full := Profile{
			ICCID: iccid(100), OperatorID: "op1", ProfileType: "Gold", State: StateReleased,
			EID: "89049032123451234512345678901235", MatchingID: "ABCD-1234-EFGH",
			ConfirmationCodeHash: hash[:], CCAttempts: 1, DownloadAttempts: 2, SMDSAddress: "lpa.ds.gsma.com",
			Package: bytes.Repeat([]byte{0xA0, 0x01}, 5000), LastErrorReason: ptr(0), LastBppCommandID: ptr(3),
		}
		ps := append([]Profile{full}, pool("op1", "Silver", 0, 3)...)
		ps = append(ps, pool("op2", "Gold", 10, 2)...)
		mustCreateProfiles(t, db, ps)

		got := mustGetProfile(t, db, full.ICCID)
		want := full
		want.Version, want.CreatedAt, want.UpdatedAt = 1, testEpoch.Truncate(time.Microsecond), testEpoch.Truncate(time.Microsecond)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("GetProfile =\n%+v\nwant\n%+v", got, want)
		}
		if got, err := db.GetProfileByMatchingID(ctx, "ABCD-1234-EFGH"); err != nil || got.ICCID != full.ICCID {
			t.Errorf("GetProfileByMatchingID = %v, %v", got.ICCID, err)
		}
		if p := mustGetProfile(t, db, iccid(0)); p.State != StateAvailable || p.EID != "" || p.MatchingID != "" ||
			p.ConfirmationCodeHash != nil || p.LastErrorReason != nil || p.Version != 1 {
			t.Errorf("pool profile = %+v", p)
		}

		for _, tc := range []struct {
			name string
			get  func() (Profile, error)
		}{
			{"unknown ICCID", func() (Profile, error) { return db.GetProfile(ctx, iccid(999)) }},
			{"unknown matchingId", func() (Profile, error) { return db.GetProfileByMatchingID(ctx, "nope") }},
			{"empty matchingId", func() (Profile, error) { return db.GetProfileByMatchingID(ctx, "") }},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if _, err := tc.get(); !errors.Is(err, ErrNotFound) {
					t.Errorf("got %v, want ErrNotFound", err)
				}
			})
		}

		for _, tc := range []struct {
			name   string
			filter ProfileFilter
			want   []string
		}{
			{"all", ProfileFilter{}, []string{iccid(0), iccid(1), iccid(2), iccid(10), iccid(11), iccid(100)}},
			{"operator", ProfileFilter{OperatorID: "op2"}, []string{iccid(10), iccid(11)}},
			{"type", ProfileFilter{ProfileType: "Gold"}, []string{iccid(10), iccid(11), iccid(100)}},
			{"operator and type", ProfileFilter{OperatorID: "op1", ProfileType: "Gold"}, []string{iccid(100)}},
			{"state", ProfileFilter{State: StateAvailable, OperatorID: "op1"}, []string{iccid(0), iccid(1), iccid(2)}},
			{"eid", ProfileFilter{EID: full.EID}, []string{iccid(100)}},
			{"iccid", ProfileFilter{ICCID: iccid(1)}, []string{iccid(1)}},
			{"limit", ProfileFilter{Limit: 2}, []string{iccid(0), iccid(1)}},
			{"no match", ProfileFilter{OperatorID: "op3"}, nil},
			{"unknown state", ProfileFilter{State: "Bogus"}, nil},
		} {
			t.Run("find/"+tc.name, func(t *testing.T) {
				found, err := db.FindProfiles(ctx, tc.filter)
				if err != nil {
					t.Fatal(err)
				}
				var iccids []string
				for _, p := range found {
					iccids = append(iccids, p.ICCID)
					if p.Package != nil {
						t.Errorf("FindProfiles returned Package of %s", p.ICCID)
					}
				}
				if !slices.Equal(iccids, tc.want) {
					t.Errorf("FindProfiles(%+v) = %v, want %v", tc.filter, iccids, tc.want)
				}
			})
		}

		for _, tc := range []struct {
			name string
			p    Profile
			want error // nil: any error
		}{
			{"short ICCID", Profile{ICCID: "89881234", OperatorID: "op1"}, nil},
			{"long ICCID", Profile{ICCID: "898800000000000000001", OperatorID: "op1"}, nil},
			{"hex ICCID", Profile{ICCID: "8988000000000000000F", OperatorID: "op1"}, nil},
			{"empty ICCID", Profile{OperatorID: "op1"}, nil},
			{"no operator", Profile{ICCID: iccid(500)}, nil},
			{"unknown operator", Profile{ICCID: iccid(501), OperatorID: "ghost"}, ErrNotFound},
			{"bad state", Profile{ICCID: iccid(502), OperatorID: "op1", State: "Lost"}, nil},
			{"negative attempts", Profile{ICCID: iccid(503), OperatorID: "op1", CCAttempts: -1}, nil},
			{"duplicate matchingId", Profile{ICCID: iccid(504), OperatorID: "op1", MatchingID: full.MatchingID}, ErrDuplicate},
		} {
			t.Run("create/"+tc.name, func(t *testing.T) {
				err := db.CreateProfiles(ctx, []Profile{tc.p})
				if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
					t.Errorf("CreateProfiles(%+v) = %v, want error %v", tc.p, err, tc.want)
				}
			})
		}
		if n := countProfiles(t, db); n != int64(len(ps)) {
			t.Errorf("%d profiles after failed creates, want %d", n, len(ps))
		}
		if err := db.CreateProfiles(ctx, nil); err != nil {
			t.Errorf("CreateProfiles(nil) = %v", err)
		}
	})
}

func TestCreateProfilesDuplicate(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, b testenv.Database) {
		ctx := context.Background()
		db, _ := newDB(t, b)
		mustOperator(t, db, "op1")
		mustCreateProfiles(t, db, pool("op1", "T", 0, 5))

		for _, tc := range []struct {
			name string
			ps   []Profile
		}{
			{"existing ICCID", pool("op1", "T", 4, 3)},
			{"twice in the batch", append(pool("op1", "T", 100, 3), pool("op1", "T", 101, 1)...)},
			// The duplicate sits in the last INSERT statement: the earlier batches must go too.
			{"existing ICCID in a later batch", pool("op1", "T", 2000, createBatch+1)},
			{"matchingId twice", []Profile{
				{ICCID: iccid(200), OperatorID: "op1", MatchingID: "M1"},
				{ICCID: iccid(201), OperatorID: "op1", MatchingID: "M1"},
			}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if tc.name == "existing ICCID in a later batch" {
					mustCreateProfiles(t, db, pool("op1", "T", 2000+createBatch, 1))
				}
				before := countProfiles(t, db)
				err := db.CreateProfiles(ctx, tc.ps)
				if !errors.Is(err, ErrDuplicate) {
					t.Errorf("CreateProfiles = %v, want ErrDuplicate", err)
				}
				if after := countProfiles(t, db); after != before {
					t.Errorf("%d profiles after the failed insert, had %d", after, before)
				}
			})
		}
		if p := mustGetProfile(t, db, iccid(4)); p.Version != 1 || p.State != StateAvailable {
			t.Errorf("existing profile changed: %+v", p)
		}
	})
}

func TestTransitionProfile(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, b testenv.Database) {
		ctx := context.Background()
		db, clock := newDB(t, b)
		mustOperator(t, db, "op1")
		mustCreateProfiles(t, db, pool("op1", "T", 0, 3))
		id := iccid(0)
		start := testEpoch.Truncate(time.Microsecond)

		clock.Advance(time.Minute)
		p, err := db.TransitionProfile(ctx, id, []State{StateAvailable}, StateAllocated, func(p *Profile) error {
			if p.State != StateAllocated {
				t.Errorf("mutate sees state %s, want Allocated", p.State)
			}
			p.MatchingID = "MATCH-0"
			p.EID = "89049032123451234512345678901235"
			p.LastErrorReason = ptr(0)
			if p.Package != nil {
				t.Errorf("mutate sees a package of %d bytes; transitions do not read it", len(p.Package))
			}
			// Fields TransitionProfile owns are restored, and the package never changes.
			p.ICCID, p.OperatorID, p.Version, p.State, p.CreatedAt = "x", "y", 99, StateInstalled, time.Time{}
			p.Package = []byte{0xFF}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if p.ICCID != id || p.OperatorID != "op1" || p.State != StateAllocated || p.Version != 2 ||
			!p.CreatedAt.Equal(start) || !p.UpdatedAt.Equal(start.Add(time.Minute)) || p.Package != nil {
			t.Errorf("TransitionProfile = %+v", p)
		}
		got := mustGetProfile(t, db, id)
		if want := pool("op1", "T", 0, 1)[0].Package; !bytes.Equal(got.Package, want) {
			t.Errorf("stored package %x, want the imported %x", got.Package, want)
		}
		if withoutPackage, err := db.GetProfileWithoutPackage(ctx, id); err != nil || !reflect.DeepEqual(withoutPackage, p) {
			t.Errorf("GetProfileWithoutPackage = %+v, %v; want %+v", withoutPackage, err, p)
		}
		got.Package = nil
		if !reflect.DeepEqual(got, p) {
			t.Errorf("stored\n%+v\nreturned\n%+v", got, p)
		}

		// Same state, clearing nullable fields.
		p, err = db.TransitionProfile(ctx, id, []State{StateAllocated}, StateAllocated, func(p *Profile) error {
			p.EID, p.LastErrorReason, p.CCAttempts = "", nil, p.CCAttempts+1
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := mustGetProfile(t, db, id); got.EID != "" || got.LastErrorReason != nil || got.CCAttempts != 1 || got.Version != 3 || got.MatchingID != "MATCH-0" {
			t.Errorf("after clearing: %+v", got)
		}

		// Changes made in place, to the slices and pointers mutate is given, are written too.
		_, err = db.TransitionProfile(ctx, id, []State{StateAllocated}, StateAllocated, func(p *Profile) error {
			p.EUICCCertificate = []byte{1, 2, 3}
			p.LastErrorReason = ptr(1)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		_, err = db.TransitionProfile(ctx, id, []State{StateAllocated}, StateAllocated, func(p *Profile) error {
			*p.LastErrorReason = 7
			p.EUICCCertificate[0] = 0xFF
			p.EUICCCertificate = append(p.EUICCCertificate, 0x00)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := mustGetProfile(t, db, id); !bytes.Equal(got.EUICCCertificate, []byte{0xFF, 2, 3, 0}) || got.LastErrorReason == nil || *got.LastErrorReason != 7 {
			t.Errorf("in-place changes lost: certificate %x, lastErrorReason %v", got.EUICCCertificate, got.LastErrorReason)
		}

		mutateErr := errors.New("eligibility refused")
		for _, tc := range []struct {
			name   string
			iccid  string
			from   []State
			to     State
			mutate func(*Profile) error
			check  func(t *testing.T, err error)
		}{
			{"wrong state", id, []State{StateAvailable, StateLinked}, StateConfirmed, nil, func(t *testing.T, err error) {
				var se *WrongStateError
				if !errors.Is(err, ErrWrongState) || !errors.As(err, &se) {
					t.Fatalf("got %v, want ErrWrongState", err)
				}
				if se.Current != StateAllocated || se.ICCID != id || !slices.Equal(se.Allowed, []State{StateAvailable, StateLinked}) {
					t.Errorf("WrongStateError = %+v", se)
				}
			}},
			{"mutate fails", id, []State{StateAllocated}, StateLinked, func(p *Profile) error {
				p.EID = "changed"
				return mutateErr
			}, func(t *testing.T, err error) {
				if err != mutateErr {
					t.Errorf("got %v, want the mutate error itself", err)
				}
			}},
			{"unknown ICCID", iccid(42), []State{StateAvailable}, StateAllocated, nil, func(t *testing.T, err error) {
				if !errors.Is(err, ErrNotFound) {
					t.Errorf("got %v, want ErrNotFound", err)
				}
			}},
			{"no from states", id, nil, StateLinked, nil, func(t *testing.T, err error) {
				if err == nil {
					t.Error("succeeded")
				}
			}},
			{"invalid target", id, []State{StateAllocated}, "Gone", nil, func(t *testing.T, err error) {
				if err == nil {
					t.Error("succeeded")
				}
			}},
			{"mutate breaks the profile", id, []State{StateAllocated}, StateLinked, func(p *Profile) error {
				p.DownloadAttempts = -1
				return nil
			}, func(t *testing.T, err error) {
				if err == nil {
					t.Error("succeeded")
				}
			}},
			{"matchingId taken", iccid(1), []State{StateAvailable}, StateAllocated, func(p *Profile) error {
				p.MatchingID = "MATCH-0"
				return nil
			}, func(t *testing.T, err error) {
				if !errors.Is(err, ErrDuplicate) {
					t.Errorf("got %v, want ErrDuplicate", err)
				}
			}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				var before Profile
				if tc.iccid != iccid(42) {
					before = mustGetProfile(t, db, tc.iccid)
				}
				_, err := db.TransitionProfile(ctx, tc.iccid, tc.from, tc.to, tc.mutate)
				tc.check(t, err)
				if tc.iccid != iccid(42) {
					if after := mustGetProfile(t, db, tc.iccid); !reflect.DeepEqual(after, before) {
						t.Errorf("profile changed by a failed transition:\n%+v\n%+v", before, after)
					}
				}
			})
		}
	})
}

func TestTransitionProfileConcurrent(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, b testenv.Database) {
		ctx := context.Background()
		db, _ := newDB(t, b)
		mustOperator(t, db, "op1")
		ps := pool("op1", "T", 0, 1)
		ps[0].State = StateReleased
		mustCreateProfiles(t, db, ps)

		const n = 20
		var wg sync.WaitGroup
		errs := make([]error, n)
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				_, errs[i] = db.TransitionProfile(ctx, iccid(0), []State{StateReleased}, StateDownloaded, func(p *Profile) error {
					p.DownloadAttempts++
					p.MatchingID = fmt.Sprintf("winner-%d", i)
					return nil
				})
			})
		}
		close(start)
		wg.Wait()
		wins := 0
		for _, err := range errs {
			switch {
			case err == nil:
				wins++
			case errors.Is(err, ErrConflict), errors.Is(err, ErrWrongState):
			default:
				t.Errorf("unexpected error: %v", err)
			}
		}
		if wins != 1 {
			t.Errorf("%d transitions won, want exactly 1", wins)
		}
		if p := mustGetProfile(t, db, iccid(0)); p.State != StateDownloaded || p.DownloadAttempts != 1 || p.Version != 2 {
			t.Errorf("final profile: state %s, attempts %d, version %d", p.State, p.DownloadAttempts, p.Version)
		}
	})
}

func TestAllocateProfile(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, b testenv.Database) {
		ctx := context.Background()
		db, _ := newDB(t, b)
		mustOperator(t, db, "op1")
		mustOperator(t, db, "op2")
		mustCreateProfiles(t, db, pool("op1", "T", 5, 2))
		mustCreateProfiles(t, db, pool("op1", "U", 0, 1))
		mustCreateProfiles(t, db, pool("op2", "T", 100, 1))

		refused := errors.New("refused")
		if _, err := db.AllocateProfile(ctx, "op1", "T", func(*Profile) error { return refused }); err != refused {
			t.Errorf("AllocateProfile with failing mutate = %v", err)
		}
		for _, want := range []string{iccid(5), iccid(6)} {
			p, err := db.AllocateProfile(ctx, "op1", "T", func(p *Profile) error {
				p.MatchingID = "M-" + p.ICCID
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if p.ICCID != want || p.State != StateAllocated || p.MatchingID != "M-"+want || p.Version != 2 {
				t.Errorf("AllocateProfile = %+v, want %s Allocated", p, want)
			}
		}
		for _, tc := range []struct{ operator, typ string }{{"op1", "T"}, {"op1", "V"}, {"op3", "T"}} {
			if _, err := db.AllocateProfile(ctx, tc.operator, tc.typ, nil); !errors.Is(err, ErrPoolEmpty) {
				t.Errorf("AllocateProfile(%s, %s) = %v, want ErrPoolEmpty", tc.operator, tc.typ, err)
			}
		}
		for _, id := range []string{iccid(0), iccid(100)} {
			if p := mustGetProfile(t, db, id); p.State != StateAvailable {
				t.Errorf("%s of another pool is %s", id, p.State)
			}
		}
	})
}

func TestAllocateProfileConcurrent(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, b testenv.Database) {
		ctx := context.Background()
		db, _ := newDB(t, b)
		mustOperator(t, db, "op1")
		mustOperator(t, db, "op2")
		const available, callers = 20, 50
		mustCreateProfiles(t, db, pool("op1", "T", 0, available))
		mustCreateProfiles(t, db, pool("op1", "Other", 1000, 5))
		mustCreateProfiles(t, db, pool("op2", "T", 2000, 5))

		var wg sync.WaitGroup
		got := make([]Profile, callers)
		errs := make([]error, callers)
		start := make(chan struct{})
		for i := range callers {
			wg.Go(func() {
				<-start
				got[i], errs[i] = db.AllocateProfile(ctx, "op1", "T", func(p *Profile) error {
					p.MatchingID = fmt.Sprintf("caller-%d", i)
					return nil
				})
			})
		}
		close(start)
		wg.Wait()

		seen := map[string]int{}
		empty := 0
		for i, err := range errs {
			switch {
			case err == nil:
				if prev, dup := seen[got[i].ICCID]; dup {
					t.Errorf("%s allocated to callers %d and %d", got[i].ICCID, prev, i)
				}
				seen[got[i].ICCID] = i
				if got[i].OperatorID != "op1" || got[i].ProfileType != "T" {
					t.Errorf("allocated %+v from the wrong pool", got[i])
				}
			case errors.Is(err, ErrPoolEmpty):
				empty++
			default:
				t.Errorf("caller %d: %v", i, err)
			}
		}
		if len(seen) != available || empty != callers-available {
			t.Errorf("%d allocations and %d ErrPoolEmpty, want %d and %d", len(seen), empty, available, callers-available)
		}
		allocated, err := db.FindProfiles(ctx, ProfileFilter{State: StateAllocated, Limit: MaxFindLimit})
		if err != nil {
			t.Fatal(err)
		}
		if len(allocated) != available {
			t.Errorf("%d profiles Allocated, want %d", len(allocated), available)
		}
		for _, p := range allocated {
			if i, ok := seen[p.ICCID]; !ok || p.MatchingID != fmt.Sprintf("caller-%d", i) || p.Version != 2 {
				t.Errorf("stored %s: matchingId %q version %d, caller %d", p.ICCID, p.MatchingID, p.Version, i)
			}
		}
	})
}

func TestOutbox(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, b testenv.Database) {
		ctx := context.Background()
		db, clock := newDB(t, b)
		const lease = time.Minute
		A, B := iccid(1), iccid(2)

		enqueue := func(iccid, kind string, next time.Time) OutboxMessage {
			t.Helper()
			m, err := db.EnqueueOutbox(ctx, OutboxMessage{OperatorID: "op1", ICCID: iccid, Kind: kind, Payload: []byte(kind), NextAttemptAt: next})
			if err != nil {
				t.Fatal(err)
			}
			return m
		}
		claim := func(want ...OutboxMessage) []OutboxMessage {
			t.Helper()
			got, err := db.ClaimOutbox(ctx, 10, lease)
			if err != nil {
				t.Fatal(err)
			}
			var gotIDs, wantIDs []int64
			for _, m := range got {
				gotIDs = append(gotIDs, m.ID)
			}
			for _, m := range want {
				wantIDs = append(wantIDs, m.ID)
			}
			if !slices.Equal(gotIDs, wantIDs) {
				t.Fatalf("ClaimOutbox = %v, want %v", gotIDs, wantIDs)
			}
			return got
		}

		a1 := enqueue(A, "a1", time.Time{})
		a2 := enqueue(A, "a2", time.Time{})
		b1 := enqueue(B, "b1", time.Time{})
		a3 := enqueue(A, "a3", testEpoch.Add(time.Hour))
		if a1.Attempts != 0 || a1.DeliveredAt != nil || !a1.NextAttemptAt.Equal(a1.CreatedAt) {
			t.Errorf("enqueued %+v", a1)
		}

		got := claim(a1, b1) // a2 waits behind a1
		if got[0].Attempts != 1 || string(got[0].Payload) != "a1" || !got[0].NextAttemptAt.Equal(clock.Now().Add(lease).Truncate(time.Microsecond)) {
			t.Errorf("claimed %+v", got[0])
		}
		claim() // leased

		if err := db.RescheduleOutbox(ctx, a1.ID, clock.Now().Add(5*time.Minute), "HTTP 503"); err != nil {
			t.Fatal(err)
		}
		if err := db.MarkOutboxDelivered(ctx, b1.ID); err != nil {
			t.Fatal(err)
		}
		clock.Advance(2 * time.Minute)
		claim() // a1 not due yet, a2 still behind it
		clock.Advance(3 * time.Minute)
		got = claim(a1)
		if got[0].Attempts != 2 || got[0].LastError != "HTTP 503" {
			t.Errorf("redelivered %+v", got[0])
		}

		// The sender dies: after the lease a1 comes again.
		clock.Advance(lease)
		claim(a1)
		if err := db.MarkOutboxDelivered(ctx, a1.ID); err != nil {
			t.Fatal(err)
		}
		if err := db.MarkOutboxDelivered(ctx, a1.ID); err != nil {
			t.Errorf("second MarkOutboxDelivered = %v", err)
		}
		claim(a2)
		if err := db.MarkOutboxDelivered(ctx, a2.ID); err != nil {
			t.Fatal(err)
		}
		claim() // a3 is scheduled for later
		clock.Advance(time.Hour)
		claim(a3)
		if err := db.MarkOutboxDelivered(ctx, a3.ID); err != nil {
			t.Fatal(err)
		}
		clock.Advance(24 * time.Hour)
		claim()

		for _, tc := range []struct {
			name string
			err  error
			want error // nil: any error
		}{
			{"mark unknown", db.MarkOutboxDelivered(ctx, 9999), ErrNotFound},
			{"reschedule unknown", db.RescheduleOutbox(ctx, 9999, clock.Now(), ""), ErrNotFound},
			{"reschedule delivered", db.RescheduleOutbox(ctx, a1.ID, clock.Now(), ""), ErrNotFound},
			{"claim zero", func() error { _, err := db.ClaimOutbox(ctx, 0, lease); return err }(), nil},
			{"claim without lease", func() error { _, err := db.ClaimOutbox(ctx, 1, 0); return err }(), nil},
			{"enqueue without kind", func() error { _, err := db.EnqueueOutbox(ctx, OutboxMessage{ICCID: A}); return err }(), nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if tc.err == nil || (tc.want != nil && !errors.Is(tc.err, tc.want)) {
					t.Errorf("got %v, want error %v", tc.err, tc.want)
				}
			})
		}
	})
}

func TestOutboxConcurrentClaims(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, b testenv.Database) {
		ctx := context.Background()
		db, _ := newDB(t, b)
		const iccids, perICCID, workers = 10, 3, 8
		for i := range perICCID {
			for j := range iccids {
				if _, err := db.EnqueueOutbox(ctx, OutboxMessage{OperatorID: "op1", ICCID: iccid(j), Kind: fmt.Sprint(i)}); err != nil {
					t.Fatal(err)
				}
			}
		}
		// Workers claim and deliver until everything is delivered; each message must be claimed
		// once (the lease outlives the test), and in enqueue order within its ICCID.
		var (
			mu        sync.Mutex
			delivered = map[string][]string{}
			claims    = map[int64]int{}
			wg        sync.WaitGroup
		)
		for range workers {
			wg.Go(func() {
				for idle := 0; idle < 20; {
					ms, err := db.ClaimOutbox(ctx, 3, time.Hour)
					if err != nil {
						t.Error(err)
						return
					}
					if len(ms) == 0 {
						idle++
						time.Sleep(5 * time.Millisecond)
						continue
					}
					idle = 0
					for _, m := range ms {
						mu.Lock()
						claims[m.ID]++
						delivered[m.ICCID] = append(delivered[m.ICCID], m.Kind)
						mu.Unlock()
						if err := db.MarkOutboxDelivered(ctx, m.ID); err != nil {
							t.Error(err)
						}
					}
				}
			})
		}
		wg.Wait()
		if len(claims) != iccids*perICCID {
			t.Errorf("%d messages claimed, want %d", len(claims), iccids*perICCID)
		}
		for id, n := range claims {
			if n != 1 {
				t.Errorf("message %d claimed %d times", id, n)
			}
		}
		for id, kinds := range delivered {
			if !slices.Equal(kinds, []string{"0", "1", "2"}) {
				t.Errorf("%s delivered in order %v", id, kinds)
			}
		}
	})
}

func TestInTx(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, b testenv.Database) {
		ctx := context.Background()
		db, _ := newDB(t, b)
		mustOperator(t, db, "op1")
		mustCreateProfiles(t, db, pool("op1", "T", 0, 2))

		// writeAll changes every table, then fails with fail (nil: commits).
		writeAll := func(tx *Tx, n int, fail func(tx *Tx) error) error {
			if _, err := tx.CreateOperator(ctx, Operator{ID: fmt.Sprintf("op-tx-%d", n)}); err != nil {
				return err
			}
			if err := tx.CreateProfiles(ctx, pool("op1", "T", 100+10*n, 2)); err != nil {
				return err
			}
			p, err := tx.AllocateProfile(ctx, "op1", "T", nil)
			if err != nil {
				return err
			}
			if _, err := tx.TransitionProfile(ctx, p.ICCID, []State{StateAllocated}, StateLinked, nil); err != nil {
				return err
			}
			if _, err := tx.EnqueueOutbox(ctx, OutboxMessage{OperatorID: "op1", ICCID: p.ICCID, Kind: "Linked"}); err != nil {
				return err
			}
			if _, err := tx.RecordEvent(ctx, Event{OperatorID: "op1", ICCID: p.ICCID, Kind: "Linked"}); err != nil {
				return err
			}
			if _, err := tx.RecordFunctionCall(ctx, FunctionCall{OperatorID: "op1", FunctionCallIdentifier: fmt.Sprint(n)}); err != nil {
				return err
			}
			// Reads inside the transaction see its writes.
			if got, err := tx.GetProfile(ctx, p.ICCID); err != nil || got.State != StateLinked {
				return fmt.Errorf("read own write: %v %v", got.State, err)
			}
			if fail != nil {
				return fail(tx)
			}
			return nil
		}
		type snapshot struct {
			operators, linked, outbox, events, calls int
		}
		snap := func() snapshot {
			t.Helper()
			ops, err1 := db.ListOperators(ctx)
			linked, err2 := db.FindProfiles(ctx, ProfileFilter{State: StateLinked})
			events, err3 := db.ListEvents(ctx, EventFilter{})
			var outbox, calls int64
			err4 := db.reader.Model(&outboxRow{}).Count(&outbox).Error
			err5 := db.reader.Model(&functionCallRow{}).Count(&calls).Error
			if err := errors.Join(err1, err2, err3, err4, err5); err != nil {
				t.Fatal(err)
			}
			return snapshot{len(ops), len(linked), int(outbox), len(events), int(calls)}
		}
		empty := snapshot{operators: 1}
		totalProfiles := countProfiles(t, db)

		appErr := errors.New("operator callback refused")
		for i, tc := range []struct {
			name  string
			fail  func(tx *Tx) error
			check func(t *testing.T, err error)
		}{
			{"error returned", func(*Tx) error { return appErr }, func(t *testing.T, err error) {
				if err != appErr {
					t.Errorf("InTx = %v, want the function's error itself", err)
				}
			}},
			{"failing statement", func(tx *Tx) error {
				_, err := tx.CreateOperator(ctx, Operator{ID: "op1"})
				return err
			}, func(t *testing.T, err error) {
				if !errors.Is(err, ErrDuplicate) {
					t.Errorf("InTx = %v, want ErrDuplicate", err)
				}
			}},
			{"cancelled context", func(tx *Tx) error {
				cctx, cancel := context.WithCancel(ctx)
				cancel()
				_, err := tx.GetProfile(cctx, iccid(0))
				return err
			}, func(t *testing.T, err error) {
				if !errors.Is(err, context.Canceled) {
					t.Errorf("InTx = %v, want context.Canceled", err)
				}
			}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				err := db.InTx(ctx, func(tx *Tx) error { return writeAll(tx, i, tc.fail) })
				tc.check(t, err)
				if got := snap(); got != empty {
					t.Errorf("after rollback: %+v, want %+v", got, empty)
				}
				if n := countProfiles(t, db); n != totalProfiles {
					t.Errorf("%d profiles after rollback, want %d", n, totalProfiles)
				}
			})
		}

		t.Run("panic", func(t *testing.T) {
			func() {
				defer func() {
					if r := recover(); r != "boom" {
						t.Errorf("recovered %v, want the panic to propagate", r)
					}
				}()
				db.InTx(ctx, func(tx *Tx) error { return writeAll(tx, 7, func(*Tx) error { panic("boom") }) })
			}()
			if got := snap(); got != empty {
				t.Errorf("after panic: %+v, want %+v", got, empty)
			}
			// The database is still usable: the connection went back to the pool.
			if _, err := db.GetOperator(ctx, "op1"); err != nil {
				t.Errorf("after panic: %v", err)
			}
		})

		t.Run("commit", func(t *testing.T) {
			if err := db.InTx(ctx, func(tx *Tx) error { return writeAll(tx, 8, nil) }); err != nil {
				t.Fatal(err)
			}
			if got, want := snap(), (snapshot{2, 1, 1, 1, 1}); got != want {
				t.Errorf("after commit: %+v, want %+v", got, want)
			}
		})
	})
}

func TestFunctionCalls(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, b testenv.Database) {
		ctx := context.Background()
		db, _ := newDB(t, b)
		resp := []byte(`{"header":{"functionExecutionStatus":{"status":"Executed-Success"}},"iccid":"8988"}`)
		c, err := db.RecordFunctionCall(ctx, FunctionCall{OperatorID: "op1", FunctionCallIdentifier: "fci-1", Function: "DownloadOrder", ResponseJSON: resp})
		if err != nil {
			t.Fatal(err)
		}
		if !c.CreatedAt.Equal(testEpoch.Truncate(time.Microsecond)) {
			t.Errorf("CreatedAt = %v", c.CreatedAt)
		}
		got, err := db.GetFunctionCall(ctx, "op1", "fci-1")
		if err != nil || !reflect.DeepEqual(got, c) {
			t.Errorf("GetFunctionCall = %+v, %v; want %+v", got, err, c)
		}
		// Another operator may use the same identifier.
		if _, err := db.RecordFunctionCall(ctx, FunctionCall{OperatorID: "op2", FunctionCallIdentifier: "fci-1", Function: "DownloadOrder"}); err != nil {
			t.Errorf("same identifier, other operator: %v", err)
		}
		for _, tc := range []struct {
			name string
			err  error
			want error
		}{
			{"repeated call", func() error {
				_, err := db.RecordFunctionCall(ctx, FunctionCall{OperatorID: "op1", FunctionCallIdentifier: "fci-1", Function: "ConfirmOrder"})
				return err
			}(), ErrDuplicate},
			{"unknown call", func() error { _, err := db.GetFunctionCall(ctx, "op1", "fci-2"); return err }(), ErrNotFound},
			{"empty identifier", func() error {
				_, err := db.RecordFunctionCall(ctx, FunctionCall{OperatorID: "op1"})
				return err
			}(), nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if tc.err == nil || (tc.want != nil && !errors.Is(tc.err, tc.want)) {
					t.Errorf("got %v, want error %v", tc.err, tc.want)
				}
			})
		}
		if got, _ := db.GetFunctionCall(ctx, "op1", "fci-1"); got.Function != "DownloadOrder" {
			t.Errorf("repeated call overwrote the record: %+v", got)
		}
	})
}

func TestEvents(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, b testenv.Database) {
		ctx := context.Background()
		db, clock := newDB(t, b)
		record := func(e Event) Event {
			t.Helper()
			got, err := db.RecordEvent(ctx, e)
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		e1 := record(Event{OperatorID: "op1", ICCID: iccid(1), EID: "eid-1", Kind: "DownloadOrder", Detail: "profileType=T"})
		clock.Advance(time.Minute)
		e2 := record(Event{OperatorID: "op1", ICCID: iccid(1), EID: "eid-1", Kind: "ProfileInstalled"})
		e3 := record(Event{OperatorID: "op2", ICCID: iccid(2), Kind: "DownloadOrder", At: testEpoch.Add(time.Hour)})
		if !e1.At.Equal(testEpoch.Truncate(time.Microsecond)) || e2.ID <= e1.ID || !e3.At.Equal(testEpoch.Add(time.Hour).Truncate(time.Microsecond)) {
			t.Errorf("recorded %+v %+v %+v", e1, e2, e3)
		}
		if _, err := db.RecordEvent(ctx, Event{OperatorID: "op1"}); err == nil {
			t.Error("RecordEvent without Kind succeeded")
		}
		for _, tc := range []struct {
			name   string
			filter EventFilter
			want   []Event
		}{
			{"all", EventFilter{}, []Event{e1, e2, e3}},
			{"operator", EventFilter{OperatorID: "op1"}, []Event{e1, e2}},
			{"kind", EventFilter{Kind: "DownloadOrder"}, []Event{e1, e3}},
			{"iccid and eid", EventFilter{ICCID: iccid(1), EID: "eid-1"}, []Event{e1, e2}},
			{"since", EventFilter{Since: testEpoch.Add(time.Second)}, []Event{e2, e3}},
			{"until", EventFilter{Until: testEpoch.Add(time.Minute)}, []Event{e1}},
			{"window", EventFilter{Since: testEpoch.Add(time.Second), Until: testEpoch.Add(time.Hour)}, []Event{e2}},
			{"limit", EventFilter{Limit: 1}, []Event{e1}},
			{"none", EventFilter{EID: "unknown"}, nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, err := db.ListEvents(ctx, tc.filter)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != len(tc.want) || (len(got) > 0 && !reflect.DeepEqual(got, tc.want)) {
					t.Errorf("ListEvents(%+v) =\n%+v\nwant\n%+v", tc.filter, got, tc.want)
				}
			})
		}
	})
}

// TestTransitionWithOutbox shows the intended use: the state change, its notification and its
// audit record commit together.
func TestTransitionWithOutbox(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, b testenv.Database) {
		ctx := context.Background()
		db, _ := newDB(t, b)
		mustOperator(t, db, "op1")
		ps := pool("op1", "T", 0, 1)
		ps[0].State = StateDownloaded
		mustCreateProfiles(t, db, ps)

		install := func() error {
			return db.InTx(ctx, func(tx *Tx) error {
				p, err := tx.TransitionProfile(ctx, iccid(0), []State{StateDownloaded}, StateInstalled, nil)
				if err != nil {
					return err
				}
				if _, err := tx.EnqueueOutbox(ctx, OutboxMessage{OperatorID: p.OperatorID, ICCID: p.ICCID, Kind: "HandleDownloadProgressInfo"}); err != nil {
					return err
				}
				_, err = tx.RecordEvent(ctx, Event{OperatorID: p.OperatorID, ICCID: p.ICCID, Kind: "ProfileInstalled"})
				return err
			})
		}
		if err := install(); err != nil {
			t.Fatal(err)
		}
		// A repeated notification finds the profile installed and adds nothing.
		if err := install(); !errors.Is(err, ErrWrongState) {
			t.Errorf("second install = %v, want ErrWrongState", err)
		}
		ms, err := db.ClaimOutbox(ctx, 10, time.Minute)
		if err != nil || len(ms) != 1 || ms[0].ICCID != iccid(0) {
			t.Errorf("ClaimOutbox = %+v, %v", ms, err)
		}
		if evs, err := db.ListEvents(ctx, EventFilter{ICCID: iccid(0)}); err != nil || len(evs) != 1 {
			t.Errorf("ListEvents = %+v, %v", evs, err)
		}
	})
}
