package admin

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/smdpp/smdpp/inventory"
	"github.com/smdpp/smdpp/store"
)

// openAPIFile is the OpenAPI document of this API, relative to the package directory.
var openAPIFile = filepath.Join("..", "docs", "openapi-admin.yaml")

// TestOpenAPIMatchesRoutes keeps docs/openapi-admin.yaml and Handler's routes the same set of
// method and path pairs, both ways, and checks that every documented operation reaches a handler
// through the authenticated API rather than the router's 404 or 405.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, backends[0].newDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	api, err := New(db, inventory.New(db), token)
	if err != nil {
		t.Fatal(err)
	}
	h := api.Handler()
	routes, ok := h.(chi.Routes)
	if !ok {
		t.Fatalf("Handler returns %T, not a chi router: walk its routes another way", h)
	}
	var served []string
	err = chi.Walk(routes, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		p, err := openAPIPath(route)
		if err != nil {
			return err
		}
		served = append(served, method+" "+p)
		return nil
	})
	if err != nil {
		t.Fatalf("walking the routes: %v", err)
	}
	doc, err := os.ReadFile(openAPIFile)
	if err != nil {
		t.Fatal(err)
	}
	documented, err := openAPIOperations(doc)
	if err != nil {
		t.Fatalf("%s: %v", openAPIFile, err)
	}
	if len(served) == 0 || len(documented) == 0 {
		t.Fatalf("%d routes served, %d documented", len(served), len(documented))
	}
	for _, op := range served {
		if !slices.Contains(documented, op) {
			t.Errorf("route %s is not in %s", op, openAPIFile)
		}
	}
	for _, op := range documented {
		if !slices.Contains(served, op) {
			t.Errorf("%s documents %s, which Handler does not serve", openAPIFile, op)
		}
	}

	// Every documented operation, with sample path parameters and no body, must get an answer
	// of its handler (200, or 400 for the missing body), not the router's.
	for _, op := range documented {
		t.Run(op, func(t *testing.T) {
			method, path, _ := strings.Cut(op, " ")
			req := httptest.NewRequest(method, samplePath(path), nil)
			req.Header.Set("Authorization", "Bearer "+token)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code == http.StatusMethodNotAllowed ||
				rec.Code == http.StatusNotFound && strings.Contains(rec.Body.String(), "no such admin resource") {
				t.Errorf("answered by the router: %d %s", rec.Code, rec.Body)
			}
		})
	}
}

