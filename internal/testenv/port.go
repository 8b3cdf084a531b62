package testenv

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
)

// FreeAddr returns a loopback address nothing listens on, for a server process a test starts
// (and may restart on the same address). The port comes from below the kernel's ephemeral
// range: a port from 127.0.0.1:0 is ephemeral, and between the probe and the server's bind any
// outgoing connection of the machine — other test packages talk to PostgreSQL, Redis and their
// own servers all the time — may take it as its local port ("address already in use").
func FreeAddr(t testing.TB) string {
	t.Helper()
	low := ephemeralLow()
	for range 100 {
		port := 10000 + rand.IntN(max(low-10000, 1))
		if low <= 10000 {
			port = 0 // no room below the ephemeral range: let the kernel choose
		}
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue
		}
		addr := ln.Addr().String()
		ln.Close()
		return addr
	}
	t.Fatal("testenv: no free loopback port found")
	return ""
}

// ephemeralLow is the first port of the kernel's ephemeral range (Linux; 32768 elsewhere).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	var low, high int
	if _, err := fmt.Sscan(strings.TrimSpace(string(b)), &low, &high); err != nil {
		return 32768
	}
	return low
}
