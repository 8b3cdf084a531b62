package inventory

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/smdpp/smdpp/store"
)

const (
	eidA = "89049032123451234512345678901235" // EUM 89049032
	eidB = "89033023426200000000001234567890" // EUM 89033023
)

// record stores events at offsets from testEpoch.
func record(t *testing.T, db *store.DB, evs ...store.Event) {
	t.Helper()
	for _, e := range evs {
		if _, err := db.RecordEvent(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
}

func at(d time.Duration) time.Time { return testEpoch.Add(d) }

// usageEvents is a day of events of two operators.
func usageEvents() []store.Event {
	i1, i2 := testICCID(1), testICCID(2)
	return []store.Event{
		{At: at(30 * time.Minute), OperatorID: "op1", ICCID: i1, Kind: KindOrdered, Detail: "profileType T"},
		{At: at(time.Hour), OperatorID: "op1", ICCID: i1, EID: eidA, Kind: "downloaded"},
		{At: at(90 * time.Minute), OperatorID: "op1", ICCID: i1, EID: eidA, Kind: "Installed", Detail: "installed"},
		{At: at(100 * time.Minute), OperatorID: "op1", Kind: KindPoolLow, Detail: "not usage"},
		{At: at(2 * time.Hour), OperatorID: "op1", ICCID: i1, EID: eidA, Kind: "enabled", Detail: "seqNumber 3"},
		{At: at(2 * time.Hour), OperatorID: "op2", ICCID: i2, EID: eidB, Kind: "downloaded"},
		{At: at(150 * time.Minute), OperatorID: "op1", ICCID: i1, EID: eidA, Kind: "disabled", Detail: `a "quoted", detail`},
		{At: at(3 * time.Hour), OperatorID: "op1", ICCID: i1, EID: eidA, Kind: "deleted"},
	}
}

// TestExportUsage exports the usage of op1 for [13:00, 15:00): the records of that window in
// time order, the window's start included and its end excluded, other operators' and non-usage
// events left out.
func TestExportUsage(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		e := newEnv(t, b)
		record(t, e.db, usageEvents()...)
		q := UsageQuery{OperatorID: "op1", From: at(time.Hour), To: at(3 * time.Hour)}
		i1 := testICCID(1)

		var csvOut bytes.Buffer
		if err := e.svc.ExportUsage(ctx, &csvOut, FormatCSV, q); err != nil {
			t.Fatal(err)
		}
		want := "at,operator,iccid,eid,category,event,detail\n" +
			"2025-06-01T13:00:00.000000Z,op1," + i1 + "," + eidA + ",download,downloaded,\n" +
			"2025-06-01T13:30:00.000000Z,op1," + i1 + "," + eidA + ",install,Installed,installed\n" +
			"2025-06-01T14:00:00.000000Z,op1," + i1 + "," + eidA + ",enable,enabled,seqNumber 3\n" +
			"2025-06-01T14:30:00.000000Z,op1," + i1 + "," + eidA + `,disable,disabled,"a ""quoted"", detail"` + "\n"
		if csvOut.String() != want {
			t.Errorf("CSV:\n%s\nwant:\n%s", csvOut.String(), want)
		}

		var jsonOut bytes.Buffer
		if err := e.svc.ExportUsage(ctx, &jsonOut, FormatJSON, q); err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Operator string         `json:"operator"`
			From     time.Time      `json:"from"`
			To       time.Time      `json:"to"`
			Records  []UsageRecord  `json:"records"`
			Totals   map[string]int `json:"totals"`
		}
		dec := json.NewDecoder(&jsonOut)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&doc); err != nil {
			t.Fatalf("JSON export does not decode: %v\n%s", err, jsonOut.String())
		}
		wantRecords := []UsageRecord{
			{At: at(time.Hour), OperatorID: "op1", ICCID: i1, EID: eidA, Category: UsageDownload, Event: "downloaded"},
			{At: at(90 * time.Minute), OperatorID: "op1", ICCID: i1, EID: eidA, Category: UsageInstall, Event: "Installed", Detail: "installed"},
			{At: at(2 * time.Hour), OperatorID: "op1", ICCID: i1, EID: eidA, Category: UsageEnable, Event: "enabled", Detail: "seqNumber 3"},
			{At: at(150 * time.Minute), OperatorID: "op1", ICCID: i1, EID: eidA, Category: UsageDisable, Event: "disabled", Detail: `a "quoted", detail`},
		}
		if doc.Operator != "op1" || !doc.From.Equal(q.From) || !reflect.DeepEqual(doc.Records, wantRecords) ||
			!reflect.DeepEqual(doc.Totals, map[string]int{"download": 1, "install": 1, "enable": 1, "disable": 1}) {
			t.Errorf("JSON export:\n%s", jsonOut.String())
		}

		// All operators, unbounded: every usage event.
		var all bytes.Buffer
		if err := e.svc.ExportUsage(ctx, &all, FormatJSON, UsageQuery{}); err != nil {
			t.Fatal(err)
		}
		doc.Records = nil
		if err := json.Unmarshal(all.Bytes(), &doc); err != nil || len(doc.Records) != 7 || doc.Totals["download"] != 2 {
			t.Errorf("unbounded export: %v\n%s", err, all.String())
		}
		// An empty window is an empty export.
		var empty bytes.Buffer
		if err := e.svc.ExportUsage(ctx, &empty, FormatJSON, UsageQuery{OperatorID: "op2", From: at(5 * time.Hour), To: at(6 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(empty.String(), `"records":[],"totals":{}`) || !json.Valid(empty.Bytes()) {
			t.Errorf("empty export %s", empty.String())
		}

		if err := e.svc.ExportUsage(ctx, &bytes.Buffer{}, "xml", q); !errors.Is(err, ErrFormat) {
			t.Errorf("format xml: %v", err)
		}
		if err := e.svc.ExportUsage(ctx, &bytes.Buffer{}, FormatCSV, UsageQuery{From: at(time.Hour), To: at(time.Hour)}); err == nil {
			t.Error("an empty range was accepted")
		}
	})
}

func TestQuality(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		e := newEnv(t, b)
		a, bb, c, d := testICCID(1), testICCID(2), testICCID(3), testICCID(4)
		s := time.Second
		record(t, e.db,
			// a: ordered, downloaded after 10 s, installed 30 s later, enabled 60 s later.
			store.Event{At: at(0), OperatorID: "op1", ICCID: a, Kind: KindOrdered},
			store.Event{At: at(10 * s), OperatorID: "op1", ICCID: a, EID: eidA, Kind: "downloaded"},
			store.Event{At: at(40 * s), OperatorID: "op1", ICCID: a, EID: eidA, Kind: "Installed"},
			store.Event{At: at(100 * s), OperatorID: "op1", ICCID: a, EID: eidA, Kind: "enabled"},
			// b: ordered, downloaded after 20 s, installation failed 10 s later.
			store.Event{At: at(0), OperatorID: "op1", ICCID: bb, Kind: KindOrdered},
			store.Event{At: at(20 * s), OperatorID: "op1", ICCID: bb, EID: eidA, Kind: "downloaded"},
			store.Event{At: at(30 * s), OperatorID: "op1", ICCID: bb, EID: eidA, Kind: "Error", Detail: "bppCommandId 5, errorReason 8"},
			// c: ordered, the user declined after 5 s; then 40 s later, timed out.
			store.Event{At: at(0), OperatorID: "op1", ICCID: c, Kind: KindOrdered},
			store.Event{At: at(5 * s), OperatorID: "op1", ICCID: c, EID: eidB, Kind: "cancelled", Detail: "cancelled with reason 0"},
			store.Event{At: at(45 * s), OperatorID: "op1", ICCID: c, EID: eidB, Kind: "cancelled", Detail: "cancelled with reason 2"},
			// d: downloaded (order before the range is unknown), installed after 50 s, deleted.
			store.Event{At: at(0), OperatorID: "op1", ICCID: d, EID: eidB, Kind: "downloaded"},
			store.Event{At: at(50 * s), OperatorID: "op1", ICCID: d, EID: eidB, Kind: "Installed"},
			store.Event{At: at(60 * s), OperatorID: "op1", ICCID: d, EID: eidB, Kind: "deleted"},
			// another operator, and an event past the range
			store.Event{At: at(0), OperatorID: "op2", ICCID: testICCID(5), EID: eidA, Kind: "Error"},
			store.Event{At: at(time.Hour), OperatorID: "op1", ICCID: a, EID: eidA, Kind: "disabled"},
		)
		q, err := e.svc.Quality(ctx, QualityQuery{OperatorID: "op1", From: at(0), To: at(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		wantStages := []Stage{
			{Name: StageDownload, Success: 3, Failure: 2, Latency: Latency{Count: 4, Mean: 20, P50: 10, P95: 45, Max: 45}},
			{Name: StageInstall, Success: 2, Failure: 1, Latency: Latency{Count: 3, Mean: 30, P50: 30, P95: 50, Max: 50}},
			{Name: StageEnable, Success: 1, Latency: Latency{Count: 1, Mean: 60, P50: 60, P95: 60, Max: 60}},
			{Name: StageDisable},
			{Name: StageDelete, Success: 1},
		}
		if !reflect.DeepEqual(q.Stages, wantStages) {
			t.Errorf("stages:\n%+v\nwant\n%+v", q.Stages, wantStages)
		}
		wantReasons := []ReasonCount{
			{StageDownload, "cancelSessionReason 0 (endUserRejection)", 1},
			{StageDownload, "cancelSessionReason 2 (timeout)", 1},
			{StageInstall, "errorReason 8 (scp03tSecurityError)", 1},
		}
		if !reflect.DeepEqual(q.FailuresByReason, wantReasons) {
			t.Errorf("reasons %+v", q.FailuresByReason)
		}
		wantEUM := []EUMCount{{EUM: "89033023", Attempts: 4, Failures: 2}, {EUM: "89049032", Attempts: 4, Failures: 1}}
		if !reflect.DeepEqual(q.ByEUM, wantEUM) {
			t.Errorf("by EUM %+v", q.ByEUM)
		}
		if _, err := json.Marshal(q); err != nil {
			t.Error(err)
		}
	})
}

func TestEIDHistory(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		e := newEnv(t, b)
		record(t, e.db, usageEvents()...)
		record(t, e.db, store.Event{At: at(4 * time.Hour), OperatorID: "op2", ICCID: testICCID(7), EID: eidA, Kind: "downloaded"})
		h, err := e.svc.EIDHistory(ctx, eidA, "")
		if err != nil {
			t.Fatal(err)
		}
		if h.EUM != "89049032" || len(h.Profiles) != 2 {
			t.Fatalf("history %+v", h)
		}
		p := h.Profiles[0]
		var kinds []string
		for _, ev := range p.Events {
			kinds = append(kinds, ev.Event)
		}
		if p.ICCID != testICCID(1) || p.OperatorID != "op1" || p.Last != UsageDelete ||
			strings.Join(kinds, " ") != "downloaded Installed enabled disabled deleted" {
			t.Errorf("profile history %+v", p)
		}
		if h.Profiles[1].ICCID != testICCID(7) || h.Profiles[1].Last != UsageDownload {
			t.Errorf("second profile %+v", h.Profiles[1])
		}
		h, err = e.svc.EIDHistory(ctx, eidA, "op2")
		if err != nil || len(h.Profiles) != 1 {
			t.Errorf("history of op2: %+v, %v", h, err)
		}
		if h, err := e.svc.EIDHistory(ctx, "89000000000000000000000000000000", ""); err != nil || len(h.Profiles) != 0 {
			t.Errorf("unknown EID: %+v, %v", h, err)
		}
	})
}
