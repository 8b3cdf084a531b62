package es9plus

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/smdpp/smdpp/download"
	"github.com/smdpp/smdpp/status"
	"github.com/smdpp/smdpp/web"
)

// fakeService records what the front end passed and answers with fixed values, so these tests
// look at the HTTP/JSON binding alone; the download service has its own tests.
type fakeService struct {
	gotAddress string
	gotTxID    []byte
}

func (f *fakeService) InitiateAuthentication(_ context.Context, ch, info []byte, addr string) (*download.InitiateAuthenticationResult, error) {
	f.gotAddress = addr
	return &download.InitiateAuthenticationResult{TransactionID: []byte{0xAB, 0xCD}, ServerSigned1: []byte{0x30, 0}, ServerSignature1: []byte{0x5F, 0x37, 0}, EUICCCiPKIdToBeUsed: []byte{4, 0}, ServerCertificate: []byte{0x30, 0}}, nil
}
func (f *fakeService) AuthenticateClient(_ context.Context, txID, asr []byte) (*download.AuthenticateClientResult, error) {
	f.gotTxID = txID
	return nil, status.New(status.SubjectMatchingID, status.ReasonRefused, "unknown matchingId")
}
func (f *fakeService) GetBoundProfilePackage(_ context.Context, txID, pdr []byte) ([]byte, error) {
	return []byte{0xBF, 0x36, 0}, nil
}
func (f *fakeService) HandleNotification(context.Context, []byte) error { return nil }
func (f *fakeService) CancelSession(context.Context, []byte, []byte) error {
	return nil
}

func newServer(t *testing.T, svc Service, http2 bool) *httptest.Server {
	r := chi.NewRouter()
	Routes(r, svc, 4096, slog.New(slog.DiscardHandler))
	srv := httptest.NewUnstartedServer(r)
	srv.EnableHTTP2 = http2
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func post(t *testing.T, srv *httptest.Server, function, body string, header map[string]string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+Prefix+"/"+function, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestWhatRealLPAsSend: lpac and Android LPAs differ in protocol, headers and address form.
func TestWhatRealLPAsSend(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		f := &fakeService{}
		srv := newServer(t, f, h2)
		body := `{"euiccChallenge":"AAAAAAAAAAAAAAAAAAAAAA==","euiccInfo1":"vyAA","smdpAddress":"smdp.example.com:8443","unknownField":[1,2]}`
		for _, proto := range []string{"gsma/rsp/v2.2.2", "gsma/rsp/v2.5.0", "gsma/rsp/v2.1.0", ""} {
			resp, got := post(t, srv, "initiateAuthentication", body, map[string]string{"X-Admin-Protocol": proto, "User-Agent": "gsma-rsp-lpad"})
			wantProto := "HTTP/1.1"
			if h2 {
				wantProto = "HTTP/2.0"
			}
			if resp.StatusCode != 200 || resp.Proto != wantProto {
				t.Fatalf("%s %q: %s %d", wantProto, proto, resp.Proto, resp.StatusCode)
			}
			var out map[string]any
			if err := json.Unmarshal([]byte(got), &out); err != nil {
				t.Fatal(err)
			}
			if out["transactionId"] != "ABCD" || out["header"].(map[string]any)["functionExecutionStatus"].(map[string]any)["status"] != "Executed-Success" {
				t.Errorf("response %s", got)
			}
			if f.gotAddress != "smdp.example.com:8443" {
				t.Errorf("smdpAddress passed as %q", f.gotAddress)
			}
		}
	}
}

// TestBadInput: malformed requests get an SGP.22 status with HTTP 200, or 413 for an oversized
// body; never a 5xx.
func TestBadInput(t *testing.T) {
	srv := newServer(t, &fakeService{}, true)
	tests := []struct {
		name, function, body string
		wantCode             int
		wantSubject          string
	}{
		{"bad JSON", "authenticateClient", `{"transactionId":`, 200, "1.2"},
		{"URL-safe base64", "authenticateClient", `{"transactionId":"AB","authenticateServerResponse":"-_-_"}`, 200, "1.2"},
		{"transactionId not hex", "authenticateClient", `{"transactionId":"XYZ","authenticateServerResponse":"vzgA"}`, 200, "1.2"},
		{"transactionId too long", "getBoundProfilePackage", `{"transactionId":"` + strings.Repeat("AB", 17) + `","prepareDownloadResponse":"vyEA"}`, 200, "1.2"},
		{"missing field", "authenticateClient", `{"transactionId":"AB"}`, 200, "1.2"},
		{"empty body", "cancelSession", ``, 200, "1.2"},
		{"array body", "handleNotification", `[]`, 200, "1.2"},
		{"oversized", "handleNotification", `{"pendingNotification":"` + strings.Repeat("A", 8000) + `"}`, 413, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := post(t, srv, tt.function, tt.body, nil)
			if resp.StatusCode != tt.wantCode {
				t.Fatalf("HTTP %d %s", resp.StatusCode, body)
			}
			if tt.wantSubject == "" {
				return
			}
			var out web.Response
			if err := json.Unmarshal([]byte(body), &out); err != nil {
				t.Fatal(err)
			}
			sc := out.Header.FunctionExecutionStatus.StatusCodeData
			if out.Header.FunctionExecutionStatus.Status != status.Failed || sc == nil || sc.SubjectCode != tt.wantSubject {
				t.Errorf("answer %s", body)
			}
		})
	}
}

