//go:build unix

package faulttest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/smdpp/smdpp/internal/testenv"
)

// redisServer is a private redis-server the test can kill and start again, empty, on the same
// port: without persistence, as scripts/services.sh runs it, so a restart loses every session.
type redisServer struct {
	bin, addr, dir string
	cmd            *exec.Cmd
	exited         chan struct{}
}

func startRedis(t *testing.T) *redisServer {
	t.Helper()
	r := &redisServer{bin: requireBinary(t, "redis-server"), addr: testenv.FreeAddr(t), dir: t.TempDir()}
	if err := r.start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.kill() })
	return r
}

func (r *redisServer) url() string { return "redis://" + r.addr + "/0" }

func (r *redisServer) start() error {
	_, port, _ := net.SplitHostPort(r.addr)
	r.cmd = exec.Command(r.bin, "--bind", "127.0.0.1", "--port", port, "--save", "", "--appendonly", "no",
		"--dir", r.dir, "--logfile", filepath.Join(r.dir, "redis.log"))
	r.cmd.SysProcAttr = childAttr()
	if err := r.cmd.Start(); err != nil {
		return err
	}
	r.exited = make(chan struct{})
	go func(cmd *exec.Cmd, exited chan struct{}) { cmd.Wait(); close(exited) }(r.cmd, r.exited)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if r.ping() == nil {
			return nil
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(r.dir, "redis.log"))
			return fmt.Errorf("redis-server on %s not answering: %v\n%s", r.addr, r.ping(), log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ping sends PING in the Redis protocol and expects +PONG.
func (r *redisServer) ping() error {
	c, err := net.DialTimeout("tcp", r.addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if strings.TrimSpace(line) != "+PONG" {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}

// kill ends redis-server with SIGKILL.
func (r *redisServer) kill() {
	if r.cmd == nil {
		return
	}
	r.cmd.Process.Kill()
	<-r.exited
	r.cmd = nil
}

// postgresServer is a private PostgreSQL cluster in a directory of its own, on a free port.
// PostgreSQL refuses to run as root, so as root it runs as the postgres system user (which the
// package creates), like scripts/services.sh does.
type postgresServer struct {
	bin, dir, port string
	cred           *syscall.Credential // nil: run as ourselves
}

func startPostgres(t *testing.T) *postgresServer {
	t.Helper()
	initdb := requireBinary(t, "initdb", "/usr/lib/postgresql/*/bin/initdb")
	p := &postgresServer{bin: filepath.Dir(initdb)}
	_, p.port, _ = net.SplitHostPort(testenv.FreeAddr(t))
	// Not t.TempDir: its parents are private to root, and the postgres user must reach this.
	dir, err := os.MkdirTemp("", "smdpp-faulttest-pg-")
	if err != nil {
		t.Fatal(err)
	}
	p.dir = dir
	t.Cleanup(func() { os.RemoveAll(dir) })
	if os.Getuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root, PostgreSQL needs the postgres user: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		p.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := p.run("initdb", "-D", p.data(), "-U", "smdpp", "--auth=trust", "-E", "UTF8", "--no-sync"); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	if err := p.start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.stop() })
	return p
}

func (p *postgresServer) data() string { return filepath.Join(p.dir, "data") }

// dsn names the cluster's postgres database as the smdpp superuser.
func (p *postgresServer) dsn() string {
	return "host=127.0.0.1 port=" + p.port + " user=smdpp dbname=postgres sslmode=disable"
}

func (p *postgresServer) run(tool string, args ...string) ([]byte, error) {
	cmd := exec.Command(filepath.Join(p.bin, tool), args...)
	cmd.Dir = p.dir
	if p.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred}
	}
	return cmd.CombinedOutput()
}

// start starts the cluster and waits until it accepts connections. fsync is off as in
// scripts/services.sh: the tests crash PostgreSQL, not the machine.
func (p *postgresServer) start() error {
	opts := fmt.Sprintf("-h 127.0.0.1 -p %s -k %s -c fsync=off -c max_connections=100", p.port, p.dir)
	out, err := p.run("pg_ctl", "-D", p.data(), "-l", filepath.Join(p.dir, "server.log"), "-w", "-t", "60", "-o", opts, "start")
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(p.dir, "server.log"))
		return fmt.Errorf("pg_ctl start: %v\n%s\n%s", err, out, log)
	}
	return nil
}

// stop shuts the cluster down in immediate mode: every backend is killed at once, as in a
// crash, and the next start recovers from the write-ahead log.
func (p *postgresServer) stop() error {
	out, err := p.run("pg_ctl", "-D", p.data(), "-m", "immediate", "-w", "-t", "60", "stop")
	if err != nil {
		return fmt.Errorf("pg_ctl stop: %v\n%s", err, out)
	}
	return nil
}
