package lpa

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smdpp/smdpp/apdu"
	"github.com/smdpp/smdpp/rsp"
	"github.com/smdpp/smdpp/status"
	"github.com/smdpp/smdpp/tlv"
)

func checkEvents(t *testing.T, ev *events, want []string) {
	t.Helper()
	if got := ev.list(); !slices.Equal(got, want) {
		t.Errorf("calls in order:\n got  %s\n want %s", strings.Join(got, ", "), strings.Join(want, ", "))
	}
}

func TestDownload(t *testing.T) {
	for _, tc := range []struct {
		name      string
		http2     bool
		wantProto string
	}{
		{name: "HTTP/2 offered", http2: true, wantProto: "HTTP/2.0"},
		{name: "HTTP/1.1 only", http2: false, wantProto: "HTTP/1.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, tc.http2)
			res, err := r.lpa.Download(context.Background(), r.code, DownloadOptions{})
			if err != nil {
				t.Fatalf("Download: %v", err)
			}
			checkEvents(t, r.ev, evComplete)
			if fmt.Sprintf("%X", res.TransactionID) != fmt.Sprintf("%X", testTxID) {
				t.Errorf("TransactionID %X", res.TransactionID)
			}
			if res.ICCID != "8901234567890123456" || res.ProfileName != "Test profile" || res.ServiceProviderName != "SP" {
				t.Errorf("metadata: ICCID %q name %q SP %q", res.ICCID, res.ProfileName, res.ServiceProviderName)
			}
			if !res.PIR || !res.Installed || res.SeqNumber != 7 || !bytes.Equal(res.AID, testAID) || res.BppCommandID != nil {
				t.Errorf("PIR outcome: %+v", res)
			}
			if !res.NotificationDelivered || !res.NotificationRemoved || res.Cancelled || res.CancelErr != nil {
				t.Errorf("notification/cancel: %+v", res)
			}
			if !slices.Equal(r.card.removed, []int64{7}) {
				t.Errorf("card removed notifications %v, want [7]", r.card.removed)
			}
			var fns []string
			for _, tm := range res.Timings {
				fns = append(fns, tm.Function)
				if tm.Duration <= 0 || tm.Failed || tm.Start.IsZero() {
					t.Errorf("timing %+v", tm)
				}
			}
			want := []string{FunctionInitiateAuthentication, FunctionAuthenticateClient, FunctionGetBoundProfilePackage, FunctionHandleNotification}
			if !slices.Equal(fns, want) {
				t.Errorf("timings for %v, want %v", fns, want)
			}
			if res.Duration(FunctionAuthenticateClient) <= 0 || res.Total < res.Duration(FunctionInitiateAuthentication) {
				t.Errorf("Duration/Total: %v %v", res.Duration(FunctionAuthenticateClient), res.Total)
			}

			// Headers and protocol of every request.
			for i, h := range r.smdp.headers {
				for k, v := range map[string]string{"User-Agent": "gsma-rsp-lpad", "X-Admin-Protocol": "gsma/rsp/v2.2.2", "Content-Type": "application/json"} {
					if got := h.Get(k); got != v {
						t.Errorf("request %d: %s %q, want %q", i, k, got, v)
					}
				}
				if r.smdp.protos[i] != tc.wantProto {
					t.Errorf("request %d: protocol %s, want %s", i, r.smdp.protos[i], tc.wantProto)
				}
			}

			// JSON encodings: std base64 with padding, upper-case hex, the address as given.
			ia := r.smdp.bodies[FunctionInitiateAuthentication]
			if ia["smdpAddress"] != r.smdp.addr {
				t.Errorf("smdpAddress %v, want %q", ia["smdpAddress"], r.smdp.addr)
			}
			if ia["euiccChallenge"] != base64.StdEncoding.EncodeToString(testChallenge) {
				t.Errorf("euiccChallenge %v, want std base64 of the challenge", ia["euiccChallenge"])
			}
			info1, _ := ia["euiccInfo1"].(string)
			if b, err := base64.StdEncoding.Strict().DecodeString(info1); err != nil || len(b) < 2 || b[0] != 0xBF || b[1] != 0x20 {
				t.Errorf("euiccInfo1 %q is not std base64 of BF20…", info1)
			}
			hexRE := regexp.MustCompile(`^[0-9A-F]{32}$`)
			for _, fn := range []string{FunctionAuthenticateClient, FunctionGetBoundProfilePackage} {
				body := r.smdp.bodies[fn]
				if s, _ := body["transactionId"].(string); !hexRE.MatchString(s) {
					t.Errorf("%s transactionId %v is not upper-case hex", fn, body["transactionId"])
				}
			}
			for fn, field := range map[string]string{
				FunctionAuthenticateClient:     "authenticateServerResponse",
				FunctionGetBoundProfilePackage: "prepareDownloadResponse",
				FunctionHandleNotification:     "pendingNotification",
			} {
				s, _ := r.smdp.bodies[fn][field].(string)
				if _, err := base64.StdEncoding.Strict().DecodeString(s); err != nil || s == "" || strings.ContainsAny(s, "-_") {
					t.Errorf("%s.%s %q is not standard base64: %v", fn, field, s, err)
				}
			}
		})
	}
}

