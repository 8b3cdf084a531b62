//go:build linux

package faulttest

import "syscall"

// childAttr makes a child process die with the test binary (should the test be killed on a
// timeout), so no server or Redis outlives it.
func childAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} }
