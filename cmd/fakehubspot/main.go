// Command fakehubspot serves scopeguard's fake HubSpot (server/hubspottest)
// on a real port, seeded with one demo account, for demos, end-to-end tests
// and the other-language client tests. Its generic API decides calls from
// scopeguard's catalog, and it reproduces the seed puzzle: the audit-log
// endpoint answers 403 MISSING_SCOPES although the demo token holds
// account-info.security.read (the account is not Enterprise).
//
// On start it prints one JSON line to stdout with its URL and the demo
// credentials (all fake), then serves until SIGINT or SIGTERM.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/eshopman/scopeguard/server/catalog"
	"github.com/eshopman/scopeguard/server/hubspottest"
)

// The demo app and account. Fake values, safe to print.
const (
	demoClientID     = "7d1c6f0e-3b2a-4c5d-9e8f-0a1b2c3d4e5f"
	demoClientSecret = "demo-client-secret-not-real"
	demoAppID        = 4242
	demoHubID        = 20251108
)

// demoScopes are what the demo account granted the app.
var demoScopes = []string{
	"oauth", "crm.objects.contacts.read", "crm.objects.contacts.write",
	"crm.objects.deals.read", "account-info.security.read",
}

// Seed is what fakehubspot prints on start: where it listens and the demo
// credentials.
type Seed struct {
	URL                 string   `json:"url"`
	ClientID            string   `json:"client_id"`
	ClientSecret        string   `json:"client_secret"`
	AppID               int64    `json:"app_id"`
	HubID               int64    `json:"hub_id"`
	Scopes              []string `json:"scopes"`
	AccessToken         string   `json:"access_token"`
	ExpiredAccessToken  string   `json:"expired_access_token"`
	RefreshToken        string   `json:"refresh_token"`
	RevokedRefreshToken string   `json:"revoked_refresh_token"`
	PrivateAppToken     string   `json:"private_app_token"`
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "fakehubspot:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("fakehubspot", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:0", "HTTP listen address (port 0 picks a free one; the seed line says which)")
	rateLimit := fs.Int("rate-limit", 0, "generic API calls allowed per 10-second window per account and app (0: unlimited)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	fake := hubspottest.New(hubspottest.Options{Authorize: hubspottest.CatalogAuthorizer(catalog.Default())})
	if *rateLimit > 0 {
		fake.SetRateLimit(hubspottest.RateLimit{Max: *rateLimit})
	}
	lis, err := new(net.ListenConfig).Listen(ctx, "tcp", *listen)
	if err != nil {
		return err
	}
	seed := seedDemo(fake, "http://"+lis.Addr().String())
	if err := json.NewEncoder(stdout).Encode(seed); err != nil {
		return err
	}

	srv := &http.Server{Handler: fake, ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
		shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(shutdownCtx); err != nil {
			return err
		}
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}
}

// seedDemo installs the demo app in the demo account and mints its tokens.
func seedDemo(fake *hubspottest.Fake, url string) Seed {
	fake.AddApp(hubspottest.App{ClientID: demoClientID, ClientSecret: demoClientSecret, AppID: demoAppID})
	grant := hubspottest.Grant{
		ClientID: demoClientID, HubID: demoHubID, UserID: 7001, User: "admin@shop.example",
		HubDomain: "shop-example.hubspot.com", Scopes: demoScopes,
	}
	revoked := fake.MintRefreshToken(grant)
	fake.Revoke(revoked)
	private := grant
	private.ClientID = ""
	// The seed puzzle: the account is not Enterprise, so the audit log is
	// refused with MISSING_SCOPES whatever the token holds.
	fake.ForbidDespiteScopes("GET", "/account-info/v3/activity/audit-logs")
	return Seed{
		URL:                 url,
		ClientID:            demoClientID,
		ClientSecret:        demoClientSecret,
		AppID:               demoAppID,
		HubID:               demoHubID,
		Scopes:              demoScopes,
		AccessToken:         fake.MintAccessToken(grant, time.Time{}),
		ExpiredAccessToken:  fake.MintAccessToken(grant, time.Now().Add(-time.Hour)),
		RefreshToken:        fake.MintRefreshToken(grant),
		RevokedRefreshToken: revoked,
		PrivateAppToken:     fake.MintPrivateAppToken(private),
	}
}
