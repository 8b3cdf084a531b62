package lpa

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"time"

	"github.com/smdpp/smdpp/activation"
	"github.com/smdpp/smdpp/status"
	"github.com/smdpp/smdpp/web"
)

// The ES9+ functions (SGP.22 §5.6), as they appear in the request path and in Timing.Function.
const (
	FunctionInitiateAuthentication = "initiateAuthentication"
	FunctionAuthenticateClient     = "authenticateClient"
	FunctionGetBoundProfilePackage = "getBoundProfilePackage"
	FunctionHandleNotification     = "handleNotification"
	FunctionCancelSession          = "cancelSession"
)

// es9Path is the path prefix of every ES9+ function (SGP.22 §6.5).
const es9Path = "/gsma/rsp2/es9plus/"

// maxResponse bounds an ES9+ response body; a Bound Profile Package is the largest, well below.
const maxResponse = 16 << 20

// ServerError is an ES9+ function that the SM-DP+ executed and reported as failed: its
// header.functionExecutionStatus (SGP.22 §6.5.1.4) with a status other than Executed-Success or
// Executed-WithWarning.
type ServerError struct {
	Function          string // ES9+ function, e.g. FunctionAuthenticateClient
	Status            string // Failed or Expired
	SubjectCode       string
	ReasonCode        string
	SubjectIdentifier string
	Message           string
}

func (e *ServerError) Error() string {
	s := fmt.Sprintf("lpa: ES9+ %s: %s", e.Function, e.Status)
	if e.SubjectCode != "" || e.ReasonCode != "" {
		s += fmt.Sprintf(" subjectCode %s reasonCode %s", e.SubjectCode, e.ReasonCode)
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// TransportError is an ES9+ request that got no usable answer: the connection or TLS failed,
// the context ended, the server answered with an HTTP status other than the function's (200,
// or 204 for handleNotification), or the body was not the JSON object the function returns.
type TransportError struct {
	Function   string // ES9+ function
	StatusCode int    // the unexpected HTTP status, or 0 if that is not what went wrong
	Err        error
}

func (e *TransportError) Error() string {
	if e.StatusCode != 0 {
		return fmt.Sprintf("lpa: ES9+ %s: HTTP status %d: %v", e.Function, e.StatusCode, e.Err)
	}
	return fmt.Sprintf("lpa: ES9+ %s: %v", e.Function, e.Err)
}

func (e *TransportError) Unwrap() error { return e.Err }

// Timing is how long one ES9+ request took, from sending to the end of the response body.
type Timing struct {
	Function string
	Start    time.Time
	Duration time.Duration
	Failed   bool
}

// es9 calls function at the SM-DP+ address with req as its JSON body and decodes the answer into
// resp, a pointer to an es9plus response struct, or checks for 204 when resp is nil. Every
// attempt is appended to *timings.
func (l *LPA) es9(ctx context.Context, address, function string, req, resp any, timings *[]Timing) (err error) {
	if aerr := activation.CheckAddress(address); aerr != nil {
		return &TransportError{Function: function, Err: aerr}
	}
	body, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("lpa: ES9+ %s: encode request: %w", function, err)
	}
	u := url.URL{Scheme: "https", Host: address, Path: es9Path + function}
	ctx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return &TransportError{Function: function, Err: err}
	}
	hreq.Header.Set("User-Agent", UserAgent)
	hreq.Header.Set(web.AdminProtocolHeader, AdminProtocol)
	hreq.Header.Set("Content-Type", "application/json")

	start := l.now()
	defer func() {
		*timings = append(*timings, Timing{Function: function, Start: start, Duration: l.now().Sub(start), Failed: err != nil})
	}()
	l.log.DebugContext(ctx, "ES9+ request", "function", function, "url", u.String())
	hresp, err := l.client.Do(hreq)
	if err != nil {
		return &TransportError{Function: function, Err: err}
	}
	defer hresp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(hresp.Body, maxResponse+1))
	if err != nil {
		return &TransportError{Function: function, Err: fmt.Errorf("read response: %w", err)}
	}
	if len(data) > maxResponse {
		return &TransportError{Function: function, Err: fmt.Errorf("response longer than %d bytes", maxResponse)}
	}
	l.log.DebugContext(ctx, "ES9+ response", "function", function, "status", hresp.StatusCode, "proto", hresp.Proto, "bytes", len(data))
	switch {
	case hresp.StatusCode == http.StatusNoContent && resp == nil:
		return nil
	case hresp.StatusCode != http.StatusOK:
		return &TransportError{Function: function, StatusCode: hresp.StatusCode, Err: errors.New(statusSummary(hresp.StatusCode, data))}
	}
	// 200: a JSON object with at least the header.
	if ct := hresp.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			return &TransportError{Function: function, Err: fmt.Errorf("response Content-Type %q is not application/json", ct)}
		}
	}
	// A response type embedding web.Response is decoded once, header and body together (a BPP
	// is tens of kilobytes of JSON); only when that fails is the header decoded alone, to tell
	// a server's error from a malformed body.
	var h web.Response
	typed, isTyped := resp.(interface{ ResponseHeader() status.ResponseHeader })
	var bodyErr error
	if isTyped {
		if bodyErr = json.Unmarshal(data, resp); bodyErr == nil {
			h.Header = typed.ResponseHeader()
		}
	}
	if !isTyped || bodyErr != nil {
		if err := json.Unmarshal(data, &h); err != nil {
			return &TransportError{Function: function, Err: fmt.Errorf("response is not a JSON object: %w", err)}
		}
	}
	fes := h.Header.FunctionExecutionStatus
	switch fes.Status {
	case status.ExecutedSuccess, status.ExecutedWithWarning:
	case "":
		return &TransportError{Function: function, Err: errors.New("response has no header.functionExecutionStatus.status")}
	default:
		se := &ServerError{Function: function, Status: fes.Status}
		if sc := fes.StatusCodeData; sc != nil {
			se.SubjectCode, se.ReasonCode, se.SubjectIdentifier, se.Message = sc.SubjectCode, sc.ReasonCode, sc.SubjectIdentifier, sc.Message
		}
		return se
	}
	if resp == nil {
		return nil // handleNotification answered 200 with a success header: tolerated
	}
	if !isTyped {
		bodyErr = json.Unmarshal(data, resp)
	}
	if bodyErr != nil {
		return fmt.Errorf("lpa: ES9+ %s: %w: %v", function, ErrMalformedResponse, bodyErr)
	}
	return nil
}

// statusSummary describes an unexpected HTTP answer, with the start of its body.
func statusSummary(code int, body []byte) string {
	s := http.StatusText(code)
	if s == "" {
		s = "unexpected status"
	}
	if len(body) > 0 {
		b := bytes.TrimSpace(body[:min(len(body), 200)])
		s += fmt.Sprintf(" (body %q)", b)
	}
	return s
}

// ErrMalformedResponse is wrapped by errors about an ES9+ or ES10 response that lacks a
// mandatory field or does not decode.
var ErrMalformedResponse = errors.New("malformed response")
