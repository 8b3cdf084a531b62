//go:build unix && !linux

package faulttest

import "syscall"

// childAttr: only Linux can tie a child's life to the test binary's.
func childAttr() *syscall.SysProcAttr { return nil }
