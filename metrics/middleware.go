package metrics

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/smdpp/smdpp/status"
)

// Path prefixes of the two SGP.22 interfaces (SGP.22 §6.5.2); a test checks them against
// es9plus.Prefix and es2plus.PathPrefix.
const (
	es9plusPrefix = "/gsma/rsp2/es9plus/"
	es2plusPrefix = "/gsma/rsp2/es2plus/"
)

// functions are the function label values per interface: the last path segment of each
// function the server mounts (a test walks the real routes). Anything else is Other.
var functions = map[string]map[string]bool{
	InterfaceES9Plus: set("initiateAuthentication", "authenticateClient", "getBoundProfilePackage",
		"handleNotification", "cancelSession"),
	InterfaceES2Plus: set("downloadOrder", "confirmOrder", "cancelOrder", "releaseProfile"),
}

// subjectCodes and reasonCodes are the codes package status defines (a test parses status.go
// to keep them in step); an answer carrying any other code is counted under Other.
var (
	subjectCodes = set(status.SubjectEUICC, status.SubjectEID, status.SubjectEUMCertificate,
		status.SubjectEUICCCertificate, status.SubjectProfile, status.SubjectICCID,
		status.SubjectProfileType, status.SubjectMatchingID, status.SubjectConfirmationCode,
		status.SubjectPPR, status.SubjectProfileMetadata, status.SubjectSMDP,
		status.SubjectSMDPAddress, status.SubjectSecurityConfig, status.SubjectSVN,
		status.SubjectSMDPCertificate, status.SubjectDownloadOrder, status.SubjectSMDSAddress,
		status.SubjectTransactionID, status.SubjectCIPublicKey, status.SubjectFunctionRequester,
		status.SubjectRequest, status.SubjectContentType, status.SubjectAdminProtocol,
		status.SubjectFunctionProvider)
	reasonCodes = set(status.ReasonUnknownRequester, status.ReasonNotAllowed, status.ReasonInvalid,
		status.ReasonMandatoryElementMissing, status.ReasonConditionalElementMiss,
		status.ReasonUnsupported, status.ReasonAlreadyInUse, status.ReasonUnavailable,
		status.ReasonRefused, status.ReasonUnknown, status.ReasonInvalidAssociation,
		status.ReasonStoppedOnWarning, status.ReasonInsufficientMemory, status.ReasonTTLExpired,
		status.ReasonExecutionError, status.ReasonVerificationFailed, status.ReasonExpired,
		status.ReasonMaxRetriesExceeded)
)

func set(vs ...string) map[string]bool {
	m := make(map[string]bool, len(vs))
	for _, v := range vs {
		m[v] = true
	}
	return m
}

// Classify returns the interface and function labels of a request path: the last segment
// under /gsma/rsp2/es9plus/ or /gsma/rsp2/es2plus/ when it names a known function, Other for
// any other segment under those prefixes, and InterfaceOther with function "" outside them.
func Classify(path string) (iface, function string) {
	var rest string
	switch {
	case strings.HasPrefix(path, es9plusPrefix):
		iface, rest = InterfaceES9Plus, path[len(es9plusPrefix):]
	case strings.HasPrefix(path, es2plusPrefix):
		iface, rest = InterfaceES2Plus, path[len(es2plusPrefix):]
	default:
		return InterfaceOther, ""
	}
	if functions[iface][rest] {
		return iface, rest
	}
	return iface, Other
}

