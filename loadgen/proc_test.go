package loadgen

import (
	"os"
	"runtime"
	"testing"
	"time"
)

func TestParseStatCPU(t *testing.T) {
	tests := []struct {
		name string
		stat string
		want time.Duration
		ok   bool
	}{
		{"plain", "1234 (smdpp) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 8 0 100 0 0", 3 * time.Second, true},
		{"name with spaces and parens", "99 (my (odd) name) R 1 2 3 4 5 6 7 8 9 10 7 3 0 0", 100 * time.Millisecond, true},
		{"no name", "1234 smdpp S 1", 0, false},
		{"too few fields", "1 (x) S 1 2 3", 0, false},
		{"not a number", "1 (x) S 1 2 3 4 5 6 7 8 9 10 x 3 0", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseStatCPU([]byte(tc.stat))
			if (err == nil) != tc.ok || got != tc.want {
				t.Errorf("parseStatCPU = %v, %v; want %v, ok=%v", got, err, tc.want, tc.ok)
			}
		})
	}
}

func TestReadProcess(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/proc is Linux's")
	}
	s, err := ReadProcess(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if s.RSS <= 0 || s.HWM < s.RSS {
		t.Errorf("RSS %d HWM %d", s.RSS, s.HWM)
	}
	if _, err := ReadProcess(1 << 30); err == nil {
		t.Error("a process that cannot exist was read")
	}
	if got := statusKB([]byte("Name:\tx\nVmRSS:\t  2048 kB\n"), "VmRSS:"); got != 2048*1024 {
		t.Errorf("statusKB = %d", got)
	}
	if got := statusKB([]byte("Name:\tx\n"), "VmRSS:"); got != 0 {
		t.Errorf("statusKB of a missing line = %d", got)
	}
}

func TestParseMachineCPU(t *testing.T) {
	got, err := parseMachineCPU([]byte("cpu  100 5 50 9999 77 1 2 3 0 0\ncpu0 1 2 3 4 5 6 7 8 9 10\n"))
	if err != nil || got != 161*clockTick {
		t.Errorf("parseMachineCPU = %v, %v; want %v", got, err, 161*clockTick)
	}
	for _, bad := range []string{"", "intr 1 2 3", "cpu 1 2 3", "cpu 1 2 x 4 5 6 7 8 9"} {
		if _, err := parseMachineCPU([]byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