// openAPIPath turns a chi route pattern into an OpenAPI path template: "{id:[0-9]+}" becomes
// "{id}". A wildcard ("*") has no OpenAPI form and is an error.
func openAPIPath(route string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(route); i++ {
		switch c := route[i]; c {
		case '*':
			return "", fmt.Errorf("route %q: a wildcard cannot be documented as an OpenAPI path", route)
		case '{':
			// chi allows braces inside a parameter's regexp: find the matching one.
			depth, end := 0, -1
			for j := i; j < len(route) && end < 0; j++ {
				switch route[j] {
				case '{':
					depth++
				case '}':
					if depth--; depth == 0 {
						end = j
					}
				}
			}
			if end < 0 {
				return "", fmt.Errorf("route %q: unclosed parameter", route)
			}
			name, _, _ := strings.Cut(route[i+1:end], ":")
			if name == "" {
				return "", fmt.Errorf("route %q: parameter without a name", route)
			}
			b.WriteString("{" + name + "}")
			i = end
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

// samplePath fills the parameters of an OpenAPI path template with a sample value.
func samplePath(p string) string {
	var b strings.Builder
	for {
		open := strings.IndexByte(p, '{')
		end := strings.IndexByte(p, '}')
		if open < 0 || end < open {
			return b.String() + p
		}
		b.WriteString(p[:open] + "sample")
		p = p[end+1:]
	}
}

// httpMethods are the operation keys of an OpenAPI path item (OpenAPI 3.1 §4.8.9).
var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// openAPIOperations reads the operations of an OpenAPI document in block-style YAML, as "METHOD
// /path" in document order, without a YAML library: the keys of the top-level "paths:" mapping
// are the paths, and the keys one level below each path that are HTTP methods are its
// operations. Anything deeper (parameters, descriptions, schemas) is skipped. A form this reader
// does not understand (flow-style paths, tab indentation, a key that is not a path) is an error
// rather than a silent gap, and so are duplicates and a path without an operation.
func openAPIOperations(doc []byte) ([]string, error) {
	var (
		ops                  []string
		inPaths, seenPaths   bool
		pathIndent, opIndent = -1, -1
		path                 string // the current path; "" inside an extension
		pathLine, pathOps    int
		seenPath             = map[string]bool{}
		seenOp               = map[string]bool{}
	)
	// endPath checks the path that has just ended.
	endPath := func() error {
		if path != "" && pathOps == 0 {
			return fmt.Errorf("line %d: path %s has no operation", pathLine, path)
		}
		return nil
	}
	sc := bufio.NewScanner(bytes.NewReader(doc))
	sc.Buffer(nil, 1<<20)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimRight(sc.Text(), " \r")
		trimmed := strings.TrimLeft(text, " ")
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		indent := len(text) - len(trimmed)
		if strings.HasPrefix(trimmed, "\t") {
			return nil, fmt.Errorf("line %d: tab in indentation", line)
		}
		if indent == 0 {
			if inPaths {
				if err := endPath(); err != nil {
					return nil, err
				}
				inPaths = false
			}
			key, value, ok := yamlKey(trimmed)
			if ok && key == "paths" {
				if value != "" {
					return nil, fmt.Errorf(`line %d: flow-style "paths" is not supported: write it as a block mapping`, line)
				}
				if seenPaths {
					return nil, fmt.Errorf("line %d: a second paths mapping", line)
				}
				inPaths, seenPaths = true, true
			}
			continue
		}
		if !inPaths {
			continue
		}
		if pathIndent < 0 {
			pathIndent = indent
		}
		switch {
		case indent < pathIndent:
			return nil, fmt.Errorf("line %d: indentation %d is less than the paths' %d", line, indent, pathIndent)
		case indent == pathIndent:
			if err := endPath(); err != nil {
				return nil, err
			}
			key, value, ok := yamlKey(trimmed)
			switch {
			case !ok:
				return nil, fmt.Errorf("line %d: %q is not a mapping key", line, trimmed)
			case strings.HasPrefix(key, "x-"): // an extension, not a path
				path = ""
				continue
			case !strings.HasPrefix(key, "/"):
				return nil, fmt.Errorf("line %d: key %q under paths is not a path", line, key)
			case value != "":
				return nil, fmt.Errorf("line %d: path %s: a flow-style path item is not supported", line, key)
			case seenPath[key]:
				return nil, fmt.Errorf("line %d: path %s appears twice", line, key)
			}
			seenPath[key] = true
			path, pathOps, pathLine, opIndent = key, 0, line, -1
		default:
			if path == "" {
				continue // inside an extension
			}
			if opIndent < 0 {
				opIndent = indent
			}
			if indent != opIndent {
				continue // deeper: the content of an operation or of a path-level field
			}
			key, _, ok := yamlKey(trimmed)
			if !ok {
				return nil, fmt.Errorf("line %d: %q is not a mapping key", line, trimmed)
			}
			if !slices.Contains(httpMethods, key) {
				continue // parameters, summary, description, servers, $ref
			}
			op := strings.ToUpper(key) + " " + path
			if seenOp[op] {
				return nil, fmt.Errorf("line %d: %s appears twice", line, op)
			}
			seenOp[op] = true
			ops = append(ops, op)
			pathOps++
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if inPaths {
		if err := endPath(); err != nil {
			return nil, err
		}
	}
	if !seenPaths {
		return nil, errors.New(`no top-level "paths:" mapping`)
	}
	return ops, nil
}

// yamlKey splits a block mapping line "key: value" (the key plain, or quoted without escapes)
// into its key and the value text after the colon, trailing comment included.
func yamlKey(s string) (key, value string, ok bool) {
	if q := s[0]; q == '\'' || q == '"' {
		end := strings.IndexByte(s[1:], q)
		if end < 0 || !strings.HasPrefix(s[end+2:], ":") {
			return "", "", false
		}
		key, value = s[1:end+1], s[end+3:]
	} else {
		i := strings.Index(s, ":")
		if i <= 0 || (i+1 < len(s) && s[i+1] != ' ') {
			return "", "", false
		}
		key, value = s[:i], s[i+1:]
	}
	value = strings.TrimSpace(value)
	if strings.HasPrefix(value, "#") {
		value = ""
	}
	return key, value, true
}

// TestOpenAPIOperations runs the document reader of TestOpenAPIMatchesRoutes on small documents,
// the forms it must refuse among them.
func TestOpenAPIOperations(t *testing.T) {
	for _, tc := range []struct {
		name string
		doc  string
		want []string // nil: an error is expected
	}{
		{"block mapping", `openapi: 3.1.0
paths:
  /a:
    get:
      summary: x
    post: {summary: y}
  /a/{id}:
    delete:
      responses: {}
components: {}
`, []string{"GET /a", "POST /a", "DELETE /a/{id}"}},
		{"quoted keys, comments, blank lines and CRLF", "paths:\r\n  # a comment\r\n\r\n  '/b/{x}':\r\n    \"put\": # note\r\n      summary: z\r\n", []string{"PUT /b/{x}"}},
		{"path-level fields and deeper method-like keys are not operations", `paths:
  /c:
    parameters:
      - name: get
    summary: post
    description: |
      get: not an operation
      delete:
    patch:
      requestBody:
        content:
          put: {}
`, []string{"PATCH /c"}},
		{"four-space indentation", "paths:\n    /d:\n        head:\n            summary: x\n", []string{"HEAD /d"}},
		{"extension under paths", "paths:\n  x-note:\n    get: x\n  /e:\n    get: {}\n", []string{"GET /e"}},
		{"no paths", "openapi: 3.1.0\ninfo: {}\n", nil},
		{"flow-style paths", "paths: {/a: {get: {}}}\n", nil},
		{"flow-style path item", "paths:\n  /a: {get: {}}\n", nil},
		{"tab indentation", "paths:\n\t/a:\n\t\tget: {}\n", nil},
		{"key that is not a path", "paths:\n  a:\n    get: {}\n", nil},
		{"duplicate path", "paths:\n  /a:\n    get: {}\n  /a:\n    post: {}\n", nil},
		{"duplicate operation", "paths:\n  /a:\n    get: {}\n    get: {}\n", nil},
		{"path without operations", "paths:\n  /a:\n    summary: x\n  /b:\n    get: {}\n", nil},
		{"last path without operations", "paths:\n  /a:\n    get: {}\n  /b:\n    summary: x\n", nil},
		{"two paths mappings", "paths:\n  /a:\n    get: {}\npaths:\n  /b:\n    get: {}\n", nil},
		{"not a key", "paths:\n  - /a\n", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := openAPIOperations([]byte(tc.doc))
			switch {
			case tc.want == nil && err == nil:
				t.Fatalf("no error, operations %q", got)
			case tc.want == nil:
				t.Log(err)
			case err != nil:
				t.Fatal(err)
			case !slices.Equal(got, tc.want):
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestOpenAPIPath(t *testing.T) {
	for _, tc := range []struct {
		route, want string // want "": an error is expected
	}{
		{"/operators", "/operators"},
		{"/operators/{id}", "/operators/{id}"},
		{"/eids/{eid}/history", "/eids/{eid}/history"},
		{"/a/{n:[0-9]+}/b", "/a/{n}/b"},
		{"/a/{n:[0-9]{3}}", "/a/{n}"},
		{"/a/{x}-{y}", "/a/{x}-{y}"},
		{"/static/*", ""},
		{"/a/{n", ""},
		{"/a/{:[0-9]+}", ""},
	} {
		t.Run(tc.route, func(t *testing.T) {
			got, err := openAPIPath(tc.route)
			switch {
			case tc.want == "" && err == nil:
				t.Fatalf("no error, got %q", got)
			case tc.want != "" && (err != nil || got != tc.want):
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}