// TestDownloadResponseDecoding: a response is decoded once with its header, yet a failure
// header still wins over a body that does not decode, and a success header over a malformed body
// is a malformed response.
func TestDownloadResponseDecoding(t *testing.T) {
	header := func(st string) map[string]any {
		fes := map[string]any{"status": st}
		if st == status.Failed {
			fes["statusCodeData"] = map[string]any{"subjectCode": "8.2.6", "reasonCode": "3.8"}
		}
		return map[string]any{"functionExecutionStatus": fes}
	}
	t.Run("failure header, body not decodable", func(t *testing.T) {
		r := newRig(t, true)
		r.smdp.fail[FunctionGetBoundProfilePackage] = failure{body: map[string]any{"header": header(status.Failed), "boundProfilePackage": 12}}
		_, err := r.lpa.Download(context.Background(), r.code, DownloadOptions{})
		var se *ServerError
		if !errors.As(err, &se) || se.SubjectCode != "8.2.6" || se.ReasonCode != "3.8" {
			t.Fatalf("error %v, want the server's 8.2.6/3.8", err)
		}
	})
	t.Run("success header, body not decodable", func(t *testing.T) {
		r := newRig(t, true)
		r.smdp.fail[FunctionGetBoundProfilePackage] = failure{body: map[string]any{"header": header(status.ExecutedSuccess),
			"transactionId": "00", "boundProfilePackage": "not base64!"}}
		_, err := r.lpa.Download(context.Background(), r.code, DownloadOptions{})
		if !errors.Is(err, ErrMalformedResponse) {
			t.Fatalf("error %v, want ErrMalformedResponse", err)
		}
	})
}

func TestDownloadServerFailure(t *testing.T) {
	fail := &status.StatusCodeData{SubjectCode: "8.2.6", ReasonCode: "3.8", SubjectIdentifier: "x", Message: "Refused"}
	tests := []struct {
		fn     string
		events []string
		cancel bool
	}{
		// No transactionId yet: nothing to cancel.
		{fn: FunctionInitiateAuthentication, events: evStart},
		{fn: FunctionAuthenticateClient, events: concat(evStart, evAuth, evCancel), cancel: true},
		{fn: FunctionGetBoundProfilePackage, events: concat(evStart, evAuth, evPrepare, evCancel), cancel: true},
	}
	for _, tc := range tests {
		t.Run(tc.fn, func(t *testing.T) {
			r := newRig(t, true)
			r.smdp.fail[tc.fn] = failure{header: fail}
			res, err := r.lpa.Download(context.Background(), r.code, DownloadOptions{})
			var se *ServerError
			if !errors.As(err, &se) {
				t.Fatalf("error %v (%T), want *ServerError", err, err)
			}
			want := ServerError{Function: tc.fn, Status: status.Failed, SubjectCode: "8.2.6", ReasonCode: "3.8", SubjectIdentifier: "x", Message: "Refused"}
			if *se != want {
				t.Errorf("ServerError %+v, want %+v", *se, want)
			}
			checkEvents(t, r.ev, tc.events)
			if res == nil || res.Cancelled != tc.cancel || res.CancelErr != nil {
				t.Errorf("Result %+v, want Cancelled %v", res, tc.cancel)
			}
			if tc.cancel && res.Timings[len(res.Timings)-1].Function != FunctionCancelSession {
				t.Errorf("last timing %+v, want cancelSession", res.Timings[len(res.Timings)-1])
			}
		})
	}
}

