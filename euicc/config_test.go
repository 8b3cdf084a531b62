package euicc

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/json"
	"strings"
	"testing"

	"github.com/smdpp/smdpp/rsp"
)

func TestNewRefusesInconsistentIdentity(t *testing.T) {
	pki := testPKI(t, "nist", "main")
	other := testPKI(t, "nist", "other")
	bp := testPKI(t, "brainpool", "main")
	tests := []struct {
		name   string
		change func(c *Config)
		want   string
	}{
		{"no EID", func(c *Config) { c.EID = "" }, "EID"},
		{"EID not digits", func(c *Config) { c.EID = strings.Repeat("x", 32) }, "EID"},
		{"EID of another card", func(c *Config) { c.EID = pki.EUICCs[1].EID }, "EID"},
		{"key of another card", func(c *Config) { c.Key = pki.EUICCs[1].Key }, "private key"},
		{"no key", func(c *Config) { c.Key = nil }, "private key"},
		{"certificate garbage", func(c *Config) { c.Certificate = []byte{0x30, 0x00} }, "eUICC certificate"},
		{"EUM of another PKI", func(c *Config) { c.EUMCertificate = other.EUM.Certificate }, "EUM"},
		{"CI of another PKI", func(c *Config) { c.CICertificates = [][]byte{other.CI.Certificate} }, "CI"},
		{"CI of the other curve", func(c *Config) { c.CICertificates = [][]byte{bp.CI.Certificate} }, "CI"},
		{"no CI", func(c *Config) { c.CICertificates = nil }, "CI"},
		{"negative memory", func(c *Config) { c.FreeNonVolatileMemory = -1 }, "negative"},
		{"long SAS number", func(c *Config) { c.SASAccreditationNumber = strings.Repeat("a", 65) }, "SAS"},
		{"state with garbage metadata", func(c *Config) {
			c.State = &State{Profiles: []Profile{{ICCID: iccid(1), AID: make([]byte, 16), Metadata: []byte{0xBF, 0x25, 0x00}}}}
		}, "state"},
		{"state with a bad notification", func(c *Config) {
			c.State = &State{Notifications: []Notification{{SeqNumber: 1, Pending: []byte{0x30, 0x00}}}}
		}, "state"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := cardConfig(pki, 0)
			tt.change(&cfg)
			_, err := New(cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New: %v, want an error about %q", err, tt.want)
			}
		})
	}
}

func TestLoadDir(t *testing.T) {
	for _, curve := range curves {
		t.Run(curve, func(t *testing.T) {
			pki := testPKI(t, curve, "main")
			dir := t.TempDir()
			if err := pki.WriteDir(dir, false); err != nil {
				t.Fatal(err)
			}
			eid := pki.EUICCs[1].EID
			cfg, err := LoadDir(dir, eid)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.EID != eid || !bytes.Equal(cfg.Certificate, pki.EUICCs[1].Certificate) ||
				!cfg.Key.(*ecdsa.PrivateKey).Equal(pki.EUICCs[1].Key) {
				t.Fatal("LoadDir loaded another identity")
			}
			cfg.Now = cardConfig(pki, 1).Now
			card := newTestCard(t, cfg)
			install(t, card, devServer(pki), bindOptions{upp: syntheticUPP(iccid(0x81), 100)})

			if _, err := LoadDir(dir, "89049999000000000000000000000000"); err == nil {
				t.Error("LoadDir of an unknown EID succeeded")
			}
			if _, err := LoadDir(dir, "123"); err == nil {
				t.Error("LoadDir of a malformed EID succeeded")
			}
		})
	}
	if _, err := LoadSGP26(sgp26Dir, "p384"); err == nil {
		t.Error("LoadSGP26 of an unknown curve succeeded")
	}
	if _, err := LoadSGP26(t.TempDir(), "nist"); err == nil {
		t.Error("LoadSGP26 of an empty directory succeeded")
	}
}

