package inventory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/smdpp/smdpp/profiles"
	"github.com/smdpp/smdpp/store"
)

func TestReadCSV(t *testing.T) {
	for _, tc := range []struct {
		name  string
		in    string
		rows  int
		errs  []RowError
		fatal bool
	}{
		{name: "documented header", in: csvFile(0, 2, "eu"), rows: 2},
		{name: "no region column", in: strings.NewReplacer(",region\n", "\n", ",x\n", "\n").Replace(csvFile(0, 2, "x")), rows: 2},
		{name: "any order and case, spaces, BOM, comments, CRLF",
			in: "\ufeff REGION ,Imsi,ICCID,ki,opc,pin1,puk1,pin2,puk2,adm1\r\n# a comment\r\n" +
				"eu, " + testIMSI(1) + " ," + testICCID(1) + ",000102030405060708090A0B0C0D0E0F,000102030405060708090A0B0C0D0E0F,1234,12345678,5678,87654321,55555555\r\n",
			rows: 1},
		{name: "empty", in: "", errs: []RowError{{Row: 0, Reason: "the file is empty: no header"}}},
		{name: "missing and unknown columns", in: "iccid,imsi,ki,opc,pin1,puk1,puk2,adm1,regoin,iccid,\n", errs: []RowError{
			{Row: 1, Field: "regoin", Reason: "unknown column"},
			{Row: 1, Field: "iccid", Reason: "column appears twice"},
			{Row: 1, Reason: "column 11 has no name"},
			{Row: 1, Field: "pin2", Reason: "missing column"},
		}},
		{name: "field counts", in: csvHeader + "\n" + csvLine(0, "") + ",extra\n" + "a,b\n" + csvLine(1, ""), rows: 3, errs: []RowError{
			{Row: 2, Reason: "11 fields, the header has 10"},
			{Row: 3, Reason: "2 fields, the header has 10"},
		}},
		{name: "broken quote", in: csvHeader + "\n" + csvLine(0, "") + "\n\"89,x\"y,\n" + csvLine(1, "") + "\n", rows: 2, errs: []RowError{
			{Row: 3, Reason: `malformed CSV: extraneous or missing " in quoted-field`},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, err := ReadCSV(strings.NewReader(tc.in))
			if tc.fatal != (err != nil) {
				t.Fatalf("ReadCSV error %v", err)
			}
			if err != nil {
				return
			}
			if len(in.Rows) != tc.rows || !slices.Equal(in.Errors, tc.errs) {
				t.Errorf("ReadCSV = %d rows, errors %v; want %d rows, %v", len(in.Rows), in.Errors, tc.rows, tc.errs)
			}
		})
	}
	in := mustCSV(t, "\ufeff REGION ,Imsi,ICCID,ki,opc,pin1,puk1,pin2,puk2,adm1\r\n# c\r\neu, 234 ,8944,k,o,1,2,3,4,5\r\n")
	want := Row{Row: 3, ICCID: "8944", IMSI: "234", Ki: "k", OPc: "o", PIN1: "1", PUK1: "2", PIN2: "3", PUK2: "4", ADM1: "5", Region: "eu"}
	if len(in.Rows) != 1 || in.Rows[0] != want {
		t.Errorf("row = %+v, want %+v", in.Rows, want)
	}
}

