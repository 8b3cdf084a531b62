package es2plus

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/smdpp/smdpp/internal/testenv"
	"github.com/smdpp/smdpp/status"
	"github.com/smdpp/smdpp/store"
)

func TestOrderFlow(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, b testenv.Database) {
		e := newEnv(t, b)

		// DownloadOrder by ICCID, then ConfirmOrder with releaseFlag: Released at once.
		var do DownloadOrderResponse
		e.as(t, e.a, "downloadOrder", DownloadOrderRequest{Header: e.hdr(opA), ICCID: iccidA(1)}).wantSuccess(t, &do)
		if do.ICCID != iccidA(1) {
			t.Fatalf("DownloadOrder iccid = %q", do.ICCID)
		}
		if p := e.profile(t, iccidA(1)); p.State != store.StateAllocated {
			t.Fatalf("after DownloadOrder: %s", p.State)
		}
		var co ConfirmOrderResponse
		e.as(t, e.a, "confirmOrder", ConfirmOrderRequest{Header: e.hdr(opA), ICCID: iccidA(1),
			ConfirmationCode: "1234", ReleaseFlag: ptr(true)}).wantSuccess(t, &co)
		if co.MatchingID == "" || co.SMDPAddress != address || co.EID != "" {
			t.Fatalf("ConfirmOrder answer %+v", co)
		}
		p := e.profile(t, iccidA(1))
		if p.State != store.StateReleased || p.MatchingID != co.MatchingID || p.ConfirmationCodeHash == nil {
			t.Fatalf("after ConfirmOrder: %+v", p)
		}

		// DownloadOrder by profile type with an EID, ConfirmOrder with our own matchingId and no
		// release, then ReleaseProfile.
		var do2 DownloadOrderResponse
		e.as(t, e.a, "downloadOrder", DownloadOrderRequest{Header: e.hdr(opA), EID: testEID, ProfileType: typeA}).wantSuccess(t, &do2)
		if p := e.profile(t, do2.ICCID); p.State != store.StateLinked || p.EID != testEID || p.OperatorID != opA {
			t.Fatalf("after DownloadOrder by type: %+v", p)
		}
		var co2 ConfirmOrderResponse
		e.as(t, e.a, "confirmOrder", ConfirmOrderRequest{Header: e.hdr(opA), ICCID: do2.ICCID, MatchingID: "MY-CODE-1",
			ReleaseFlag: ptr(false)}).wantSuccess(t, &co2)
		if co2.MatchingID != "MY-CODE-1" || co2.EID != testEID || co2.SMDPAddress != address {
			t.Fatalf("ConfirmOrder answer %+v", co2)
		}
		if p := e.profile(t, do2.ICCID); p.State != store.StateConfirmed {
			t.Fatalf("after ConfirmOrder without release: %s", p.State)
		}
		e.as(t, e.a, "releaseProfile", ReleaseProfileRequest{Header: e.hdr(opA), ICCID: do2.ICCID}).wantSuccess(t, nil)
		if p := e.profile(t, do2.ICCID); p.State != store.StateReleased {
			t.Fatalf("after ReleaseProfile: %s", p.State)
		}

		// CancelOrder back to the pool.
		e.as(t, e.a, "downloadOrder", DownloadOrderRequest{Header: e.hdr(opA), ICCID: iccidA(9)}).wantSuccess(t, nil)
		r := e.as(t, e.a, "cancelOrder", CancelOrderRequest{Header: e.hdr(opA), ICCID: iccidA(9), FinalProfileStatusIndicator: "Available"})
		r.wantSuccess(t, nil)
		if string(r.body) != `{"header":{"functionExecutionStatus":{"status":"Executed-Success"}}}` {
			t.Errorf("CancelOrder answer %s", r.body)
		}
		if r.header.Get("X-Admin-Protocol") == "" || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
			t.Errorf("answer headers %v", r.header)
		}
		if p := e.profile(t, iccidA(9)); p.State != store.StateAvailable {
			t.Fatalf("after CancelOrder: %s", p.State)
		}
	})
}

