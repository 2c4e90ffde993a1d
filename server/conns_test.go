package server_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/proto"

	scopeguardv1 "github.com/eshopman/scopeguard/gen/scopeguard/v1"
	"github.com/eshopman/scopeguard/server"
)

// serveLoopback serves svc with the real server on a loopback TCP port
// until the test ends.
func serveLoopback(t *testing.T, cfg server.Config, log *slog.Logger, svc scopeguardv1.ScopeGuardServiceServer) (addr string, metrics *server.Metrics) {
	t.Helper()
	metrics = server.NewMetrics()
	srv, err := server.New(cfg, log, svc, metrics)
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	lis, err := new(net.ListenConfig).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	t.Cleanup(func() {
		srv.Shutdown(context.Background())
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return lis.Addr().String(), metrics
}

// eventually waits for cond, which the server makes true by itself; the
// deadline only keeps a broken server from hanging the test.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting: %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestConnectionLimit(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.HubSpotAPIURL = "http://127.0.0.1:1"
	cfg.MaxConnections = 2
	svc, err := server.BuildService(cfg, slog.New(slog.DiscardHandler), server.NewMetrics())
	if err != nil {
		t.Fatal(err)
	}
	addr, metrics := serveLoopback(t, cfg, slog.New(slog.DiscardHandler), svc)
	connect := func() (*grpc.ClientConn, error) {
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		_, err = grpc_health_v1.NewHealthClient(conn).Check(t.Context(), &grpc_health_v1.HealthCheckRequest{})
		return conn, err
	}
	first, err := connect()
	if err != nil {
		t.Fatalf("first connection: %v", err)
	}
	second, err := connect()
	if err != nil {
		t.Fatalf("second connection: %v", err)
	}
	defer func() { _ = second.Close() }()

	// A third is closed on arrival: it reads end of file, not the server's
	// HTTP/2 settings.
	third, err := new(net.Dialer).DialContext(t.Context(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = third.Close() }()
	if n, err := third.Read(make([]byte, 64)); err == nil {
		t.Errorf("third connection read %d bytes, want it closed", n)
	}
	if got := scrape(t, metrics); !strings.Contains(got, "scopeguard_connections_refused_total 1") || !strings.Contains(got, "scopeguard_connections_open 2") {
		t.Errorf("/metrics lacks the open and refused connections:\n%s", grep(got, "scopeguard_connections"))
	}

	// Closing one frees its slot.
	_ = first.Close()
	eventually(t, "the closed connection's slot", func() bool {
		return strings.Contains(scrape(t, metrics), "scopeguard_connections_open 1")
	})
	again, err := connect()
	if err != nil {
		t.Fatalf("connection after one closed: %v", err)
	}
	_ = again.Close()
}

func grep(text, substr string) string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		if strings.Contains(line, substr) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

// stallingClient is a raw HTTP/2 client that reads every frame the server
// sends but never lets it send answers: its SETTINGS_INITIAL_WINDOW_SIZE is
// 0 and it never sends WINDOW_UPDATE, so every answer's DATA stays queued
// in the server. It honours the server's own flow control when sending.
type stallingClient struct {
	conn net.Conn

	wmu sync.Mutex // guards fr's writes, enc and hbuf
	fr  *http2.Framer
	enc *hpack.Encoder
	buf bytes.Buffer

	mu       sync.Mutex
	window   int64             // connection-level send window the server grants
	answered map[uint32]bool   // streams whose answer headers came
	ended    map[uint32]string // streams that ended, with their grpc-status
	refused  map[uint32]bool   // streams the server refused (REFUSED_STREAM)
	goAway   bool
	closed   bool
	nextID   uint32
}

func dialStalling(t *testing.T, addr string) *stallingClient {
	t.Helper()
	conn, err := new(net.Dialer).DialContext(t.Context(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c := &stallingClient{conn: conn, fr: http2.NewFramer(conn, conn), window: 65535, nextID: 1,
		answered: map[uint32]bool{}, ended: map[uint32]string{}, refused: map[uint32]bool{}}
	c.enc = hpack.NewEncoder(&c.buf)
	c.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	if _, err := io.WriteString(conn, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	if err := c.fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0}); err != nil {
		t.Fatal(err)
	}
	go c.read()
	t.Cleanup(func() { _ = conn.Close() })
	return c
}

func (c *stallingClient) read() {
	for {
		f, err := c.fr.ReadFrame()
		c.mu.Lock()
		if err != nil {
			c.closed = true
			c.mu.Unlock()
			return
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				c.write(func() error { return c.fr.WriteSettingsAck() })
			}
		case *http2.PingFrame:
			if !f.IsAck() {
				c.write(func() error { return c.fr.WritePing(true, f.Data) })
			}
		case *http2.WindowUpdateFrame:
			if f.StreamID == 0 {
				c.window += int64(f.Increment)
			}
		case *http2.MetaHeadersFrame:
			if f.StreamEnded() {
				c.ended[f.StreamID] = f.PseudoValue("status") + " grpc-status " + headerValue(f, "grpc-status")
			} else {
				c.answered[f.StreamID] = true
			}
		case *http2.RSTStreamFrame:
			if f.ErrCode == http2.ErrCodeRefusedStream {
				c.refused[f.StreamID] = true
			} else {
				c.ended[f.StreamID] = "reset " + f.ErrCode.String()
			}
		case *http2.GoAwayFrame:
			c.goAway = true
		}
		c.mu.Unlock()
	}
}

func headerValue(f *http2.MetaHeadersFrame, name string) string {
	for _, hf := range f.RegularFields() {
		if hf.Name == name {
			return hf.Value
		}
	}
	return ""
}

// write runs a framer write; errors surface as a closed connection.
func (c *stallingClient) write(w func() error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = w()
}

// call opens a stream for a unary call with the request and returns its id.
func (c *stallingClient) call(t *testing.T, method string, req proto.Message, metadata ...string) uint32 {
	t.Helper()
	body, err := proto.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	msg := binary.BigEndian.AppendUint32([]byte{0}, uint32(len(body)))
	msg = append(msg, body...)
	c.mu.Lock()
	id := c.nextID
	c.nextID += 2
	c.mu.Unlock()

	c.wmu.Lock()
	c.buf.Reset()
	fields := append([]string{":method", "POST", ":scheme", "http", ":path", method, ":authority", "scopeguard.test",
		"content-type", "application/grpc", "te", "trailers"}, metadata...)
	for i := 0; i < len(fields); i += 2 {
		_ = c.enc.WriteField(hpack.HeaderField{Name: fields[i], Value: fields[i+1]})
	}
	err = c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: c.buf.Bytes(), EndHeaders: true})
	c.wmu.Unlock()
	if err != nil {
		t.Fatalf("HEADERS: %v", err)
	}
	for len(msg) > 0 {
		n := min(len(msg), 16384)
		eventually(t, "send window from the server", func() bool {
			c.mu.Lock()
			defer c.mu.Unlock()
			if c.window < int64(n) && !c.closed {
				return false
			}
			c.window -= int64(n)
			return true
		})
		chunk := msg[:n]
		msg = msg[n:]
		c.write(func() error { return c.fr.WriteData(id, len(msg) == 0, chunk) })
	}
	return id
}

