// Package es2plus is the SM-DP+ side of ES2+, the interface between an operator's BSS and the
// SM-DP+ (SGP.22 §5.3): DownloadOrder, ConfirmOrder, CancelOrder and ReleaseProfile over the
// JSON binding of SGP.22 §6.5 at /gsma/rsp2/es2plus/<function>.
//
// Every request is authenticated first (an Authenticator: bearer JWTs against per-operator
// keys, pinned TLS client certificates, or both; the operators come from a Registry). A request
// without valid credentials gets HTTP 401, and one whose header.functionRequesterIdentifier is
// not the authenticated operator gets HTTP 403, both with an SGP.22 header as body. Everything
// after that is an SGP.22 function answer with HTTP 200, whose functionExecutionStatus carries
// the failure, if any.
//
// Calls are idempotent per operator and functionCallIdentifier: a repeated call is not executed
// again but answered with the first answer, byte for byte, also when the copies arrive at once
// (on any replica: the claim is a unique row in the store). An identifier reused for another
// function or with other parameters is refused, as is one whose first call is still running or
// failed inside the server (its outcome is then unknown).
//
// Status codes this package chooses (the service's own are documented in package orders):
//
//	1.1 / 1.1  HTTP 401: no or invalid credentials (function requester unknown)
//	1.1 / 1.2  HTTP 403 (or 200 if only the handler notices): functionRequesterIdentifier
//	           is not the authenticated operator (function requester not allowed)
//	1.1 / 2.2  functionRequesterIdentifier missing
//	1.2 / 2.2  header or functionCallIdentifier missing, or releaseFlag missing
//	1.2 / 2.1  functionCallIdentifier too long or holding control characters; malformed JSON
//	1.2 / 3.3  functionCallIdentifier reused for another function or other parameters, or
//	           belonging to a call still running or whose outcome is unknown
//	8.2 / 2.2  finalProfileStatusIndicator missing
//
// The operator's side of ES2+ (HandleDownloadProgressInfo, §5.3.5) is package progress.
package es2plus

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/smdpp/smdpp/orders"
	"github.com/smdpp/smdpp/status"
	"github.com/smdpp/smdpp/store"
	"github.com/smdpp/smdpp/web"
)

// PathPrefix is where the ES2+ functions live (SGP.22 §6.5).
const PathPrefix = "/gsma/rsp2/es2plus/"

// Option configures Routes.
type Option func(*handlers)

// WithReplayWait sets how long a repeated call waits for the answer of the first one while that
// is still running (default 5 s).
func WithReplayWait(d time.Duration) Option { return func(h *handlers) { h.calls.wait = d } }

type handlers struct {
	svc     *orders.Service
	auth    Authenticator
	calls   *calls
	maxBody int64
	log     *slog.Logger
}

// Routes mounts the four ES2+ functions on r, each behind auth. Request bodies are capped at
// maxBody bytes; db keeps the function call records (idempotency).
func Routes(r chi.Router, svc *orders.Service, auth Authenticator, db *store.DB, maxBody int64, log *slog.Logger, opts ...Option) {
	h := &handlers{svc: svc, auth: auth, calls: &calls{db: db, wait: 5 * time.Second, log: log}, maxBody: maxBody, log: log}
	for _, o := range opts {
		o(h)
	}
	r.Group(func(r chi.Router) {
		r.Use(h.guard)
		r.Handle(PathPrefix+"downloadOrder", function(h, "DownloadOrder", h.downloadOrder))
		r.Handle(PathPrefix+"confirmOrder", function(h, "ConfirmOrder", h.confirmOrder))
		r.Handle(PathPrefix+"cancelOrder", function(h, "CancelOrder", h.cancelOrder))
		r.Handle(PathPrefix+"releaseProfile", function(h, "ReleaseProfile", h.releaseProfile))
	})
}

// guard authenticates the request and, before any function runs, refuses a body whose
// functionRequesterIdentifier names another operator.
func (h *handlers) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(web.AdminProtocolHeader, web.AdminProtocol)
		ctx := r.Context()
		id, err := h.auth.Authenticate(r)
		if err != nil {
			msg := "invalid credentials"
			if errors.Is(err, ErrNoCredentials) {
				msg = "credentials required: a bearer token or a client certificate"
			}
			web.AddLog(ctx, slog.String("auth", err.Error()))
			w.Header().Set("WWW-Authenticate", `Bearer realm="es2plus"`)
			writeStatus(w, http.StatusUnauthorized, status.New(status.SubjectFunctionRequester, status.ReasonUnknownRequester, msg))
			return
		}
		web.AddLog(ctx, slog.String("operator", id))
		if r.Method == http.MethodPost {
			body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBody))
			if err != nil {
				var tooBig *http.MaxBytesError
				if errors.As(err, &tooBig) {
					web.AddLog(ctx, slog.String("error", err.Error()))
					http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
					return
				}
				http.Error(w, "reading the request body failed", http.StatusBadRequest)
				return
			}
			var peek struct {
				Header *RequestHeader `json:"header"`
			}
			if json.Unmarshal(body, &peek) == nil && peek.Header != nil &&
				peek.Header.FunctionRequesterIdentifier != "" && peek.Header.FunctionRequesterIdentifier != id {
				web.AddLog(ctx, slog.String("functionRequesterIdentifier", peek.Header.FunctionRequesterIdentifier))
				writeStatus(w, http.StatusForbidden, requesterMismatch())
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		next.ServeHTTP(w, r.WithContext(withOperator(ctx, id)))
	})
}