// TestState saves a card's content through JSON and starts a new card from it.
func TestState(t *testing.T) {
	pki := testPKI(t, "nist", "main")
	cfg := cardConfig(pki, 0)
	card := newTestCard(t, cfg)
	srv := devServer(pki)
	install(t, card, srv, bindOptions{upp: syntheticUPP(iccid(0x91), 1000)})
	install(t, card, srv, bindOptions{upp: syntheticUPP(iccid(0x92), 1000)})
	card.call(es10c(tagEnableProfile, iccid(0x92)))
	card.call(unhex("BF290F5A0A" + hexOf(iccid(0x91)) + "900161"))
	free := card.freeMemory()

	data, err := json.Marshal(card.isdr.State())
	if err != nil {
		t.Fatal(err)
	}
	var st State
	if err := json.Unmarshal(data, &st); err != nil {
		t.Fatal(err)
	}
	cfg.State = &st
	again := newTestCard(t, cfg)
	before, after := card.profiles(t, "BF2D00"), again.profiles(t, "BF2D00")
	if len(after) != 2 || !bytes.Equal(mustMarshal(t, &rsp.ProfileInfoListResponse{ProfileInfoListOk: before}),
		mustMarshal(t, &rsp.ProfileInfoListResponse{ProfileInfoListOk: after})) {
		t.Errorf("profiles after restore %+v, before %+v", after, before)
	}
	if again.freeMemory() != free {
		t.Error("free memory changed across restore")
	}
	n1, n2 := card.notifications(t), again.notifications(t)
	if len(n2) != len(n1) {
		t.Fatalf("notifications after restore %+v", n2)
	}
	// Sequence numbers go on; the ISD-P AID of a new Profile does not collide.
	_, pir := install(t, again, srv, bindOptions{upp: syntheticUPP(iccid(0x93), 100)})
	data2 := pir.ProfileInstallationResultData
	if data2.NotificationMetadata.SeqNumber != n1[len(n1)-1].SeqNumber+1 {
		t.Errorf("sequence number %d after restore", data2.NotificationMetadata.SeqNumber)
	}
	if bytes.Equal(data2.SuccessResult.AID, before[0].IsdpAid) || bytes.Equal(data2.SuccessResult.AID, before[1].IsdpAid) {
		t.Error("ISD-P AID reused")
	}

	// Two enabled Profiles cannot be restored.
	st.Profiles[0].Enabled, st.Profiles[1].Enabled = true, true
	if _, err := New(cfg); err == nil {
		t.Error("state with two enabled Profiles accepted")
	}
}

// TestFresh: a card from Fresh has the identity of its template and none of its content, and
// downloads like a card from New.
func TestFresh(t *testing.T) {
	pki := testPKI(t, "nist", "main")
	card := newTestCard(t, cardConfig(pki, 0))
	srv := devServer(pki)
	install(t, card, srv, bindOptions{upp: syntheticUPP(iccid(0x91), 1000)})
	free := card.freeMemory()

	fresh := wrapCard(t, card.isdr.Fresh())
	if fresh.isdr.EID() != card.isdr.EID() {
		t.Errorf("EID %s, want %s", fresh.isdr.EID(), card.isdr.EID())
	}
	if ps := fresh.profiles(t, "BF2D00"); len(ps) != 0 {
		t.Errorf("fresh card holds %d profiles", len(ps))
	}
	if n := fresh.notifications(t); len(n) != 0 {
		t.Errorf("fresh card holds %d notifications", len(n))
	}
	if fresh.freeMemory() <= free {
		t.Errorf("fresh card's free memory %d, not more than the used card's %d", fresh.freeMemory(), free)
	}
	_, pir := install(t, fresh, srv, bindOptions{upp: syntheticUPP(iccid(0x91), 1000)})
	if pir.ProfileInstallationResultData.NotificationMetadata.SeqNumber != 1 {
		t.Errorf("first notification of the fresh card has seqNumber %d", pir.ProfileInstallationResultData.NotificationMetadata.SeqNumber)
	}
	if ps := card.profiles(t, "BF2D00"); len(ps) != 1 {
		t.Errorf("the template card now holds %d profiles", len(ps))
	}
}
