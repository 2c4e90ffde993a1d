package hubspot_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/eshopman/scopeguard/internal/logbuf"
	"github.com/eshopman/scopeguard/server/hubspot"
	"github.com/eshopman/scopeguard/server/hubspottest"
)

// TestNoSecretInErrorsOrLogs plants a token, a refresh token and a client
// secret, drives every call through failures that tend to echo them (the v1
// path carries the token, transport errors quote URLs, bodies that repeat
// the secrets), and searches every error string and the debug log for them.
func TestNoSecretInErrorsOrLogs(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	accessToken := env.srv.MintAccessToken(env.grant, time.Time{})
	privateToken := env.srv.MintPrivateAppToken(hubspottest.Grant{HubID: 1, AppID: 2})
	refreshToken := env.srv.MintRefreshToken(env.grant)
	secrets := []string{accessToken, privateToken, refreshToken, testClientSecret}
	// HubSpot can only echo what a call sent; each endpoint's body repeats
	// that call's secrets (raw and URL-encoded) and, to test the shape-based
	// scrubbing, other tokens too.
	echo := func(own ...string) string {
		words := append(slices.Clone(own), url.QueryEscape(own[0]), accessToken, privateToken, refreshToken)
		return fmt.Sprintf(`{"status":"error","message":"%s","error_description":"%s","correlationId":"%s"}`,
			strings.Join(words, " "), strings.Join(words, " "), own[len(own)-1])
	}
	bodies := map[hubspottest.Endpoint]string{
		hubspottest.EndpointToken:               echo(refreshToken, testClientSecret),
		hubspottest.EndpointIntrospect:          echo(accessToken, testClientSecret),
		hubspottest.EndpointAccessTokenInfo:     echo(accessToken),
		hubspottest.EndpointPrivateAppTokenInfo: echo(privateToken),
	}

	var logs logbuf.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var errs []error
	ctx := context.Background()
	for _, version := range versions {
		client := env.client(t, version, func(o *hubspot.Options) { o.Logger = logger; o.Retry.MaxAttempts = 2 })
		for _, fault := range []hubspottest.Fault{
			{ResetConnection: true},
			{Status: 500},
			{Status: 400},
			{Status: 401},
			{Status: 403},
			{Status: 429},
			{MalformedJSON: true},
		} {
			env.srv.ClearFaults()
			for ep, body := range bodies {
				if fault.Status != 0 {
					fault.Body = body
				}
				env.srv.InjectFault(ep, fault)
			}
			_, err := client.RefreshAccessToken(ctx, env.app, hubspot.Secret(refreshToken))
			errs = append(errs, err)
			_, err = client.IntrospectAccessToken(ctx, env.app, hubspot.Secret(accessToken))
			errs = append(errs, err)
			_, err = client.IntrospectPrivateAppToken(ctx, hubspot.Secret(privateToken))
			errs = append(errs, err)
		}
	}
	env.srv.ClearFaults()

	// A server that is gone: the transport error quotes the full URL.
	closed := hubspottest.Start(t, hubspottest.Options{})
	closed.Close()
	gone, err := hubspot.New(hubspot.Options{BaseURL: closed.URL, OAuthVersion: hubspot.OAuthVersionV1, Logger: logger,
		Retry: hubspot.RetryPolicy{MaxAttempts: 1}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = gone.IntrospectAccessToken(ctx, hubspot.AppCredentials{}, hubspot.Secret(accessToken))
	if err == nil {
		t.Fatal("introspection against a closed server succeeded")
	}
	errs = append(errs, err)

	// Successful answers printed every way a careless caller might.
	resp, err := env.client(t, hubspot.OAuthVersion202603).RefreshAccessToken(ctx, env.app, hubspot.Secret(refreshToken))
	if err != nil {
		t.Fatal(err)
	}
	secrets = append(secrets, resp.AccessToken.Reveal())
	jsonResp, err := json.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	logger.Info("careless", "response", resp, "app", env.app, "token", hubspot.Secret(accessToken))
	printed := []string{fmt.Sprintf("%v %+v %#v %s", resp, resp, resp, hubspot.Secret(accessToken)), string(jsonResp),
		fmt.Sprintf("%v %+v %#v", env.app, env.app, env.app)}

	var nonNil int
	for _, err := range errs {
		for e := err; e != nil; e = errors.Unwrap(e) {
			printed = append(printed, e.Error(), fmt.Sprintf("%+v %#v", e, e))
		}
		if err != nil {
			nonNil++
		}
	}
	if nonNil < 20 {
		t.Fatalf("only %d calls failed; the scenarios no longer exercise error paths", nonNil)
	}
	printed = append(printed, logs.String())
	if !strings.Contains(logs.String(), `"endpoint":"access-token-info"`) {
		t.Fatal("debug log has no per-attempt lines; the log check would prove nothing")
	}
	for _, text := range printed {
		for _, secret := range secrets {
			for _, form := range []string{secret, url.PathEscape(secret), url.QueryEscape(secret)} {
				if strings.Contains(text, form) {
					t.Errorf("secret %s... leaked in %q", secret[:8], text)
				}
			}
		}
	}
}