// Middleware counts and times every request. For the SGP.22 functions it reads the outcome
// and the subjectCode/reasonCode from the response: a JSON body's
// header.functionExecutionStatus (SGP.22 §6.5.1.4), which web.FunctionHandler writes with
// HTTP 200 for function failures too. Executed-Success and Executed-WithWarning are
// successes; Failed and Expired, and any HTTP status outside 2xx (413, 405, 401, a recovered
// panic's 500 …), are failures. Only the first 4 KiB of a JSON body are kept for this, and
// the header is read from them without decoding the rest, so a large Bound Profile Package
// costs one small copy.
//
// Put it outside web.RequestLog (r.Use(m.Middleware) first) so it sees the 500 that
// RequestLog writes for a panic; inside it, a panic is counted as a 500 and passed on.
func (m *Metrics) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		iface, function := Classify(r.URL.Path)
		start := m.now()
		rec := &recorder{ResponseWriter: w}
		m.inFlight.Inc()
		defer func() {
			m.inFlight.Dec()
			p := recover()
			if p != nil && rec.code == 0 {
				rec.code = http.StatusInternalServerError
			}
			m.observe(iface, function, rec, m.now().Sub(start).Seconds())
			if p != nil {
				panic(p)
			}
		}()
		next.ServeHTTP(rec, r)
	})
}

// observe records one finished request.
func (m *Metrics) observe(iface, function string, rec *recorder, seconds float64) {
	code := rec.code
	if code == 0 {
		code = http.StatusOK // nothing written: net/http answers 200 with an empty body
	}
	m.http.WithLabelValues(iface, httpCode(code)).Inc()
	if function == "" {
		return
	}
	outcome, subject, reason := OutcomeSuccess, None, None
	if code < 200 || code > 299 {
		outcome = OutcomeFailed
	}
	if rec.capture {
		if h, ok := parseHeader(rec.body.Bytes()); ok {
			fes := h.FunctionExecutionStatus
			if fes.Status != status.ExecutedSuccess && fes.Status != status.ExecutedWithWarning {
				outcome = OutcomeFailed
			}
			if sc := fes.StatusCodeData; sc != nil {
				subject, reason = known(subjectCodes, sc.SubjectCode), known(reasonCodes, sc.ReasonCode)
			}
		}
	}
	m.requests.WithLabelValues(iface, function, outcome, subject, reason).Inc()
	m.duration.WithLabelValues(iface, function, outcome).Observe(seconds)
}

func known(codes map[string]bool, code string) string {
	if codes[code] {
		return code
	}
	return Other
}

// httpCode is the code label: the status code when it is a valid one, else Other.
func httpCode(code int) string {
	if code < 100 || code > 599 {
		return Other
	}
	return strconv.Itoa(code)
}

// parseHeader reads the top-level "header" member of a (possibly truncated) JSON object,
// skipping members before it, and stops there. ok is false when there is none within b.
func parseHeader(b []byte) (h status.ResponseHeader, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return h, false
	}
	for dec.More() {
		t, err := dec.Token()
		key, isKey := t.(string)
		if err != nil || !isKey {
			return h, false
		}
		if key != "header" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return h, false
			}
			continue
		}
		if err := dec.Decode(&h); err != nil {
			return h, false
		}
		return h, h.FunctionExecutionStatus.Status != ""
	}
	return h, false
}

// captureLimit is how much of a JSON body the middleware keeps: far more than any
// functionExecutionStatus, which web.FunctionHandler writes first.
const captureLimit = 4 << 10

// recorder notes the status code and keeps the start of a JSON body.
type recorder struct {
	http.ResponseWriter
	code    int
	capture bool
	body    bytes.Buffer
}

func (r *recorder) WriteHeader(code int) {
	if r.code == 0 && code >= 200 {
		r.code = code
		r.capture = isJSON(r.Header().Get("Content-Type"))
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.WriteHeader(http.StatusOK)
	}
	if r.capture && r.body.Len() < captureLimit {
		r.body.Write(b[:min(len(b), captureLimit-r.body.Len())])
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer (Flush, deadlines).
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// isJSON reports whether a Content-Type is application/json, with or without parameters.
func isJSON(ct string) bool {
	mt, _, _ := strings.Cut(ct, ";")
	return strings.EqualFold(strings.TrimSpace(mt), "application/json")
}
