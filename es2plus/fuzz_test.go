package es2plus

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/smdpp/smdpp/internal/testenv"
	"github.com/smdpp/smdpp/web"
)

// FuzzFunctions posts arbitrary bodies, authenticated as operator A, to every ES2+ function on a
// real server and store: the answer is always 200 with a functionExecutionStatus, or 403/413,
// never a 5xx.
func FuzzFunctions(f *testing.F) {
	functions := []string{"downloadOrder", "confirmOrder", "cancelOrder", "releaseProfile"}
	hdr := `"header":{"functionRequesterIdentifier":"` + opA + `","functionCallIdentifier":"F1"}`
	f.Add(uint8(0), `{`+hdr+`,"profileType":"`+typeA+`"}`)
	f.Add(uint8(1), `{`+hdr+`,"iccid":"`+iccidA(1)+`","releaseFlag":true}`)
	f.Add(uint8(2), `{`+hdr+`,"iccid":"`+iccidA(2)+`","finalProfileStatusIndicator":"Available"}`)
	f.Add(uint8(3), `{`+hdr+`,"iccid":"1"}`)
	f.Add(uint8(3), `{"header":null}`)
	e := newEnv(f, testenv.Databases[0])
	token := e.token(f, e.a)
	client := e.client(nil)
	f.Fuzz(func(t *testing.T, fn uint8, body string) {
		function := functions[int(fn)%len(functions)]
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+PathPrefix+function, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		switch resp.StatusCode {
		case 200:
			var out web.Response
			if err := json.Unmarshal(b, &out); err != nil || out.Header.FunctionExecutionStatus.Status == "" {
				t.Fatalf("200 without a functionExecutionStatus: %s", b)
			}
		case 403, 413:
		default:
			t.Fatalf("HTTP %d for %s %q: %s", resp.StatusCode, function, body, b)
		}
	})
}
