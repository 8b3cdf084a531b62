package inventory

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Columns of the input file, in the order of the documented header. Region is optional.
var (
	requiredColumns = []string{"iccid", "imsi", "ki", "opc", "pin1", "puk1", "pin2", "puk2", "adm1"}
	optionalColumns = []string{"region"}
)

// Row is one profile of an input file, its values as written (trimmed).
type Row struct {
	// Row is the position of the row: its line in a CSV file (the header is line 1), or its
	// 1-based index in the profiles of a JSON file.
	Row                                                int
	ICCID, IMSI, Ki, OPc, PIN1, PUK1, PIN2, PUK2, ADM1 string
	Region                                             string
}

// field returns a pointer to the value of column name.
func (r *Row) field(name string) *string {
	switch name {
	case "iccid":
		return &r.ICCID
	case "imsi":
		return &r.IMSI
	case "ki":
		return &r.Ki
	case "opc":
		return &r.OPc
	case "pin1":
		return &r.PIN1
	case "puk1":
		return &r.PUK1
	case "pin2":
		return &r.PIN2
	case "puk2":
		return &r.PUK2
	case "adm1":
		return &r.ADM1
	case "region":
		return &r.Region
	}
	return nil
}

// RowError is one problem of an input file: the row (see Row.Row; 0 for the file as a whole),
// the column it concerns ("" for the row as a whole) and why.
type RowError struct {
	Row    int    `json:"row"`
	Field  string `json:"field,omitempty"`
	Reason string `json:"reason"`
}

func (e RowError) String() string {
	if e.Field == "" {
		return fmt.Sprintf("row %d: %s", e.Row, e.Reason)
	}
	return fmt.Sprintf("row %d: %s: %s", e.Row, e.Field, e.Reason)
}

// Input is a parsed input file: its rows and the problems found while reading it.
type Input struct {
	Rows   []Row
	Errors []RowError
	// absent holds the required columns a CSV header lacks: their values are not checked again
	// row by row.
	absent map[string]bool
}

// ErrUnreadable is wrapped by the errors of ReadCSV and ReadJSON for input that is not a CSV or
// JSON file at all; row-level problems are RowErrors instead.
var ErrUnreadable = errors.New("inventory: unreadable input file")

// ReadCSV reads an input file in the CSV form (see the package documentation). Problems of the
// header and of single rows become Input.Errors, reading on; only input that cannot be read at
// all is an error.
func ReadCSV(r io.Reader) (*Input, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.Comment = '#'
	cr.ReuseRecord = true
	header, err := cr.Read()
	switch {
	case errors.Is(err, io.EOF):
		return &Input{Errors: []RowError{{Row: 0, Reason: "the file is empty: no header"}}}, nil
	case err != nil:
		return nil, fmt.Errorf("%w: header: %v", ErrUnreadable, err)
	}
	headerLine, _ := cr.FieldPos(0)
	columns := make([]string, len(header))
	in := &Input{absent: map[string]bool{}}
	seen := map[string]bool{}
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		columns[i] = name
		switch {
		case name == "":
			in.Errors = append(in.Errors, RowError{Row: headerLine, Reason: fmt.Sprintf("column %d has no name", i+1)})
		case seen[name]:
			in.Errors = append(in.Errors, RowError{Row: headerLine, Field: name, Reason: "column appears twice"})
		case (&Row{}).field(name) == nil:
			in.Errors = append(in.Errors, RowError{Row: headerLine, Field: name, Reason: "unknown column"})
		}
		seen[name] = true
	}
	for _, name := range requiredColumns {
		if !seen[name] {
			in.Errors = append(in.Errors, RowError{Row: headerLine, Field: name, Reason: "missing column"})
			in.absent[name] = true
		}
	}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) && pe.Err != csv.ErrFieldCount {
			// A broken quote: the reader resumes after the record.
			in.Errors = append(in.Errors, RowError{Row: pe.StartLine, Reason: "malformed CSV: " + pe.Err.Error()})
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrUnreadable, err)
		}
		line, _ := cr.FieldPos(0)
		row := Row{Row: line}
		if len(rec) != len(columns) {
			in.Errors = append(in.Errors, RowError{Row: line, Reason: fmt.Sprintf("%d fields, the header has %d", len(rec), len(columns))})
		}
		for i, v := range rec {
			if i < len(columns) {
				if p := row.field(columns[i]); p != nil {
					*p = strings.TrimSpace(v)
				}
			}
		}
		in.Rows = append(in.Rows, row)
	}
	return in, nil
}

// jsonFile is the JSON form of an input file.
type jsonFile struct {
	Profiles []map[string]json.RawMessage `json:"profiles"`
}

// ReadJSON reads an input file in the JSON form (see the package documentation). A row with an
// unknown or missing field, or a value that is not a string, gives Input.Errors; only input that is
// not a JSON object with a profiles array is an error.
func ReadJSON(r io.Reader) (*Input, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var f jsonFile
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnreadable, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: data after the JSON object", ErrUnreadable)
	}
	return JSONRows(f.Profiles), nil
}

// JSONRows makes an Input of the decoded profiles array of the JSON form, for a caller that
// decodes the JSON as part of a larger document.
func JSONRows(profiles []map[string]json.RawMessage) *Input {
	in := &Input{Rows: make([]Row, 0, len(profiles))}
	for i, obj := range profiles {
		row := Row{Row: i + 1}
		for name, raw := range obj {
			p := row.field(name)
			if p == nil {
				in.Errors = append(in.Errors, RowError{Row: row.Row, Field: name, Reason: "unknown field"})
				continue
			}
			if err := json.Unmarshal(raw, p); err != nil {
				in.Errors = append(in.Errors, RowError{Row: row.Row, Field: name, Reason: "not a string"})
			}
			*p = strings.TrimSpace(*p)
		}
		for _, name := range requiredColumns {
			if _, ok := obj[name]; !ok {
				in.Errors = append(in.Errors, RowError{Row: row.Row, Field: name, Reason: "missing"})
			}
		}
		in.Rows = append(in.Rows, row)
	}
	return in
}