func TestFunctionFailures(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, b testenv.Database) {
		e := newEnv(t, b)
		// Orders in a known state for the cases below.
		e.as(t, e.a, "downloadOrder", DownloadOrderRequest{Header: e.hdr(opA), ICCID: iccidA(2)}).wantSuccess(t, nil)
		h := func() string {
			return fmt.Sprintf(`"header":{"functionRequesterIdentifier":%q,"functionCallIdentifier":%q}`, opA, e.nextFCI())
		}
		tests := []struct {
			name, function, body string
			subject, reason      string
		}{
			{"unknown iccid", "downloadOrder", `{` + h() + `,"iccid":"8988100999999999999"}`, status.SubjectICCID, status.ReasonUnknown},
			{"unknown profileType", "downloadOrder", `{` + h() + `,"profileType":"no-such-type"}`, status.SubjectProfileType, status.ReasonUnavailable},
			{"neither iccid nor profileType", "downloadOrder", `{` + h() + `}`, status.SubjectProfileType, status.ReasonMandatoryElementMissing},
			{"duplicate DownloadOrder", "downloadOrder", `{` + h() + `,"iccid":"` + iccidA(2) + `"}`, status.SubjectICCID, status.ReasonAlreadyInUse},
			{"another operator's iccid", "downloadOrder", `{` + h() + `,"iccid":"` + iccidB(1) + `"}`, status.SubjectICCID, status.ReasonUnknown},
			{"another operator's profile type", "downloadOrder", `{` + h() + `,"profileType":"typeB"}`, status.SubjectProfileType, status.ReasonUnavailable},
			{"invalid eid", "downloadOrder", `{` + h() + `,"iccid":"` + iccidA(3) + `","eid":"1234"}`, status.SubjectEID, status.ReasonInvalid},
			{"release in wrong state", "releaseProfile", `{` + h() + `,"iccid":"` + iccidA(2) + `"}`, status.SubjectICCID, status.ReasonNotAllowed},
			{"confirm without order", "confirmOrder", `{` + h() + `,"iccid":"` + iccidA(4) + `","releaseFlag":true}`, status.SubjectICCID, status.ReasonNotAllowed},
			{"confirm another operator's order", "confirmOrder", `{` + h() + `,"iccid":"` + iccidB(2) + `","releaseFlag":true}`, status.SubjectICCID, status.ReasonUnknown},
			{"cancel without order", "cancelOrder", `{` + h() + `,"iccid":"` + iccidA(5) + `","finalProfileStatusIndicator":"Available"}`, status.SubjectICCID, status.ReasonNotAllowed},
			{"bad matchingId", "confirmOrder", `{` + h() + `,"iccid":"` + iccidA(2) + `","matchingId":"a_b","releaseFlag":true}`, status.SubjectMatchingID, status.ReasonInvalid},
			{"bad finalProfileStatusIndicator", "cancelOrder", `{` + h() + `,"iccid":"` + iccidA(2) + `","finalProfileStatusIndicator":"Gone"}`, status.SubjectProfile, status.ReasonInvalid},
			{"missing finalProfileStatusIndicator", "cancelOrder", `{` + h() + `,"iccid":"` + iccidA(2) + `"}`, status.SubjectProfile, status.ReasonMandatoryElementMissing},
			{"missing releaseFlag", "confirmOrder", `{` + h() + `,"iccid":"` + iccidA(2) + `"}`, status.SubjectRequest, status.ReasonMandatoryElementMissing},
			{"missing iccid", "releaseProfile", `{` + h() + `}`, status.SubjectICCID, status.ReasonMandatoryElementMissing},
			{"missing header", "releaseProfile", `{"iccid":"` + iccidA(2) + `"}`, status.SubjectRequest, status.ReasonMandatoryElementMissing},
			{"null header", "releaseProfile", `{"header":null,"iccid":"` + iccidA(2) + `"}`, status.SubjectRequest, status.ReasonMandatoryElementMissing},
			{"missing functionRequesterIdentifier", "releaseProfile", `{"header":{"functionCallIdentifier":"x1"},"iccid":"` + iccidA(2) + `"}`, status.SubjectFunctionRequester, status.ReasonMandatoryElementMissing},
			{"missing functionCallIdentifier", "releaseProfile", `{"header":{"functionRequesterIdentifier":"mno-a"},"iccid":"` + iccidA(2) + `"}`, status.SubjectRequest, status.ReasonMandatoryElementMissing},
			{"control character in functionCallIdentifier", "releaseProfile", `{"header":{"functionRequesterIdentifier":"mno-a","functionCallIdentifier":"a\u001fclaim"},"iccid":"` + iccidA(2) + `"}`, status.SubjectRequest, status.ReasonInvalid},
			{"overlong functionCallIdentifier", "releaseProfile", `{"header":{"functionRequesterIdentifier":"mno-a","functionCallIdentifier":"` + strings.Repeat("x", 257) + `"},"iccid":"` + iccidA(2) + `"}`, status.SubjectRequest, status.ReasonInvalid},
			{"header of wrong type", "releaseProfile", `{"header":"mno-a","iccid":"` + iccidA(2) + `"}`, status.SubjectRequest, status.ReasonInvalid},
			{"releaseFlag of wrong type", "confirmOrder", `{` + h() + `,"iccid":"` + iccidA(2) + `","releaseFlag":"yes"}`, status.SubjectRequest, status.ReasonInvalid},
			{"malformed JSON", "downloadOrder", `{"header":`, status.SubjectRequest, status.ReasonInvalid},
			{"JSON array", "downloadOrder", `[]`, status.SubjectRequest, status.ReasonInvalid},
			{"trailing data", "downloadOrder", `{` + h() + `,"iccid":"` + iccidA(3) + `"} {}`, status.SubjectRequest, status.ReasonInvalid},
			{"empty body", "downloadOrder", ``, status.SubjectRequest, status.ReasonInvalid},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				e.as(t, e.a, tt.function, tt.body).wantFailure(t, tt.subject, tt.reason)
			})
		}
		// Nothing above changed the orders they named.
		for i, want := range map[int]store.State{2: store.StateAllocated, 3: store.StateAvailable, 4: store.StateAvailable, 5: store.StateAvailable} {
			if p := e.profile(t, iccidA(i)); p.State != want {
				t.Errorf("%s is %s, want %s", iccidA(i), p.State, want)
			}
		}
		if p := e.profile(t, iccidB(1)); p.State != store.StateAvailable {
			t.Errorf("operator B's profile is %s", p.State)
		}
	})
}

