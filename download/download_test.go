package download

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"github.com/smdpp/smdpp/certs"
	"github.com/smdpp/smdpp/devpki"
	"github.com/smdpp/smdpp/limits"
	"github.com/smdpp/smdpp/orders"
	"github.com/smdpp/smdpp/rsp"
	st "github.com/smdpp/smdpp/status"
	"github.com/smdpp/smdpp/store"
)

const upp = "TS48V2-SAIP2-3-BERTLV-UNIQUE.der"

// TestDownload runs the whole ES9+ sequence against the SGP.26 PKI on both curves, with and
// without a confirmation code, and checks the profile's states on the way.
func TestDownload(t *testing.T) {
	for _, curve := range []string{"NIST", "BRP"} {
		for _, cc := range []string{"", "1234"} {
			t.Run(curve+"/cc="+cc, func(t *testing.T) {
				e := newEnv(t, curve)
				iccid, mid := e.order(upp, orders.ConfirmOrderRequest{ConfirmationCode: cc})
				ia, ac := e.upToAuthenticated(mid)
				var ss2 rsp.SmdpSigned2
				if err := ss2.Unmarshal(ac.SMDPSigned2); err != nil || ss2.CcRequiredFlag != (cc != "") {
					t.Fatalf("smdpSigned2 %+v, %v", ss2, err)
				}
				var hashCc []byte
				if cc != "" {
					hashCc = hashConfirmationCode(cc, ia.TransactionID)
				}
				bpp, err := e.svc.GetBoundProfilePackage(e.ctx, ia.TransactionID, e.prepareDownload(ac, hashCc))
				if err != nil {
					t.Fatal(err)
				}
				if p := e.state(iccid); p.State != store.StateDownloaded || p.DownloadAttempts != 1 || p.EID != e.cardCfg.EID {
					t.Fatalf("after BPP: %s, %d attempts, EID %q", p.State, p.DownloadAttempts, p.EID)
				}
				pir := e.load(bpp)
				var n rsp.PendingNotification
				if err := n.Unmarshal(pir); err != nil || n.ProfileInstallationResult == nil || n.ProfileInstallationResult.ProfileInstallationResultData.SuccessResult == nil {
					t.Fatalf("card did not install: %x %v", pir, err)
				}
				if err := e.svc.HandleNotification(e.ctx, pir); err != nil {
					t.Fatal(err)
				}
				if p := e.state(iccid); p.State != store.StateInstalled {
					t.Fatalf("after PIR: %s", p.State)
				}
				// A replay is acknowledged and changes nothing.
				if err := e.svc.HandleNotification(e.ctx, pir); err != nil {
					t.Fatalf("replayed notification: %v", err)
				}
			})
		}
	}
}

func hashConfirmationCode(code string, txID []byte) []byte {
	h := sha256.Sum256([]byte(code))
	h2 := sha256.Sum256(append(h[:], txID...))
	return h2[:]
}

// TestInitiateAuthenticationRefusals covers the checks of SGP.22 §5.6.1.
func TestInitiateAuthenticationRefusals(t *testing.T) {
	e := newEnv(t, "NIST")
	var ch rsp.GetEuiccChallengeResponse
	if err := ch.Unmarshal(e.es10(&rsp.GetEuiccChallengeRequest{})); err != nil {
		t.Fatal(err)
	}
	info1DER := e.es10(&rsp.GetEuiccInfo1Request{})
	var info1 rsp.EUICCInfo1
	if err := info1.Unmarshal(info1DER); err != nil {
		t.Fatal(err)
	}
	with := func(f func(*rsp.EUICCInfo1)) []byte {
		v := info1
		f(&v)
		der, err := v.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	tests := []struct {
		name            string
		challenge, info []byte
		address         string
		subject, reason string
	}{
		{"wrong address", ch.EuiccChallenge, info1DER, "other.example.com", st.SubjectSMDPAddress, st.ReasonRefused},
		{"unknown CI", ch.EuiccChallenge, with(func(v *rsp.EUICCInfo1) { v.EuiccCiPKIdListForVerification = [][]byte{bytes.Repeat([]byte{1}, 20)} }), address, st.SubjectSecurityConfig, st.ReasonUnsupported},
		{"svn 1", ch.EuiccChallenge, with(func(v *rsp.EUICCInfo1) { v.SVN = rsp.VersionType{1, 0, 0} }), address, st.SubjectSVN, st.ReasonUnsupported},
		{"short challenge", ch.EuiccChallenge[:8], info1DER, address, st.SubjectEUICC, st.ReasonInvalid},
		{"garbage euiccInfo1", ch.EuiccChallenge, []byte{0xBF, 0x20, 0x05, 1, 2}, address, st.SubjectEUICC, st.ReasonInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.svc.InitiateAuthentication(e.ctx, tt.challenge, tt.info, tt.address)
			wantStatus(t, err, tt.subject, tt.reason)
		})
	}
	if n, _ := e.sessions.Count(e.ctx); n != 0 {
		t.Errorf("%d sessions left by refused calls", n)
	}
	// The address is compared without regard to case (RFC 4343).
	if _, err := e.svc.InitiateAuthentication(e.ctx, ch.EuiccChallenge, info1DER, "TestSMDPplus1.Example.COM"); err != nil {
		t.Errorf("upper-case address refused: %v", err)
	}
}

