package hubspot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v5"
)

// DefaultBaseURL is HubSpot's API host.
const DefaultBaseURL = "https://api.hubapi.com"

// OAuthVersion selects HubSpot's OAuth API generation.
type OAuthVersion string

const (
	// OAuthVersion202603 is the date-versioned OAuth API: credentials in the
	// form body, POST /oauth/2026-03/token and /token/introspect.
	OAuthVersion202603 OAuthVersion = "2026-03"
	// OAuthVersionV1 is the deprecated v1 API (shut off 2027-02-16):
	// POST /oauth/v1/token and GET /oauth/v1/access-tokens/{token}.
	OAuthVersionV1 OAuthVersion = "v1"
)

// ParseOAuthVersion accepts "2026-03" or "v1"; empty means the default,
// 2026-03.
func ParseOAuthVersion(s string) (OAuthVersion, error) {
	switch v := OAuthVersion(strings.TrimSpace(s)); v {
	case "":
		return OAuthVersion202603, nil
	case OAuthVersion202603, OAuthVersionV1:
		return v, nil
	default:
		return "", fmt.Errorf("hubspot: unknown OAuth version %q (want %q or %q)", s, OAuthVersion202603, OAuthVersionV1)
	}
}

// Outcome labels how one HTTP attempt ended, for metrics.
type Outcome string

// The outcomes of one attempt.
const (
	// OutcomeOK is a 2xx answer (its body is decoded after the attempt).
	OutcomeOK Outcome = "ok"
	// OutcomeRejected is a 4xx answer other than 429 (including "token
	// inactive" answers and refused refresh tokens).
	OutcomeRejected Outcome = "rejected"
	// OutcomeRateLimited is a 429 (or a RATE_LIMITS body).
	OutcomeRateLimited Outcome = "rate_limited"
	// OutcomeServerError is a 5xx answer.
	OutcomeServerError Outcome = "server_error"
	// OutcomeNetworkError is a transport failure or timeout.
	OutcomeNetworkError Outcome = "network_error"
	// OutcomeMalformed is an answer whose body could not be read.
	OutcomeMalformed Outcome = "malformed"
)

// RetryPolicy bounds retries of network errors, 5xx and 429 answers. Other
// answers are never retried.
type RetryPolicy struct {
	// MaxAttempts is the most requests one call sends, the first included.
	// Default 3; 1 disables retries.
	MaxAttempts int
	// MaxElapsed is the most time one call spends across attempts and waits.
	// Default 20s. The caller's context deadline also applies.
	MaxElapsed time.Duration
	// InitialInterval is the first wait; later waits grow 2x with ±50%
	// jitter. Default 250ms.
	InitialInterval time.Duration
	// MaxInterval caps one wait (before jitter). Default 5s. A Retry-After
	// from HubSpot replaces the computed wait.
	MaxInterval time.Duration
}

// Options configure a Client. The zero value is usable: production HubSpot,
// OAuth 2026-03, default timeouts and retries, no logging.
type Options struct {
	// BaseURL is HubSpot's API base URL, default https://api.hubapi.com. It
	// comes from configuration only, never from a request.
	BaseURL string
	// OAuthVersion selects the OAuth endpoints; default 2026-03.
	OAuthVersion OAuthVersion
	// Timeout bounds one HTTP attempt, body included. Default 10s.
	Timeout time.Duration
	// Retry is the retry policy.
	Retry RetryPolicy
	// MaxResponseBytes bounds a response body. Default 1 MiB.
	MaxResponseBytes int64
	// HTTPClient overrides the HTTP client (tests). Its redirect policy is
	// replaced: the client never follows redirects.
	HTTPClient *http.Client
	// Logger receives one debug line per attempt and one line per retry;
	// nil discards. No token, refresh token or secret is ever logged.
	Logger *slog.Logger
	// OnCall, when set, is called once per HTTP attempt with the endpoint
	// label, the attempt's outcome and its duration.
	OnCall func(endpoint Endpoint, outcome Outcome, elapsed time.Duration)
	// Now is the clock used to turn expires_in into expiry times; default
	// time.Now.
	Now func() time.Time
	// Admit, when set, is asked once per call, before its first request:
	// an error ends the call with that error and nothing is sent (the
	// server's per-caller budget).
	Admit func(ctx context.Context, endpoint Endpoint) error
	// MaxConcurrent bounds the requests in flight to HubSpot at once, and
	// the client's connections to it; default 32. A request waits for a
	// slot as long as its context allows.
	MaxConcurrent int
}

