package console

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"path"
	"slices"
	"strings"

	"github.com/smdpp/smdpp/inventory"
	"github.com/smdpp/smdpp/profiles"
	"github.com/smdpp/smdpp/status"
	"github.com/smdpp/smdpp/store"
)

// searchLimit caps the profiles an inventory search or the order list shows.
const searchLimit = 200

// allStates lists the profile states in lifecycle order.
var allStates = []store.State{store.StateAvailable, store.StateAllocated, store.StateLinked, store.StateConfirmed,
	store.StateReleased, store.StateDownloaded, store.StateInstalled, store.StateError, store.StateUnavailable}

type inventoryFilter struct {
	ICCID, State, Type, Operator string
}

type inventoryData struct {
	Filter    inventoryFilter
	States    []store.State
	Operators []store.Operator
	Types     []string
	Profiles  []store.Profile
	More      bool
	Check     *importCheck
	Result    *importResult
}

// importCheck is the dry run of an import, shown with the button that imports it.
type importCheck struct {
	Mode        string // "package" or "batch"
	Operator    string
	ProfileType string
	// Package mode: one row per file.
	Packages []pkgCheck
	// Batch mode: the inventory's report.
	Report                  *inventory.Report
	TemplateName, InputName string
	// Payloads carry the files, base64, in hidden fields to the import; they are checked again
	// there.
	Payloads  []payload
	CanImport bool
}

type pkgCheck struct {
	File        string
	ICCID       string
	ProfileType string
	Version     string
	Size        int
	Elements    int
	Warnings    []string
	// Problem says why the package cannot be imported; empty when it can.
	Problem string
}

type payload struct{ Name, Value string }

// importResult is the outcome of importing packages one by one.
type importResult struct {
	Rows     []importRow
	Imported int
}

type importRow struct {
	File, ICCID string
	Err         *errView
}

// Import modes.
const (
	modePackage = "package"
	modeBatch   = "batch"
)

func (c *server) inventory(w http.ResponseWriter, r *http.Request, ses *session) error {
	q := r.URL.Query()
	d := inventoryData{States: allStates,
		Filter: inventoryFilter{ICCID: strings.TrimSpace(q.Get("iccid")), State: q.Get("state"), Type: strings.TrimSpace(q.Get("type"))}}
	scope, err := c.scopeFilter(r, ses, &d.Operators, &d.Filter.Operator)
	if err != nil {
		return err
	}
	if err := c.inventoryLists(r, scope, &d); err != nil {
		return err
	}
	var perr error
	switch {
	case d.Filter.ICCID != "" && !validICCID(d.Filter.ICCID):
		perr = status.New(status.SubjectICCID, status.ReasonInvalid, "an ICCID is 18 to 20 digits")
	case d.Filter.State != "" && !store.State(d.Filter.State).Valid():
		perr = badRequest("Choose a state from the list.")
	}
	code := http.StatusOK
	if perr == nil {
		ps, err := c.db.FindProfiles(r.Context(), store.ProfileFilter{OperatorID: scope, ICCID: d.Filter.ICCID,
			State: store.State(d.Filter.State), ProfileType: d.Filter.Type, Limit: searchLimit + 1})
		if err != nil {
			return err
		}
		d.Profiles, d.More = ps[:min(len(ps), searchLimit)], len(ps) > searchLimit
	} else {
		code = http.StatusUnprocessableEntity
	}
	return c.render(w, r, ses, code, "inventory", "Inventory", "inventory", d, perr)
}

// inventoryLists fills the operator list (administrator) and the known profile types.
func (c *server) inventoryLists(r *http.Request, scope string, d *inventoryData) error {
	levels, err := c.inv.Pools(r.Context(), scope)
	if err != nil {
		return err
	}
	for _, l := range levels {
		if !slices.Contains(d.Types, l.ProfileType) {
			d.Types = append(d.Types, l.ProfileType)
		}
	}
	slices.Sort(d.Types)
	return nil
}