// TestAuthenticateClientRefusals covers the checks of SGP.22 §5.6.3; after each the order is
// still Released with no attempt used.
func TestAuthenticateClientRefusals(t *testing.T) {
	otherEID := certs.EIDWithCheckDigits("890490321234512345123456789999")
	tests := []struct {
		name            string
		order           orders.ConfirmOrderRequest
		matchingID      string // "" uses the order's
		tamper          func(e *env, txID, asr []byte) ([]byte, []byte)
		setup           func(e *env)
		subject, reason string
	}{
		{name: "unknown transactionId", tamper: func(e *env, txID, asr []byte) ([]byte, []byte) {
			return bytes.Repeat([]byte{0xAA}, 16), asr
		}, subject: st.SubjectTransactionID, reason: st.ReasonUnknown},
		{name: "euiccSignature1 flipped", tamper: func(e *env, txID, asr []byte) ([]byte, []byte) {
			var r rsp.AuthenticateServerResponse
			r.Unmarshal(asr)
			r.AuthenticateResponseOk.EuiccSignature1[10] ^= 1
			der, _ := r.Marshal()
			return txID, der
		}, subject: st.SubjectEUICC, reason: st.ReasonVerificationFailed},
		{name: "stale serverChallenge signed by the eUICC", tamper: func(e *env, txID, asr []byte) ([]byte, []byte) {
			var r rsp.AuthenticateServerResponse
			r.Unmarshal(asr)
			ok := r.AuthenticateResponseOk
			ok.EuiccSigned1.ServerChallenge = bytes.Repeat([]byte{7}, 16)
			signed, _ := ok.EuiccSigned1.Marshal()
			ok.EuiccSignature1, _ = certs.SignRaw(e.cardCfg.Key, signed)
			der, _ := r.Marshal()
			return txID, der
		}, subject: st.SubjectEUICC, reason: st.ReasonVerificationFailed},
		{name: "EUM certificate tampered", tamper: func(e *env, txID, asr []byte) ([]byte, []byte) {
			var r rsp.AuthenticateServerResponse
			r.Unmarshal(asr)
			eum := r.AuthenticateResponseOk.EumCertificate
			eum[len(eum)-5] ^= 1 // inside the signature
			der, _ := r.Marshal()
			return txID, der
		}, subject: st.SubjectEUMCertificate, reason: st.ReasonVerificationFailed},
		// The card refuses to run with these certificates, so the response is re-signed with the
		// eUICC key the invalid certificates share.
		{name: "EUM of another CI", tamper: func(e *env, txID, asr []byte) ([]byte, []byte) {
			other, err := devpki.Generate(devpki.Options{})
			if err != nil {
				e.t.Fatal(err)
			}
			var r rsp.AuthenticateServerResponse
			r.Unmarshal(asr)
			r.AuthenticateResponseOk.EumCertificate = other.EUM.Certificate
			der, _ := r.Marshal()
			return txID, der
		}, subject: st.SubjectCIPublicKey, reason: st.ReasonUnknown},
		{name: "EID outside the EUM range", tamper: withEUICCCertificate("InvalidTestCases/CERT_EUICC_ECDSA_NIST_INVALID_EID.der"),
			subject: st.SubjectEUICCCertificate, reason: st.ReasonVerificationFailed},
		{name: "expired eUICC certificate", setup: func(e *env) {
			e.cardCfg.Certificate = readTestCert(e.t, "InvalidTestCases/CERT_EUICC_ECDSA_NIST_EXPIRED.der").Raw
			e.newCard()
		}, subject: st.SubjectEUICCCertificate, reason: st.ReasonExpired},
		{name: "eUICC not issued by the EUM", tamper: withEUICCCertificate("InvalidTestCases/CERT_EUICC_ECDSA_NIST_INVALID.der"),
			subject: st.SubjectEUICCCertificate, reason: st.ReasonVerificationFailed},
		{name: "unknown matchingId", matchingID: "NO-SUCH-ORDER", subject: st.SubjectMatchingID, reason: st.ReasonRefused},
		{name: "order bound to another EID", order: orders.ConfirmOrderRequest{EID: otherEID}, subject: st.SubjectEID, reason: st.ReasonRefused},
		{name: "no matchingId and no order for the EID", matchingID: "-", subject: st.SubjectEID, reason: st.ReasonRefused},
		{name: "card too small", setup: func(e *env) {
			e.cardCfg.FreeNonVolatileMemory = 4096
			e.newCard()
		}, subject: st.SubjectEUICC, reason: st.ReasonInsufficientMemory},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, "NIST")
			if tt.setup != nil {
				tt.setup(e)
			}
			iccid, mid := e.order(upp, tt.order)
			switch tt.matchingID {
			case "":
			case "-":
				mid = ""
			default:
				mid = tt.matchingID
			}
			ia, err := e.initiate()
			if err != nil {
				t.Fatal(err)
			}
			txID, asr := ia.TransactionID, e.authenticateServer(ia, mid)
			if tt.tamper != nil {
				txID, asr = tt.tamper(e, txID, asr)
			}
			_, err = e.svc.AuthenticateClient(e.ctx, txID, asr)
			wantStatus(t, err, tt.subject, tt.reason)
			if p := e.state(iccid); p.State != store.StateReleased || p.DownloadAttempts != 0 {
				t.Errorf("order now %s with %d attempts", p.State, p.DownloadAttempts)
			}
		})
	}
}

