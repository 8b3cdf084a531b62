package console

import (
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/smdpp/smdpp/status"
)

// errView is an error as a page shows it: the message in plain words and, for an SGP.22 status
// error, its code and what the code means.
type errView struct {
	Message string
	// Code is "subjectCode / reasonCode", empty for errors without one.
	Code string
	// Meaning names the subject and the reason of Code in words, e.g. "EID: invalid".
	Meaning string
}

// viewError turns err into what a page shows; nil for nil. Only a *status.Error (whose Message
// is meant for the caller) or a pageError shows its own words.
func viewError(err error) *errView {
	if err == nil {
		return nil
	}
	var se *status.Error
	if errors.As(err, &se) {
		v := &errView{Message: sentence(se.Message), Code: se.Subject + " / " + se.Reason}
		subject, reason := subjectNames[se.Subject], reasonNames[se.Reason]
		switch {
		case subject != "" && reason != "":
			v.Meaning = subject + ": " + reason
		case subject != "":
			v.Meaning = subject
		case reason != "":
			v.Meaning = reason
		}
		if v.Message == "" {
			v.Message = sentence(v.Meaning)
		}
		return v
	}
	var pe *pageError
	if errors.As(err, &pe) {
		return &errView{Message: pe.message}
	}
	return &errView{Message: "The console could not do this. The error has been logged."}
}

// sentence starts s with a capital letter and ends it with a full stop.
func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	r, n := utf8.DecodeRuneInString(s)
	s = string(unicode.ToUpper(r)) + s[n:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

// subjectNames are the SGP.22 subject codes (§5.1.x tables) in words.
var subjectNames = map[string]string{
	status.SubjectEUICC:             "eUICC",
	status.SubjectEID:               "EID",
	status.SubjectEUMCertificate:    "EUM certificate",
	status.SubjectEUICCCertificate:  "eUICC certificate",
	status.SubjectProfile:           "profile",
	status.SubjectICCID:             "ICCID",
	status.SubjectProfileType:       "profile type",
	status.SubjectMatchingID:        "matching ID",
	status.SubjectConfirmationCode:  "confirmation code",
	status.SubjectPPR:               "profile policy rules",
	status.SubjectProfileMetadata:   "profile metadata",
	status.SubjectSMDP:              "SM-DP+",
	status.SubjectSMDPAddress:       "SM-DP+ address",
	status.SubjectSecurityConfig:    "security configuration",
	status.SubjectSVN:               "SGP.22 version",
	status.SubjectSMDPCertificate:   "SM-DP+ certificate",
	status.SubjectDownloadOrder:     "download order",
	status.SubjectSMDSAddress:       "SM-DS address",
	status.SubjectTransactionID:     "transaction ID",
	status.SubjectCIPublicKey:       "CI public key",
	status.SubjectFunctionRequester: "function requester",
	status.SubjectRequest:           "request",
	status.SubjectContentType:       "content type",
	status.SubjectAdminProtocol:     "admin protocol",
	status.SubjectFunctionProvider:  "SM-DP+ (internal)",
}

// reasonNames are the SGP.22 reason codes (§5.1.x tables) in words.
var reasonNames = map[string]string{
	status.ReasonUnknownRequester:        "unknown requester",
	status.ReasonNotAllowed:              "not allowed",
	status.ReasonInvalid:                 "invalid",
	status.ReasonMandatoryElementMissing: "missing",
	status.ReasonConditionalElementMiss:  "conditional element missing",
	status.ReasonUnsupported:             "not supported",
	status.ReasonAlreadyInUse:            "already in use",
	status.ReasonUnavailable:             "not available",
	status.ReasonRefused:                 "refused",
	status.ReasonUnknown:                 "unknown",
	status.ReasonInvalidAssociation:      "does not match",
	status.ReasonStoppedOnWarning:        "stopped on warning",
	status.ReasonInsufficientMemory:      "insufficient memory",
	status.ReasonTTLExpired:              "time to live expired",
	status.ReasonExecutionError:          "execution error",
	status.ReasonVerificationFailed:      "verification failed",
	status.ReasonExpired:                 "expired",
	status.ReasonMaxRetriesExceeded:      "too many attempts",
}