// Client calls HubSpot's OAuth token and introspection endpoints. It is safe
// for concurrent use.
type Client struct {
	base     *url.URL
	version  OAuthVersion
	timeout  time.Duration
	retry    RetryPolicy
	maxBody  int64
	http     *http.Client
	log      *slog.Logger
	onCall   func(Endpoint, Outcome, time.Duration)
	admit    func(context.Context, Endpoint) error
	slots    chan struct{}
	now      func() time.Time
	agent    string
	jsonType string
}

// New validates opts and returns a Client.
func New(opts Options) (*Client, error) {
	raw := opts.BaseURL
	if raw == "" {
		raw = DefaultBaseURL
	}
	base, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("hubspot: base URL: %w", err)
	}
	if (base.Scheme != "https" && base.Scheme != "http") || base.Host == "" || base.User != nil || base.RawQuery != "" || base.Fragment != "" {
		return nil, fmt.Errorf("hubspot: base URL %q must be an absolute http(s) URL without credentials, query or fragment", raw)
	}
	base.Path = strings.TrimRight(base.Path, "/")
	version, err := ParseOAuthVersion(string(opts.OAuthVersion))
	if err != nil {
		return nil, err
	}
	c := &Client{
		base:     base,
		version:  version,
		timeout:  orDefault(opts.Timeout, 10*time.Second),
		maxBody:  opts.MaxResponseBytes,
		log:      opts.Logger,
		onCall:   opts.OnCall,
		admit:    opts.Admit,
		now:      opts.Now,
		agent:    "scopeguard",
		jsonType: "application/json",
	}
	if c.maxBody <= 0 {
		c.maxBody = 1 << 20
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	c.retry = RetryPolicy{
		MaxAttempts:     opts.Retry.MaxAttempts,
		MaxElapsed:      orDefault(opts.Retry.MaxElapsed, 20*time.Second),
		InitialInterval: orDefault(opts.Retry.InitialInterval, 250*time.Millisecond),
		MaxInterval:     orDefault(opts.Retry.MaxInterval, 5*time.Second),
	}
	if c.retry.MaxAttempts <= 0 {
		c.retry.MaxAttempts = 3
	}
	maxConcurrent := opts.MaxConcurrent
	if maxConcurrent <= 0 {
		maxConcurrent = 32
	}
	c.slots = make(chan struct{}, maxConcurrent)
	hc := opts.HTTPClient
	if hc == nil {
		transport := http.DefaultTransport.(*http.Transport).Clone()
		// One connection per request in flight at most, kept for reuse
		// rather than closed and redialled.
		transport.MaxConnsPerHost = maxConcurrent
		transport.MaxIdleConnsPerHost = maxConcurrent
		hc = &http.Client{Transport: transport}
	}
	noRedirects := *hc
	noRedirects.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.http = &noRedirects
	return c, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// OAuthVersion is the OAuth API version the client uses.
func (c *Client) OAuthVersion() OAuthVersion { return c.version }

// response is one HTTP answer read in full.
type response struct {
	status int
	header http.Header
	body   []byte
}

// request describes one logical call; build makes a fresh *http.Request for
// every attempt.
type request struct {
	endpoint Endpoint
	method   string
	path     string // already escaped
	form     url.Values
	json     any
	bearer   Secret
	secrets  []Secret // removed from every string taken from the answer
}

// retryAfterError makes backoff.Retry wait for HubSpot's Retry-After while
// keeping the typed error for the caller.
type retryAfterError struct {
	err   error
	after *backoff.RetryAfterError
}

func (s *retryAfterError) Error() string   { return s.err.Error() }
func (s *retryAfterError) Unwrap() []error { return []error{s.err, s.after} }

// send performs req with retries. It returns the answer for 2xx and non-429
// 4xx statuses; network errors, 5xx and 429 become typed errors once the
// retry policy or ctx gives up.
func (c *Client) send(ctx context.Context, req request) (*response, error) {
	if c.admit != nil {
		if err := c.admit(ctx, req.endpoint); err != nil {
			return nil, err
		}
	}
	attempts := 0
	op := func() (*response, error) {
		attempts++
		resp, err := c.attempt(ctx, req, attempts)
		if err == nil {
			return resp, nil
		}
		var rl *RateLimitError
		if errors.As(err, &rl) && rl.RetryAfter > 0 {
			if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < rl.RetryAfter {
				return nil, backoff.Permanent(err)
			}
			return nil, &retryAfterError{err: err, after: &backoff.RetryAfterError{Duration: rl.RetryAfter}}
		}
		var ua *UnavailableError
		if errors.As(err, &ua) || rl != nil {
			return nil, err
		}
		return nil, backoff.Permanent(err)
	}
	resp, err := backoff.Retry(ctx, op,
		backoff.WithBackOff(&deadlineBackOff{ctx: ctx, next: &backoff.ExponentialBackOff{
			InitialInterval:     c.retry.InitialInterval,
			RandomizationFactor: 0.5,
			Multiplier:          2,
			MaxInterval:         c.retry.MaxInterval,
		}}),
		backoff.WithMaxTries(uint(c.retry.MaxAttempts)),
		backoff.WithMaxElapsedTime(c.retry.MaxElapsed),
		backoff.WithNotify(func(err error, wait time.Duration) {
			c.log.LogAttrs(ctx, slog.LevelInfo, "hubspot call failed, retrying",
				slog.String("endpoint", string(req.endpoint)), slog.Int("attempt", attempts),
				slog.Duration("wait", wait), slog.String("error", err.Error()))
		}),
	)
	if err == nil {
		return resp, nil
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		return nil, c.contextError(ctx, req.endpoint, attempts)
	}
	var signal *retryAfterError
	if errors.As(err, &signal) {
		err = signal.err
	}
	var rl *RateLimitError
	if errors.As(err, &rl) {
		rl.Attempts = attempts
		return nil, rl
	}
	var ua *UnavailableError
	if errors.As(err, &ua) {
		ua.Attempts = attempts
		return nil, ua
	}
	if ctx.Err() != nil {
		return nil, c.contextError(ctx, req.endpoint, attempts)
	}
	return nil, err
}

// contextError reports the caller's context ending: a cancellation stays a
// plain context error; a deadline means HubSpot was too slow, so it is an
// UnavailableError that still matches context.DeadlineExceeded.
func (c *Client) contextError(ctx context.Context, ep Endpoint, attempts int) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return &UnavailableError{Endpoint: ep, Attempts: attempts, cause: context.DeadlineExceeded}
	}
	return fmt.Errorf("hubspot %s: %w", ep, context.Cause(ctx))
}