// withEUICCCertificate replaces CERT.EUICC in the card's response and re-signs it with the
// SGP.26 eUICC key.
func withEUICCCertificate(name string) func(e *env, txID, asr []byte) ([]byte, []byte) {
	return func(e *env, txID, asr []byte) ([]byte, []byte) {
		var r rsp.AuthenticateServerResponse
		if err := r.Unmarshal(asr); err != nil {
			e.t.Fatal(err)
		}
		ok := r.AuthenticateResponseOk
		ok.EuiccCertificate = readTestCert(e.t, name).Raw
		signed, _ := ok.EuiccSigned1.Marshal()
		ok.EuiccSignature1, _ = certs.SignRaw(e.cardCfg.Key, signed)
		der, _ := r.Marshal()
		return txID, der
	}
}

// TestDownloadWithoutMatchingID: with no matchingId (the default SM-DP+ address or an SM-DS
// event) the released order bound to the eUICC's EID is found (SGP.22 §3.1.3).
func TestDownloadWithoutMatchingID(t *testing.T) {
	e := newEnv(t, "NIST")
	iccid, _ := e.order(upp, orders.ConfirmOrderRequest{EID: e.cardCfg.EID})
	ia, ac := e.upToAuthenticated("")
	bpp, err := e.svc.GetBoundProfilePackage(e.ctx, ia.TransactionID, e.prepareDownload(ac, nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.HandleNotification(e.ctx, e.load(bpp)); err != nil {
		t.Fatal(err)
	}
	if p := e.state(iccid); p.State != store.StateInstalled {
		t.Fatalf("profile %s, want Installed", p.State)
	}
}

// TestSessionDeadline: after the session TTL every call is an unknown transactionId.
func TestSessionDeadline(t *testing.T) {
	e := newEnv(t, "NIST", WithSessionTTL(time.Minute))
	_, mid := e.order(upp, orders.ConfirmOrderRequest{})
	ia, err := e.initiate()
	if err != nil {
		t.Fatal(err)
	}
	asr := e.authenticateServer(ia, mid)
	e.clock.Advance(61 * time.Second)
	_, err = e.svc.AuthenticateClient(e.ctx, ia.TransactionID, asr)
	wantStatus(t, err, st.SubjectTransactionID, st.ReasonUnknown)
}

// TestConfirmationCodeAttempts: wrong codes are refused and counted; the third ends the order.
func TestConfirmationCodeAttempts(t *testing.T) {
	e := newEnv(t, "NIST")
	iccid, mid := e.order(upp, orders.ConfirmOrderRequest{ConfirmationCode: "1234"})
	ia, ac := e.upToAuthenticated(mid)
	// The card signs only a PrepareDownload with a hashCc when one is required; an LPA that sends
	// none is simulated by re-signing as the card.
	good := e.prepareDownload(ac, hashConfirmationCode("1234", ia.TransactionID))
	pd := e.resign(good, ac, func(s *rsp.EUICCSigned2) { s.HashCc = nil })
	_, err := e.svc.GetBoundProfilePackage(e.ctx, ia.TransactionID, pd)
	wantStatus(t, err, st.SubjectConfirmationCode, st.ReasonMandatoryElementMissing)
	for i := 1; i <= 3; i++ {
		pd := e.resign(good, ac, func(s *rsp.EUICCSigned2) { s.HashCc = hashConfirmationCode("9999", ia.TransactionID) })
		_, err := e.svc.GetBoundProfilePackage(e.ctx, ia.TransactionID, pd)
		if i < 3 {
			wantStatus(t, err, st.SubjectConfirmationCode, st.ReasonRefused)
			if p := e.state(iccid); p.CCAttempts != i || p.State != store.StateReleased {
				t.Fatalf("after %d wrong codes: %d counted, state %s", i, p.CCAttempts, p.State)
			}
			continue
		}
		wantStatus(t, err, st.SubjectConfirmationCode, st.ReasonMaxRetriesExceeded)
	}
	if p := e.state(iccid); p.State != store.StateError {
		t.Errorf("order %s after the last wrong code, want Error", p.State)
	}
}

// resign changes euiccSigned2 of a PrepareDownloadResponse and signs it again with the eUICC key,
// as a card would have (SGP.22 §5.7.5: over euiccSigned2 ‖ the smdpSignature2 TLV).
func (e *env) resign(pd []byte, ac *AuthenticateClientResult, change func(*rsp.EUICCSigned2)) []byte {
	var r rsp.PrepareDownloadResponse
	if err := r.Unmarshal(pd); err != nil || r.DownloadResponseOk == nil {
		e.t.Fatalf("PrepareDownloadResponse %x: %v", pd, err)
	}
	ok := r.DownloadResponseOk
	change(&ok.EUICCSigned2)
	signed, err := ok.EUICCSigned2.Marshal()
	if err != nil {
		e.t.Fatal(err)
	}
	if ok.EuiccSignature2, err = certs.SignRaw(e.cardCfg.Key, append(signed, ac.SMDPSignature2...)); err != nil {
		e.t.Fatal(err)
	}
	der, err := r.Marshal()
	if err != nil {
		e.t.Fatal(err)
	}
	return der
}

// TestGetBoundProfilePackageRefusals covers §5.6.2 checks other than the confirmation code.
func TestGetBoundProfilePackageRefusals(t *testing.T) {
	tests := []struct {
		name            string
		tamper          func(e *env, txID, pd []byte) ([]byte, []byte)
		subject, reason string
	}{
		{"unknown transactionId", func(e *env, txID, pd []byte) ([]byte, []byte) { return bytes.Repeat([]byte{1}, 16), pd },
			st.SubjectTransactionID, st.ReasonUnknown},
		{"euiccSignature2 flipped", func(e *env, txID, pd []byte) ([]byte, []byte) {
			var r rsp.PrepareDownloadResponse
			r.Unmarshal(pd)
			r.DownloadResponseOk.EuiccSignature2[3] ^= 0x80
			der, _ := r.Marshal()
			return txID, der
		}, st.SubjectEUICC, st.ReasonVerificationFailed},
		{"euiccOtpk not on the curve", func(e *env, txID, pd []byte) ([]byte, []byte) {
			return txID, e.resign(pd, e.ac, func(s *rsp.EUICCSigned2) { s.EuiccOtpk = append([]byte{4}, bytes.Repeat([]byte{9}, 64)...) })
		}, st.SubjectEUICC, st.ReasonInvalid},
		{"malformed", func(e *env, txID, pd []byte) ([]byte, []byte) { return txID, pd[:len(pd)-3] },
			st.SubjectEUICC, st.ReasonInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, "NIST")
			iccid, mid := e.order(upp, orders.ConfirmOrderRequest{})
			ia, ac := e.upToAuthenticated(mid)
			e.ac = ac
			txID, pd := tt.tamper(e, ia.TransactionID, e.prepareDownload(ac, nil))
			_, err := e.svc.GetBoundProfilePackage(e.ctx, txID, pd)
			wantStatus(t, err, tt.subject, tt.reason)
			if p := e.state(iccid); p.State != store.StateReleased || p.DownloadAttempts != 0 {
				t.Errorf("order now %s with %d attempts", p.State, p.DownloadAttempts)
			}
		})
	}
}