func TestTransport(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, b testenv.Database) {
		e := newEnv(t, b)
		t.Run("oversized body", func(t *testing.T) {
			big := `{"header":{"functionRequesterIdentifier":"mno-a","functionCallIdentifier":"big"},"iccid":"` + strings.Repeat("1", 5000) + `"}`
			r := e.as(t, e.a, "downloadOrder", big)
			if r.code != http.StatusRequestEntityTooLarge {
				t.Fatalf("HTTP %d %s, want 413", r.code, r.body)
			}
		})
		t.Run("wrong content type", func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, e.srv.URL+PathPrefix+"downloadOrder", strings.NewReader(`{}`))
			req.Header.Set("Content-Type", "text/plain")
			req.Header.Set("Authorization", "Bearer "+e.token(t, e.a))
			resp, err := e.client(nil).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var buf bytes.Buffer
			buf.ReadFrom(resp.Body)
			reply{code: resp.StatusCode, body: buf.Bytes()}.wantFailure(t, status.SubjectContentType, status.ReasonInvalid)
		})
		t.Run("GET refused", func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, e.srv.URL+PathPrefix+"downloadOrder", nil)
			req.Header.Set("Authorization", "Bearer "+e.token(t, e.a))
			resp, err := e.client(nil).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusMethodNotAllowed {
				t.Fatalf("HTTP %d, want 405", resp.StatusCode)
			}
		})
		t.Run("unknown function", func(t *testing.T) {
			r := e.as(t, e.a, "handleDownloadProgressInfo", `{}`)
			if r.code != http.StatusNotFound {
				t.Fatalf("HTTP %d, want 404", r.code)
			}
		})
	})
}