// TestFunctionFailureIs200: a refused function keeps HTTP 200 and carries the precise code.
func TestFunctionFailureIs200(t *testing.T) {
	f := &fakeService{}
	srv := newServer(t, f, false)
	resp, body := post(t, srv, "authenticateClient", `{"transactionId":"0aff","authenticateServerResponse":"vzgA"}`, nil)
	if resp.StatusCode != 200 || !strings.Contains(body, `"subjectCode":"8.2.6","reasonCode":"3.8"`) {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	if string(f.gotTxID) != "\x0a\xff" {
		t.Errorf("lower-case hex transactionId read as %x", f.gotTxID)
	}
	if resp.Header.Get("X-Admin-Protocol") == "" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Errorf("headers %v", resp.Header)
	}
	// handleNotification answers 204 with no body.
	resp, body = post(t, srv, "handleNotification", `{"pendingNotification":"vzcA"}`, nil)
	if resp.StatusCode != 204 || body != "" {
		t.Errorf("handleNotification: %d %q", resp.StatusCode, body)
	}
}

// FuzzFunctions posts arbitrary bodies to every ES9+ function: the answer is always 200, 204 or
// 413, never a 5xx, and a 200 carries a functionExecutionStatus.
func FuzzFunctions(f *testing.F) {
	functions := []string{"initiateAuthentication", "authenticateClient", "getBoundProfilePackage", "handleNotification", "cancelSession"}
	f.Add(uint8(0), `{"euiccChallenge":"AAAAAAAAAAAAAAAAAAAAAA==","euiccInfo1":"vyAA","smdpAddress":"a"}`)
	f.Add(uint8(1), `{"transactionId":"AB","authenticateServerResponse":"vzgA"}`)
	f.Add(uint8(2), `{"transactionId":"ab","prepareDownloadResponse":"vyEA"}`)
	f.Add(uint8(3), `{"pendingNotification":"vzcA"}`)
	f.Add(uint8(4), `{"transactionId":"00","cancelSessionResponse":"v0EA"}`)
	f.Add(uint8(4), `{"transactionId":null,"x":[{}]}`)
	r := chi.NewRouter()
	Routes(r, &fakeService{}, 4096, slog.New(slog.DiscardHandler))
	f.Fuzz(func(t *testing.T, fn uint8, body string) {
		function := functions[int(fn)%len(functions)]
		req := httptest.NewRequest(http.MethodPost, Prefix+"/"+function, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		switch rec.Code {
		case 200:
			var out web.Response
			if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.Header.FunctionExecutionStatus.Status == "" {
				t.Fatalf("200 without a functionExecutionStatus: %s", rec.Body)
			}
		case 204, 413:
		default:
			t.Fatalf("HTTP %d for %s %q", rec.Code, function, body)
		}
	})
}
