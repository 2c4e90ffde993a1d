package hubspottest

import (
	"net"
	"net/http"
	"strconv"
	"time"
)

// Endpoint labels a family of fake endpoints, for fault injection and call
// counts. The OAuth labels match scopeguard's client labels.
type Endpoint string

// The fake's endpoints.
const (
	// AnyEndpoint matches every endpoint when injecting a fault.
	AnyEndpoint Endpoint = "*"
	// EndpointToken is POST /oauth/{v1,2026-03}/token.
	EndpointToken Endpoint = "token"
	// EndpointIntrospect is POST /oauth/2026-03/token/introspect.
	EndpointIntrospect Endpoint = "introspect"
	// EndpointAccessTokenInfo is GET /oauth/v1/access-tokens/{token}.
	EndpointAccessTokenInfo Endpoint = "access-token-info"
	// EndpointRefreshTokenInfo is GET /oauth/v1/refresh-tokens/{token}.
	EndpointRefreshTokenInfo Endpoint = "refresh-token-info"
	// EndpointRevoke is DELETE /oauth/v1/refresh-tokens/{token} and
	// POST /oauth/2026-03/token/revoke.
	EndpointRevoke Endpoint = "revoke"
	// EndpointPrivateAppTokenInfo is
	// POST /oauth/v2/private-apps/get/access-token-info.
	EndpointPrivateAppTokenInfo Endpoint = "private-app-token-info"
	// EndpointAPI is every other path: the generic API surface.
	EndpointAPI Endpoint = "api"
)

// Fault makes the fake misbehave on an endpoint. Set one kind of failure;
// Latency and Block combine with any of them (and with none, to just slow
// or hold a normal answer).
type Fault struct {
	// Latency delays the answer (real time; ends early if the client goes).
	Latency time.Duration
	// Block holds the request until the channel is closed or the client
	// goes, to make concurrency deterministic in tests.
	Block <-chan struct{}
	// Status answers this HTTP status instead of the real answer, with Body
	// (default: HubSpot's error body for the status: RATE_LIMITS for 429).
	Status int
	// Body overrides the body sent with Status.
	Body string
	// RetryAfter is sent as the Retry-After header value with Status.
	RetryAfter string
	// Header holds extra headers sent with Status (Location, rate-limit
	// headers, ...).
	Header http.Header
	// MalformedJSON answers 200 with a truncated JSON body.
	MalformedJSON bool
	// ResetConnection closes the TCP connection without an answer (RST).
	ResetConnection bool
	// SlowBody sends the real answer's headers and half its body, then waits
	// this long before the rest.
	SlowBody time.Duration
	// Times is how many requests the fault applies to; 0 means until
	// ClearFaults.
	Times int
}

// InjectFault queues a fault for an endpoint (AnyEndpoint: all). Faults for
// the endpoint itself go before AnyEndpoint faults; within one endpoint they
// apply in the order injected, each for its Times requests.
func (f *Fake) InjectFault(ep Endpoint, fault Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fc := fault
	f.faults[ep] = append(f.faults[ep], &fc)
}

// ClearFaults removes every fault.
func (f *Fake) ClearFaults() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = map[Endpoint][]*Fault{}
}

// Calls is how many requests an endpoint received, faulted ones included.
func (f *Fake) Calls(ep Endpoint) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[ep]
}

// Requests returns the requests an endpoint received, oldest first.
func (f *Fake) Requests(ep Endpoint) []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Request(nil), f.requests[ep]...)
}

// ResetCalls zeroes the call counters and forgets recorded requests.
func (f *Fake) ResetCalls() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = map[Endpoint]int{}
	f.requests = map[Endpoint][]Request{}
}

// record counts the request and takes the fault that applies to it, if any.
func (f *Fake) record(ep Endpoint, req Request) *Fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[ep]++
	f.requests[ep] = append(f.requests[ep], req)
	for _, key := range []Endpoint{ep, AnyEndpoint} {
		queue := f.faults[key]
		if len(queue) == 0 {
			continue
		}
		fault := *queue[0]
		if queue[0].Times > 0 {
			queue[0].Times--
			if queue[0].Times == 0 {
				f.faults[key] = queue[1:]
			}
		}
		return &fault
	}
	return nil
}

// wait sleeps for the fault's latency and block; false when the client left.
func (fault *Fault) wait(r *http.Request) bool {
	if fault.Latency > 0 {
		timer := time.NewTimer(fault.Latency)
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-r.Context().Done():
			return false
		}
	}
	if fault.Block != nil {
		select {
		case <-fault.Block:
		case <-r.Context().Done():
			return false
		}
	}
	return true
}

// answer writes the fault's failure; false when the fault lets the real
// answer through (possibly slowed by SlowBody, see slowWriter).
func (f *Fake) answerFault(w http.ResponseWriter, fault *Fault) bool {
	switch {
	case fault.ResetConnection:
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			http.Error(w, "hijack failed", http.StatusInternalServerError)
			return true
		}
		if tcp, ok := conn.(*net.TCPConn); ok {
			_ = tcp.SetLinger(0) // close with RST, as a dropped connection looks
		}
		_ = conn.Close()
		return true
	case fault.Status != 0:
		for name, values := range fault.Header {
			w.Header()[name] = values
		}
		if fault.RetryAfter != "" {
			w.Header().Set("Retry-After", fault.RetryAfter)
		}
		if fault.Body != "" {
			w.Header().Set("Content-Type", "application/json;charset=utf-8")
			w.WriteHeader(fault.Status)
			_, _ = w.Write([]byte(fault.Body))
			return true
		}
		if fault.Status == http.StatusTooManyRequests {
			writeJSON(w, fault.Status, rateLimitBody("TEN_SECONDLY_ROLLING"))
			return true
		}
		writeJSON(w, fault.Status, map[string]any{
			"status": "error", "message": "internal error " + strconv.Itoa(fault.Status), "correlationId": uuid(),
		})
		return true
	case fault.MalformedJSON:
		w.Header().Set("Content-Type", "application/json;charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`{"access_token":"C`))
		return true
	}
	return false
}

// slowWriter sends half the body, flushes, waits, then sends the rest.
type slowWriter struct {
	http.ResponseWriter
	r     *http.Request
	delay time.Duration
}

func (s *slowWriter) Write(p []byte) (int, error) {
	half := len(p) / 2
	n, err := s.ResponseWriter.Write(p[:half])
	if err != nil {
		return n, err
	}
	_ = http.NewResponseController(s.ResponseWriter).Flush()
	timer := time.NewTimer(s.delay)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-s.r.Context().Done():
		return n, s.r.Context().Err()
	}
	m, err := s.ResponseWriter.Write(p[half:])
	return n + m, err
}