// TestRetryAfterCancel: a cancelled download returns the order for another attempt until the
// operator's re-download allowance (here 1) is used up; the replacement attempt installs.
func TestRetryAfterCancel(t *testing.T) {
	e := newEnv(t, "NIST")
	iccid, mid := e.order(upp, orders.ConfirmOrderRequest{})
	for attempt := 1; attempt <= 2; attempt++ {
		ia, ac := e.upToAuthenticated(mid)
		if _, err := e.svc.GetBoundProfilePackage(e.ctx, ia.TransactionID, e.prepareDownload(ac, nil)); err != nil {
			t.Fatal(err)
		}
		reason := int64(rsp.CancelSessionReasonEndUserRejection)
		cancel := e.es10(&rsp.CancelSessionRequest{TransactionID: ia.TransactionID, Reason: rsp.CancelSessionReason(reason)})
		if err := e.svc.CancelSession(e.ctx, ia.TransactionID, cancel); err != nil {
			t.Fatalf("attempt %d: %v", attempt, err)
		}
		want := store.StateReleased
		if attempt == 2 {
			want = store.StateError
		}
		if p := e.state(iccid); p.State != want || p.DownloadAttempts != attempt {
			t.Fatalf("after cancelled attempt %d: %s with %d attempts, want %s", attempt, p.State, p.DownloadAttempts, want)
		}
	}
	ia, err := e.initiate()
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.AuthenticateClient(e.ctx, ia.TransactionID, e.authenticateServer(ia, mid))
	wantStatus(t, err, st.SubjectProfile, st.ReasonNotAllowed)
}

