// Package status is the SGP.22 error model: one error type carrying a subjectCode and reasonCode
// (SGP.22 §5.1 and the JSON binding of §6.5.1.4), and the one function that turns any error into
// the functionExecutionStatus a response carries. Errors that are not *Error become a generic
// execution failure whose detail stays in the log.
package status

import (
	"errors"
	"fmt"
)

// Subject codes (SGP.22 §5.1.x tables), named by what they identify.
const (
	SubjectEUICC            = "8.1"
	SubjectEID              = "8.1.1"
	SubjectEUMCertificate   = "8.1.2"
	SubjectEUICCCertificate = "8.1.3"
	SubjectProfile          = "8.2"
	SubjectICCID            = "8.2.1"
	SubjectProfileType      = "8.2.5"
	SubjectMatchingID       = "8.2.6"
	SubjectConfirmationCode = "8.2.7"
	SubjectPPR              = "8.2.8"
	SubjectProfileMetadata  = "8.2.9"
	SubjectSMDP             = "8.8"
	SubjectSMDPAddress      = "8.8.1"
	SubjectSecurityConfig   = "8.8.2"
	SubjectSVN              = "8.8.3"
	SubjectSMDPCertificate  = "8.8.4"
	SubjectDownloadOrder    = "8.8.5"
	SubjectSMDSAddress      = "8.9.1"
	SubjectTransactionID    = "8.10.1"
	SubjectCIPublicKey      = "8.11.1"
	// SubjectFunctionRequester identifies the caller of an ES2+ function (§6.5.1.3 header).
	SubjectFunctionRequester = "1.1"
	// SubjectRequest identifies the request message as a whole (transport-level checks).
	SubjectRequest = "1.2"
	// SubjectContentType and SubjectAdminProtocol are the HTTP headers of §6.3 / §6.5.
	SubjectContentType   = "1.2.1"
	SubjectAdminProtocol = "1.2.2"
	// SubjectFunctionProvider is the server itself, for failures that are not the caller's.
	SubjectFunctionProvider = "1.6"
)

// Reason codes (SGP.22 §5.1.x tables).
const (
	// ReasonUnknownRequester: access error, the caller is unknown (identification or authentication).
	ReasonUnknownRequester        = "1.1"
	ReasonNotAllowed              = "1.2"
	ReasonInvalid                 = "2.1"
	ReasonMandatoryElementMissing = "2.2"
	ReasonConditionalElementMiss  = "2.3"
	ReasonUnsupported             = "3.1"
	ReasonAlreadyInUse            = "3.3"
	ReasonUnavailable             = "3.7"
	ReasonRefused                 = "3.8"
	ReasonUnknown                 = "3.9"
	ReasonInvalidAssociation      = "3.10"
	ReasonStoppedOnWarning        = "4.3"
	ReasonInsufficientMemory      = "4.8"
	ReasonTTLExpired              = "4.10"
	ReasonExecutionError          = "4.2"
	ReasonVerificationFailed      = "6.1"
	ReasonExpired                 = "6.3"
	ReasonMaxRetriesExceeded      = "6.4"
)

// Values of functionExecutionStatus.status (SGP.22 §6.5.1.4).
const (
	ExecutedSuccess     = "Executed-Success"
	ExecutedWithWarning = "Executed-WithWarning"
	Failed              = "Failed"
	Expired             = "Expired"
)

// Error is a function failure with its SGP.22 status code. Message is safe to show to the caller;
// Err is the cause and is only logged.
type Error struct {
	Subject string
	Reason  string
	Message string
	// SubjectIdentifier optionally names the offending object (e.g. an ICCID).
	SubjectIdentifier string
	// Status is Failed unless set to Expired (a function not executed in time).
	Status string
	Err    error
}

// New returns an *Error with the given codes and message.
func New(subject, reason, message string) *Error {
	return &Error{Subject: subject, Reason: reason, Message: message}
}

// Wrap returns an *Error with the given codes and message that records cause for the log.
func Wrap(subject, reason, message string, cause error) *Error {
	return &Error{Subject: subject, Reason: reason, Message: message, Err: cause}
}

func (e *Error) Error() string {
	s := fmt.Sprintf("%s/%s %s", e.Subject, e.Reason, e.Message)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Is matches another *Error with the same subject and reason codes, so callers and tests can
// write errors.Is(err, status.New(SubjectTransactionID, ReasonUnknown, "")).
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Subject == e.Subject && t.Reason == e.Reason
}

// StatusCodeData is the JSON statusCodeData object (SGP.22 §6.5.1.4).
type StatusCodeData struct {
	SubjectCode       string `json:"subjectCode"`
	ReasonCode        string `json:"reasonCode"`
	SubjectIdentifier string `json:"subjectIdentifier,omitempty"`
	Message           string `json:"message,omitempty"`
}

// FunctionExecutionStatus is the JSON functionExecutionStatus object (SGP.22 §6.5.1.4).
type FunctionExecutionStatus struct {
	Status         string          `json:"status"`
	StatusCodeData *StatusCodeData `json:"statusCodeData,omitempty"`
}

// ResponseHeader is the JSON header of every ES2+ and ES9+ response (SGP.22 §6.5.1.4).
type ResponseHeader struct {
	FunctionExecutionStatus FunctionExecutionStatus `json:"functionExecutionStatus"`
}

// Success is the header of a successful response.
func Success() ResponseHeader {
	return ResponseHeader{FunctionExecutionStatus: FunctionExecutionStatus{Status: ExecutedSuccess}}
}

// Header turns any error into a response header. An error that carries no *Error is reported
// as an execution error of the server, without its detail, and internal is true so the caller
// logs it.
func Header(err error) (h ResponseHeader, internal bool) {
	var se *Error
	if !errors.As(err, &se) {
		se = &Error{Subject: SubjectFunctionProvider, Reason: ReasonExecutionError, Message: "internal error"}
		internal = true
	}
	st := se.Status
	if st == "" {
		st = Failed
	}
	return ResponseHeader{FunctionExecutionStatus: FunctionExecutionStatus{
		Status: st,
		StatusCodeData: &StatusCodeData{
			SubjectCode:       se.Subject,
			ReasonCode:        se.Reason,
			SubjectIdentifier: se.SubjectIdentifier,
			Message:           se.Message,
		},
	}}, internal
}
