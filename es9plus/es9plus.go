// Package es9plus is the HTTP front end of ES9+, the interface between the LPA and the SM-DP+
// (SGP.22 §5.6), in the JSON binding of §6.5.2: it decodes each function's JSON, calls the
// download service, and encodes the answer. Every function failure is answered with HTTP 200 and
// header.functionExecutionStatus (SGP.22 §6.5.1.4), since LPAs treat other statuses as
// transport errors and lose the reason.
package es9plus

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/smdpp/smdpp/download"
	"github.com/smdpp/smdpp/es9plus/wire"
	"github.com/smdpp/smdpp/status"
	"github.com/smdpp/smdpp/web"
)

// Service is what the ES9+ front end needs of the download service.
type Service interface {
	InitiateAuthentication(ctx context.Context, euiccChallenge, euiccInfo1 []byte, smdpAddress string) (*download.InitiateAuthenticationResult, error)
	AuthenticateClient(ctx context.Context, transactionID, authenticateServerResponse []byte) (*download.AuthenticateClientResult, error)
	GetBoundProfilePackage(ctx context.Context, transactionID, prepareDownloadResponse []byte) ([]byte, error)
	HandleNotification(ctx context.Context, pendingNotification []byte) error
	CancelSession(ctx context.Context, transactionID, cancelSessionResponse []byte) error
}

var _ Service = (*download.Service)(nil)

// Prefix is the path under which the ES9+ functions live (SGP.22 §6.5.2).
const Prefix = "/gsma/rsp2/es9plus"

// Routes mounts the five ES9+ functions on r under Prefix.
func Routes(r chi.Router, svc Service, maxBody int64, log *slog.Logger) {
	h := handlers{svc: svc}
	r.Route(Prefix, func(r chi.Router) {
		r.Method(http.MethodPost, "/initiateAuthentication", web.FunctionHandler(maxBody, log, h.initiateAuthentication))
		r.Method(http.MethodPost, "/authenticateClient", web.FunctionHandler(maxBody, log, h.authenticateClient))
		r.Method(http.MethodPost, "/getBoundProfilePackage", web.FunctionHandler(maxBody, log, h.getBoundProfilePackage))
		r.Method(http.MethodPost, "/handleNotification", web.FunctionHandler(maxBody, log, h.handleNotification))
		r.Method(http.MethodPost, "/cancelSession", web.FunctionHandler(maxBody, log, h.cancelSession))
	})
}

type handlers struct{ svc Service }

func (h handlers) initiateAuthentication(r *http.Request) (*wire.InitiateAuthenticationResponse, error) {
	web.AddLog(r.Context(), slog.String("function", "InitiateAuthentication"))
	var req wire.InitiateAuthenticationRequest
	if err := web.DecodeJSON(r, &req); err != nil {
		return nil, err
	}
	if len(req.EUICCChallenge) == 0 || len(req.EUICCInfo1) == 0 || req.SMDPAddress == "" {
		return nil, missing("euiccChallenge, euiccInfo1 and smdpAddress are mandatory")
	}
	res, err := h.svc.InitiateAuthentication(r.Context(), req.EUICCChallenge, req.EUICCInfo1, req.SMDPAddress)
	if err != nil {
		return nil, err
	}
	return &wire.InitiateAuthenticationResponse{
		TransactionID:       res.TransactionID,
		ServerSigned1:       res.ServerSigned1,
		ServerSignature1:    res.ServerSignature1,
		EUICCCiPKIdToBeUsed: res.EUICCCiPKIdToBeUsed,
		ServerCertificate:   res.ServerCertificate,
	}, nil
}

func (h handlers) authenticateClient(r *http.Request) (*wire.AuthenticateClientResponse, error) {
	web.AddLog(r.Context(), slog.String("function", "AuthenticateClient"))
	var req wire.AuthenticateClientRequest
	if err := web.DecodeJSON(r, &req); err != nil {
		return nil, err
	}
	if len(req.TransactionID) == 0 || len(req.AuthenticateServerResponse) == 0 {
		return nil, missing("transactionId and authenticateServerResponse are mandatory")
	}
	res, err := h.svc.AuthenticateClient(r.Context(), req.TransactionID, req.AuthenticateServerResponse)
	if err != nil {
		return nil, err
	}
	return &wire.AuthenticateClientResponse{
		TransactionID:   res.TransactionID,
		ProfileMetadata: res.ProfileMetadata,
		SMDPSigned2:     res.SMDPSigned2,
		SMDPSignature2:  res.SMDPSignature2,
		SMDPCertificate: res.SMDPCertificate,
	}, nil
}

func (h handlers) getBoundProfilePackage(r *http.Request) (*wire.GetBoundProfilePackageResponse, error) {
	web.AddLog(r.Context(), slog.String("function", "GetBoundProfilePackage"))
	var req wire.GetBoundProfilePackageRequest
	if err := web.DecodeJSON(r, &req); err != nil {
		return nil, err
	}
	if len(req.TransactionID) == 0 || len(req.PrepareDownloadResponse) == 0 {
		return nil, missing("transactionId and prepareDownloadResponse are mandatory")
	}
	bpp, err := h.svc.GetBoundProfilePackage(r.Context(), req.TransactionID, req.PrepareDownloadResponse)
	if err != nil {
		return nil, err
	}
	return &wire.GetBoundProfilePackageResponse{TransactionID: req.TransactionID, BoundProfilePackage: bpp}, nil
}

// noContent is the response type of functions answered with 204 No Content.
type noContent struct{ web.Response }

func (h handlers) handleNotification(r *http.Request) (*noContent, error) {
	web.AddLog(r.Context(), slog.String("function", "HandleNotification"))
	var req wire.HandleNotificationRequest
	if err := web.DecodeJSON(r, &req); err != nil {
		return nil, err
	}
	if len(req.PendingNotification) == 0 {
		return nil, missing("pendingNotification is mandatory")
	}
	return nil, h.svc.HandleNotification(r.Context(), req.PendingNotification)
}

func (h handlers) cancelSession(r *http.Request) (*wire.CancelSessionResponse, error) {
	web.AddLog(r.Context(), slog.String("function", "CancelSession"))
	var req wire.CancelSessionRequest
	if err := web.DecodeJSON(r, &req); err != nil {
		return nil, err
	}
	if len(req.TransactionID) == 0 || len(req.CancelSessionResponse) == 0 {
		return nil, missing("transactionId and cancelSessionResponse are mandatory")
	}
	if err := h.svc.CancelSession(r.Context(), req.TransactionID, req.CancelSessionResponse); err != nil {
		return nil, err
	}
	return &wire.CancelSessionResponse{}, nil
}

func missing(msg string) error {
	return status.New(status.SubjectRequest, status.ReasonMandatoryElementMissing, msg)
}