// TestCancelSessionRefusals: a forged cancellation changes nothing.
func TestCancelSessionRefusals(t *testing.T) {
	e := newEnv(t, "NIST")
	iccid, mid := e.order(upp, orders.ConfirmOrderRequest{})
	ia, _ := e.upToAuthenticated(mid)
	cancel := e.es10(&rsp.CancelSessionRequest{TransactionID: ia.TransactionID, Reason: rsp.CancelSessionReasonPostponed})
	var r rsp.CancelSessionResponse
	if err := r.Unmarshal(cancel); err != nil || r.CancelSessionResponseOk == nil {
		t.Fatalf("card: %x %v", cancel, err)
	}
	forged := r
	ok := *r.CancelSessionResponseOk
	ok.EuiccCancelSessionSignature = bytes.Clone(ok.EuiccCancelSessionSignature)
	ok.EuiccCancelSessionSignature[0] ^= 1
	forged.CancelSessionResponseOk = &ok
	der, _ := forged.Marshal()
	wantStatus(t, e.svc.CancelSession(e.ctx, ia.TransactionID, der), st.SubjectEUICC, st.ReasonVerificationFailed)
	if err := e.svc.CancelSession(e.ctx, ia.TransactionID, cancel); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, e.svc.CancelSession(e.ctx, ia.TransactionID, cancel), st.SubjectTransactionID, st.ReasonUnknown)
	if p := e.state(iccid); p.State != store.StateReleased || p.DownloadAttempts != 0 {
		t.Errorf("order now %s with %d attempts", p.State, p.DownloadAttempts)
	}
}

