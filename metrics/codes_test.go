package metrics

import (
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"strings"
	"testing"
)

// TestCodesFollowStatus parses package status and checks that every subject and reason code it
// defines is a label value here, so a new code is not silently counted as "other".
func TestCodesFollowStatus(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "../status/status.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, s := range g.Specs {
			vs := s.(*ast.ValueSpec)
			for i, name := range vs.Names {
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					continue
				}
				v, _ := strconv.Unquote(lit.Value)
				switch {
				case strings.HasPrefix(name.Name, "Subject"):
					n++
					if !subjectCodes[v] {
						t.Errorf("status.%s = %q is not in subjectCodes", name.Name, v)
					}
				case strings.HasPrefix(name.Name, "Reason"):
					n++
					if !reasonCodes[v] {
						t.Errorf("status.%s = %q is not in reasonCodes", name.Name, v)
					}
				}
			}
		}
	}
	if n != len(subjectCodes)+len(reasonCodes) {
		t.Errorf("status defines %d codes, metrics knows %d", n, len(subjectCodes)+len(reasonCodes))
	}
}

func TestParseHeader(t *testing.T) {
	tests := []struct {
		name, body     string
		ok             bool
		status, sc, rc string
	}{
		{"success", `{"header":{"functionExecutionStatus":{"status":"Executed-Success"}}}`, true, "Executed-Success", "", ""},
		{"failure", `{"header":{"functionExecutionStatus":{"status":"Failed","statusCodeData":{"subjectCode":"8.1","reasonCode":"3.8"}}},"x":1}`, true, "Failed", "8.1", "3.8"},
		{"header cut off", `{"header":{"functionExecutionStatus":{"status":"Fai`, false, "", "", ""},
		{"rest cut off", `{"header":{"functionExecutionStatus":{"status":"Failed"}},"boundProfilePackage":"AAAA`, true, "Failed", "", ""},
		{"empty", ``, false, "", "", ""},
		{"not an object", `"header"`, false, "", "", ""},
		{"header not an object", `{"header":"Failed"}`, false, "", "", ""},
		{"empty status", `{"header":{"functionExecutionStatus":{}}}`, false, "", "", ""},
		{"garbage", `{"header" 1}`, false, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, ok := parseHeader([]byte(tt.body))
			fes := h.FunctionExecutionStatus
			var sc, rc string
			if fes.StatusCodeData != nil {
				sc, rc = fes.StatusCodeData.SubjectCode, fes.StatusCodeData.ReasonCode
			}
			if ok != tt.ok || (ok && (fes.Status != tt.status || sc != tt.sc || rc != tt.rc)) {
				t.Errorf("got %v %q %q %q", ok, fes.Status, sc, rc)
			}
		})
	}
}
