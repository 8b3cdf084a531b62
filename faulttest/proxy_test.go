//go:build unix

package faulttest

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"path"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// stage is where in its journey through the proxy an ES9+ request is.
type stage int

const (
	// beforeForward: the request is in the proxy and not yet sent to the server.
	beforeForward stage = iota
	// forwarded: the whole request has just been written to the server, whose answer is not in.
	forwarded
	// answered: the server's whole answer is in the proxy, not yet relayed to the LPA.
	answered
)

func (s stage) String() string {
	return [...]string{"beforeForward", "forwarded", "answered"}[s]
}

// hook is called at each stage of the nth request (from 1) to an ES9+ function. Returning true
// makes the proxy answer 502 Bad Gateway instead of relaying the server's answer, as a load
// balancer does when the server dies under a request.
type hook func(function string, n int, st stage) (fail bool)

// proxy stands between the LPA and the server as a TLS-terminating load balancer would: it
// presents the server's own DPtls certificate, forwards each request on a new connection, and
// lets the test act at each stage of each ES9+ request (kill the server right after forwarding
// request N, lose an answer, stop a database). TLS hides the requests from a plain TCP relay, so
// the proxy terminates it to see which function each request calls.
type proxy struct {
	addr string
	srv  *http.Server

	mu       sync.Mutex
	upstream string
	hook     hook
	counts   map[string]int
	events   []string // what happened to each request, for failure messages
}

// startProxy listens on a free loopback port; setUpstream names the server before the first
// request.
func startProxy(t *testing.T) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{addr: ln.Addr().String(), counts: map[string]int{}}
	p.srv = &http.Server{Handler: p, TLSConfig: &tls.Config{Certificates: []tls.Certificate{dptls}}}
	go p.srv.ServeTLS(ln, "", "")
	t.Cleanup(func() { p.srv.Close() })
	return p
}

func (p *proxy) setUpstream(addr string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.upstream = addr
}

// setHook installs h (nil: none) and restarts the per-function counts.
func (p *proxy) setHook(h hook) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hook, p.counts = h, map[string]int{}
}

func (p *proxy) log() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.events...)
}

func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fn := path.Base(r.URL.Path)
	p.mu.Lock()
	p.counts[fn]++
	n, h, upstream := p.counts[fn], p.hook, p.upstream
	p.mu.Unlock()
	call := func(st stage) bool { return h != nil && h(fn, n, st) }
	note := func(what string) {
		p.mu.Lock()
		p.events = append(p.events, fmt.Sprintf("%s#%d: %s", fn, n, what))
		p.mu.Unlock()
	}
	fail := func(why string) {
		note("502 " + why)
		http.Error(w, "bad gateway: "+why, http.StatusBadGateway)
	}

	body, err := io.ReadAll(r.Body)
	if err != nil {
		fail("reading the request: " + err.Error())
		return
	}
	if call(beforeForward) {
		fail("fault before forwarding")
		return
	}
	// WroteRequest runs on the transport's writer as soon as the request is out; the hook may
	// kill the server there, before it has had the time to answer.
	wrote := make(chan bool, 1)
	var connected atomic.Bool
	trace := &httptrace.ClientTrace{
		GotConn: func(httptrace.GotConnInfo) { connected.Store(true) },
		WroteRequest: func(info httptrace.WroteRequestInfo) {
			v := info.Err == nil && call(forwarded)
			select {
			case wrote <- v:
			default:
			}
		},
	}
	ctx := httptrace.WithClientTrace(context.WithoutCancel(r.Context()), trace)
	req, err := http.NewRequestWithContext(ctx, r.Method, "https://"+upstream+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		fail(err.Error())
		return
	}
	req.Header = r.Header.Clone()
	resp, err := directClient().Do(req)
	var data []byte
	if err == nil {
		data, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	failedAfterForward := false
	if connected.Load() {
		// Once connected the request is written (or fails to be), so the hook has run or will;
		// it may take a while, restarting the server.
		select {
		case failedAfterForward = <-wrote:
		case <-time.After(2 * time.Minute):
			fail("the forwarded hook never returned")
			return
		}
	}
	switch {
	case failedAfterForward:
		fail("fault after forwarding")
		return
	case err != nil:
		fail("server: " + err.Error())
		return
	case call(answered):
		fail("fault after the answer")
		return
	}
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	w.Write(data)
	note(fmt.Sprintf("%d", resp.StatusCode))
}
