package hubspot_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/eshopman/scopeguard/server/hubspot"
	"github.com/eshopman/scopeguard/server/hubspottest"
)

// TestFaultMatrix injects each fault on the token endpoint and checks the
// typed error, how many requests were sent (retries only for network errors,
// 5xx and 429) and the per-attempt outcomes reported to OnCall.
func TestFaultMatrix(t *testing.T) {
	t.Parallel()
	type outcome = hubspot.Outcome
	const (
		ok          = hubspot.OutcomeOK
		rejected    = hubspot.OutcomeRejected
		rateLimited = hubspot.OutcomeRateLimited
		serverError = hubspot.OutcomeServerError
		network     = hubspot.OutcomeNetworkError
		malformed   = hubspot.OutcomeMalformed
	)
	tests := []struct {
		name         string
		faults       []hubspottest.Fault
		adjust       func(*hubspot.Options)
		deadline     time.Duration
		want         error // nil: the refresh succeeds
		wantOutcomes []outcome
	}{
		{
			name:         "5xx is retried until attempts run out",
			faults:       []hubspottest.Fault{{Status: 500}},
			want:         &hubspot.UnavailableError{Endpoint: hubspot.EndpointToken, Status: 500, Attempts: 3},
			wantOutcomes: []outcome{serverError, serverError, serverError},
		},
		{
			name:         "5xx twice then success",
			faults:       []hubspottest.Fault{{Status: 503, Times: 2}},
			wantOutcomes: []outcome{serverError, serverError, ok},
		},
		{
			name:         "html 502 from a gateway",
			faults:       []hubspottest.Fault{{Status: 502, Body: "<html>502 Bad Gateway</html>"}},
			adjust:       func(o *hubspot.Options) { o.Retry.MaxAttempts = 2 },
			want:         &hubspot.UnavailableError{Endpoint: hubspot.EndpointToken, Status: 502, Attempts: 2},
			wantOutcomes: []outcome{serverError, serverError},
		},
		{
			name:         "429 honours Retry-After then succeeds",
			faults:       []hubspottest.Fault{{Status: 429, RetryAfter: "1", Times: 1}},
			wantOutcomes: []outcome{rateLimited, ok},
		},
		{
			name:   "429 until attempts run out",
			faults: []hubspottest.Fault{{Status: 429, Body: `{"status":"error","message":"You have reached your secondly limit.","errorType":"RATE_LIMIT","correlationId":"c1","policyName":"SECONDLY"}`}},
			want: &hubspot.RateLimitError{Endpoint: hubspot.EndpointToken, Policy: "SECONDLY", Attempts: 3,
				Rejection: hubspot.Rejection{HTTPStatus: 429, Message: "You have reached your secondly limit.", CorrelationID: "c1"}},
			wantOutcomes: []outcome{rateLimited, rateLimited, rateLimited},
		},
		{
			name:     "429 whose Retry-After outlasts the caller's deadline",
			faults:   []hubspottest.Fault{{Status: 429, RetryAfter: "30"}},
			deadline: 3 * time.Second,
			want: &hubspot.RateLimitError{Endpoint: hubspot.EndpointToken, Policy: "TEN_SECONDLY_ROLLING", Attempts: 1, RetryAfter: 30 * time.Second,
				Rejection: hubspot.Rejection{HTTPStatus: 429, Category: "RATE_LIMITS", Message: "You have reached your ten_secondly_rolling limit."}},
			wantOutcomes: []outcome{rateLimited},
		},
		{
			name:   "RATE_LIMITS body on a 500",
			faults: []hubspottest.Fault{{Status: 500, Body: `{"status":"error","message":"You have reached your ten_secondly_rolling limit.","category":"RATE_LIMITS","policyName":"TEN_SECONDLY_ROLLING"}`}},
			adjust: func(o *hubspot.Options) { o.Retry.MaxAttempts = 1 },
			want: &hubspot.RateLimitError{Endpoint: hubspot.EndpointToken, Policy: "TEN_SECONDLY_ROLLING", Attempts: 1,
				Rejection: hubspot.Rejection{HTTPStatus: 500, Category: "RATE_LIMITS", Message: "You have reached your ten_secondly_rolling limit."}},
			wantOutcomes: []outcome{rateLimited},
		},
		{
			name:         "malformed JSON is not retried",
			faults:       []hubspottest.Fault{{MalformedJSON: true}},
			want:         &hubspot.MalformedResponseError{Endpoint: hubspot.EndpointToken, Status: 200, Reason: "body is not a token response"},
			wantOutcomes: []outcome{ok},
		},
		{
			name:         "answer without an access token",
			faults:       []hubspottest.Fault{{Status: 200, Body: `{"token_type":"bearer","expires_in":1800}`}},
			want:         &hubspot.MalformedResponseError{Endpoint: hubspot.EndpointToken, Status: 200, Reason: "access_token or a positive expires_in is missing"},
			wantOutcomes: []outcome{ok},
		},
		{
			name:         "body over the size limit",
			faults:       []hubspottest.Fault{{Status: 200, Body: `{"access_token":"` + strings.Repeat("C", 2048) + `"}`}},
			adjust:       func(o *hubspot.Options) { o.MaxResponseBytes = 1024 },
			want:         &hubspot.MalformedResponseError{Endpoint: hubspot.EndpointToken, Status: 200, Reason: "body larger than 1024 bytes"},
			wantOutcomes: []outcome{malformed},
		},
		{
			name:         "redirect is not followed",
			faults:       []hubspottest.Fault{{Status: 302, Header: http.Header{"Location": {"https://attacker.example/steal"}}}},
			want:         &hubspot.MalformedResponseError{Endpoint: hubspot.EndpointToken, Status: 302, Reason: "unexpected redirect"},
			wantOutcomes: []outcome{malformed},
		},
		{
			name:         "connection reset is retried until attempts run out",
			faults:       []hubspottest.Fault{{ResetConnection: true}},
			want:         &hubspot.UnavailableError{Endpoint: hubspot.EndpointToken, Attempts: 3},
			wantOutcomes: []outcome{network, network, network},
		},
		{
			name:         "connection reset once then success",
			faults:       []hubspottest.Fault{{ResetConnection: true, Times: 1}},
			wantOutcomes: []outcome{network, ok},
		},
		{
			name:         "slow body outlasts the attempt timeout",
			faults:       []hubspottest.Fault{{SlowBody: time.Minute}},
			adjust:       func(o *hubspot.Options) { o.Timeout, o.Retry.MaxAttempts = 100*time.Millisecond, 2 },
			want:         &hubspot.UnavailableError{Endpoint: hubspot.EndpointToken, Attempts: 2},
			wantOutcomes: []outcome{network, network},
		},
		{
			name:         "latency past the attempt timeout then a fast answer",
			faults:       []hubspottest.Fault{{Latency: time.Minute, Times: 1}},
			adjust:       func(o *hubspot.Options) { o.Timeout = 100 * time.Millisecond },
			wantOutcomes: []outcome{network, ok},
		},
		{
			name:         "400 is never retried",
			faults:       []hubspottest.Fault{{Status: 400, Body: `{"status":"BAD_REFRESH_TOKEN","message":"missing or invalid refresh token"}`}},
			want:         &hubspot.RefreshTokenError{Rejection: hubspot.Rejection{HTTPStatus: 400, Status: "BAD_REFRESH_TOKEN", Message: "missing or invalid refresh token"}},
			wantOutcomes: []outcome{rejected},
		},
		{
			name:         "401 is never retried",
			faults:       []hubspottest.Fault{{Status: 401, Body: `{"error":"invalid_client"}`}},
			want:         &hubspot.ClientCredentialsError{Endpoint: hubspot.EndpointToken, Rejection: hubspot.Rejection{HTTPStatus: 401, Code: "invalid_client"}},
			wantOutcomes: []outcome{rejected},
		},
		{
			name:         "403 is never retried",
			faults:       []hubspottest.Fault{{Status: 403, Body: `{"status":"error","message":"forbidden","category":"MISSING_SCOPES"}`}},
			want:         &hubspot.RequestRejectedError{Endpoint: hubspot.EndpointToken, Rejection: hubspot.Rejection{HTTPStatus: 403, Category: "MISSING_SCOPES", Message: "forbidden"}},
			wantOutcomes: []outcome{rejected},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := newTestEnv(t)
			refresh := env.srv.MintRefreshToken(env.grant)
			for _, f := range tt.faults {
				env.srv.InjectFault(hubspottest.EndpointToken, f)
			}
			var (
				mu       sync.Mutex
				outcomes []outcome
			)
			client := env.client(t, hubspot.OAuthVersion202603, func(o *hubspot.Options) {
				o.OnCall = func(ep hubspot.Endpoint, oc hubspot.Outcome, _ time.Duration) {
					mu.Lock()
					defer mu.Unlock()
					if ep != hubspot.EndpointToken {
						t.Errorf("OnCall endpoint = %q, want %q", ep, hubspot.EndpointToken)
					}
					outcomes = append(outcomes, oc)
				}
				if tt.adjust != nil {
					tt.adjust(o)
				}
			})
			ctx := context.Background()
			if tt.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.deadline)
				defer cancel()
			}
			got, err := client.RefreshAccessToken(ctx, env.app, hubspot.Secret(refresh))
			if diff := cmp.Diff(tt.want, err, cmpopts.IgnoreUnexported(hubspot.UnavailableError{}), cmpopts.IgnoreFields(hubspot.Rejection{}, "CorrelationID")); diff != "" {
				t.Errorf("error mismatch (-want +got):\n%s", diff)
			}
			if tt.want == nil && (got == nil || got.AccessToken == "") {
				t.Errorf("RefreshAccessToken() = %v, want a token", got)
			}
			mu.Lock()
			defer mu.Unlock()
			if diff := cmp.Diff(tt.wantOutcomes, outcomes); diff != "" {
				t.Errorf("outcomes mismatch (-want +got):\n%s", diff)
			}
			if calls := env.srv.Calls(hubspottest.EndpointToken); calls != len(tt.wantOutcomes) {
				t.Errorf("upstream calls = %d, want %d", calls, len(tt.wantOutcomes))
			}
		})
	}
}

