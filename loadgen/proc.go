package loadgen

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// ProcessSample is what /proc tells about a process at one moment.
type ProcessSample struct {
	PID int
	// CPU is utime + stime: the CPU time the process has used so far, user and kernel, in all
	// its threads.
	CPU time.Duration
	// RSS is VmRSS, the resident memory; HWM is VmHWM, its peak.
	RSS, HWM int64
}

// clockTick is the unit of utime and stime in /proc/<pid>/stat: USER_HZ, 100 on every Linux
// architecture Go supports.
const clockTick = 10 * time.Millisecond

// ReadProcess samples process pid from /proc/<pid>/stat and /proc/<pid>/status (Linux).
func ReadProcess(pid int) (ProcessSample, error) {
	s := ProcessSample{PID: pid}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, fmt.Errorf("loadgen: reading the server process: %w", err)
	}
	if s.CPU, err = parseStatCPU(stat); err != nil {
		return s, fmt.Errorf("loadgen: /proc/%d/stat: %w", pid, err)
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, fmt.Errorf("loadgen: reading the server process: %w", err)
	}
	s.RSS = statusKB(status, "VmRSS:")
	s.HWM = statusKB(status, "VmHWM:")
	return s, nil
}

// parseStatCPU reads fields 14 (utime) and 15 (stime) of /proc/<pid>/stat. The command name,
// field 2, is in parentheses and may hold spaces, so fields are counted after its last ')'.
func parseStatCPU(stat []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("no command name")
	}
	fields := strings.Fields(string(stat[i+1:]))
	// fields[0] is field 3 (state); utime is field 14, stime field 15.
	if len(fields) < 13 {
		return 0, fmt.Errorf("%d fields", len(fields)+2)
	}
	var ticks int64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, err
		}
		ticks += n
	}
	return time.Duration(ticks) * clockTick, nil
}

// statusKB returns a "Name:   123 kB" line of /proc/<pid>/status in bytes, or 0.
func statusKB(status []byte, name string) int64 {
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, name); ok {
			f := strings.Fields(rest)
			if len(f) == 0 {
				return 0
			}
			n, _ := strconv.ParseInt(f[0], 10, 64)
			return n * 1024
		}
	}
	return 0
}

// MachineCPU returns the CPU time all processes of this machine have used so far (user, nice,
// system, irq, softirq and steal of the "cpu" line of /proc/stat; idle and iowait left out).
// Over a run, it less the server's and the load generator's is what other work took from them.
func MachineCPU() (time.Duration, error) {
	stat, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	return parseMachineCPU(stat)
}

func parseMachineCPU(stat []byte) (time.Duration, error) {
	line, _, _ := strings.Cut(string(stat), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, fmt.Errorf("loadgen: /proc/stat has no cpu line")
	}
	var ticks int64
	for _, i := range []int{1, 2, 3, 6, 7, 8} { // user nice system irq softirq steal
		n, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("loadgen: /proc/stat: %w", err)
		}
		ticks += n
	}
	return time.Duration(ticks) * clockTick, nil
}
