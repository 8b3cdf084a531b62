package euicc

import (
	"bytes"
	"testing"

	"github.com/smdpp/smdpp/apdu"
	"github.com/smdpp/smdpp/certs"
	"github.com/smdpp/smdpp/rsp"
	"github.com/smdpp/smdpp/tlv"
)

// es10c encodes an EnableProfile/DisableProfile request by ICCID (as lpac does), or a
// DeleteProfile request when tag is BF33.
func es10c(tag tlv.Tag, iccid []byte) []byte {
	b := tlv.NewBuilder(nil)
	b.AddTLV(tag, func(b *tlv.Builder) {
		if tag == tagDeleteProfile {
			b.AddValue(0x5A, iccid)
			return
		}
		b.AddTLV(0xA0, func(b *tlv.Builder) { b.AddValue(0x5A, iccid) })
		b.AddBool(0x81, true)
	})
	return b.BytesOrPanic()
}

// result decodes {result [0] INTEGER} with tag.
func result(t testing.TB, tag tlv.Tag, resp []byte) int64 {
	t.Helper()
	s := tlv.String(resp)
	body, ok := s.ReadTag(tag)
	var v int64
	if !ok || !s.Empty() || !body.ReadInt64(0x80, &v) || !body.Empty() {
		t.Fatalf("response %X is not {result} with tag %s", resp, tag)
	}
	return v
}

// checkOther verifies a pending OtherSignedNotification as the SM-DP+ does.
func checkOther(t testing.TB, p *rsp.PendingNotification, ev int, want []byte, cis [][]byte) {
	t.Helper()
	o := p.OtherSignedNotification
	if o == nil {
		t.Fatalf("not an OtherSignedNotification: %+v", p)
	}
	euicc := verifyEUICC(t, o.EuiccCertificate, o.EumCertificate, cis)
	if !certs.VerifyRaw(euicc.PublicKey, o.TbsOtherNotification.Raw, o.EuiccNotificationSignature) {
		t.Error("euiccNotificationSignature does not verify")
	}
	md := o.TbsOtherNotification
	if event(&md) != ev || !bytes.Equal(md.Iccid, want) || md.NotificationAddress != "smdp.example.com" {
		t.Errorf("notification %+v, want event %d for %X", md, ev, want)
	}
}