// TestCallerContext checks that a caller who cancels gets a context error,
// while a deadline that passes while HubSpot holds the request is reported as
// HubSpot being unavailable (and still matches context.DeadlineExceeded).
func TestCallerContext(t *testing.T) {
	t.Parallel()
	t.Run("cancelled while HubSpot holds the request", func(t *testing.T) {
		t.Parallel()
		env := newTestEnv(t)
		env.srv.InjectFault(hubspottest.EndpointToken, hubspottest.Fault{Block: make(chan struct{})})
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() {
			_, err := env.client(t, hubspot.OAuthVersion202603).RefreshAccessToken(ctx, env.app, "na1-8649-43d7-456c-a15c-305ec7f11101")
			errc <- err
		}()
		waitForCalls(t, env.srv, hubspottest.EndpointToken, 1)
		cancel()
		err := <-errc
		var unavailable *hubspot.UnavailableError
		if !errors.Is(err, context.Canceled) || errors.As(err, &unavailable) {
			t.Errorf("error = %v, want context.Canceled and no UnavailableError", err)
		}
		if calls := env.srv.Calls(hubspottest.EndpointToken); calls != 1 {
			t.Errorf("calls = %d, want 1", calls)
		}
	})
	t.Run("deadline passes while HubSpot holds the request", func(t *testing.T) {
		t.Parallel()
		env := newTestEnv(t)
		env.srv.InjectFault(hubspottest.EndpointToken, hubspottest.Fault{Block: make(chan struct{})})
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		_, err := env.client(t, hubspot.OAuthVersion202603).RefreshAccessToken(ctx, env.app, "na1-8649-43d7-456c-a15c-305ec7f11101")
		var unavailable *hubspot.UnavailableError
		if !errors.As(err, &unavailable) || !errors.Is(err, context.DeadlineExceeded) || unavailable.Status != 0 {
			t.Errorf("error = %v, want *UnavailableError (status 0) matching context.DeadlineExceeded", err)
		}
	})
}

