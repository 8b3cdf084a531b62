package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/smdpp/smdpp/devpki"
	"github.com/smdpp/smdpp/hsm"
	"github.com/smdpp/smdpp/internal/testenv"
	"github.com/smdpp/smdpp/lpa"
	"github.com/smdpp/smdpp/store"
)

// TestServeWithHSMKeys: DPauth, DPpb and DPtls keys live in a PKCS#11 token (SoftHSM, set up by
// scripts/softhsm.sh) and the key files name them by URI; downloads work as with file keys.
func TestServeWithHSMKeys(t *testing.T) {
	module := testenv.PKCS11Module(t)
	token, pin := os.Getenv("SMDPP_TEST_PKCS11_TOKEN"), os.Getenv("SMDPP_TEST_PKCS11_PIN")
	if token == "" {
		token, pin = "smdpp-test", "1234"
	}
	dataDir := t.TempDir()
	pkiDir := filepath.Join(dataDir, "pki", "nist")
	p, err := devpki.Generate(devpki.Options{EUICCCount: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.WriteDir(pkiDir, false); err != nil {
		t.Fatal(err)
	}
	m, err := hsm.Open(module, token, pin)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	pinFile := filepath.Join(dataDir, "hsm.pin")
	os.WriteFile(pinFile, []byte(pin+"\n"), 0o600)
	var suffix [6]byte
	rand.Read(suffix[:])
	for name, c := range map[string]devpki.Credential{devpki.DPauthKeyFile: p.DPauth, devpki.DPpbKeyFile: p.DPpb, devpki.DPtlsKeyFile: p.DPtls} {
		label := name + "-" + hex.EncodeToString(suffix[:])
		if _, err := m.ImportKey(label, c.Key); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.DeleteKey(label) })
		uri := fmt.Sprintf("pkcs11:token=%s;object=%s;type=private?module-path=%s&pin-source=file:%s", token, label, module, pinFile)
		if err := os.WriteFile(filepath.Join(pkiDir, name), []byte(uri+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s := startServerAt(t, testenv.FreeAddr(t), dataDir)
	eid := p.EUICCs[0].EID
	iccid, code := s.order(t, "TS48V4-SAIP2-3-BERTLV-UNIQUE.der", "--eid", eid)
	res, err := s.download(t, "nist", eid, code, lpa.DownloadOptions{})
	if err != nil || !res.Installed {
		t.Fatalf("download: %v %+v", err, res)
	}
	if got := s.profileState(t, iccid); got != store.StateInstalled {
		t.Errorf("profile %s, want Installed", got)
	}
}
