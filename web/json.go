package web

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"

	"github.com/smdpp/smdpp/status"
)

// AdminProtocolHeader is the HTTP header naming the SGP.22 protocol version (§6.3).
const AdminProtocolHeader = "X-Admin-Protocol"

// AdminProtocol is the version this server speaks; it accepts any gsma/rsp/v2.x.y.
const AdminProtocol = "gsma/rsp/v2.5.0"

// Response is embedded in every function response so the adapter can set its header.
type Response struct {
	Header status.ResponseHeader `json:"header"`
}

func (r *Response) setHeader(h status.ResponseHeader) { r.Header = h }

// ResponseHeader returns the header, so a client that decoded a whole response into a type
// embedding Response reads it without decoding the body again.
func (r *Response) ResponseHeader() status.ResponseHeader { return r.Header }

type headerSetter interface{ setHeader(status.ResponseHeader) }

// FunctionHandler adapts an SGP.22 JSON function (SGP.22 §6.5) to http.Handler. fn returns a
// pointer to a response struct embedding Response, or an error; a nil response with a nil error
// means 204 No Content. The adapter checks
// the request headers, caps the body, runs fn, and writes either the response with
// Executed-Success or the failure's functionExecutionStatus, always with HTTP 200 for function
// failures since LPAs treat any other status as a transport error and lose the reason.
func FunctionHandler[Resp any, PR interface {
	*Resp
	headerSetter
}](maxBody int64, log *slog.Logger, fn func(r *http.Request) (PR, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(AdminProtocolHeader, AdminProtocol)
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		var (
			resp PR
			err  = checkRequestHeaders(r)
		)
		if err == nil {
			resp, err = fn(r)
		}
		if err != nil {
			writeFailure(w, r, log, err)
			return
		}
		if resp == nil {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		resp.setHeader(status.Success())
		writeJSON(w, http.StatusOK, resp)
	})
}

func writeFailure(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		AddLog(r.Context(), slog.String("error", err.Error()))
		http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
		return
	}
	h, internal := status.Header(err)
	sc := h.FunctionExecutionStatus.StatusCodeData
	AddLog(r.Context(), slog.String("subjectCode", sc.SubjectCode), slog.String("reasonCode", sc.ReasonCode),
		slog.String("error", err.Error()))
	if internal {
		log.ErrorContext(r.Context(), "function failed", "path", r.URL.Path, "error", err)
	}
	writeJSON(w, http.StatusOK, Response{Header: h})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(code)
	w.Write(body)
}

// checkRequestHeaders applies SGP.22 §6.3: a JSON body and, when present, a v2 admin protocol.
func checkRequestHeaders(r *http.Request) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return status.New(status.SubjectContentType, status.ReasonInvalid, "Content-Type must be application/json")
	}
	if v := r.Header.Get(AdminProtocolHeader); v != "" && !strings.HasPrefix(v, "gsma/rsp/v2.") {
		return status.New(status.SubjectAdminProtocol, status.ReasonUnsupported, "X-Admin-Protocol "+v+" is not supported")
	}
	return nil
}

// DecodeJSON reads one JSON object from the (already size-limited) body into v. Unknown fields are
// tolerated, as SGP.22 asks of receivers; malformed JSON is an SGP.22 invalid-request error.
func DecodeJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return err
		}
		return status.Wrap(status.SubjectRequest, status.ReasonInvalid, "request body is not a valid JSON object", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return status.New(status.SubjectRequest, status.ReasonInvalid, "trailing data after the JSON object")
	}
	return nil
}
