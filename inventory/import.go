package inventory

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/smdpp/smdpp/profiles"
	"github.com/smdpp/smdpp/store"
)

// Event kinds this package records (store.Event.Kind).
const (
	// KindImported records one import: Detail names the batch, the count and the template.
	KindImported = "imported"
	// KindPoolLow records a pool falling below its low-water mark; ICCID is empty.
	KindPoolLow = "pool-low"
	// KindReturned records a released, never downloaded order returned to its pool.
	KindReturned = "returned-to-pool"
	// KindAdminReset records an administrator's reset of a profile's state.
	KindAdminReset = "admin-reset"
	// KindOrdered records a DownloadOrder that took the profile (OrderPlaced).
	KindOrdered = "ordered"
)

// Service runs the pools of one SM-DP+ database. It is safe for concurrent use.
type Service struct {
	db    *store.DB
	log   *slog.Logger
	now   func() time.Time
	onLow LowWaterHook
	chunk int
}

// Option configures New.
type Option func(*Service)

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(s *Service) { s.log = l } }

// WithClock sets the clock for event times and ages (default time.Now).
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// WithLowWaterHook sets the function told of every pool that falls below its low-water mark,
// e.g. to queue a message to the operator (see LowWaterHook).
func WithLowWaterHook(h LowWaterHook) Option { return func(s *Service) { s.onLow = h } }

// WithImportChunk sets how many profiles Import personalises and inserts per statement batch
// (default 250); all of them are still inserted in one transaction.
func WithImportChunk(n int) Option { return func(s *Service) { s.chunk = max(n, 1) } }

