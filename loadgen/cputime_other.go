//go:build !linux

package loadgen

import "time"

// threadCPU is not available here; MeasureFloor falls back to wall-clock time on one thread.
func threadCPU() time.Duration { return 0 }

const haveThreadCPU = false