func TestDownloadTransportFailure(t *testing.T) {
	tests := []struct {
		name   string
		fn     string
		fail   failure
		status int
		events []string
	}{
		{name: "500 on authenticateClient", fn: FunctionAuthenticateClient, fail: failure{httpStatus: 500}, status: 500,
			events: concat(evStart, evAuth, evCancel)},
		{name: "400 on getBoundProfilePackage", fn: FunctionGetBoundProfilePackage, fail: failure{httpStatus: 400}, status: 400,
			events: concat(evStart, evAuth, evPrepare, evCancel)},
		{name: "redirect not followed", fn: FunctionAuthenticateClient, fail: failure{httpStatus: http.StatusFound}, status: 302,
			events: concat(evStart, evAuth, evCancel)},
		{name: "204 where outputs are due", fn: FunctionAuthenticateClient, fail: failure{httpStatus: http.StatusNoContent}, status: 204,
			events: concat(evStart, evAuth, evCancel)},
		{name: "503 on initiateAuthentication", fn: FunctionInitiateAuthentication, fail: failure{httpStatus: 503}, status: 503,
			events: evStart},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, true)
			r.smdp.fail[tc.fn] = tc.fail
			res, err := r.lpa.Download(context.Background(), r.code, DownloadOptions{})
			var te *TransportError
			if !errors.As(err, &te) || te.Function != tc.fn || te.StatusCode != tc.status {
				t.Fatalf("error %v (%T), want *TransportError for %s with status %d", err, err, tc.fn, tc.status)
			}
			checkEvents(t, r.ev, tc.events)
			if wantCancel := tc.fn != FunctionInitiateAuthentication; res.Cancelled != wantCancel {
				t.Errorf("Cancelled %v, want %v (CancelErr %v)", res.Cancelled, wantCancel, res.CancelErr)
			}
		})
	}
}

func TestDownloadCancelFailsToo(t *testing.T) {
	r := newRig(t, true)
	r.smdp.fail[FunctionAuthenticateClient] = failure{httpStatus: 500}
	r.smdp.fail[FunctionCancelSession] = failure{httpStatus: 500}
	res, err := r.lpa.Download(context.Background(), r.code, DownloadOptions{})
	var te *TransportError
	if !errors.As(err, &te) || te.Function != FunctionAuthenticateClient {
		t.Fatalf("error %v, want the original authenticateClient failure", err)
	}
	if res.Cancelled || !errors.As(res.CancelErr, &te) || te.Function != FunctionCancelSession {
		t.Errorf("Cancelled %v CancelErr %v, want the cancelSession failure", res.Cancelled, res.CancelErr)
	}
	checkEvents(t, r.ev, concat(evStart, evAuth, evCancel))
}

func TestDownloadCardFailure(t *testing.T) {
	tests := []struct {
		tag    tlv.Tag
		events []string
	}{
		{tag: 0xBF2E, events: []string{"ES10 BF2E"}},
		{tag: 0xBF38, events: concat(evStart, []string{"ES10 BF38"}, evCancel)},
		{tag: 0xBF21, events: concat(evStart, evAuth, []string{"ES10 BF21"}, evCancel)},
		{tag: 0xA3, events: concat(evStart, evAuth, evPrepare, evLoad[:6], evCancel)},
	}
	for _, tc := range tests {
		t.Run(tc.tag.String(), func(t *testing.T) {
			r := newRig(t, true)
			r.card.failAt[tc.tag] = apdu.SWError{SW: 0x6A80}
			res, err := r.lpa.Download(context.Background(), r.code, DownloadOptions{})
			var ce *CardError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v (%T), want *CardError", err, err)
			}
			if sw, ok := apdu.StatusWord(err); !ok || sw != 0x6A80 {
				t.Errorf("status word %04X %v, want 6A80", sw, ok)
			}
			checkEvents(t, r.ev, tc.events)
			if wantCancel := tc.tag != 0xBF2E; res.Cancelled != wantCancel {
				t.Errorf("Cancelled %v, want %v (CancelErr %v)", res.Cancelled, wantCancel, res.CancelErr)
			}
		})
	}
}

func TestDownloadInstallError(t *testing.T) {
	r := newRig(t, true)
	r.card.pirErrorAt = 3 // the first '88': storeMetadata
	res, err := r.lpa.Download(context.Background(), r.code, DownloadOptions{})
	var ie *InstallError
	if !errors.As(err, &ie) || ie.BppCommandID != rsp.BppCommandIdStoreMetadata || ie.ErrorReason != rsp.ErrorReasonInstallFailedDueToIccidAlreadyExistsOnEuicc {
		t.Fatalf("error %v, want *InstallError storeMetadata/iccidAlreadyExists", err)
	}
	// The result is delivered and removed; the session is not cancelled; no more segments.
	checkEvents(t, r.ev, concat(evStart, evAuth, evPrepare, evLoad[:4], evNotify))
	if !res.PIR || res.Installed || res.BppCommandID == nil || !res.NotificationDelivered || !res.NotificationRemoved || res.Cancelled {
		t.Errorf("Result %+v", res)
	}
}