func TestProfileLifecycle(t *testing.T) {
	for _, curve := range curves {
		t.Run(curve, func(t *testing.T) {
			pki := testPKI(t, curve, "main")
			cfg := cardConfig(pki, 0)
			card := newTestCard(t, cfg)
			srv := devServer(pki)
			a, b := iccid(0x11), iccid(0x12)
			install(t, card, srv, bindOptions{upp: syntheticUPP(a, 800)})
			install(t, card, srv, bindOptions{upp: syntheticUPP(b, 900)})
			seen := map[int64]bool{}
			for _, n := range card.notifications(t) {
				seen[n.SeqNumber] = true // the two installation results
			}
			// drain returns the notifications queued since the last call, removing them.
			drain := func() []*rsp.PendingNotification {
				var out []*rsp.PendingNotification
				for _, n := range card.notifications(t) {
					if seen[n.SeqNumber] {
						continue
					}
					seen[n.SeqNumber] = true
					out = append(out, card.retrieve(t, n.SeqNumber))
				}
				return out
			}

			if r := result(t, tagEnableProfile, card.call(es10c(tagEnableProfile, a))); r != resultOK {
				t.Fatalf("enable A: %d", r)
			}
			if n := drain(); len(n) != 1 {
				t.Fatalf("enable A: %d notifications", len(n))
			} else {
				checkOther(t, n[0], rsp.NotificationEnable, a, cfg.CICertificates)
			}
			if r := result(t, tagEnableProfile, card.call(es10c(tagEnableProfile, a))); r != resultWrongProfileState {
				t.Errorf("enable A twice: %d", r)
			}
			// Enabling B disables A.
			if r := result(t, tagEnableProfile, card.call(es10c(tagEnableProfile, b))); r != resultOK {
				t.Fatalf("enable B: %d", r)
			}
			n := drain()
			if len(n) != 2 {
				t.Fatalf("enable B: %d notifications", len(n))
			}
			checkOther(t, n[0], rsp.NotificationDisable, a, cfg.CICertificates)
			checkOther(t, n[1], rsp.NotificationEnable, b, cfg.CICertificates)
			states := map[string]rsp.ProfileState{}
			for _, p := range card.profiles(t, "BF2D00") {
				states[string(p.Iccid)] = *p.ProfileState
			}
			if states[string(a)] != rsp.ProfileStateDisabled || states[string(b)] != rsp.ProfileStateEnabled {
				t.Errorf("states %v", states)
			}
			// An enabled Profile cannot be deleted.
			if r := result(t, tagDeleteProfile, card.call(es10c(tagDeleteProfile, b))); r != resultWrongProfileState {
				t.Errorf("delete enabled B: %d", r)
			}
			if r := result(t, tagDisableProfile, card.call(es10c(tagDisableProfile, a))); r != resultWrongProfileState {
				t.Errorf("disable disabled A: %d", r)
			}
			if r := result(t, tagDisableProfile, card.call(es10c(tagDisableProfile, b))); r != resultOK {
				t.Errorf("disable B: %d", r)
			}
			free := card.freeMemory()
			if r := result(t, tagDeleteProfile, card.call(es10c(tagDeleteProfile, b))); r != resultOK {
				t.Errorf("delete B: %d", r)
			}
			if got := card.freeMemory(); got <= free {
				t.Errorf("free memory %d after deleting, was %d", got, free)
			}
			n = drain()
			if len(n) != 2 {
				t.Fatalf("disable+delete B: %d notifications", len(n))
			}
			checkOther(t, n[0], rsp.NotificationDisable, b, cfg.CICertificates)
			checkOther(t, n[1], rsp.NotificationDelete, b, cfg.CICertificates)

			for _, tag := range []tlv.Tag{tagEnableProfile, tagDisableProfile, tagDeleteProfile} {
				if r := result(t, tag, card.call(es10c(tag, iccid(0x99)))); r != resultNotFound {
					t.Errorf("%s of an unknown ICCID: %d", tag, r)
				}
			}
			// By ISD-P AID.
			aid := card.profiles(t, "BF2D00")[0].IsdpAid
			byAID := tlv.NewBuilder(nil)
			byAID.AddTLV(tagEnableProfile, func(b *tlv.Builder) {
				b.AddTLV(0xA0, func(b *tlv.Builder) { b.AddValue(0x4F, aid) })
				b.AddBool(0x81, false)
			})
			if r := result(t, tagEnableProfile, card.call(byAID.BytesOrPanic())); r != resultOK {
				t.Errorf("enable by AID: %d", r)
			}
		})
	}
}