func TestAuthentication(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, b testenv.Database) {
		e := newEnv(t, b)
		now := time.Now()
		noneToken := func() string {
			tok, _ := jwt.NewBuilder().Issuer(opA).Audience([]string{address}).Expiration(now.Add(time.Minute)).Build()
			signed, err := jwt.Sign(tok, jwt.WithInsecureNoSignature())
			if err != nil {
				t.Fatal(err)
			}
			return string(signed)
		}
		hmacToken := func() string {
			// Algorithm confusion: HS256 keyed with A's public key as published.
			tok, _ := jwt.NewBuilder().Issuer(opA).Audience([]string{address}).Expiration(now.Add(time.Minute)).Build()
			signed, err := jwt.Sign(tok, jwt.WithKey(jwa.HS256(), []byte(e.a.publicJWKS(t))))
			if err != nil {
				t.Fatal(err)
			}
			return string(signed)
		}
		set := func(k string, v any) func(jwt.Token) { return func(tok jwt.Token) { tok.Set(k, v) } }
		drop := func(k string) func(jwt.Token) { return func(tok jwt.Token) { tok.Remove(k) } }
		tests := []struct {
			name  string
			token string
			cert  *tls.Certificate
			code  int
		}{
			{"no credentials", "", nil, 401},
			{"garbage token", "not.a.jwt", nil, 401},
			{"expired", e.token(t, e.a, set(jwt.ExpirationKey, now.Add(-2*time.Minute))), nil, 401},
			{"expired within the skew", e.token(t, e.a, set(jwt.ExpirationKey, now.Add(-30*time.Second))), nil, 200},
			{"not yet valid", e.token(t, e.a, set(jwt.NotBeforeKey, now.Add(5*time.Minute))), nil, 401},
			{"wrong audience", e.token(t, e.a, set(jwt.AudienceKey, []string{"smdp.other.example"})), nil, 401},
			{"no expiry", e.token(t, e.a, drop(jwt.ExpirationKey)), nil, 401},
			{"unknown issuer", e.token(t, e.a, set(jwt.IssuerKey, "mno-x")), nil, 401},
			{"B's key claiming A", e.token(t, e.b, set(jwt.IssuerKey, opA)), nil, 401},
			{"unsigned", noneToken(), nil, 401},
			{"HMAC with the public key", hmacToken(), nil, 401},
			{"operator in sub", e.token(t, e.a, drop(jwt.IssuerKey), set(jwt.SubjectKey, opA)), nil, 200},
			{"issuer an IdP, operator in sub", e.token(t, e.a, set(jwt.IssuerKey, "https://idp.example"), set(jwt.SubjectKey, opA)), nil, 200},
			{"client certificate", "", &e.a.cert, 200},
			{"unknown client certificate", "", &e.stray, 401},
			{"certificate and token of one operator", e.token(t, e.a), &e.a.cert, 200},
			{"certificate of A, token of B", e.token(t, e.b), &e.a.cert, 401},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := e.post(t, "releaseProfile", tt.token, tt.cert, ReleaseProfileRequest{Header: e.hdr(opA), ICCID: iccidA(1)})
				if tt.code == 200 {
					// Authenticated: the function itself fails, the order being Available.
					r.wantFailure(t, status.SubjectICCID, status.ReasonNotAllowed)
					return
				}
				if r.code != tt.code {
					t.Fatalf("HTTP %d %s, want %d", r.code, r.body, tt.code)
				}
				if want := `{"header":{"functionExecutionStatus":{"status":"Failed","statusCodeData":{"subjectCode":"1.1","reasonCode":"1.1","message":`; !strings.HasPrefix(string(r.body), want) {
					t.Errorf("body %s", r.body)
				}
				if r.header.Get("WWW-Authenticate") == "" {
					t.Error("401 without WWW-Authenticate")
				}
			})
		}
		t.Run("key without alg (inferred)", func(t *testing.T) {
			e.as(t, e.b, "releaseProfile", ReleaseProfileRequest{Header: e.hdr(opB), ICCID: iccidB(1)}).
				wantFailure(t, status.SubjectICCID, status.ReasonNotAllowed)
		})
		t.Run("requester is another operator", func(t *testing.T) {
			for _, function := range []string{"downloadOrder", "confirmOrder", "cancelOrder", "releaseProfile"} {
				r := e.as(t, e.a, function, map[string]any{"header": e.hdr(opB), "iccid": iccidB(1), "releaseFlag": true,
					"finalProfileStatusIndicator": "Unavailable"})
				if r.code != http.StatusForbidden {
					t.Fatalf("%s: HTTP %d %s, want 403", function, r.code, r.body)
				}
				if want := `{"header":{"functionExecutionStatus":{"status":"Failed","statusCodeData":{"subjectCode":"1.1","reasonCode":"1.2",`; !strings.HasPrefix(string(r.body), want) {
					t.Errorf("body %s", r.body)
				}
			}
			if p := e.profile(t, iccidB(1)); p.State != store.StateAvailable {
				t.Fatalf("B's profile is %s", p.State)
			}
		})
		t.Run("requester checked by guard and handler", func(t *testing.T) {
			// The guard and the handler read a duplicated key alike (the last one wins), so the
			// guard refuses this; the handler's own check is exercised directly below.
			body := `{"header":{"functionRequesterIdentifier":"mno-a","functionRequesterIdentifier":"mno-b","functionCallIdentifier":"dup"},"iccid":"` + iccidB(1) + `"}`
			if r := e.as(t, e.a, "releaseProfile", body); r.code != http.StatusForbidden {
				t.Fatalf("HTTP %d %s, want 403", r.code, r.body)
			}
			if _, err := checkHeader(&RequestHeader{FunctionRequesterIdentifier: opB, FunctionCallIdentifier: "x"}, opA); !isStatus(err, status.SubjectFunctionRequester, status.ReasonNotAllowed) {
				t.Fatalf("checkHeader: %v", err)
			}
			if _, err := checkHeader(&RequestHeader{FunctionRequesterIdentifier: opA, FunctionCallIdentifier: "x"}, ""); !isStatus(err, status.SubjectFunctionRequester, status.ReasonNotAllowed) {
				t.Fatalf("checkHeader without an operator: %v", err)
			}
		})
	})
}

