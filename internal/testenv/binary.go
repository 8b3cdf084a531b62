package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/smdpp/smdpp/activation"
)

// RunWithSmdpp is TestMain for packages whose tests run the server as a process: it builds
// cmd/smdpp (pkgDir is its path from the test's package) into a temporary directory, sets *binary
// to its path, runs the tests and removes it again. It does not return.
func RunWithSmdpp(m *testing.M, pkgDir string, binary *string) {
	dir, err := os.MkdirTemp("", "smdpp-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	*binary = filepath.Join(dir, "smdpp")
	code := 1
	if out, err := exec.Command("go", "build", "-o", *binary, pkgDir).CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building smdpp: %v\n%s", err, out)
	} else {
		code = m.Run()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

var activationRE = regexp.MustCompile(`activation code (LPA:\S+)`)

// ParseOrderCreate reads the output of `smdpp order create`: the ICCID and the activation code.
func ParseOrderCreate(t testing.TB, out []byte) (string, activation.Code) {
	t.Helper()
	m := activationRE.FindSubmatch(out)
	if m == nil {
		t.Fatalf("no activation code in %q", out)
	}
	code, err := activation.Parse(string(m[1]))
	if err != nil {
		t.Fatal(err)
	}
	iccid := strings.TrimPrefix(strings.SplitN(string(out), "\n", 2)[0], "iccid ")
	return iccid, code
}
