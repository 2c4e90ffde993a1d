// Package redistest runs a real redis-server for tests: its own process on a
// free loopback port, with a temporary directory and no persistence, killed
// when the test ends. Without redis-server installed the test is skipped,
// except under CI (CI set), where it fails: CI must test against Redis.
package redistest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// Options configure a Server.
type Options struct {
	// Password, when set, is required of clients (requirepass).
	Password string
}

// Server is one redis-server process.
type Server struct {
	// Addr is host:port.
	Addr string
	opts Options
	dir  string
	bin  string
	cmd  *exec.Cmd
	done chan struct{}
}

// Start runs a redis-server until the test ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("redis-server is not installed, and CI must test against a real Redis: apt-get install redis-server")
		}
		t.Skip("redis-server is not installed (apt-get install redis-server); skipping the tests against a real Redis")
	}
	s := &Server{opts: opts, dir: t.TempDir(), bin: bin}
	var lastErr error
	for range 5 { // another process may take the free port first
		if lastErr = s.start(t, freePort(t)); lastErr == nil {
			t.Cleanup(s.Kill)
			return s
		}
	}
	t.Fatalf("start redis-server: %v", lastErr)
	return nil
}

// URL is the redis:// URL of the server (without the password).
func (s *Server) URL() string { return "redis://" + s.Addr }

func freePort(t testing.TB) string {
	t.Helper()
	lis, err := new(net.ListenConfig).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = lis.Close() }()
	addr, ok := lis.Addr().(*net.TCPAddr)
	if !ok {
		t.Fatalf("listener address %v is not TCP", lis.Addr())
	}
	return strconv.Itoa(addr.Port)
}

// start runs redis-server on port and waits until it answers PING.
func (s *Server) start(t testing.TB, port string) error {
	t.Helper()
	args := []string{
		"--port", port, "--bind", "127.0.0.1", "--dir", s.dir,
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--logfile", "",
		"--loglevel", "warning",
	}
	if s.opts.Password != "" {
		args = append(args, "--requirepass", s.opts.Password)
	}
	cmd := exec.Command(s.bin, args...) //nolint:noctx,gosec // ended by Kill, not by a context; s.bin is redis-server found on PATH, the arguments are the test's own
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	s.Addr, s.cmd, s.done = net.JoinHostPort("127.0.0.1", port), cmd, done
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case <-done:
			return fmt.Errorf("redis-server exited: %s", strings.TrimSpace(out.String()))
		default:
		}
		if s.ping() == nil {
			return nil
		}
		if time.Now().After(deadline) {
			s.Kill()
			return errors.New("redis-server did not answer PING within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (s *Server) ping() error {
	c := s.Client()
	defer func() { _ = c.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return c.Ping(ctx).Err()
}

// Client returns a client of the server; close it when done.
func (s *Server) Client() *redis.Client {
	return redis.NewClient(&redis.Options{
		Addr: s.Addr, Password: s.opts.Password, DisableIdentity: true, MaxRetries: -1,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	})
}

// Kill ends the server at once (SIGKILL), as a crash would; it is a no-op
// when the server is not running.
func (s *Server) Kill() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.done
	s.cmd = nil
}

// Restart starts a fresh, empty server on the same port after Kill.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	_, port, _ := net.SplitHostPort(s.Addr)
	var err error
	for range 50 { // the port may be in TIME_WAIT briefly
		if err = s.start(t, port); err == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("restart redis-server on port %s: %v", port, err)
}

// Dump is every key in the server with its value (strings; hashes as their
// fields and values, one after the other) and its time to live.
type Dump map[string]Record

// Record is one key's contents.
type Record struct {
	Values []string
	TTL    time.Duration // negative: no expiry
}

// Dump reads every key with SCAN.
func (s *Server) Dump(t testing.TB) Dump {
	t.Helper()
	c := s.Client()
	defer func() { _ = c.Close() }()
	ctx := context.Background()
	out := Dump{}
	iter := c.Scan(ctx, 0, "*", 100).Iterator()
	for iter.Next(ctx) {
		key := iter.Val()
		var rec Record
		switch typ := c.Type(ctx, key).Val(); typ {
		case "string":
			rec.Values = []string{c.Get(ctx, key).Val()}
		case "hash":
			for f, v := range c.HGetAll(ctx, key).Val() {
				rec.Values = append(rec.Values, f, v)
			}
		case "none":
			continue // expired since SCAN saw it
		default:
			t.Fatalf("key %q has unexpected type %s", key, typ)
		}
		rec.TTL = c.PTTL(ctx, key).Val()
		out[key] = rec
	}
	if err := iter.Err(); err != nil {
		t.Fatalf("scan: %v", err)
	}
	return out
}

// CPUTime is the CPU time (user and system) the running server has used,
// from /proc (Linux), in clock ticks of 10 ms.
func (s *Server) CPUTime(t testing.TB) time.Duration {
	t.Helper()
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(s.cmd.Process.Pid) + "/stat")
	if err != nil {
		t.Fatalf("read redis-server's CPU time: %v", err)
	}
	// Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}