func isStatus(err error, subject, reason string) bool {
	se, ok := err.(*status.Error)
	return ok && se.Subject == subject && se.Reason == reason
}

func TestIdempotentReplay(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, b testenv.Database) {
		e := newEnv(t, b)
		ctx := context.Background()
		allocated := func() int {
			ps, err := e.db.FindProfiles(ctx, store.ProfileFilter{OperatorID: opA, State: store.StateAllocated})
			if err != nil {
				t.Fatal(err)
			}
			return len(ps)
		}

		// A success, replayed byte for byte, also when the JSON is written differently.
		fci := e.nextFCI()
		first := e.as(t, e.a, "downloadOrder", fmt.Sprintf(`{"header":{"functionRequesterIdentifier":"mno-a","functionCallIdentifier":%q},"profileType":"typeA"}`, fci))
		first.wantSuccess(t, nil)
		again := e.as(t, e.a, "downloadOrder", fmt.Sprintf(`{ "profileType" : "typeA", "header" : {"functionCallIdentifier":%q, "functionRequesterIdentifier":"mno-a"} }`, fci))
		if again.code != 200 || !bytes.Equal(again.body, first.body) {
			t.Fatalf("replay %d %s, want %s", again.code, again.body, first.body)
		}
		if n := allocated(); n != 1 {
			t.Fatalf("%d profiles allocated, want 1", n)
		}

		// A failure, replayed byte for byte even after the state that caused it changed.
		cfci := e.nextFCI()
		confirm := ConfirmOrderRequest{Header: &RequestHeader{FunctionRequesterIdentifier: opA, FunctionCallIdentifier: cfci}, ICCID: iccidA(7), ReleaseFlag: ptr(true)}
		failed := e.as(t, e.a, "confirmOrder", confirm)
		failed.wantFailure(t, status.SubjectICCID, status.ReasonNotAllowed)
		e.as(t, e.a, "downloadOrder", DownloadOrderRequest{Header: e.hdr(opA), ICCID: iccidA(7)}).wantSuccess(t, nil)
		if r := e.as(t, e.a, "confirmOrder", confirm); !bytes.Equal(r.body, failed.body) {
			t.Fatalf("replayed failure %s, want %s", r.body, failed.body)
		}
		if p := e.profile(t, iccidA(7)); p.State != store.StateAllocated {
			t.Fatalf("the replay acted: %s", p.State)
		}

		// The identifier is the operator's own: B may use the same one.
		e.as(t, e.b, "downloadOrder", fmt.Sprintf(`{"header":{"functionRequesterIdentifier":"mno-b","functionCallIdentifier":%q},"iccid":%q}`, fci, iccidB(3))).wantSuccess(t, nil)

		// Reused for another function, or with other parameters: refused, not replayed.
		e.as(t, e.a, "releaseProfile", ReleaseProfileRequest{Header: &RequestHeader{FunctionRequesterIdentifier: opA, FunctionCallIdentifier: fci}, ICCID: iccidA(1)}).
			wantFailure(t, status.SubjectRequest, status.ReasonAlreadyInUse)
		e.as(t, e.a, "downloadOrder", DownloadOrderRequest{Header: &RequestHeader{FunctionRequesterIdentifier: opA, FunctionCallIdentifier: fci}, ProfileType: "other"}).
			wantFailure(t, status.SubjectRequest, status.ReasonAlreadyInUse)
		if n := allocated(); n != 2 {
			t.Fatalf("%d profiles allocated, want 2", n)
		}
		if !strings.Contains(e.logs.String(), `"replay":true`) {
			t.Error("replays are not logged")
		}
	})
}

