package web

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/smdpp/smdpp/status"
)

type echoRequest struct {
	TransactionID string `json:"transactionId"`
}

type echoResponse struct {
	Response
	TransactionID string `json:"transactionId"`
}

func echo(r *http.Request) (*echoResponse, error) {
	var req echoRequest
	if err := DecodeJSON(r, &req); err != nil {
		return nil, err
	}
	switch req.TransactionID {
	case "":
		return nil, status.New(status.SubjectTransactionID, status.ReasonMandatoryElementMissing, "transactionId missing")
	case "NOCONTENT":
		return nil, nil
	case "INTERNAL":
		return nil, errors.New("secret database detail")
	case "PANIC":
		panic("boom")
	}
	return &echoResponse{TransactionID: req.TransactionID}, nil
}

func TestFunctionHandler(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	h := RequestLog(log)(FunctionHandler(4096, log, echo))
	tests := []struct {
		name, method, ctype, proto, body string
		wantCode                         int
		wantBody                         string
	}{
		{"success", "POST", "application/json", "gsma/rsp/v2.2.2", `{"transactionId":"AB12","unknown":1}`, 200,
			`{"header":{"functionExecutionStatus":{"status":"Executed-Success"}},"transactionId":"AB12"}`},
		{"charset allowed, no protocol header", "POST", "application/json;charset=UTF-8", "", `{"transactionId":"AB12"}`, 200,
			`{"header":{"functionExecutionStatus":{"status":"Executed-Success"}},"transactionId":"AB12"}`},
		{"function failure is 200", "POST", "application/json", "", `{}`, 200,
			`{"header":{"functionExecutionStatus":{"status":"Failed","statusCodeData":{"subjectCode":"8.10.1","reasonCode":"2.2","message":"transactionId missing"}}}}`},
		{"no content", "POST", "application/json", "", `{"transactionId":"NOCONTENT"}`, 204, ``},
		{"internal error hidden", "POST", "application/json", "", `{"transactionId":"INTERNAL"}`, 200,
			`{"header":{"functionExecutionStatus":{"status":"Failed","statusCodeData":{"subjectCode":"1.6","reasonCode":"4.2","message":"internal error"}}}}`},
		{"bad content type", "POST", "text/plain", "", `{"transactionId":"AB12"}`, 200,
			`{"header":{"functionExecutionStatus":{"status":"Failed","statusCodeData":{"subjectCode":"1.2.1","reasonCode":"2.1","message":"Content-Type must be application/json"}}}}`},
		{"v1 protocol", "POST", "application/json", "gsma/rsp/v1.0", `{"transactionId":"AB12"}`, 200,
			`{"header":{"functionExecutionStatus":{"status":"Failed","statusCodeData":{"subjectCode":"1.2.2","reasonCode":"3.1","message":"X-Admin-Protocol gsma/rsp/v1.0 is not supported"}}}}`},
		{"malformed json", "POST", "application/json", "", `{"transactionId":`, 200,
			`{"header":{"functionExecutionStatus":{"status":"Failed","statusCodeData":{"subjectCode":"1.2","reasonCode":"2.1","message":"request body is not a valid JSON object"}}}}`},
		{"trailing json", "POST", "application/json", "", `{"transactionId":"A"} {}`, 200,
			`{"header":{"functionExecutionStatus":{"status":"Failed","statusCodeData":{"subjectCode":"1.2","reasonCode":"2.1","message":"trailing data after the JSON object"}}}}`},
		{"oversized body", "POST", "application/json", "", `{"transactionId":"` + strings.Repeat("A", 5000) + `"}`, 413, "request body too large\n"},
		{"GET refused", "GET", "application/json", "", ``, 405, "method not allowed\n"},
		{"panic is 500", "POST", "application/json", "", `{"transactionId":"PANIC"}`, 500, "internal error\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, "/gsma/rsp2/es9plus/x", strings.NewReader(tt.body))
			req.Header.Set("Content-Type", tt.ctype)
			if tt.proto != "" {
				req.Header.Set(AdminProtocolHeader, tt.proto)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			body, _ := io.ReadAll(rec.Body)
			if rec.Code != tt.wantCode || string(body) != tt.wantBody {
				t.Errorf("got %d %s\nwant %d %s", rec.Code, body, tt.wantCode, tt.wantBody)
			}
			if tt.wantCode != 405 && rec.Header().Get(AdminProtocolHeader) == "" {
				t.Error("response lacks X-Admin-Protocol")
			}
		})
	}
	if strings.Contains(logs.String(), `"error":"secret`) == false {
		t.Error("internal error detail missing from the log")
	}
	if !strings.Contains(logs.String(), `"panic":"boom"`) {
		t.Error("panic not logged")
	}
}

func TestReadyz(t *testing.T) {
	h := Readyz(map[string]Check{
		"database": func(context.Context) error { return nil },
		"redis":    func(context.Context) error { return errors.New("connection refused") },
	})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if rec.Code != 503 || rec.Body.String() != `{"database":"ok","redis":"connection refused"}` {
		t.Errorf("got %d %s", rec.Code, rec.Body)
	}
}