func hexOf(b []byte) string {
	const digits = "0123456789ABCDEF"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

// TestProfileWithoutNotificationConfig: a Profile whose metadata asks for no notification gets
// none when enabled, disabled or deleted.
func TestProfileWithoutNotificationConfig(t *testing.T) {
	pki := testPKI(t, "nist", "main")
	card := newTestCard(t, cardConfig(pki, 0))
	srv := devServer(pki)
	md := metadataFor(iccid(0x13), srv.address)
	md.NotificationConfigurationInfo = nil
	install(t, card, srv, bindOptions{upp: syntheticUPP(iccid(0x13), 100), metadata: md})
	for _, tag := range []tlv.Tag{tagEnableProfile, tagDisableProfile, tagDeleteProfile} {
		if r := result(t, tag, card.call(es10c(tag, iccid(0x13)))); r != resultOK {
			t.Fatalf("%s: %d", tag, r)
		}
	}
	if n := len(card.notifications(t)); n != 1 {
		t.Errorf("%d notifications, want only the installation result", n)
	}
}

func TestNotifications(t *testing.T) {
	pki := testPKI(t, "nist", "main")
	card := newTestCard(t, cardConfig(pki, 0))
	srv := devServer(pki)
	install(t, card, srv, bindOptions{upp: syntheticUPP(iccid(0x14), 100)})
	card.call(es10c(tagEnableProfile, iccid(0x14)))
	card.call(es10c(tagDisableProfile, iccid(0x14)))
	list := card.notifications(t)
	if len(list) != 3 || list[0].SeqNumber != 1 || list[1].SeqNumber != 2 || list[2].SeqNumber != 3 {
		t.Fatalf("notifications %+v", list)
	}

	// ListNotification with a filter.
	filter := tlv.NamedBits(rsp.NotificationEnable, rsp.NotificationDisable)
	var lr rsp.ListNotificationResponse
	if err := lr.Unmarshal(card.call(mustMarshal(t, &rsp.ListNotificationRequest{ProfileManagementOperation: &filter}))); err != nil {
		t.Fatal(err)
	}
	if len(lr.NotificationMetadataList) != 2 || lr.NotificationMetadataList[0].SeqNumber != 2 {
		t.Errorf("filtered list %+v", lr.NotificationMetadataList)
	}

	// RetrieveNotificationsList: all, by operation, by an unknown sequence number.
	var rr rsp.RetrieveNotificationsListResponse
	if err := rr.Unmarshal(card.call(unhex("BF2B00"))); err != nil || len(rr.NotificationList) != 3 {
		t.Fatalf("retrieve all: %v %+v", err, rr)
	}
	install := tlv.NamedBits(rsp.NotificationInstall)
	if err := rr.Unmarshal(card.call(mustMarshal(t, &rsp.RetrieveNotificationsListRequest{ProfileManagementOperation: &install}))); err != nil ||
		len(rr.NotificationList) != 1 || rr.NotificationList[0].ProfileInstallationResult == nil {
		t.Fatalf("retrieve installs: %v %+v", err, rr)
	}
	seq := int64(42)
	if err := rr.Unmarshal(card.call(mustMarshal(t, &rsp.RetrieveNotificationsListRequest{SeqNumber: &seq}))); err != nil ||
		rr.NotificationsListResultError == nil || *rr.NotificationsListResultError != rsp.NotificationsListResultErrorNoResultAvailable {
		t.Fatalf("retrieve unknown: %v %+v", err, rr)
	}

	// NotificationSent removes one, once.
	sent := func(seq int64) int64 {
		var r rsp.NotificationSentResponse
		if err := r.Unmarshal(card.call(mustMarshal(t, &rsp.NotificationSentRequest{SeqNumber: seq}))); err != nil {
			t.Fatal(err)
		}
		return r.DeleteNotificationStatus
	}
	if s := sent(2); s != 0 {
		t.Errorf("remove 2: %d", s)
	}
	if s := sent(2); s != 1 {
		t.Errorf("remove 2 again: %d", s)
	}
	if list := card.notifications(t); len(list) != 2 || list[1].SeqNumber != 3 {
		t.Errorf("after removal: %+v", list)
	}
	// Sequence numbers keep growing.
	card.call(es10c(tagEnableProfile, iccid(0x14)))
	if list := card.notifications(t); list[len(list)-1].SeqNumber != 4 {
		t.Errorf("next sequence number %+v", list)
	}
}

func TestProfileInfoList(t *testing.T) {
	pki := testPKI(t, "nist", "main")
	card := newTestCard(t, cardConfig(pki, 0))
	srv := devServer(pki)
	install(t, card, srv, bindOptions{upp: syntheticUPP(iccid(0x15), 100)})
	op := rsp.ProfileClassOperational
	md := metadataFor(iccid(0x16), srv.address)
	md.ProfileClass = &op
	png := rsp.IconTypePNG
	md.IconType, md.Icon = &png, []byte{0x89, 'P', 'N', 'G'}
	install(t, card, srv, bindOptions{upp: syntheticUPP(iccid(0x16), 100), metadata: md})

	all := card.profiles(t, "BF2D00")
	if len(all) != 2 || all[1].IconType == nil || *all[1].IconType != png || !bytes.Equal(all[1].Icon, md.Icon) ||
		all[0].NotificationConfigurationInfo == nil {
		t.Fatalf("all: %+v", all)
	}
	byICCID := card.profiles(t, "BF2D0EA00C5A0A"+hexOf(iccid(0x16)))
	if len(byICCID) != 1 || !bytes.Equal(byICCID[0].Iccid, iccid(0x16)) {
		t.Errorf("by ICCID: %+v", byICCID)
	}
	byClass := card.profiles(t, "BF2D05A003950100") // test
	if len(byClass) != 1 || !bytes.Equal(byClass[0].Iccid, iccid(0x15)) {
		t.Errorf("by class: %+v", byClass)
	}
	byAID := card.profiles(t, "BF2D14A0124F10A0000005591010FFFFFFFF8900001100")
	if len(byAID) != 1 || !bytes.Equal(byAID[0].Iccid, iccid(0x16)) {
		t.Errorf("by AID: %+v", byAID)
	}
	tagged := card.profiles(t, "BF2D065C045A9F7092")
	for _, p := range tagged {
		if p.Iccid == nil || p.ProfileState == nil || p.ProfileName == nil || p.IsdpAid != nil || p.ServiceProviderName != nil || p.ProfileClass != nil {
			t.Errorf("tagList 5A 9F70 92: %+v", p)
		}
	}
	var r rsp.ProfileInfoListResponse
	if err := r.Unmarshal(card.call(unhex("BF2D035C01FF"))); err != nil || r.ProfileInfoListError == nil {
		t.Errorf("bad tagList: %v %+v", err, r)
	}

	// SetNickname.
	nick := "travel"
	req := tlv.NewBuilder(nil)
	req.AddTLV(tagSetNickname, func(b *tlv.Builder) { b.AddValue(0x5A, iccid(0x15)); b.AddUTF8(0x90, nick) })
	if r := result(t, tagSetNickname, card.call(req.BytesOrPanic())); r != resultOK {
		t.Fatalf("SetNickname: %d", r)
	}
	if p := card.profiles(t, "BF2D00")[0]; p.ProfileNickname == nil || *p.ProfileNickname != nick {
		t.Errorf("nickname %+v", p.ProfileNickname)
	}
	if r := result(t, tagSetNickname, card.call(unhex("BF29125A0A"+hexOf(iccid(0x55))+"900474657374"))); r != resultNotFound {
		t.Errorf("SetNickname of an unknown ICCID: %d", r)
	}
}

func TestEuiccInformation(t *testing.T) {
	for _, curve := range curves {
		t.Run(curve, func(t *testing.T) {
			pki := testPKI(t, curve, "main")
			cfg := cardConfig(pki, 0)
			cfg.CICertificates = append(cfg.CICertificates, testPKI(t, curve, "other").CI.Certificate)
			cfg.FreeNonVolatileMemory = 300000
			cfg.SVN = rsp.VersionType{2, 5, 0}
			card := newTestCard(t, cfg)
			ci, _ := certs.ParseCertificate(pki.CI.Certificate)
			other, _ := certs.ParseCertificate(cfg.CICertificates[1])

			var info1 rsp.EUICCInfo1
			if err := info1.Unmarshal(card.call(unhex("BF2000"))); err != nil {
				t.Fatal(err)
			}
			if info1.SVN != cfg.SVN || len(info1.EuiccCiPKIdListForVerification) != 2 ||
				!bytes.Equal(info1.EuiccCiPKIdListForVerification[1], other.SubjectKeyId) ||
				len(info1.EuiccCiPKIdListForSigning) != 1 || !bytes.Equal(info1.EuiccCiPKIdListForSigning[0], ci.SubjectKeyId) {
				t.Errorf("EUICCInfo1 %+v", info1)
			}
			var info2 rsp.EUICCInfo2
			if err := info2.Unmarshal(card.call(unhex("BF2200"))); err != nil {
				t.Fatal(err)
			}
			if info2.SVN != cfg.SVN || info2.ProfileVersion != DefaultProfileVersion ||
				!bytes.Equal(info2.ExtCardResource, unhex("810100"+"82030493E0"+"83024000")) ||
				info2.RspCapability.At(rsp.RspCapabilityTestProfileSupport) != 1 || info2.SasAcreditationNumber != DefaultSASAccreditationNumber {
				t.Errorf("EUICCInfo2 %+v, extCardResource %X", info2, info2.ExtCardResource)
			}

			resp := card.call(unhex("BF3E035C015A"))
			if !bytes.Equal(resp, append(unhex("BF3E125A10"), unhex(cfg.EID)...)) {
				t.Errorf("GetEuiccData %X", resp)
			}
		})
	}
}

func TestConfiguredAddressesAndRAT(t *testing.T) {
	pki := testPKI(t, "nist", "main")
	cfg := cardConfig(pki, 0)
	cfg.DefaultDpAddress = "smdp.example.com"
	card := newTestCard(t, cfg)
	if got := card.call(unhex("BF3C00")); !bytes.Equal(got, unhex("BF3C2C"+"8010"+hexOf([]byte("smdp.example.com"))+"8118"+hexOf([]byte(DefaultRootDsAddress)))) {
		t.Errorf("configured addresses %X", got)
	}
	set := tlv.NewBuilder(nil)
	set.AddTLV(tagSetDefaultDpAddress, func(b *tlv.Builder) { b.AddUTF8(0x80, "other.example.com") })
	if r := result(t, tagSetDefaultDpAddress, card.call(set.BytesOrPanic())); r != 0 {
		t.Errorf("SetDefaultDpAddress: %d", r)
	}
	if got := card.call(unhex("BF3C00")); !bytes.Contains(got, []byte("other.example.com")) {
		t.Errorf("configured addresses after set %X", got)
	}
	if got := card.call(unhex("BF4300")); !bytes.Equal(got, unhex("BF4302A000")) {
		t.Errorf("GetRAT %X", got)
	}
}

func TestMemoryReset(t *testing.T) {
	pki := testPKI(t, "nist", "main")
	cfg := cardConfig(pki, 0)
	cfg.DefaultDpAddress = "smdp.example.com"
	card := newTestCard(t, cfg)
	srv := devServer(pki)
	install(t, card, srv, bindOptions{upp: syntheticUPP(iccid(0x17), 100)}) // test class
	op := rsp.ProfileClassOperational
	md := metadataFor(iccid(0x19), srv.address)
	md.ProfileClass = &op
	install(t, card, srv, bindOptions{upp: syntheticUPP(iccid(0x19), 100), metadata: md})
	card.call(es10c(tagEnableProfile, iccid(0x19)))

	reset := func(bits ...int) int64 {
		b := tlv.NewBuilder(nil)
		b.AddTLV(tagEuiccMemoryReset, func(b *tlv.Builder) { b.AddBitString(0x82, tlv.NamedBits(bits...)) })
		return result(t, tagEuiccMemoryReset, card.call(b.BytesOrPanic()))
	}
	if r := reset(0); r != 0 {
		t.Fatalf("reset operational: %d", r)
	}
	if p := card.profiles(t, "BF2D00"); len(p) != 1 || !bytes.Equal(p[0].Iccid, iccid(0x17)) {
		t.Fatalf("after reset of operational Profiles: %+v", p)
	}
	if r := reset(0); r != 1 {
		t.Errorf("second reset: %d, want nothingToDelete", r)
	}
	if r := reset(1); r != 0 || len(card.profiles(t, "BF2D00")) != 0 {
		t.Errorf("reset test Profiles: %d", r)
	}
	if sw, _ := card.sw(unhex("BF3403820100")); sw != apdu.SWNoError {
		t.Errorf("empty reset options: %04X", sw)
	}
}