func TestConcurrentDuplicates(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, b testenv.Database) {
		e := newEnv(t, b)
		const n = 8
		body := fmt.Sprintf(`{"header":{"functionRequesterIdentifier":"mno-a","functionCallIdentifier":%q},"profileType":"typeA"}`, e.nextFCI())
		token := e.token(t, e.a)
		replies := make([]reply, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				replies[i] = e.post(t, "downloadOrder", token, nil, body)
			}()
		}
		wg.Wait()
		for i, r := range replies {
			r.wantSuccess(t, nil)
			if !bytes.Equal(r.body, replies[0].body) {
				t.Fatalf("answer %d %s differs from %s", i, r.body, replies[0].body)
			}
		}
		ps, err := e.db.FindProfiles(context.Background(), store.ProfileFilter{OperatorID: opA, State: store.StateAllocated})
		if err != nil {
			t.Fatal(err)
		}
		if len(ps) != 1 {
			t.Fatalf("%d profiles allocated by %d copies of one call, want 1", len(ps), n)
		}
	})
}

// race runs the calls at once and returns their answers.
func race(t *testing.T, e *env, calls ...func() reply) []reply {
	t.Helper()
	out := make([]reply, len(calls))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, c := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			out[i] = c()
		}()
	}
	close(start)
	wg.Wait()
	return out
}