// importOperator is the operator an import is for: the signed-in operator, or the one the
// administrator chose, which must exist.
func (c *server) importOperator(r *http.Request, ses *session) (string, error) {
	if !ses.principal.Admin {
		return ses.principal.OperatorID, nil
	}
	id := strings.TrimSpace(r.PostFormValue("operator"))
	if id == "" {
		return "", badRequest("Choose the operator the profiles are for.")
	}
	if _, err := c.db.GetOperator(r.Context(), id); errors.Is(err, store.ErrNotFound) {
		return "", badRequest("There is no operator " + id + ".")
	} else if err != nil {
		return "", err
	}
	return id, nil
}

// importCheck runs the dry run of an upload and shows its result table.
func (c *server) importCheck(w http.ResponseWriter, r *http.Request, ses *session) error {
	d := inventoryData{States: allStates}
	d.Filter.Operator = r.PostFormValue("operator")
	if ses.principal.Admin {
		ops, err := c.db.ListOperators(r.Context())
		if err != nil {
			return err
		}
		d.Operators = ops
	}
	if err := c.inventoryLists(r, ses.principal.scope(), &d); err != nil {
		return err
	}
	fail := func(err error) error {
		if !isShown(err) {
			return err
		}
		return c.render(w, r, ses, http.StatusUnprocessableEntity, "inventory", "Inventory", "inventory", d, err)
	}
	op, err := c.importOperator(r, ses)
	if err != nil {
		return fail(err)
	}
	check := &importCheck{Mode: r.PostFormValue("mode"), Operator: op, ProfileType: strings.TrimSpace(r.PostFormValue("profileType"))}
	if len(check.ProfileType) > 64 {
		return fail(status.New(status.SubjectProfileType, status.ReasonInvalid, "a profile type has at most 64 characters"))
	}
	switch check.Mode {
	case modePackage:
		files, err := uploads(r, "upp")
		if err != nil {
			return fail(err)
		}
		if len(files) == 0 {
			return fail(badRequest("Choose one or more profile package files (.der)."))
		}
		if err := c.checkPackages(r, check, files); err != nil {
			return err
		}
	case modeBatch:
		tmpl, err := uploads(r, "template")
		if err != nil {
			return fail(err)
		}
		input, err := uploads(r, "input")
		if err != nil {
			return fail(err)
		}
		if len(tmpl) != 1 || len(input) != 1 {
			return fail(badRequest("Choose a template package (.der) and a personalisation file (.csv or .json)."))
		}
		check.TemplateName, check.InputName = tmpl[0].name, input[0].name
		rep, err := c.batchRun(r, op, check.ProfileType, tmpl[0].data, input[0].data, false)
		if err != nil {
			return fail(err)
		}
		check.Report = &rep
		check.CanImport = rep.Rows > 0 && rep.Valid == rep.Rows
		check.Payloads = []payload{{"template", base64.StdEncoding.EncodeToString(tmpl[0].data)},
			{"input", base64.StdEncoding.EncodeToString(input[0].data)}}
	default:
		return badRequest("Unknown import mode.")
	}
	d.Check = check
	return c.render(w, r, ses, http.StatusOK, "inventory", "Inventory: check the import", "inventory", d, nil)
}

// isShown reports whether err is one the page shows in its own words (a status or page error).
func isShown(err error) bool {
	var se *status.Error
	var pe *pageError
	return errors.As(err, &se) || errors.As(err, &pe)
}