// New returns a Service on db.
func New(db *store.DB, opts ...Option) *Service {
	s := &Service{db: db, log: slog.Default(), now: time.Now, chunk: 250}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Batch is an import: the operator's input file and the template it personalises.
type Batch struct {
	OperatorID string
	// ProfileType is the type the profiles are ordered by (SGP.22 §5.3.1 profileType); empty
	// means the template header's profileType.
	ProfileType string
	// Template is the template package (DER SAIP UPP).
	Template []byte
	Input    *Input
}

// Report is the outcome of DryRun or Import.
type Report struct {
	OperatorID  string `json:"operator"`
	ProfileType string `json:"profileType"`
	// TemplateSHA256 identifies the template (hex).
	TemplateSHA256 string `json:"templateSha256"`
	// Rows is the number of data rows read; Valid how many of them have no error.
	Rows  int `json:"rows"`
	Valid int `json:"valid"`
	// Errors lists every problem, ordered by row.
	Errors []RowError `json:"errors"`
	// Pools counts the valid rows per region.
	Pools []PoolCount `json:"pools"`
	// BatchID names the import, and Imported is the number of profiles imported: all rows, or 0.
	BatchID  string `json:"batchId,omitempty"`
	Imported int    `json:"imported"`
}

// PoolCount is the number of profiles of one region in an import.
type PoolCount struct {
	Region string `json:"region"`
	Count  int    `json:"count"`
}

// Errors of DryRun and Import; the returned errors wrap them.
var (
	// ErrInvalid reports an input with at least one bad row; the Report lists them all.
	ErrInvalid = errors.New("inventory: the input has errors")
	// ErrBadTemplate reports a template that does not parse or cannot be personalised.
	ErrBadTemplate = errors.New("inventory: bad template")
	// ErrUnknownOperator reports an import for an operator the database does not know.
	ErrUnknownOperator = errors.New("inventory: unknown operator")
)

// prepared is a checked batch.
type prepared struct {
	report   Report
	template *profiles.Template
	// rows, data and regions describe the valid rows.
	rows    []int
	data    []profiles.ProfileData
	regions []string
}

// DryRun checks the batch as Import would, against the database as it is now, and writes
// nothing. The Report lists every bad row; the error is nil for a clean input and wraps
// ErrInvalid otherwise. A bad template or an unknown operator is an error without a Report.
func (s *Service) DryRun(ctx context.Context, b Batch) (Report, error) {
	p, err := s.prepare(ctx, b)
	if err != nil {
		return Report{}, err
	}
	if len(p.report.Errors) > 0 {
		return p.report, fmt.Errorf("%w: %d problems in %d rows", ErrInvalid, len(p.report.Errors), p.report.Rows)
	}
	return p.report, nil
}

// Import checks the batch like DryRun and, if every row is good, personalises the template for
// each row and imports all the profiles, Available, in one transaction: all of them or nothing.
// A profile with the same ICCID or IMSI imported meanwhile by someone else fails the whole import
// (wrapping store.ErrDuplicate). The import is recorded as one event, and the thresholds of the
// pools it fills are re-checked.
func (s *Service) Import(ctx context.Context, b Batch) (Report, error) {
	p, err := s.prepare(ctx, b)
	if err != nil {
		return Report{}, err
	}
	r := &p.report
	if len(r.Errors) > 0 {
		return *r, fmt.Errorf("%w: %d problems in %d rows; nothing imported", ErrInvalid, len(r.Errors), r.Rows)
	}
	var id [8]byte
	rand.Read(id[:])
	r.BatchID = s.now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(id[:])
	start := time.Now()
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		chunk := make([]store.PoolProfile, 0, min(s.chunk, len(p.data)))
		for i, d := range p.data {
			upp, err := p.template.Personalise(d)
			if err != nil {
				return fmt.Errorf("inventory: personalise row %d: %w", p.rows[i], err)
			}
			chunk = append(chunk, store.PoolProfile{
				Profile: store.Profile{ICCID: d.ICCID, OperatorID: b.OperatorID, ProfileType: r.ProfileType,
					State: store.StateAvailable, Package: upp},
				Region: p.regions[i], IMSI: d.IMSI, BatchID: r.BatchID,
			})
			if len(chunk) == cap(chunk) || i == len(p.data)-1 {
				if err := tx.ImportProfiles(ctx, chunk); err != nil {
					return err
				}
				chunk = chunk[:0]
			}
		}
		_, err := tx.RecordEvent(ctx, store.Event{At: s.now(), OperatorID: b.OperatorID, Kind: KindImported,
			Detail: fmt.Sprintf("batch %s: %d profiles of type %q, template sha256 %s", r.BatchID, len(p.data), r.ProfileType, r.TemplateSHA256)})
		if err != nil {
			return err
		}
		for _, pc := range r.Pools {
			if err := s.checkPool(ctx, tx, store.PoolKey{OperatorID: b.OperatorID, ProfileType: r.ProfileType, Region: pc.Region}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		r.BatchID = ""
		return *r, fmt.Errorf("inventory: import of %d profiles failed, nothing imported: %w", len(p.data), err)
	}
	r.Imported = len(p.data)
	s.log.InfoContext(ctx, "profiles imported", "operator", b.OperatorID, "profileType", r.ProfileType,
		"batch", r.BatchID, "count", r.Imported, "duration", time.Since(start))
	return *r, nil
}

// prepare parses the template and checks every row of the batch.
func (s *Service) prepare(ctx context.Context, b Batch) (*prepared, error) {
	pkg, err := profiles.Parse(b.Template)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadTemplate, err)
	}
	tmpl, err := profiles.NewTemplate(pkg)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadTemplate, err)
	}
	profileType := cmp.Or(b.ProfileType, pkg.Header.ProfileType)
	if profileType == "" {
		return nil, fmt.Errorf("%w: no profile type given and none in the template header", ErrBadTemplate)
	}
	if b.OperatorID == "" {
		return nil, fmt.Errorf("%w: no operator given", ErrUnknownOperator)
	}
	if _, err := s.db.GetOperator(ctx, b.OperatorID); errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w %q", ErrUnknownOperator, b.OperatorID)
	} else if err != nil {
		return nil, err
	}
	in := b.Input
	if in == nil {
		in = &Input{}
	}
	sum := sha256.Sum256(b.Template)
	p := &prepared{template: tmpl, report: Report{OperatorID: b.OperatorID, ProfileType: profileType,
		TemplateSHA256: hex.EncodeToString(sum[:]), Rows: len(in.Rows)}}
	if err := s.check(ctx, p, in); err != nil {
		return nil, err
	}
	return p, nil
}