// waitForCalls polls until the endpoint has received n requests.
func waitForCalls(t *testing.T, srv *hubspottest.Server, ep hubspottest.Endpoint, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for srv.Calls(ep) < n {
		if time.Now().After(deadline) {
			t.Fatalf("endpoint %s got %d calls, want %d", ep, srv.Calls(ep), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestMaxConcurrent checks that requests beyond MaxConcurrent wait for a
// slot, that a caller who gives up while waiting sends nothing, and that
// slots come back.
func TestMaxConcurrent(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	release := make(chan struct{})
	env.srv.InjectFault(hubspottest.EndpointToken, hubspottest.Fault{Block: release})
	client := env.client(t, hubspot.OAuthVersion202603, func(o *hubspot.Options) { o.MaxConcurrent = 2 })
	const refreshToken = "na1-8649-43d7-456c-a15c-305ec7f11101"
	held := make(chan error, 2)
	for range 2 {
		go func() {
			_, err := client.RefreshAccessToken(context.Background(), env.app, refreshToken)
			held <- err
		}()
	}
	waitForCalls(t, env.srv, hubspottest.EndpointToken, 2)

	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	_, err := client.RefreshAccessToken(ctx, env.app, refreshToken)
	var unavailable *hubspot.UnavailableError
	if !errors.As(err, &unavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("third call = %v, want *UnavailableError matching context.DeadlineExceeded", err)
	}
	if calls := env.srv.Calls(hubspottest.EndpointToken); calls != 2 {
		t.Errorf("HubSpot got %d requests with 2 slots taken, want 2", calls)
	}
	close(release)
	for range 2 {
		if err := <-held; err == nil {
			t.Error("the fake accepted a refresh token it never issued")
		}
	}
	_, _ = client.RefreshAccessToken(t.Context(), env.app, refreshToken)
	if calls := env.srv.Calls(hubspottest.EndpointToken); calls != 3 {
		t.Errorf("HubSpot got %d requests once the slots were free, want 3", calls)
	}
}

// TestAdmit checks the Admit hook: asked once per call (not per retry), and
// a refusal sends nothing.
func TestAdmit(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	env.srv.InjectFault(hubspottest.EndpointToken, hubspottest.Fault{Status: http.StatusServiceUnavailable, Times: 1})
	refuse := false
	var asked []hubspot.Endpoint
	errSpent := errors.New("budget spent")
	client := env.client(t, hubspot.OAuthVersion202603, func(o *hubspot.Options) {
		o.Admit = func(_ context.Context, ep hubspot.Endpoint) error {
			asked = append(asked, ep)
			if refuse {
				return errSpent
			}
			return nil
		}
	})
	rt := hubspot.Secret(env.srv.MintRefreshToken(env.grant))
	if _, err := client.RefreshAccessToken(t.Context(), env.app, rt); err != nil {
		t.Fatalf("RefreshAccessToken after one 503: %v", err)
	}
	if calls := env.srv.Calls(hubspottest.EndpointToken); calls != 2 || len(asked) != 1 {
		t.Errorf("%d requests and %d admissions, want 2 requests (one retry) and 1 admission", calls, len(asked))
	}
	refuse = true
	if _, err := client.RefreshAccessToken(t.Context(), env.app, rt); !errors.Is(err, errSpent) {
		t.Errorf("refused call = %v, want the Admit error", err)
	}
	if calls := env.srv.Calls(hubspottest.EndpointToken); calls != 2 {
		t.Errorf("HubSpot got %d requests, want none for the refused call", calls)
	}
	if diff := cmp.Diff([]hubspot.Endpoint{hubspot.EndpointToken, hubspot.EndpointToken}, asked); diff != "" {
		t.Errorf("admissions (-want +got):\n%s", diff)
	}
}