// deadlineBackOff stops retrying when the next wait would end past ctx's
// deadline, so the caller gets the typed error instead of a bare timeout.
type deadlineBackOff struct {
	ctx  context.Context
	next backoff.BackOff
}

func (d *deadlineBackOff) Reset() { d.next.Reset() }

func (d *deadlineBackOff) NextBackOff() time.Duration {
	wait := d.next.NextBackOff()
	if deadline, ok := d.ctx.Deadline(); ok && wait != backoff.Stop && time.Until(deadline) < wait {
		return backoff.Stop
	}
	return wait
}

// attempt sends one request and classifies the answer. It first waits for
// one of the client's slots; the attempt's timeout starts once it has one.
func (c *Client) attempt(ctx context.Context, req request, n int) (*response, error) {
	select {
	case c.slots <- struct{}{}:
		defer func() { <-c.slots }()
	case <-ctx.Done():
		return nil, &UnavailableError{Endpoint: req.endpoint, cause: context.Cause(ctx)}
	}
	start := time.Now()
	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	resp, outcome, err := c.roundTrip(actx, req)
	elapsed := time.Since(start)
	if c.onCall != nil {
		c.onCall(req.endpoint, outcome, elapsed)
	}
	attrs := []slog.Attr{
		slog.String("endpoint", string(req.endpoint)), slog.Int("attempt", n),
		slog.String("outcome", string(outcome)), slog.Duration("elapsed", elapsed),
	}
	if resp != nil {
		attrs = append(attrs, slog.Int("status", resp.status))
	}
	c.log.LogAttrs(ctx, slog.LevelDebug, "hubspot call", attrs...)
	return resp, err
}