// checkPackages parses each uploaded package as the import would and looks for its ICCID in the
// database.
func (c *server) checkPackages(r *http.Request, check *importCheck, files []upload) error {
	var iccids []string
	for _, f := range files {
		row := pkgCheck{File: f.name, Size: len(f.data)}
		pkg, err := profiles.Parse(f.data)
		if err != nil {
			row.Problem = "Not a valid SAIP profile package: " + err.Error()
		} else {
			row.ICCID, row.Elements, row.Warnings = pkg.Header.ICCID, len(pkg.Elements), pkg.Warnings
			row.Version = fmt.Sprintf("SAIP %d.%d", pkg.Header.MajorVersion, pkg.Header.MinorVersion)
			row.ProfileType = check.ProfileType
			if row.ProfileType == "" {
				row.ProfileType = pkg.Header.ProfileType
			}
			if row.ProfileType == "" {
				row.Problem = "The package names no profile type: enter one."
			}
			if slices.Contains(iccids, row.ICCID) {
				row.Problem = "The same ICCID is in another file of this upload."
			}
			iccids = append(iccids, row.ICCID)
		}
		check.Packages = append(check.Packages, row)
		check.Payloads = append(check.Payloads, payload{"pkg", base64.StdEncoding.EncodeToString(f.data)},
			payload{"pkgname", f.name})
	}
	existing, err := c.db.ExistingICCIDs(r.Context(), iccids)
	if err != nil {
		return err
	}
	ready := 0
	for i := range check.Packages {
		p := &check.Packages[i]
		if p.Problem == "" && slices.Contains(existing, p.ICCID) {
			p.Problem = "A profile with this ICCID exists already."
		}
		if p.Problem == "" {
			ready++
		}
	}
	check.CanImport = ready == len(check.Packages)
	return nil
}

// batchRun checks (dry) or imports a template with a personalisation file through the inventory.
func (c *server) batchRun(r *http.Request, op, profileType string, tmpl, input []byte, doImport bool) (inventory.Report, error) {
	var in *inventory.Input
	var err error
	if trimmed := bytes.TrimLeft(input, " \t\r\n\ufeff"); len(trimmed) > 0 && trimmed[0] == '{' {
		in, err = inventory.ReadJSON(bytes.NewReader(input))
	} else {
		in, err = inventory.ReadCSV(bytes.NewReader(input))
	}
	if err != nil {
		return inventory.Report{}, badRequest("The personalisation file cannot be read: " + err.Error())
	}
	b := inventory.Batch{OperatorID: op, ProfileType: profileType, Template: tmpl, Input: in}
	var rep inventory.Report
	if doImport {
		rep, err = c.inv.Import(r.Context(), b)
	} else {
		rep, err = c.inv.DryRun(r.Context(), b)
	}
	switch {
	case err == nil, errors.Is(err, inventory.ErrInvalid):
		return rep, nil
	case errors.Is(err, inventory.ErrBadTemplate):
		return rep, badRequest("The template cannot be used: " + err.Error())
	case errors.Is(err, store.ErrDuplicate):
		return rep, status.Wrap(status.SubjectICCID, status.ReasonAlreadyInUse,
			"a profile of this file was imported meanwhile; check the file again", err)
	}
	return rep, err
}