func TestReadJSON(t *testing.T) {
	in, err := ReadJSON(strings.NewReader(`{"profiles":[
		{"iccid":"8944","imsi":"234","ki":"k","opc":"o","pin1":"1","puk1":"2","pin2":"3","puk2":"4","adm1":"5","region":"eu"},
		{"iccid":"8945","imsi":"235","ki":"k","opc":"o","pin1":"1","puk1":"2","pin2":"3","adm1":5,"regoin":"eu"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	want := Row{Row: 1, ICCID: "8944", IMSI: "234", Ki: "k", OPc: "o", PIN1: "1", PUK1: "2", PIN2: "3", PUK2: "4", ADM1: "5", Region: "eu"}
	if len(in.Rows) != 2 || in.Rows[0] != want {
		t.Errorf("rows = %+v", in.Rows)
	}
	slices.SortFunc(in.Errors, func(a, b RowError) int { return strings.Compare(a.Field, b.Field) })
	wantErrs := []RowError{{2, "adm1", "not a string"}, {2, "puk2", "missing"}, {2, "regoin", "unknown field"}}
	if !slices.Equal(in.Errors, wantErrs) {
		t.Errorf("errors = %v, want %v", in.Errors, wantErrs)
	}
	for _, bad := range []string{``, `[]`, `{"profiles":{}}`, `{"rows":[]}`, `{"profiles":[]} {}`, `{"profiles":[1]}`} {
		if _, err := ReadJSON(strings.NewReader(bad)); !errors.Is(err, ErrUnreadable) {
			t.Errorf("ReadJSON(%q) = %v, want ErrUnreadable", bad, err)
		}
	}
}

// TestDryRun checks that a dry run reports every bad row with its field and reason, and writes
// nothing.
func TestDryRun(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		e := newEnv(t, b)
		// Profiles 1000 and 1001 are in the database already.
		if _, err := e.svc.Import(ctx, batch(t, csvFile(1000, 2, ""))); err != nil {
			t.Fatal(err)
		}
		line := func(i int, mod func(f []string)) string {
			f := strings.Split(csvLine(i, "eu"), ",")
			mod(f)
			return strings.Join(f, ",")
		}
		set := func(col int, v string) func([]string) { return func(f []string) { f[col] = v } }
		rows := []string{
			csvHeader,
			csvLine(0, "eu"), // 2: good
			line(1, set(0, testICCID(1)[:18]+string('0'+(testICCID(1)[18]-'0'+1)%10))), // 3: bad Luhn
			line(2, set(2, strings.Repeat("G", 32))),                                   // 4: ki not hex
			line(3, set(3, strings.Repeat("0", 30))),                                   // 5: opc 15 bytes
			line(4, set(1, "2345")),                                                    // 6: IMSI too short
			line(5, set(4, "123")),                                                     // 7: PIN1 3 digits
			line(6, set(5, "1234567")),                                                 // 8: PUK1 7 digits
			line(7, set(8, "ZZ")),                                                      // 9: ADM1
			csvLine(0, "us"),                                                           // 10: ICCID and IMSI of row 2
			line(8, set(0, testICCID(0))),                                              // 11: ICCID of row 2
			csvLine(1000, ""),                                                          // 12: ICCID and IMSI in the database
			line(9, set(1, testIMSI(1001))),                                            // 13: IMSI in the database
			line(10, set(9, "eu west")),                                                // 14: region
			line(11, func(f []string) { f[6], f[7] = "", "1" }),                        // 15: PIN2 empty, PUK2 1 digit
			"1,2",           // 16: two fields
			csvLine(12, ""), // 17: good, no region
			line(13, set(2, "0x"+strings.Repeat("0", 30))), // 18: ki with 0x prefix
		}
		r, err := e.svc.DryRun(ctx, batch(t, strings.Join(rows, "\n")+"\n"))
		if !errors.Is(err, ErrInvalid) {
			t.Fatalf("DryRun error %v, want ErrInvalid", err)
		}
		got := make([]string, len(r.Errors))
		for i, e := range r.Errors {
			got[i] = e.String()
		}
		want := []string{
			"row 3: iccid: check digit (Luhn) is wrong",
			"row 4: ki: must be 32 hexadecimal digits (16 bytes): not hexadecimal",
			"row 5: opc: must be 32 hexadecimal digits (16 bytes), got 30 digits",
			"row 6: imsi: must be 6 to 15 decimal digits, got 4 characters",
			"row 7: pin1: must be 4 to 8 decimal digits, got 3 characters",
			"row 8: puk1: must be 8 decimal digits, got 7 characters",
			"row 9: adm1: must be 4 to 8 decimal digits or 16 hexadecimal digits, got 2 characters",
			"row 10: iccid: duplicate of row 2",
			"row 10: imsi: duplicate of row 2",
			"row 11: iccid: duplicate of row 2",
			"row 12: iccid: already in the database",
			"row 12: imsi: already in the database",
			"row 13: imsi: already in the database",
			"row 14: region: must be at most 64 letters, digits, '.', '_' or '-'",
			"row 15: pin2: empty",
			"row 15: puk2: must be 8 decimal digits, got 1 characters",
			"row 16: 2 fields, the header has 10",
			"row 16: imsi: must be 6 to 15 decimal digits, got 1 characters",
			"row 16: ki: empty",
			"row 16: opc: empty",
			"row 16: pin1: empty",
			"row 16: puk1: empty",
			"row 16: pin2: empty",
			"row 16: puk2: empty",
			"row 16: adm1: empty",
			"row 16: iccid: must be 18 to 20 decimal digits, got 1 characters",
			"row 18: ki: must be 32 hexadecimal digits (16 bytes): not hexadecimal",
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if r.Rows != 17 || r.Valid != 2 || r.Imported != 0 || r.BatchID != "" {
			t.Errorf("report %d rows, %d valid, %d imported, batch %q", r.Rows, r.Valid, r.Imported, r.BatchID)
		}
		if !slices.IsSortedFunc(r.Errors, func(a, b RowError) int { return a.Row - b.Row }) {
			t.Error("errors are not ordered by row")
		}
		if n := countProfiles(t, e.db); n != 2 {
			t.Errorf("%d profiles after the dry run, want the 2 imported before", n)
		}

		// A clean file passes the dry run, which still writes nothing.
		r, err = e.svc.DryRun(ctx, batch(t, csvFile(0, 5, "eu")))
		if err != nil || r.Valid != 5 || len(r.Errors) != 0 || !slices.Equal(r.Pools, []PoolCount{{"eu", 5}}) {
			t.Errorf("clean dry run: %+v, %v", r, err)
		}
		if n := countProfiles(t, e.db); n != 2 {
			t.Errorf("%d profiles after the clean dry run, want 2", n)
		}

		// A missing column is reported once, not for every row.
		noPIN2 := strings.ReplaceAll(strings.ReplaceAll(csvFile(0, 3, ""), ",pin2,", ","), ",5678,", ",")
		r, err = e.svc.DryRun(ctx, batch(t, noPIN2))
		if !errors.Is(err, ErrInvalid) || len(r.Errors) != 1 || r.Errors[0] != (RowError{1, "pin2", "missing column"}) {
			t.Errorf("missing column: %v, %v", r.Errors, err)
		}
	})
}

func TestBatchErrors(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		e := newEnv(t, b)
		good := batch(t, csvFile(0, 2, ""))
		for _, tc := range []struct {
			name string
			mod  func(b *Batch)
			want error
		}{
			{"unknown operator", func(b *Batch) { b.OperatorID = "nobody" }, ErrUnknownOperator},
			{"no operator", func(b *Batch) { b.OperatorID = "" }, ErrUnknownOperator},
			{"template not a package", func(b *Batch) { b.Template = []byte{0x30, 0x00} }, ErrBadTemplate},
			{"template truncated", func(b *Batch) { b.Template = b.Template[:len(b.Template)-1] }, ErrBadTemplate},
		} {
			t.Run(tc.name, func(t *testing.T) {
				bt := good
				tc.mod(&bt)
				if _, err := e.svc.DryRun(ctx, bt); !errors.Is(err, tc.want) {
					t.Errorf("DryRun = %v, want %v", err, tc.want)
				}
				if _, err := e.svc.Import(ctx, bt); !errors.Is(err, tc.want) {
					t.Errorf("Import = %v, want %v", err, tc.want)
				}
			})
		}
		// Without a profile type, the template header's is used.
		bt := good
		bt.ProfileType = ""
		r, err := e.svc.Import(ctx, bt)
		if err != nil || r.ProfileType != "GSMA Generic eUICC Test Profile" {
			t.Errorf("Import without type: %q, %v", r.ProfileType, err)
		}
	})
}

// TestImportAllOrNothing imports good files and files with one bad row, and an import that fails
// inside its transaction after all its rows were written: nothing of a failed import remains.
func TestImportAllOrNothing(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		failHook := errors.New("hook failed")
		hookFails := false
		e := newEnv(t, b, WithImportChunk(7), WithLowWaterHook(func(context.Context, *store.Tx, PoolAlert) error {
			if hookFails {
				return failHook
			}
			return nil
		}))
		r, err := e.svc.Import(ctx, batch(t, csvFile(0, 50, "eu")))
		if err != nil || r.Imported != 50 || r.BatchID == "" {
			t.Fatalf("Import = %+v, %v", r, err)
		}
		p, err := e.db.GetProfile(ctx, testICCID(17))
		if err != nil || p.State != store.StateAvailable || p.ProfileType != "T" || p.OperatorID != "op1" {
			t.Fatalf("imported profile: %+v, %v", p, err)
		}
		pkg, err := profiles.Parse(p.Package)
		if err != nil || pkg.Header.ICCID != testICCID(17) || pkg.Metadata().IMSI != testIMSI(17) {
			t.Fatalf("imported package: %v", err)
		}
		if k, _ := e.db.PoolOf(ctx, testICCID(17)); k.Region != "eu" {
			t.Errorf("region %q", k.Region)
		}
		if ev := events(t, e.db, KindImported); len(ev) != 1 || !strings.Contains(ev[0].Detail, r.BatchID) {
			t.Errorf("import events %+v", ev)
		}

		// One bad row among 100: nothing.
		lines := strings.Split(strings.TrimSpace(csvFile(100, 100, "eu")), "\n")
		lines[77] = strings.Replace(lines[77], ",1234,", ",12,", 1)
		r, err = e.svc.Import(ctx, batch(t, strings.Join(lines, "\n")))
		if !errors.Is(err, ErrInvalid) || r.Imported != 0 || len(r.Errors) != 1 || r.Errors[0].Row != 78 {
			t.Errorf("Import with a bad row = %+v, %v", r.Errors, err)
		}
		if n := countProfiles(t, e.db); n != 50 {
			t.Errorf("%d profiles, want 50", n)
		}

		// A failure after every row was written (the low-water hook of the pool the import
		// fills: its threshold is set in the store, not yet checked) rolls the whole import back.
		if _, err := e.db.SetPoolThreshold(ctx, store.PoolKey{OperatorID: "op1", ProfileType: "T", Region: "us"}, 1000); err != nil {
			t.Fatal(err)
		}
		hookFails = true
		r, err = e.svc.Import(ctx, batch(t, csvFile(200, 30, "us")))
		if !errors.Is(err, failHook) || r.Imported != 0 || r.BatchID != "" {
			t.Errorf("Import with a failing hook = %+v, %v", r, err)
		}
		if n := countProfiles(t, e.db); n != 50 {
			t.Errorf("%d profiles after the rolled-back import, want 50", n)
		}
		if ev := events(t, e.db, KindImported); len(ev) != 1 {
			t.Errorf("%d import events, want 1", len(ev))
		}
		if ev := events(t, e.db, KindPoolLow); len(ev) != 0 {
			t.Errorf("%d pool-low events survived the rollback", len(ev))
		}
		hookFails = false
		if r, err := e.svc.Import(ctx, batch(t, csvFile(200, 30, "us"))); err != nil || r.Imported != 30 {
			t.Errorf("retried import: %+v, %v", r, err)
		}

		// Two imports racing for one ICCID: one of them wins whole, the other leaves nothing.
		a := batch(t, csvFile(1000, 40, ""))
		bLines := strings.Split(strings.TrimSpace(csvFile(2000, 40, "")), "\n")
		bLines = append(bLines, csvLine(1039, "")) // the last row of a
		bb := batch(t, strings.Join(bLines, "\n"))
		var wg sync.WaitGroup
		var errA, errB error
		wg.Go(func() { _, errA = e.svc.Import(ctx, a) })
		wg.Go(func() { _, errB = e.svc.Import(ctx, bb) })
		wg.Wait()
		if (errA == nil) == (errB == nil) {
			t.Fatalf("racing imports: %v and %v; want exactly one failure", errA, errB)
		}
		loser := cmpErr(errA, errB)
		if !errors.Is(loser, store.ErrDuplicate) && !errors.Is(loser, ErrInvalid) {
			t.Errorf("losing import: %v", loser)
		}
		want := 50 + 30 + 40
		if errA != nil {
			want = 50 + 30 + 41
		}
		if n := countProfiles(t, e.db); n != want {
			t.Errorf("%d profiles after the race, want %d", n, want)
		}
	})
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// TestImportJSON imports the JSON form.
func TestImportJSON(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		e := newEnv(t, b)
		var profiles []map[string]string
		for i := range 3 {
			f := strings.Split(csvLine(i, "apac"), ",")
			m := map[string]string{}
			for j, name := range strings.Split(csvHeader, ",") {
				m[name] = f[j]
			}
			profiles = append(profiles, m)
		}
		profiles[2]["ki"] = "xyz"
		doc, _ := json.Marshal(map[string]any{"profiles": profiles})
		in, err := ReadJSON(strings.NewReader(string(doc)))
		if err != nil {
			t.Fatal(err)
		}
		bt := Batch{OperatorID: "op2", ProfileType: "U", Template: template(t), Input: in}
		r, err := e.svc.Import(ctx, bt)
		if !errors.Is(err, ErrInvalid) || len(r.Errors) != 1 || r.Errors[0].Row != 3 || r.Errors[0].Field != "ki" {
			t.Fatalf("Import = %+v, %v", r.Errors, err)
		}
		in.Rows = in.Rows[:2]
		r, err = e.svc.Import(ctx, bt)
		if err != nil || r.Imported != 2 {
			t.Fatalf("Import = %+v, %v", r, err)
		}
		levels, _ := e.svc.Pools(ctx, "op2")
		if len(levels) != 1 || levels[0].PoolKey != (store.PoolKey{OperatorID: "op2", ProfileType: "U", Region: "apac"}) || levels[0].Available != 2 {
			t.Errorf("pools %+v", levels)
		}
	})
}

func TestTestData(t *testing.T) {
	// The helpers make valid data: Luhn-correct ICCIDs, as the store and profiles expect.
	for i := range 50 {
		d := profiles.ProfileData{ICCID: testICCID(i), IMSI: testIMSI(i), Ki: make([]byte, 16), OPc: make([]byte, 16),
			PIN1: "1234", PUK1: "12345678", PIN2: "5678", PUK2: "87654321", ADM1: fmt.Sprintf("%08d", i)}
		if err := d.Validate(); err != nil {
			t.Fatal(err)
		}
	}
}
