package loadgen

import (
	"syscall"
	"time"
)

// rusageThread is RUSAGE_THREAD (Linux): the calling thread only.
const rusageThread = 1

// threadCPU returns the CPU time (user and system) of the calling OS thread; the caller locks
// itself to its thread.
func threadCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// haveThreadCPU reports whether threadCPU measures CPU time rather than nothing.
const haveThreadCPU = true
