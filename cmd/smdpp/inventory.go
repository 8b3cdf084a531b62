package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/smdpp/smdpp/config"
	"github.com/smdpp/smdpp/inventory"
	"github.com/smdpp/smdpp/store"
)

// inventoryDBFlags adds the flags naming the database to fs and returns a function opening it.
func inventoryDBFlags(fs *flag.FlagSet) func(ctx context.Context) (*store.DB, error) {
	def := config.Default()
	dataDir := fs.String("data-dir", def.DataDir, "the server's data directory")
	database := fs.String("database", "", "SQLite file or PostgreSQL DSN (default: DATA-DIR/smdpp.db)")
	return func(ctx context.Context) (*store.DB, error) {
		dsn := *database
		if dsn == "" {
			dsn = filepath.Join(*dataDir, "smdpp.db")
		}
		return store.Open(ctx, dsn)
	}
}

// inventoryImport runs "smdpp import": it personalises a template for every row of an operator's
// input file (CSV or JSON, see package inventory) and imports the profiles into the pool, all or
// nothing; --dry-run only checks the file. Every bad row is printed; any makes the command fail.
func inventoryImport(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("smdpp import", flag.ContinueOnError)
	openDB := inventoryDBFlags(fs)
	templateFile := fs.String("template", "", "template profile package (DER SAIP UPP)")
	profileType := fs.String("profile-type", "", "profile type of the pool (default: the template header's)")
	operator := fs.String("operator", "", "operator that owns the profiles")
	csvFile := fs.String("csv", "", "input file in the CSV form")
	jsonFile := fs.String("json", "", "input file in the JSON form (instead of --csv)")
	dryRun := fs.Bool("dry-run", false, "check the input and report every bad row, import nothing")
	report := fs.String("report", "", "also write the report as JSON to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case *templateFile == "" || *operator == "":
		return errors.New("--template and --operator are required")
	case (*csvFile == "") == (*jsonFile == ""):
		return errors.New("give exactly one of --csv and --json")
	}
	tpl, err := os.ReadFile(*templateFile)
	if err != nil {
		return err
	}
	var in *inventory.Input
	if *csvFile != "" {
		in, err = readInput(*csvFile, inventory.ReadCSV)
	} else {
		in, err = readInput(*jsonFile, inventory.ReadJSON)
	}
	if err != nil {
		return err
	}
	db, err := openDB(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	svc := inventory.New(db)
	b := inventory.Batch{OperatorID: *operator, ProfileType: *profileType, Template: tpl, Input: in}
	start := time.Now()
	var rep inventory.Report
	if *dryRun {
		rep, err = svc.DryRun(ctx, b)
	} else {
		rep, err = svc.Import(ctx, b)
	}
	if err != nil && !errors.Is(err, inventory.ErrInvalid) {
		return err
	}
	printReport(os.Stdout, rep, *dryRun, time.Since(start))
	if *report != "" {
		body, _ := json.MarshalIndent(rep, "", "  ")
		if werr := os.WriteFile(*report, append(body, '\n'), 0o644); werr != nil {
			return werr
		}
	}
	return err
}

func readInput(path string, read func(io.Reader) (*inventory.Input, error)) (*inventory.Input, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return read(f)
}

func printReport(w io.Writer, rep inventory.Report, dryRun bool, took time.Duration) {
	fmt.Fprintf(w, "operator %s, profile type %q, template sha256 %s\n", rep.OperatorID, rep.ProfileType, rep.TemplateSHA256)
	fmt.Fprintf(w, "%d rows, %d valid, %d problems\n", rep.Rows, rep.Valid, len(rep.Errors))
	for _, e := range rep.Errors {
		fmt.Fprintln(w, "  "+e.String())
	}
	for _, p := range rep.Pools {
		region := p.Region
		if region == "" {
			region = "(none)"
		}
		fmt.Fprintf(w, "  region %s: %d profiles\n", region, p.Count)
	}
	switch {
	case len(rep.Errors) > 0:
		fmt.Fprintln(w, "nothing imported")
	case dryRun:
		fmt.Fprintln(w, "dry run: the input is clean; nothing imported")
	default:
		fmt.Fprintf(w, "imported %d profiles as batch %s in %v\n", rep.Imported, rep.BatchID, took.Round(time.Millisecond))
	}
}

// inventoryUsage runs "smdpp usage": the operator's usage records for a time range, as CSV or JSON.
func inventoryUsage(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("smdpp usage", flag.ContinueOnError)
	openDB := inventoryDBFlags(fs)
	operator := fs.String("operator", "", "operator (default: all)")
	from := fs.String("from", "", "start of the range, included: RFC 3339 time or YYYY-MM-DD (default: unbounded)")
	to := fs.String("to", "", "end of the range, excluded: RFC 3339 time or YYYY-MM-DD (default: unbounded)")
	format := fs.String("format", inventory.FormatCSV, "csv or json")
	out := fs.String("out", "", "write to this file instead of standard output")
	if err := fs.Parse(args); err != nil {
		return err
	}
	q := inventory.UsageQuery{OperatorID: *operator}
	var err error
	if q.From, err = cliTime("--from", *from); err != nil {
		return err
	}
	if q.To, err = cliTime("--to", *to); err != nil {
		return err
	}
	if *format != inventory.FormatCSV && *format != inventory.FormatJSON {
		return fmt.Errorf("--format must be csv or json, not %q", *format)
	}
	db, err := openDB(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	var w io.Writer = os.Stdout
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	return inventory.New(db).ExportUsage(ctx, w, *format, q)
}

// cliTime reads an RFC 3339 time or a date (midnight UTC); "" is unbounded.
func cliTime(flagName, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%s must be an RFC 3339 time or YYYY-MM-DD, not %q", flagName, s)
}

// inventoryPools runs "smdpp pools": the level of every pool and its low-water mark.
func inventoryPools(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("smdpp pools", flag.ContinueOnError)
	openDB := inventoryDBFlags(fs)
	operator := fs.String("operator", "", "operator (default: all)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	db, err := openDB(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	levels, err := inventory.New(db).Pools(ctx, *operator)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "OPERATOR\tPROFILE TYPE\tREGION\tAVAILABLE\tTOTAL\tLOW-WATER\tSTATUS\tOTHER STATES")
	for _, l := range levels {
		mark, status := "-", "ok"
		if l.Threshold != nil {
			mark = fmt.Sprint(l.Threshold.LowWater)
			if l.Available < l.Threshold.LowWater {
				status = "LOW"
			}
		}
		var other []string
		for _, s := range []store.State{store.StateAllocated, store.StateLinked, store.StateConfirmed, store.StateReleased,
			store.StateDownloaded, store.StateInstalled, store.StateError, store.StateUnavailable} {
			if n := l.Counts[s]; n > 0 {
				other = append(other, fmt.Sprintf("%s %d", s, n))
			}
		}
		region := l.Region
		if region == "" {
			region = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%s\t%s\n", l.OperatorID, l.ProfileType, region, l.Available, l.Total,
			mark, status, strings.Join(other, ", "))
	}
	return tw.Flush()
}