func requesterMismatch() *status.Error {
	return status.New(status.SubjectFunctionRequester, status.ReasonNotAllowed, "functionRequesterIdentifier is not the authenticated operator")
}

// writeStatus writes an SGP.22 header with the failure as the body of an HTTP error.
func writeStatus(w http.ResponseWriter, code int, err *status.Error) {
	h, _ := status.Header(err)
	body, _ := json.Marshal(web.Response{Header: h})
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(code)
	w.Write(body)
}

// function adapts one ES2+ function: decode, check the header, then act once per
// functionCallIdentifier and answer.
func function[Req any, PR interface {
	*Req
	request
}](h *handlers, name string, act func(ctx context.Context, operatorID string, req PR) (any, error)) http.Handler {
	return web.FunctionHandler(h.maxBody, h.log, func(r *http.Request) (*answer, error) {
		ctx := r.Context()
		web.AddLog(ctx, slog.String("function", name))
		req := PR(new(Req))
		if err := web.DecodeJSON(r, req); err != nil {
			return nil, err
		}
		operatorID := OperatorID(ctx)
		hdr, err := checkHeader(req.header(), operatorID)
		if err != nil {
			return nil, err
		}
		web.AddLog(ctx, slog.String("functionCallIdentifier", hdr.FunctionCallIdentifier))
		if err := req.validate(); err != nil {
			return nil, err
		}
		return h.calls.once(ctx, operatorID, hdr.FunctionCallIdentifier, name, req, func(ctx context.Context) (any, error) {
			return act(ctx, operatorID, req)
		})
	})
}

// checkHeader applies SGP.22 §6.5.1.3: both header fields are mandatory, and the requester must
// be the authenticated operator.
func checkHeader(h *RequestHeader, operatorID string) (*RequestHeader, error) {
	switch {
	case h == nil:
		return nil, status.New(status.SubjectRequest, status.ReasonMandatoryElementMissing, "header is mandatory")
	case h.FunctionRequesterIdentifier == "":
		return nil, status.New(status.SubjectFunctionRequester, status.ReasonMandatoryElementMissing, "header.functionRequesterIdentifier is mandatory")
	case h.FunctionRequesterIdentifier != operatorID || operatorID == "":
		return nil, requesterMismatch()
	case h.FunctionCallIdentifier == "":
		return nil, status.New(status.SubjectRequest, status.ReasonMandatoryElementMissing, "header.functionCallIdentifier is mandatory")
	}
	if err := checkIdentifier(h.FunctionCallIdentifier); err != nil {
		return nil, status.New(status.SubjectRequest, status.ReasonInvalid, "header.functionCallIdentifier: "+err.Error())
	}
	return h, nil
}

func (h *handlers) downloadOrder(ctx context.Context, operatorID string, req *DownloadOrderRequest) (any, error) {
	iccid, err := h.svc.DownloadOrder(ctx, operatorID, orders.DownloadOrderRequest{EID: req.EID, ICCID: req.ICCID, ProfileType: req.ProfileType})
	if err != nil {
		return nil, err
	}
	web.AddLog(ctx, slog.String("iccid", iccid))
	return &DownloadOrderResponse{Response: success(), ICCID: iccid}, nil
}

func (h *handlers) confirmOrder(ctx context.Context, operatorID string, req *ConfirmOrderRequest) (any, error) {
	web.AddLog(ctx, slog.String("iccid", req.ICCID))
	res, err := h.svc.ConfirmOrder(ctx, operatorID, orders.ConfirmOrderRequest{ICCID: req.ICCID, EID: req.EID,
		MatchingID: req.MatchingID, ConfirmationCode: req.ConfirmationCode, SMDSAddress: req.SMDSAddress, ReleaseFlag: *req.ReleaseFlag})
	if err != nil {
		return nil, err
	}
	return &ConfirmOrderResponse{Response: success(), EID: res.EID, MatchingID: res.MatchingID, SMDPAddress: res.SMDPAddress}, nil
}

func (h *handlers) cancelOrder(ctx context.Context, operatorID string, req *CancelOrderRequest) (any, error) {
	web.AddLog(ctx, slog.String("iccid", req.ICCID))
	err := h.svc.CancelOrder(ctx, operatorID, orders.CancelOrderRequest{ICCID: req.ICCID, EID: req.EID,
		MatchingID: req.MatchingID, FinalProfileStatusIndicator: req.FinalProfileStatusIndicator})
	if err != nil {
		return nil, err
	}
	r := success()
	return &r, nil
}

func (h *handlers) releaseProfile(ctx context.Context, operatorID string, req *ReleaseProfileRequest) (any, error) {
	web.AddLog(ctx, slog.String("iccid", req.ICCID))
	if err := h.svc.ReleaseProfile(ctx, operatorID, req.ICCID); err != nil {
		return nil, err
	}
	r := success()
	return &r, nil
}
