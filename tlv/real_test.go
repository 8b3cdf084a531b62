package tlv

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRealDER walks DER that other software produced — every SGP.26 test certificate in
// testdata/certs (X.509, from the GSMA test PKI) and the Bound Profile Packages of four
// commercial SM-DP+s in testdata/rsp/bpp (BF36, with multi-octet tags BF36, BF23, 5F49, 5F37) —
// descending into every constructed element, and checks that the Builder rebuilds each file
// byte for byte.
func TestRealDER(t *testing.T) {
	var files []string
	err := filepath.WalkDir(filepath.Join("..", "testdata", "certs"), func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".der") {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	bpps, _ := filepath.Glob(filepath.Join("..", "testdata", "rsp", "bpp", "bpp@*.txt"))
	files = append(files, bpps...)
	if len(files) < 20 || len(bpps) != 4 {
		t.Fatalf("only %d files (%d BPPs) found under testdata", len(files), len(bpps))
	}
	for _, p := range files {
		t.Run(filepath.Base(filepath.Dir(p))+"/"+filepath.Base(p), func(t *testing.T) {
			in, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasSuffix(p, ".txt") {
				s := strings.TrimRight(strings.Join(strings.Fields(string(in)), ""), "=")
				if in, err = base64.RawStdEncoding.DecodeString(s); err != nil {
					t.Fatal(err)
				}
			}
			b := NewBuilder(nil)
			if !walk(String(in), b) {
				t.Fatal("not accepted as DER")
			}
			if out := b.BytesOrPanic(); !bytes.Equal(out, in) {
				t.Fatal("rebuilt differently")
			}
			s := String(in)
			var tag Tag
			if !s.ReadElement(&tag, nil) || !s.Empty() || (tag != TagSequence && tag != 0xBF36) {
				t.Fatalf("not one SEQUENCE or BF36 element (tag %s)", tag)
			}
		})
	}
}