// FuzzAuthenticateClient feeds arbitrary bytes as authenticateServerResponse to a live session:
// the answer is always an SGP.22 status, never a panic.
func FuzzAuthenticateClient(f *testing.F) {
	f.Add([]byte{0xBF, 0x38, 0x00})
	f.Add(bytes.Repeat([]byte{0x30}, 40))
	seed := make([]byte, 300)
	rand.Read(seed)
	f.Add(seed)
	f.Fuzz(func(t *testing.T, asr []byte) {
		e := newEnv(t, "NIST")
		ia, err := e.initiate()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.AuthenticateClient(e.ctx, ia.TransactionID, asr); err == nil {
			t.Fatal("garbage accepted")
		}
	})
}

// TestRetriedGetBoundProfilePackage: a retry with the same otPK.EUICC.ECKA gets a BPP bound with
// the same one-time key of the SM-DP+, which the card can still load (SGP.22 §5.6.2).
func TestRetriedGetBoundProfilePackage(t *testing.T) {
	for _, curve := range []string{"NIST", "BRP"} {
		t.Run(curve, func(t *testing.T) {
			e := newEnv(t, curve)
			iccid, mid := e.order(upp, orders.ConfirmOrderRequest{})
			ia, ac := e.upToAuthenticated(mid)
			pd := e.prepareDownload(ac, nil)
			first, err := e.svc.GetBoundProfilePackage(e.ctx, ia.TransactionID, pd)
			if err != nil {
				t.Fatal(err)
			}
			again, err := e.svc.GetBoundProfilePackage(e.ctx, ia.TransactionID, pd)
			if err != nil {
				t.Fatal(err)
			}
			var b1, b2 rsp.BoundProfilePackage
			if b1.Unmarshal(first) != nil || b2.Unmarshal(again) != nil {
				t.Fatal("BPP does not decode")
			}
			if !bytes.Equal(b1.InitialiseSecureChannelRequest.SmdpOtpk, b2.InitialiseSecureChannelRequest.SmdpOtpk) {
				t.Error("the retry used another one-time key")
			}
			if p := e.state(iccid); p.DownloadAttempts != 1 {
				t.Errorf("%d attempts counted for one download retried", p.DownloadAttempts)
			}
			if err := e.svc.HandleNotification(e.ctx, e.load(again)); err != nil {
				t.Fatal(err)
			}
			if p := e.state(iccid); p.State != store.StateInstalled {
				t.Errorf("profile %s after loading the retried BPP", p.State)
			}
		})
	}
}

// TestMatchingIDGuessingLocksOut: after three wrong matchingIds the eUICC is refused even with
// the right one, until the lock ends.
func TestMatchingIDGuessingLocksOut(t *testing.T) {
	guard, err := limits.NewAttempts(3, time.Hour, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, "NIST", WithMatchingIDGuard(guard))
	_, mid := e.order(upp, orders.ConfirmOrderRequest{})
	try := func(matchingID string) error {
		ia, err := e.initiate()
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.AuthenticateClient(e.ctx, ia.TransactionID, e.authenticateServer(ia, matchingID))
		return err
	}
	for i := 0; i < 3; i++ {
		wantStatus(t, try(fmt.Sprintf("GUESS-%d", i)), st.SubjectMatchingID, st.ReasonRefused)
	}
	wantStatus(t, try(mid), st.SubjectMatchingID, st.ReasonRefused)
	if _, locked := guard.Locked(e.cardCfg.EID); !locked {
		t.Error("the EID is not locked")
	}
}