func TestDownloadHandleNotification(t *testing.T) {
	t.Run("failed header", func(t *testing.T) {
		r := newRig(t, true)
		r.smdp.fail[FunctionHandleNotification] = failure{header: &status.StatusCodeData{SubjectCode: "8.1", ReasonCode: "6.1"}}
		res, err := r.lpa.Download(context.Background(), r.code, DownloadOptions{})
		var se *ServerError
		if !errors.As(err, &se) || se.Function != FunctionHandleNotification {
			t.Fatalf("error %v, want *ServerError from handleNotification", err)
		}
		// Installed, not removed from the card, not cancelled.
		checkEvents(t, r.ev, concat(evStart, evAuth, evPrepare, evLoad, []string{"ES9 handleNotification"}))
		if !res.Installed || res.NotificationDelivered || res.NotificationRemoved || res.Cancelled {
			t.Errorf("Result %+v", res)
		}
	})
	t.Run("HTTP 500", func(t *testing.T) {
		r := newRig(t, true)
		r.smdp.fail[FunctionHandleNotification] = failure{httpStatus: 500}
		res, err := r.lpa.Download(context.Background(), r.code, DownloadOptions{})
		var te *TransportError
		if !errors.As(err, &te) || te.StatusCode != 500 {
			t.Fatalf("error %v, want *TransportError 500", err)
		}
		if !res.Installed || res.NotificationDelivered || len(r.card.removed) != 0 {
			t.Errorf("Result %+v, removed %v", res, r.card.removed)
		}
	})
}