func TestConcurrentOrders(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, b testenv.Database) {
		e := newEnv(t, b)
		ta := e.token(t, e.a)
		post := func(function string, body any) func() reply {
			return func() reply { return e.post(t, function, ta, nil, body) }
		}
		// wonLost checks that exactly one answer succeeded and the others failed.
		wonLost := func(t *testing.T, rs []reply) int {
			t.Helper()
			winner := -1
			for i, r := range rs {
				if r.code != 200 {
					t.Fatalf("HTTP %d %s", r.code, r.body)
				}
				if sc := r.failure(t); sc == nil {
					if winner >= 0 {
						t.Fatalf("two calls won: %s and %s", rs[winner].body, r.body)
					}
					winner = i
				} else if sc.SubjectCode != status.SubjectICCID {
					t.Errorf("loser answered %s, want a %s status", r.body, status.SubjectICCID)
				}
			}
			if winner < 0 {
				t.Fatalf("no call won: %v", rs)
			}
			return winner
		}
		for round := range 3 {
			iccid := iccidA(round + 1)
			t.Run(fmt.Sprintf("round %d", round), func(t *testing.T) {
				// Two DownloadOrders for one ICCID.
				wonLost(t, race(t, e,
					post("downloadOrder", DownloadOrderRequest{Header: e.hdr(opA), ICCID: iccid}),
					post("downloadOrder", DownloadOrderRequest{Header: e.hdr(opA), ICCID: iccid})))

				// Two ConfirmOrders of one order with different matchingIds: one wins, and the
				// order carries its matchingId.
				ids := []string{fmt.Sprintf("M-%d-ONE", round), fmt.Sprintf("M-%d-TWO", round)}
				rs := race(t, e,
					post("confirmOrder", ConfirmOrderRequest{Header: e.hdr(opA), ICCID: iccid, MatchingID: ids[0], ReleaseFlag: ptr(false)}),
					post("confirmOrder", ConfirmOrderRequest{Header: e.hdr(opA), ICCID: iccid, MatchingID: ids[1], ReleaseFlag: ptr(false)}))
				w := wonLost(t, rs)
				if p := e.profile(t, iccid); p.State != store.StateConfirmed || p.MatchingID != ids[w] {
					t.Fatalf("after the ConfirmOrder race: %s %q, winner %q", p.State, p.MatchingID, ids[w])
				}

				// ReleaseProfile against CancelOrder: both orders of the two are legal, but the
				// outcome must be one of them: Cancel always succeeds, Release only if first,
				// and the order ends Unavailable.
				rs = race(t, e,
					post("releaseProfile", ReleaseProfileRequest{Header: e.hdr(opA), ICCID: iccid}),
					post("cancelOrder", CancelOrderRequest{Header: e.hdr(opA), ICCID: iccid, FinalProfileStatusIndicator: "Unavailable"}))
				rs[1].wantSuccess(t, nil)
				if sc := rs[0].failure(t); sc != nil && (sc.SubjectCode != status.SubjectICCID || sc.ReasonCode != status.ReasonNotAllowed) {
					t.Fatalf("ReleaseProfile lost with %s", rs[0].body)
				}
				if p := e.profile(t, iccid); p.State != store.StateUnavailable {
					t.Fatalf("after the Release/Cancel race: %s", p.State)
				}
			})
		}
		// ConfirmOrder (with release) against CancelOrder (to the pool), on fresh orders.
		for round := range 3 {
			iccid := iccidA(round + 5)
			e.as(t, e.a, "downloadOrder", DownloadOrderRequest{Header: e.hdr(opA), ICCID: iccid}).wantSuccess(t, nil)
			rs := race(t, e,
				post("confirmOrder", ConfirmOrderRequest{Header: e.hdr(opA), ICCID: iccid, ReleaseFlag: ptr(true)}),
				post("cancelOrder", CancelOrderRequest{Header: e.hdr(opA), ICCID: iccid, FinalProfileStatusIndicator: "Available"}))
			rs[1].wantSuccess(t, nil) // Cancel is legal before and after Confirm
			p := e.profile(t, iccid)
			if p.State != store.StateAvailable || p.MatchingID != "" {
				t.Fatalf("after the Confirm/Cancel race: %s %q (confirm answered %s)", p.State, p.MatchingID, rs[0].body)
			}
		}
	})
}