// TestExpireStrandedDownloads: an order whose BPP was sent but whose session vanished returns
// to Released after the session TTL, and can then be downloaded.
func TestExpireStrandedDownloads(t *testing.T) {
	e := newEnv(t, "NIST", WithSessionTTL(time.Minute))
	iccid, mid := e.order(upp, orders.ConfirmOrderRequest{})
	ia, ac := e.upToAuthenticated(mid)
	if _, err := e.svc.GetBoundProfilePackage(e.ctx, ia.TransactionID, e.prepareDownload(ac, nil)); err != nil {
		t.Fatal(err)
	}
	// The session store loses the session (a restart with memory sessions).
	if err := e.sessions.Delete(e.ctx, ia.TransactionID); err != nil {
		t.Fatal(err)
	}
	if n, err := e.svc.ExpireDownloads(e.ctx); err != nil || n != 0 {
		t.Fatalf("expired %d (%v) before the TTL", n, err)
	}
	e.clock.Advance(2 * time.Minute)
	if n, err := e.svc.ExpireDownloads(e.ctx); err != nil || n != 1 {
		t.Fatalf("expired %d (%v), want 1", n, err)
	}
	if p := e.state(iccid); p.State != store.StateReleased || p.DownloadAttempts != 1 {
		t.Fatalf("order %s with %d attempts, want Released with 1", p.State, p.DownloadAttempts)
	}
	e.newCard()
	ia, ac = e.upToAuthenticated(mid)
	bpp, err := e.svc.GetBoundProfilePackage(e.ctx, ia.TransactionID, e.prepareDownload(ac, nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.HandleNotification(e.ctx, e.load(bpp)); err != nil {
		t.Fatal(err)
	}
	if p := e.state(iccid); p.State != store.StateInstalled {
		t.Errorf("order %s after the second attempt", p.State)
	}
}

// TestLateInstallationResult: a ProfileInstallationResult that arrives after the session is gone
// (a restart, or after the order expired back to Released) is verified with the eUICC
// certificate kept on the order and installs it; a forged one is refused.
func TestLateInstallationResult(t *testing.T) {
	for _, expired := range []bool{false, true} {
		t.Run(fmt.Sprintf("expired=%t", expired), func(t *testing.T) {
			e := newEnv(t, "NIST", WithSessionTTL(time.Minute))
			iccid, mid := e.order(upp, orders.ConfirmOrderRequest{})
			ia, ac := e.upToAuthenticated(mid)
			bpp, err := e.svc.GetBoundProfilePackage(e.ctx, ia.TransactionID, e.prepareDownload(ac, nil))
			if err != nil {
				t.Fatal(err)
			}
			pir := e.load(bpp)
			e.sessions.Delete(e.ctx, ia.TransactionID)
			if expired {
				e.clock.Advance(2 * time.Minute)
				if n, err := e.svc.ExpireDownloads(e.ctx); err != nil || n != 1 {
					t.Fatalf("expired %d, %v", n, err)
				}
			}
			forged := bytes.Clone(pir)
			forged[len(forged)-1] ^= 1
			wantStatus(t, e.svc.HandleNotification(e.ctx, forged), st.SubjectEUICC, st.ReasonVerificationFailed)
			if err := e.svc.HandleNotification(e.ctx, pir); err != nil {
				t.Fatal(err)
			}
			if p := e.state(iccid); p.State != store.StateInstalled {
				t.Errorf("order %s, want Installed", p.State)
			}
		})
	}
}

// TestFailedInstallIsRetried: an installation the eUICC reports as failed returns the order to
// Released while the operator's re-download allowance lasts (here one re-download), and ends it
// in Error after the last attempt.
func TestFailedInstallIsRetried(t *testing.T) {
	e := newEnv(t, "NIST")
	iccid, mid := e.order(upp, orders.ConfirmOrderRequest{})
	for attempt := 1; attempt <= 2; attempt++ {
		e.newCard()
		ia, ac := e.upToAuthenticated(mid)
		bpp, err := e.svc.GetBoundProfilePackage(e.ctx, ia.TransactionID, e.prepareDownload(ac, nil))
		if err != nil {
			t.Fatal(err)
		}
		// A flipped byte in the last profile segment: the card reports scp03tSecurityError.
		tampered := bytes.Clone(bpp)
		tampered[len(tampered)-1] ^= 1
		pir := e.load(tampered)
		var n rsp.PendingNotification
		if err := n.Unmarshal(pir); err != nil || n.ProfileInstallationResult.ProfileInstallationResultData.ErrorResult == nil {
			t.Fatalf("card result %x, %v: want an error result", pir, err)
		}
		if err := e.svc.HandleNotification(e.ctx, pir); err != nil {
			t.Fatal(err)
		}
		want := store.StateReleased
		if attempt == 2 {
			want = store.StateError
		}
		p := e.state(iccid)
		if p.State != want || p.LastErrorReason == nil || *p.LastErrorReason != int(rsp.ErrorReasonScp03tSecurityError) {
			t.Fatalf("after failed install %d: %s, last error %v; want %s with scp03tSecurityError", attempt, p.State, p.LastErrorReason, want)
		}
	}
}