func (c *stallingClient) state(f func(c *stallingClient) bool) func() bool {
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return f(c)
	}
}

// heapInUse is the live heap after a full collection.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// bigAnswerRequest is a small request (about 18 KB) with a large answer
// (about 300 KB): 500 decisions, each with its operation and alternatives.
func bigAnswerRequest() *scopeguardv1.CheckScopesRequest {
	req := &scopeguardv1.CheckScopesRequest{GrantedScopes: []string{"crm.objects.contacts.read"}}
	for i := range 500 {
		req.Endpoints = append(req.Endpoints, &scopeguardv1.Endpoint{Method: "GET", Path: fmt.Sprintf("/crm/v3/objects/contacts/%d", i)})
	}
	return req
}

const checkScopesMethod = "/scopeguard.v1.ScopeGuardService/CheckScopes"

// TestStalledReaderPinsBoundedMemory: a client that opens far more streams
// than it may, each asking for a large answer, and reads none of them, pins
// at most MaxConcurrentStreams answers; the rest are refused.
// Not parallel: it measures the process's heap.
func TestStalledReaderPinsBoundedMemory(t *testing.T) {
	cfg := testConfig()
	cfg.HubSpotAPIURL = "http://127.0.0.1:1"
	cfg.MaxConcurrentStreams = 8
	svc, err := server.BuildService(cfg, slog.New(slog.DiscardHandler), server.NewMetrics())
	if err != nil {
		t.Fatal(err)
	}
	addr, _ := serveLoopback(t, cfg, slog.New(slog.DiscardHandler), svc)
	req := bigAnswerRequest()
	resp, err := svc.CheckScopes(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	// grpc-go queues an answer in pooled buffers of at least 1 MiB once it
	// is over 32 KiB.
	answer := max(proto.Size(resp), 1<<20)

	c := dialStalling(t, addr)
	before := heapInUse()
	const streams = 40
	for range streams {
		c.call(t, checkScopesMethod, req)
	}
	eventually(t, "every stream answered or refused", c.state(func(c *stallingClient) bool {
		return len(c.answered)+len(c.refused)+len(c.ended) >= streams
	}))
	after := heapInUse()

	c.mu.Lock()
	answered, refused, ended := len(c.answered), len(c.refused), len(c.ended)
	c.mu.Unlock()
	if answered > int(cfg.MaxConcurrentStreams) || ended > 0 {
		t.Errorf("%d streams answered and %d ended with the client reading nothing, want at most %d answered and none ended",
			answered, ended, cfg.MaxConcurrentStreams)
	}
	if refused < streams-int(cfg.MaxConcurrentStreams) {
		t.Errorf("%d streams refused, want at least %d", refused, streams-int(cfg.MaxConcurrentStreams))
	}
	grown := int64(after) - int64(before)
	bound := int64(cfg.MaxConcurrentStreams)*int64(answer) + 4<<20
	t.Logf("heap grew %.1f MiB for %d pinned answers of %.2f MiB (bound %.1f MiB; %d streams asked)",
		float64(grown)/(1<<20), answered, float64(proto.Size(resp))/(1<<20), float64(bound)/(1<<20), streams)
	if grown > bound {
		t.Errorf("heap grew %d bytes, want at most %d (%d answers of %d bytes and 4 MiB)", grown, bound, cfg.MaxConcurrentStreams, answer)
	}
}

// TestStalledConnectionAgesOut: a stalled connection is asked to go away at
// MaxConnectionAge and closed at the end of the grace period, freeing what
// it pinned.
func TestStalledConnectionAgesOut(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.HubSpotAPIURL = "http://127.0.0.1:1"
	cfg.MaxConnectionAge = 100 * time.Millisecond
	cfg.MaxConnectionAgeGrace = 100 * time.Millisecond
	svc, err := server.BuildService(cfg, slog.New(slog.DiscardHandler), server.NewMetrics())
	if err != nil {
		t.Fatal(err)
	}
	addr, _ := serveLoopback(t, cfg, slog.New(slog.DiscardHandler), svc)
	c := dialStalling(t, addr)
	id := c.call(t, checkScopesMethod, bigAnswerRequest())
	eventually(t, "the server closing the connection", c.state(func(c *stallingClient) bool { return c.closed }))
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.goAway {
		t.Error("connection closed without GOAWAY")
	}
	if _, ok := c.ended[id]; ok {
		t.Errorf("stalled stream ended (%s), want it cut with its connection", c.ended[id])
	}
}

// TestStalledReaderWithoutKeyPinsNothing: with a callers file, a client
// without a key gets only trailers-only refusals, which need no
// flow-control window: every stream ends, nothing stays queued.
func TestStalledReaderWithoutKeyPinsNothing(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.HubSpotAPIURL = "http://127.0.0.1:1"
	cfg.CallersFile = writeFile(t, "callers.yaml", "callers:\n  checkout: {key_sha256: "+keyDigest(checkoutKey)+"}\n")
	svc, err := server.BuildService(cfg, slog.New(slog.DiscardHandler), server.NewMetrics())
	if err != nil {
		t.Fatal(err)
	}
	addr, _ := serveLoopback(t, cfg, slog.New(slog.DiscardHandler), svc)
	c := dialStalling(t, addr)
	const streams = 40
	for range streams {
		c.call(t, checkScopesMethod, bigAnswerRequest())
	}
	eventually(t, "every stream ended or refused", c.state(func(c *stallingClient) bool {
		return len(c.ended)+len(c.refused) >= streams
	}))
	c.mu.Lock()
	defer c.mu.Unlock()
	for id, how := range c.ended {
		if !strings.HasSuffix(how, "grpc-status 16") {
			t.Errorf("stream %d ended %q, want grpc-status 16 (Unauthenticated)", id, how)
		}
	}
	for id := range c.answered {
		if _, ok := c.ended[id]; !ok {
			t.Errorf("stream %d got headers and stays open: an answer is queued", id)
		}
	}
}