// importRun imports what a dry run showed, checking it again on the way.
func (c *server) importRun(w http.ResponseWriter, r *http.Request, ses *session) error {
	op, err := c.importOperator(r, ses)
	if err != nil {
		return err
	}
	profileType := strings.TrimSpace(r.PostFormValue("profileType"))
	ctx := r.Context()
	switch r.PostFormValue("mode") {
	case modePackage:
		pkgs, names := r.PostForm["pkg"], r.PostForm["pkgname"]
		if len(pkgs) == 0 || len(names) != len(pkgs) {
			return badRequest("Nothing to import: check the files first.")
		}
		res := &importResult{}
		for i, enc := range pkgs {
			row := importRow{File: names[i]}
			upp, err := base64.StdEncoding.DecodeString(enc)
			if err != nil {
				return badRequest("The import form was damaged: check the files again.")
			}
			pkg, err := profiles.Parse(upp)
			if err != nil {
				row.Err = viewError(status.Wrap(status.SubjectProfile, status.ReasonInvalid, "not a valid SAIP profile package: "+err.Error(), err))
				res.Rows = append(res.Rows, row)
				continue
			}
			if profileType == "" && pkg.Header.ProfileType == "" {
				row.ICCID = pkg.Header.ICCID
				row.Err = viewError(status.New(status.SubjectProfileType, status.ReasonMandatoryElementMissing, "the package names no profile type: enter one"))
				res.Rows = append(res.Rows, row)
				continue
			}
			p, err := c.orders.ImportProfile(ctx, op, profileType, upp)
			switch {
			case err == nil:
				row.ICCID = p.ICCID
				res.Imported++
				c.record(ctx, ses, store.Event{OperatorID: op, ICCID: p.ICCID, Kind: inventory.KindImported,
					Detail: fmt.Sprintf("profile package %s, profileType %s", path.Base(row.File), p.ProfileType)})
			case errors.Is(err, store.ErrDuplicate):
				row.Err = viewError(status.Wrap(status.SubjectICCID, status.ReasonAlreadyInUse, "a profile with this ICCID exists already", err))
			default:
				return err
			}
			res.Rows = append(res.Rows, row)
		}
		d := inventoryData{States: allStates, Result: res}
		if err := c.inventoryLists(r, ses.principal.scope(), &d); err != nil {
			return err
		}
		if ses.principal.Admin {
			if d.Operators, err = c.db.ListOperators(ctx); err != nil {
				return err
			}
		}
		code := http.StatusOK
		if res.Imported < len(res.Rows) {
			code = http.StatusUnprocessableEntity
		}
		return c.render(w, r, ses, code, "inventory", "Inventory: import result", "inventory", d, nil)
	case modeBatch:
		tmpl, err1 := base64.StdEncoding.DecodeString(r.PostFormValue("template"))
		input, err2 := base64.StdEncoding.DecodeString(r.PostFormValue("input"))
		if err1 != nil || err2 != nil || len(tmpl) == 0 || len(input) == 0 {
			return badRequest("The import form was damaged: check the files again.")
		}
		rep, err := c.batchRun(r, op, profileType, tmpl, input, true)
		if err != nil {
			return err
		}
		if rep.Imported == 0 {
			d := inventoryData{States: allStates, Check: &importCheck{Mode: modeBatch, Operator: op, ProfileType: profileType, Report: &rep}}
			if err := c.inventoryLists(r, ses.principal.scope(), &d); err != nil {
				return err
			}
			return c.render(w, r, ses, http.StatusUnprocessableEntity, "inventory", "Inventory", "inventory", d,
				badRequest("Nothing was imported: the file has errors now (see below)."))
		}
		return c.redirect(w, r, ses, "/inventory?type="+urlQuery(firstNonEmpty(rep.ProfileType, profileType)),
			fmt.Sprintf("Imported %d profiles (batch %s).", rep.Imported, rep.BatchID))
	}
	return badRequest("Unknown import mode.")
}

// upload is one uploaded file.
type upload struct {
	name string
	data []byte
}

// uploads reads the files of a multipart field; empty file inputs are skipped.
func uploads(r *http.Request, field string) ([]upload, error) {
	if r.MultipartForm == nil {
		return nil, badRequest("The form must be sent as multipart/form-data.")
	}
	var out []upload
	for _, fh := range r.MultipartForm.File[field] {
		if fh.Filename == "" && fh.Size == 0 {
			continue
		}
		b, err := readUpload(fh)
		if err != nil {
			return nil, err
		}
		out = append(out, upload{name: path.Base(fh.Filename), data: b})
	}
	return out, nil
}

func readUpload(fh *multipart.FileHeader) ([]byte, error) {
	f, err := fh.Open()
	if err != nil {
		return nil, fmt.Errorf("opening upload %s: %w", fh.Filename, err)
	}
	defer f.Close()
	return io.ReadAll(f)
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}
