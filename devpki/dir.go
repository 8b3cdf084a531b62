package devpki

import (
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/smdpp/smdpp/certs"
)

// File names of the directory layout [PKI.WriteDir] writes, relative to its directory.
const (
	CICertFile     = "ci.crt"
	CIKeyFile      = "ci.key"
	DPauthCertFile = "dpauth.crt"
	DPauthKeyFile  = "dpauth.key"
	DPpbCertFile   = "dppb.crt"
	DPpbKeyFile    = "dppb.key"
	DPtlsCertFile  = "dptls.crt" // the DPtls leaf only, without the CI
	DPtlsKeyFile   = "dptls.key"
	EUMCertFile    = "eum.crt"
	EUMKeyFile     = "eum.key"
	EUICCDir       = "euicc" // holds <EID>.crt and <EID>.key per eUICC

	CertSuffix = ".crt"
	KeySuffix  = ".key"
)

// File modes of the layout.
const (
	CertMode fs.FileMode = 0o644
	KeyMode  fs.FileMode = 0o600
	DirMode  fs.FileMode = 0o700 // for directories WriteDir creates
)

// EUICCCertFile is the layout path of an eUICC's certificate, euicc/<EID>.crt.
func EUICCCertFile(eid string) string { return filepath.Join(EUICCDir, eid+CertSuffix) }

// EUICCKeyFile is the layout path of an eUICC's private key, euicc/<EID>.key.
func EUICCKeyFile(eid string) string { return filepath.Join(EUICCDir, eid+KeySuffix) }

// fixedFiles are the layout's files outside EUICCDir.
var fixedFiles = []string{
	CICertFile, CIKeyFile, DPauthCertFile, DPauthKeyFile, DPpbCertFile, DPpbKeyFile,
	DPtlsCertFile, DPtlsKeyFile, EUMCertFile, EUMKeyFile,
}

// Exists reports whether dir already holds any part of a PKI: one of the fixed files of the layout,
// or a certificate or key in its euicc directory. A file whose presence cannot be determined (for
// example because of permissions) counts as present.
func Exists(dir string) bool {
	_, found := existing(dir)
	return found
}

// existing returns the first layout file found in dir.
func existing(dir string) (string, bool) {
	for _, f := range fixedFiles {
		if _, err := os.Lstat(filepath.Join(dir, f)); !errors.Is(err, fs.ErrNotExist) {
			return f, true
		}
	}
	entries, err := os.ReadDir(filepath.Join(dir, EUICCDir))
	if errors.Is(err, fs.ErrNotExist) {
		return "", false
	}
	if err != nil {
		return EUICCDir, true
	}
	for _, e := range entries {
		if isEUICCFile(e.Name()) {
			return filepath.Join(EUICCDir, e.Name()), true
		}
	}
	return "", false
}

func isEUICCFile(base string) bool {
	return strings.HasSuffix(base, CertSuffix) || strings.HasSuffix(base, KeySuffix)
}

// ErrExists is returned (wrapped) by [PKI.WriteDir] when the directory already holds a PKI and
// overwriting was not asked for. It matches fs.ErrExist with errors.Is.
var ErrExists = fmt.Errorf("devpki: directory already holds a PKI: %w", fs.ErrExist)

// WriteDir writes the PKI into dir in the documented layout (see the package documentation):
// PEM certificates with mode 0644 and PEM SEC 1 keys with mode 0600, each written to a temporary
// file and renamed into place. dir and its euicc subdirectory are created (mode 0700) if missing.
//
// If dir already holds any part of a PKI ([Exists]), WriteDir fails with [ErrExists] unless
// overwrite is set; with overwrite, every file of the layout is replaced and eUICC certificates and
// keys not belonging to this PKI are removed from the euicc directory.
func (p *PKI) WriteDir(dir string, overwrite bool) error {
	if f, found := existing(dir); found && !overwrite {
		return fmt.Errorf("devpki: writing PKI to %s: %s exists: %w", dir, f, ErrExists)
	}
	if err := os.MkdirAll(filepath.Join(dir, EUICCDir), DirMode); err != nil {
		return fmt.Errorf("devpki: writing PKI: %w", err)
	}

	files := []struct {
		cert, key string
		cred      Credential
	}{
		{CICertFile, CIKeyFile, p.CI},
		{DPauthCertFile, DPauthKeyFile, p.DPauth},
		{DPpbCertFile, DPpbKeyFile, p.DPpb},
		{DPtlsCertFile, DPtlsKeyFile, p.DPtls},
		{EUMCertFile, EUMKeyFile, p.EUM},
	}
	keep := make(map[string]bool, 2*len(p.EUICCs))
	for _, e := range p.EUICCs {
		if len(e.EID) != certs.EIDLength || !isDigits(e.EID) {
			return fmt.Errorf("devpki: writing PKI: eUICC EID %q is not %d digits", e.EID, certs.EIDLength)
		}
		files = append(files, struct {
			cert, key string
			cred      Credential
		}{EUICCCertFile(e.EID), EUICCKeyFile(e.EID), e.Credential})
		keep[e.EID+CertSuffix], keep[e.EID+KeySuffix] = true, true
	}

	if overwrite {
		entries, err := os.ReadDir(filepath.Join(dir, EUICCDir))
		if err != nil {
			return fmt.Errorf("devpki: writing PKI: %w", err)
		}
		for _, e := range entries {
			if isEUICCFile(e.Name()) && !keep[e.Name()] && e.Type().IsRegular() {
				if err := os.Remove(filepath.Join(dir, EUICCDir, e.Name())); err != nil {
					return fmt.Errorf("devpki: removing stale eUICC file: %w", err)
				}
			}
		}
	}

	for _, f := range files {
		if f.cred.Key == nil || len(f.cred.Certificate) == 0 {
			return fmt.Errorf("devpki: writing PKI: %s has no certificate or key", f.cert)
		}
		keyPEM, err := certs.MarshalPrivateKeyPEM(f.cred.Key)
		if err != nil {
			return fmt.Errorf("devpki: encoding %s: %w", f.key, err)
		}
		if err := writeFile(filepath.Join(dir, f.key), keyPEM, KeyMode); err != nil {
			return err
		}
		certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.cred.Certificate})
		if err := writeFile(filepath.Join(dir, f.cert), certPEM, CertMode); err != nil {
			return err
		}
	}
	return nil
}

// writeFile writes data to path with exactly mode (umask does not apply), through a temporary file
// in the same directory renamed into place.
func writeFile(path string, data []byte, mode fs.FileMode) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("devpki: writing %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(mode); err != nil {
		return fmt.Errorf("devpki: writing %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("devpki: writing %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("devpki: writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("devpki: writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("devpki: writing %s: %w", path, err)
	}
	return nil
}
