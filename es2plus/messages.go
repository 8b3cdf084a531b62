package es2plus

import (
	"github.com/smdpp/smdpp/status"
	"github.com/smdpp/smdpp/web"
)

// The JSON bodies of the ES2+ functions (SGP.22 §5.3 and its JSON binding, §6.5.2). Optional
// fields are omitted when empty; mandatory fields the operator leaves out are reported with an
// SGP.22 status (mandatory element missing) by the service or by validate.

// RequestHeader is the header of every ES2+ request (SGP.22 §6.5.1.3). Both fields are
// mandatory.
type RequestHeader struct {
	// FunctionRequesterIdentifier is the operator's ID; it must be the authenticated operator.
	FunctionRequesterIdentifier string `json:"functionRequesterIdentifier"`
	// FunctionCallIdentifier names this call; a retry with the same value gets the first
	// answer again instead of acting twice.
	FunctionCallIdentifier string `json:"functionCallIdentifier"`
}

// DownloadOrderRequest is the body of ES2+.DownloadOrder (SGP.22 §5.3.1).
type DownloadOrderRequest struct {
	Header      *RequestHeader `json:"header"`
	EID         string         `json:"eid,omitempty"`
	ICCID       string         `json:"iccid,omitempty"`
	ProfileType string         `json:"profileType,omitempty"`
}

// DownloadOrderResponse is the answer to DownloadOrder: the ICCID reserved.
type DownloadOrderResponse struct {
	web.Response
	ICCID string `json:"iccid"`
}

// ConfirmOrderRequest is the body of ES2+.ConfirmOrder (SGP.22 §5.3.2). ReleaseFlag is
// mandatory, hence a pointer.
type ConfirmOrderRequest struct {
	Header           *RequestHeader `json:"header"`
	ICCID            string         `json:"iccid"`
	EID              string         `json:"eid,omitempty"`
	MatchingID       string         `json:"matchingId,omitempty"`
	ConfirmationCode string         `json:"confirmationCode,omitempty"`
	SMDSAddress      string         `json:"smdsAddress,omitempty"`
	ReleaseFlag      *bool          `json:"releaseFlag"`
}

// ConfirmOrderResponse is the answer to ConfirmOrder.
type ConfirmOrderResponse struct {
	web.Response
	EID         string `json:"eid,omitempty"`
	MatchingID  string `json:"matchingId"`
	SMDPAddress string `json:"smdpAddress,omitempty"`
}

// CancelOrderRequest is the body of ES2+.CancelOrder (SGP.22 §5.3.3). The answer is a bare
// header.
type CancelOrderRequest struct {
	Header     *RequestHeader `json:"header"`
	ICCID      string         `json:"iccid"`
	EID        string         `json:"eid,omitempty"`
	MatchingID string         `json:"matchingId,omitempty"`
	// FinalProfileStatusIndicator is "Available" or "Unavailable".
	FinalProfileStatusIndicator string `json:"finalProfileStatusIndicator"`
}

// ReleaseProfileRequest is the body of ES2+.ReleaseProfile (SGP.22 §5.3.4). The answer is a
// bare header.
type ReleaseProfileRequest struct {
	Header *RequestHeader `json:"header"`
	ICCID  string         `json:"iccid"`
}

// request is what every ES2+ request body offers the shared handler.
type request interface {
	header() *RequestHeader
	// validate checks what the service does not: mandatory fields of this binding.
	validate() error
}

func (r *DownloadOrderRequest) header() *RequestHeader  { return r.Header }
func (r *ConfirmOrderRequest) header() *RequestHeader   { return r.Header }
func (r *CancelOrderRequest) header() *RequestHeader    { return r.Header }
func (r *ReleaseProfileRequest) header() *RequestHeader { return r.Header }

func (r *DownloadOrderRequest) validate() error { return nil }

func (r *ConfirmOrderRequest) validate() error {
	if r.ReleaseFlag == nil {
		return status.New(status.SubjectRequest, status.ReasonMandatoryElementMissing, "releaseFlag is mandatory")
	}
	return nil
}

func (r *CancelOrderRequest) validate() error {
	if r.FinalProfileStatusIndicator == "" {
		return status.New(status.SubjectProfile, status.ReasonMandatoryElementMissing, "finalProfileStatusIndicator is mandatory")
	}
	return nil
}

func (r *ReleaseProfileRequest) validate() error { return nil }

var (
	_ request = (*DownloadOrderRequest)(nil)
	_ request = (*ConfirmOrderRequest)(nil)
	_ request = (*CancelOrderRequest)(nil)
	_ request = (*ReleaseProfileRequest)(nil)
)

// success is the header of a successful answer.
func success() web.Response { return web.Response{Header: status.Success()} }
