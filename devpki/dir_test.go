package devpki

import (
	"bytes"
	"encoding/pem"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/smdpp/smdpp/certs"
)

// layoutFiles lists the files WriteDir must write for p, relative to the directory.
func layoutFiles(p *PKI) map[string]Credential {
	m := map[string]Credential{
		CICertFile: p.CI, CIKeyFile: p.CI,
		DPauthCertFile: p.DPauth, DPauthKeyFile: p.DPauth,
		DPpbCertFile: p.DPpb, DPpbKeyFile: p.DPpb,
		DPtlsCertFile: p.DPtls, DPtlsKeyFile: p.DPtls,
		EUMCertFile: p.EUM, EUMKeyFile: p.EUM,
	}
	for _, e := range p.EUICCs {
		m[EUICCCertFile(e.EID)], m[EUICCKeyFile(e.EID)] = e.Credential, e.Credential
	}
	return m
}

// checkDir checks that dir holds exactly p in the layout: PEM blocks of the right type and content,
// and the right modes.
func checkDir(t *testing.T, dir string, p *PKI) {
	t.Helper()
	want := layoutFiles(p)
	var got []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		got = append(got, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var wantNames []string
	for n := range want {
		wantNames = append(wantNames, n)
	}
	slices.Sort(got)
	slices.Sort(wantNames)
	if !slices.Equal(got, wantNames) {
		t.Fatalf("files\n %v\nwant\n %v", got, wantNames)
	}
	for name, cred := range want {
		path := filepath.Join(dir, name)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		block, rest := pem.Decode(data)
		if block == nil || len(bytes.TrimSpace(rest)) != 0 {
			t.Errorf("%s: not exactly one PEM block", name)
			continue
		}
		switch filepath.Ext(name) {
		case CertSuffix:
			if block.Type != "CERTIFICATE" || !bytes.Equal(block.Bytes, cred.Certificate) {
				t.Errorf("%s: PEM %q does not hold the certificate", name, block.Type)
			}
			if info.Mode().Perm() != CertMode {
				t.Errorf("%s: mode %v, want %v", name, info.Mode().Perm(), CertMode)
			}
		case KeySuffix:
			key, err := certs.ParsePrivateKeyPEM(data)
			if block.Type != "EC PRIVATE KEY" || err != nil || !key.Equal(cred.Key) {
				t.Errorf("%s: PEM %q does not hold the key (%v)", name, block.Type, err)
			}
			if info.Mode().Perm() != KeyMode {
				t.Errorf("%s: mode %v, want %v", name, info.Mode().Perm(), KeyMode)
			}
		}
	}
}

func TestWriteDir(t *testing.T) {
	for _, curve := range curves {
		t.Run(curve, func(t *testing.T) {
			p := generate(t, curve, testNow)
			dir := filepath.Join(t.TempDir(), "pki") // WriteDir creates it
			if Exists(dir) {
				t.Fatal("Exists on a missing directory")
			}
			if err := p.WriteDir(dir, false); err != nil {
				t.Fatal(err)
			}
			checkDir(t, dir, p)
			if !Exists(dir) {
				t.Error("Exists is false after WriteDir")
			}
			if info, err := os.Stat(filepath.Join(dir, EUICCDir)); err != nil || info.Mode().Perm() != DirMode {
				t.Errorf("euicc directory: %v %v", info, err)
			}
		})
	}
}

func TestWriteDirRefusesExisting(t *testing.T) {
	p := generate(t, "nist", testNow)
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string)
	}{
		{"whole PKI", func(t *testing.T, dir string) {
			if err := generate(t, "nist", testNow).WriteDir(dir, false); err != nil {
				t.Fatal(err)
			}
		}},
		{"only a CI key", func(t *testing.T, dir string) { touch(t, filepath.Join(dir, CIKeyFile)) }},
		{"only an eUICC certificate", func(t *testing.T, dir string) {
			touch(t, filepath.Join(dir, EUICCCertFile("89049999000000000000000000000000")))
		}},
		{"dangling symlink", func(t *testing.T, dir string) {
			if err := os.Symlink("nowhere", filepath.Join(dir, DPtlsCertFile)); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tt.setup(t, dir)
			before := snapshot(t, dir)
			if !Exists(dir) {
				t.Error("Exists is false")
			}
			err := p.WriteDir(dir, false)
			if !errors.Is(err, ErrExists) || !errors.Is(err, fs.ErrExist) {
				t.Fatalf("WriteDir error %v, want ErrExists", err)
			}
			if after := snapshot(t, dir); !maps.Equal(before, after) {
				t.Error("a refused WriteDir changed the directory")
			}
		})
	}

	t.Run("unrelated files do not count", func(t *testing.T) {
		dir := t.TempDir()
		touch(t, filepath.Join(dir, "README"))
		touch(t, filepath.Join(dir, EUICCDir, "notes.txt"))
		if Exists(dir) {
			t.Error("Exists counts files outside the layout")
		}
		if err := p.WriteDir(dir, false); err != nil {
			t.Fatal(err)
		}
	})
}

func TestWriteDirOverwrite(t *testing.T) {
	dir := t.TempDir()
	old := generate(t, "brainpool", testNow)
	if err := old.WriteDir(dir, false); err != nil {
		t.Fatal(err)
	}
	// A loosened key mode must be restored; an unrelated file must survive.
	if err := os.Chmod(filepath.Join(dir, CIKeyFile), 0o666); err != nil {
		t.Fatal(err)
	}
	touch(t, filepath.Join(dir, EUICCDir, "notes.txt"))

	p, err := Generate(Options{Curve: "nist", Now: testNow, EUICCCount: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.WriteDir(dir, true); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, EUICCDir, "notes.txt")); err != nil {
		t.Errorf("unrelated file removed: %v", err)
	}
	checkDir(t, dir, p) // also proves the old eUICC files are gone
}

func TestWriteDirErrors(t *testing.T) {
	p := generate(t, "nist", testNow)
	t.Run("directory is a file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "file")
		touch(t, path)
		if err := p.WriteDir(path, true); err == nil {
			t.Error("WriteDir into a regular file succeeded")
		}
	})
	t.Run("missing key", func(t *testing.T) {
		broken := *p
		broken.DPpb.Key = nil
		if err := broken.WriteDir(t.TempDir(), false); err == nil {
			t.Error("WriteDir without a DPpb key succeeded")
		}
	})
	t.Run("bad EID", func(t *testing.T) {
		broken := *p
		broken.EUICCs = []EUICC{{EID: "../../etc/passwd", Credential: p.EUICCs[0].Credential}}
		if err := broken.WriteDir(t.TempDir(), false); err == nil {
			t.Error("WriteDir with a path as EID succeeded")
		}
	})
}

func touch(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
}

func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			m[path] = string(data)
		} else {
			m[path] = d.Type().String()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}