func TestDownloadConfirmationCode(t *testing.T) {
	t.Run("sent when required", func(t *testing.T) {
		r := newRig(t, true)
		r.smdp.cc, r.card.cc = true, "1234"
		if _, err := r.lpa.Download(context.Background(), r.code, DownloadOptions{ConfirmationCode: "1234"}); err != nil {
			t.Fatal(err)
		}
		checkEvents(t, r.ev, evComplete)
	})
	t.Run("not sent when not required", func(t *testing.T) {
		r := newRig(t, true)
		if _, err := r.lpa.Download(context.Background(), r.code, DownloadOptions{ConfirmationCode: "1234"}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("missing when the server requires it", func(t *testing.T) {
		r := newRig(t, true)
		r.smdp.cc = true
		res, err := r.lpa.Download(context.Background(), r.code, DownloadOptions{})
		if !errors.Is(err, ErrConfirmationCodeRequired) {
			t.Fatalf("error %v, want ErrConfirmationCodeRequired", err)
		}
		checkEvents(t, r.ev, concat(evStart, evAuth, evCancel))
		if !res.Cancelled {
			t.Errorf("not cancelled: %v", res.CancelErr)
		}
	})
	t.Run("missing when the code requires it", func(t *testing.T) {
		r := newRig(t, true)
		code := r.code
		code.ConfirmationCodeRequired = true
		if _, err := r.lpa.Download(context.Background(), code, DownloadOptions{}); !errors.Is(err, ErrConfirmationCodeRequired) {
			t.Fatalf("error %v, want ErrConfirmationCodeRequired", err)
		}
		checkEvents(t, r.ev, nil)
	})
}

func TestDownloadIMEI(t *testing.T) {
	r := newRig(t, true)
	r.card.imei = []byte{0x53, 0x09, 0x16, 0x32, 0x54, 0x76, 0x98, 0xF0} // 359061234567890
	r.card.tac = []byte{0x35, 0x90, 0x61, 0x23}
	if _, err := r.lpa.Download(context.Background(), r.code, DownloadOptions{IMEI: "359061234567890"}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.lpa.Download(context.Background(), r.code, DownloadOptions{IMEI: "35906123456789X"}); err == nil {
		t.Error("IMEI with a letter accepted")
	}

	// A TAC set with WithTAC is kept when an IMEI is given.
	r = newRig(t, true, WithTAC("12345678"))
	r.card.imei = []byte{0x53, 0x09, 0x16, 0x32, 0x54, 0x76, 0x98, 0xF0}
	r.card.tac = []byte{0x12, 0x34, 0x56, 0x78}
	if _, err := r.lpa.Download(context.Background(), r.code, DownloadOptions{IMEI: "359061234567890"}); err != nil {
		t.Fatal(err)
	}
}

func TestDownloadTimeout(t *testing.T) {
	t.Run("caller's context", func(t *testing.T) {
		r := newRig(t, true)
		r.smdp.fail[FunctionAuthenticateClient] = failure{hang: true}
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		res, err := r.lpa.Download(ctx, r.code, DownloadOptions{})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("error %v, want context.DeadlineExceeded", err)
		}
		var te *TransportError
		if !errors.As(err, &te) || te.Function != FunctionAuthenticateClient {
			t.Errorf("error %v, want a *TransportError of authenticateClient", err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("Download took %v after a 300 ms deadline", d)
		}
		// The cleanup still ran, outside the expired context.
		checkEvents(t, r.ev, concat(evStart, evAuth, evCancel))
		if !res.Cancelled {
			t.Errorf("not cancelled: %v", res.CancelErr)
		}
	})
	t.Run("per-call timeout", func(t *testing.T) {
		r := newRig(t, true, WithTimeout(200*time.Millisecond))
		r.smdp.fail[FunctionGetBoundProfilePackage] = failure{hang: true}
		res, err := r.lpa.Download(context.Background(), r.code, DownloadOptions{})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("error %v, want context.DeadlineExceeded", err)
		}
		if !res.Cancelled || !res.Timings[2].Failed {
			t.Errorf("Result %+v", res)
		}
	})
}

func TestDownloadBadCode(t *testing.T) {
	r := newRig(t, true)
	code := r.code
	code.MatchingID = "A_B"
	if _, err := r.lpa.Download(context.Background(), code, DownloadOptions{}); err == nil {
		t.Fatal("invalid matching ID accepted")
	}
	checkEvents(t, r.ev, nil)
}

func TestHashConfirmationCode(t *testing.T) {
	// SHA-256("1234") = 03ac6742…; the second hash appends the transactionId.
	got := HashConfirmationCode("1234", []byte{0x01, 0x02})
	if len(got) != 32 {
		t.Fatalf("%d bytes", len(got))
	}
	if fmt.Sprintf("%X", got) == fmt.Sprintf("%X", HashConfirmationCode("1234", []byte{0x01, 0x03})) {
		t.Error("transactionId not hashed in")
	}
}

func TestEncodings(t *testing.T) {
	tests := []struct {
		name string
		fn   func() ([]byte, error)
		want string
		bad  bool
	}{
		{name: "TAC", fn: func() ([]byte, error) { return bcdTAC("35290611") }, want: "35290611"},
		{name: "TAC short", fn: func() ([]byte, error) { return bcdTAC("3529061") }, bad: true},
		{name: "TAC letter", fn: func() ([]byte, error) { return bcdTAC("3529061A") }, bad: true},
		{name: "IMEI", fn: func() ([]byte, error) { return bcdIMEI("359061234567890") }, want: "53091632547698F0"},
		{name: "IMEISV", fn: func() ([]byte, error) { return bcdIMEI("3590612345678901") }, want: "5309163254769810"},
		{name: "IMEI short", fn: func() ([]byte, error) { return bcdIMEI("35906123456789") }, bad: true},
		{name: "IMEI empty", fn: func() ([]byte, error) { return bcdIMEI("") }, bad: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.fn()
			if tc.bad {
				if err == nil {
					t.Fatalf("got %X, want an error", b)
				}
				return
			}
			if err != nil || fmt.Sprintf("%X", b) != tc.want {
				t.Fatalf("got %X %v, want %s", b, err, tc.want)
			}
		})
	}
	for in, want := range map[string]string{
		"98103254769810325476": "89012345678901234567",
		"981032547698103254F6": "8901234567890123456",
		"":                     "",
	} {
		b, _ := hex.DecodeString(in)
		if got := iccidString(b); got != want {
			t.Errorf("iccidString(%s) = %q, want %q", in, got, want)
		}
	}
}

func TestNew(t *testing.T) {
	es10 := cardFunc(func(context.Context, []byte) ([]byte, error) { return nil, nil })
	if _, err := New(nil); err == nil {
		t.Error("nil card accepted")
	}
	if _, err := New(es10, WithTimeout(0)); err == nil {
		t.Error("zero timeout accepted")
	}
	if _, err := New(es10, WithTAC("123")); err == nil {
		t.Error("short TAC accepted")
	}
	if _, err := New(es10, WithTAC("12345678")); err != nil {
		t.Error(err)
	}
}

// cardFunc adapts a function to Card.
type cardFunc func(ctx context.Context, req []byte) ([]byte, error)

func (f cardFunc) Call(ctx context.Context, req []byte) ([]byte, error) { return f(ctx, req) }