// check validates every row of in, including duplicates within the file and against the
// database, and fills p's data (valid rows only) and report.
func (s *Service) check(ctx context.Context, p *prepared, in *Input) error {
	type rowField struct {
		row   int
		field string
	}
	errs := slices.Clone(in.Errors)
	if len(in.Rows) == 0 && len(errs) == 0 {
		errs = append(errs, RowError{Row: 0, Reason: "the input has no profiles"})
	}
	reported, badRow := map[rowField]bool{}, map[int]bool{}
	for _, e := range errs {
		reported[rowField{e.Row, e.Field}], badRow[e.Row] = true, true
	}
	add := func(row int, field, reason string) {
		if in.absent[field] || reported[rowField{row, field}] {
			return
		}
		reported[rowField{row, field}], badRow[row] = true, true
		errs = append(errs, RowError{Row: row, Field: field, Reason: reason})
	}
	type candidate struct {
		row  Row
		data profiles.ProfileData
	}
	var cands []candidate
	firstICCID, firstIMSI := map[string]int{}, map[string]int{}
	for _, row := range in.Rows {
		d, bad := rowData(row, add)
		if d.ICCID != "" {
			if first, dup := firstICCID[d.ICCID]; dup {
				add(row.Row, "iccid", fmt.Sprintf("duplicate of row %d", first))
				bad = true
			} else {
				firstICCID[d.ICCID] = row.Row
			}
		}
		if d.IMSI != "" {
			if first, dup := firstIMSI[d.IMSI]; dup {
				add(row.Row, "imsi", fmt.Sprintf("duplicate of row %d", first))
				bad = true
			} else {
				firstIMSI[d.IMSI] = row.Row
			}
		}
		if !bad {
			cands = append(cands, candidate{row, d})
		}
	}
	// Against the database, for the rows that are otherwise good.
	iccids, imsis := make([]string, len(cands)), make([]string, len(cands))
	for i, c := range cands {
		iccids[i], imsis[i] = c.data.ICCID, c.data.IMSI
	}
	inDB, err := s.db.ExistingICCIDs(ctx, iccids)
	if err != nil {
		return err
	}
	imsiInDB, err := s.db.ExistingIMSIs(ctx, imsis)
	if err != nil {
		return err
	}
	dbICCID, dbIMSI := setOf(inDB), setOf(imsiInDB)
	regions := map[string]int{}
	for _, c := range cands {
		bad := false
		if dbICCID[c.data.ICCID] {
			add(c.row.Row, "iccid", "already in the database")
			bad = true
		}
		if dbIMSI[c.data.IMSI] {
			add(c.row.Row, "imsi", "already in the database")
			bad = true
		}
		if bad || badRow[c.row.Row] {
			continue
		}
		p.rows = append(p.rows, c.row.Row)
		p.data = append(p.data, c.data)
		p.regions = append(p.regions, c.row.Region)
		regions[c.row.Region]++
	}
	order := map[string]int{"": -1}
	for i, f := range append(slices.Clone(requiredColumns), optionalColumns...) {
		order[f] = i
	}
	slices.SortStableFunc(errs, func(a, b RowError) int {
		return cmp.Or(cmp.Compare(a.Row, b.Row), cmp.Compare(order[a.Field], order[b.Field]), cmp.Compare(a.Field, b.Field))
	})
	p.report.Errors = errs
	if errs == nil {
		p.report.Errors = []RowError{}
	}
	p.report.Valid = len(p.data)
	for region, n := range regions {
		p.report.Pools = append(p.report.Pools, PoolCount{Region: region, Count: n})
	}
	slices.SortFunc(p.report.Pools, func(a, b PoolCount) int { return cmp.Compare(a.Region, b.Region) })
	return nil
}

func setOf(values []string) map[string]bool {
	m := make(map[string]bool, len(values))
	for _, v := range values {
		m[v] = true
	}
	return m
}

// rowData converts a row to ProfileData, reporting each bad field through add; bad reports
// whether there was one. The ICCID and IMSI of the result are empty unless valid, so that only
// valid identifiers take part in the duplicate checks.
func rowData(row Row, add func(row int, field, reason string)) (d profiles.ProfileData, bad bool) {
	badField := map[string]bool{}
	fail := func(field, reason string) {
		add(row.Row, field, reason)
		badField[field] = true
	}
	for _, name := range requiredColumns {
		if *row.field(name) == "" {
			fail(name, "empty")
		}
	}
	key := func(field, v string) []byte {
		b, err := hex.DecodeString(v)
		switch {
		case v == "":
		case err != nil:
			fail(field, "must be 32 hexadecimal digits (16 bytes): not hexadecimal")
		case len(b) != 16:
			fail(field, fmt.Sprintf("must be 32 hexadecimal digits (16 bytes), got %d digits", len(v)))
		}
		return b
	}
	d = profiles.ProfileData{ICCID: row.ICCID, IMSI: row.IMSI, Ki: key("ki", row.Ki), OPc: key("opc", row.OPc),
		PIN1: row.PIN1, PUK1: row.PUK1, PIN2: row.PIN2, PUK2: row.PUK2, ADM1: row.ADM1}
	var fe profiles.FieldErrors
	if err := d.Validate(); errors.As(err, &fe) {
		for _, e := range fe {
			fail(e.Field, e.Reason)
		}
	}
	if !validRegion(row.Region) {
		fail("region", "must be at most 64 letters, digits, '.', '_' or '-'")
	}
	if badField["iccid"] {
		d.ICCID = ""
	}
	if badField["imsi"] {
		d.IMSI = ""
	}
	return d, len(badField) > 0
}

func validRegion(r string) bool {
	if len(r) > 64 {
		return false
	}
	for _, c := range r {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