func (c *Client) roundTrip(ctx context.Context, req request) (*response, Outcome, error) {
	httpReq, err := c.build(ctx, req)
	if err != nil {
		return nil, OutcomeNetworkError, err
	}
	httpResp, err := c.http.Do(httpReq)
	if err != nil {
		return nil, OutcomeNetworkError, c.transportError(req, err)
	}
	defer func() { _ = httpResp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(httpResp.Body, c.maxBody+1))
	if err != nil {
		return nil, OutcomeNetworkError, c.transportError(req, err)
	}
	if int64(len(body)) > c.maxBody {
		return nil, OutcomeMalformed, &MalformedResponseError{Endpoint: req.endpoint, Status: httpResp.StatusCode,
			Reason: fmt.Sprintf("body larger than %d bytes", c.maxBody)}
	}
	resp := &response{status: httpResp.StatusCode, header: httpResp.Header, body: body}
	switch {
	case resp.status == http.StatusTooManyRequests,
		resp.status >= 500 && decodeRejection(resp, req.secrets).Category == "RATE_LIMITS":
		return resp, OutcomeRateLimited, c.rateLimited(req, resp)
	case resp.status >= 500:
		return resp, OutcomeServerError, &UnavailableError{Endpoint: req.endpoint, Status: resp.status}
	case resp.status >= 400:
		return resp, OutcomeRejected, nil
	case resp.status >= 300:
		return resp, OutcomeMalformed, &MalformedResponseError{Endpoint: req.endpoint, Status: resp.status, Reason: "unexpected redirect"}
	default:
		return resp, OutcomeOK, nil
	}
}

func (c *Client) build(ctx context.Context, req request) (*http.Request, error) {
	target := c.base.String() + req.path
	var body io.Reader
	contentType := ""
	switch {
	case req.form != nil:
		body, contentType = strings.NewReader(req.form.Encode()), "application/x-www-form-urlencoded"
	case req.json != nil:
		data, err := json.Marshal(req.json)
		if err != nil {
			return nil, fmt.Errorf("hubspot %s: encode request: %w", req.endpoint, err)
		}
		body, contentType = bytes.NewReader(data), c.jsonType
	}
	httpReq, err := http.NewRequestWithContext(ctx, req.method, target, body)
	if err != nil {
		// The error would quote the URL, which may hold a token.
		return nil, fmt.Errorf("hubspot %s: could not build the request", req.endpoint)
	}
	if contentType != "" {
		httpReq.Header.Set("Content-Type", contentType)
	}
	httpReq.Header.Set("Accept", c.jsonType)
	httpReq.Header.Set("User-Agent", c.agent)
	if req.bearer != "" {
		httpReq.Header.Set("Authorization", "Bearer "+req.bearer.Reveal())
	}
	return httpReq, nil
}

// transportError turns a transport failure into a retryable UnavailableError
// whose message and chain never include the request URL.
func (c *Client) transportError(req request, err error) error {
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		err = urlErr.Err
	}
	return &UnavailableError{Endpoint: req.endpoint, cause: sanitize(err, req.secrets...)}
}

func (c *Client) rateLimited(req request, resp *response) error {
	rej := decodeRejection(resp, req.secrets)
	return &RateLimitError{
		Endpoint:   req.endpoint,
		RetryAfter: parseRetryAfter(resp.header.Get("Retry-After"), time.Now()),
		Policy:     decodePolicyName(resp.body),
		Rejection:  rej,
	}
}

// parseRetryAfter reads Retry-After as seconds or an HTTP date; 0 when absent
// or unreadable.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil {
		if secs < 0 {
			return 0
		}
		return time.Duration(secs) * time.Second
	}
	if at, err := http.ParseTime(v); err == nil && at.After(now) {
		return at.Sub(now)
	}
	return 0
}
