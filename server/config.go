package server

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/eshopman/scopeguard/server/hubspot"
)

// EnvPrefix starts the environment variable that backs every flag: flag
// --max-recv-bytes is read from SCOPEGUARD_MAX_RECV_BYTES when not given.
const EnvPrefix = "SCOPEGUARD_"

// Config is everything `scopeguard serve` can be told. Defaults suit local
// development; every field has a flag and an environment twin.
type Config struct {
	// Listen is the gRPC listen address.
	Listen string
	// LogFormat is "text" or "json".
	LogFormat string
	// LogLevel is "debug", "info", "warn" or "error".
	LogLevel string
	// LogCalls selects the calls that get a "finished call" log line:
	// LogCallsAll, LogCallsErrors or LogCallsNone.
	LogCalls string
	// MaxRecvBytes caps one request message.
	MaxRecvBytes int
	// MaxConcurrentStreams caps concurrent calls per client connection.
	MaxConcurrentStreams uint
	// ShutdownTimeout bounds graceful shutdown before open calls are cut.
	ShutdownTimeout time.Duration
	// MetricsListen is the HTTP address serving Prometheus /metrics; empty
	// disables it.
	MetricsListen string
	// HubSpotAPIURL is HubSpot's API base URL. It comes from configuration
	// only, never from a request.
	HubSpotAPIURL string
	// HubSpotOAuthVersion selects HubSpot's OAuth endpoints: "2026-03" or
	// "v1" (shut off by HubSpot on 2027-02-16).
	HubSpotOAuthVersion string
	// HubSpotTimeout bounds one HTTP attempt to HubSpot.
	HubSpotTimeout time.Duration
	// AppsFile names the OAuth apps file (name -> client id, secret,
	// redirect URI); empty configures no app.
	AppsFile string
	// RefreshSkew: a cached access token is handed out until this long
	// before it expires.
	RefreshSkew time.Duration
}

// DefaultConfig returns the configuration used when no flag or environment
// variable says otherwise.
func DefaultConfig() Config {
	return Config{
		Listen:    "127.0.0.1:50051",
		LogFormat: "text",
		LogLevel:  "info",
		// Successful calls are counted by the metrics; a line for each
		// would cost more server CPU than a CheckScopes answer.
		LogCalls: LogCallsErrors,
		// A request may carry 1,000 endpoints of up to 4 KiB each, or a
		// 1 MiB error body: 8 MiB leaves room for both.
		MaxRecvBytes:         8 << 20,
		MaxConcurrentStreams: 256,
		ShutdownTimeout:      10 * time.Second,
		HubSpotAPIURL:        "https://api.hubapi.com",
		HubSpotOAuthVersion:  "2026-03",
		HubSpotTimeout:       10 * time.Second,
		RefreshSkew:          5 * time.Minute,
	}
}

// RegisterFlags defines the serve flags on fs, with c's values as defaults.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Listen, "listen", c.Listen, "gRPC listen address (host:port)")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, `log format: "text" or "json"`)
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, `lowest level logged: "debug", "info", "warn" or "error"`)
	fs.StringVar(&c.LogCalls, "log-calls", c.LogCalls, `calls that get a log line: "all", "errors" (those that did not end OK) or "none"`)
	fs.IntVar(&c.MaxRecvBytes, "max-recv-bytes", c.MaxRecvBytes, "largest request message accepted, in bytes")
	fs.UintVar(&c.MaxConcurrentStreams, "max-concurrent-streams", c.MaxConcurrentStreams, "concurrent calls allowed per client connection")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", c.ShutdownTimeout, "how long graceful shutdown waits for open calls before cutting them")
	fs.StringVar(&c.MetricsListen, "metrics-listen", c.MetricsListen, "HTTP address (host:port) serving Prometheus /metrics; empty disables it")
	fs.StringVar(&c.HubSpotAPIURL, "hubspot-api-url", c.HubSpotAPIURL, "HubSpot API base URL (point it at a fake HubSpot for tests and demos)")
	fs.StringVar(&c.HubSpotOAuthVersion, "hubspot-oauth-version", c.HubSpotOAuthVersion, `HubSpot OAuth API: "2026-03" or "v1" (v1 is shut off on 2027-02-16)`)
	fs.DurationVar(&c.HubSpotTimeout, "hubspot-timeout", c.HubSpotTimeout, "timeout of one HTTP attempt to HubSpot (failed attempts are retried with backoff)")
	fs.StringVar(&c.AppsFile, "apps-file", c.AppsFile, "YAML file of OAuth apps (name: client_id, client_secret or client_secret_env, redirect_uri); empty configures none")
	fs.DurationVar(&c.RefreshSkew, "refresh-skew", c.RefreshSkew, "a cached access token is handed out until this long before it expires")
}

// EnvName is the environment variable backing the flag called name.
func EnvName(flagName string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// ApplyEnv sets every flag of fs that was not given on the command line from
// its environment twin (see EnvName), if that variable is set. Call it after
// fs.Parse. A value the flag rejects is an error naming the variable.
func ApplyEnv(fs *flag.FlagSet, lookup func(string) (string, bool)) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] {
			return
		}
		name := EnvName(f.Name)
		value, ok := lookup(name)
		if !ok {
			return
		}
		if err := fs.Set(f.Name, value); err != nil {
			errs = append(errs, fmt.Errorf("environment variable %s: %w", name, err))
		}
	})
	return errors.Join(errs...)
}

// LookupEnv is os.LookupEnv, the lookup ApplyEnv uses outside tests.
var LookupEnv = os.LookupEnv

// Validate reports every problem with c at once.
func (c Config) Validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		errs = append(errs, fmt.Errorf("--listen %q: %w", c.Listen, err))
	}
	if c.MetricsListen != "" {
		if _, _, err := net.SplitHostPort(c.MetricsListen); err != nil {
			errs = append(errs, fmt.Errorf("--metrics-listen %q: %w", c.MetricsListen, err))
		}
	}
	if _, err := hubspot.New(hubspot.Options{BaseURL: c.HubSpotAPIURL}); err != nil {
		errs = append(errs, fmt.Errorf("--hubspot-api-url: %w", err))
	}
	if _, err := hubspot.ParseOAuthVersion(c.HubSpotOAuthVersion); err != nil {
		errs = append(errs, fmt.Errorf("--hubspot-oauth-version: %w", err))
	}
	if c.HubSpotTimeout <= 0 {
		errs = append(errs, fmt.Errorf("--hubspot-timeout %s: want a positive duration", c.HubSpotTimeout))
	}
	if c.RefreshSkew <= 0 {
		errs = append(errs, fmt.Errorf("--refresh-skew %s: want a positive duration", c.RefreshSkew))
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf(`--log-format %q: want "text" or "json"`, c.LogFormat))
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		errs = append(errs, fmt.Errorf("--log-level: %w", err))
	}
	switch c.LogCalls {
	case LogCallsAll, LogCallsErrors, LogCallsNone:
	default:
		errs = append(errs, fmt.Errorf(`--log-calls %q: want "all", "errors" or "none"`, c.LogCalls))
	}
	if c.MaxRecvBytes < 64<<10 {
		errs = append(errs, fmt.Errorf("--max-recv-bytes %d: want at least 65536", c.MaxRecvBytes))
	}
	if c.MaxConcurrentStreams == 0 {
		errs = append(errs, errors.New("--max-concurrent-streams: want at least 1"))
	}
	if c.ShutdownTimeout <= 0 {
		errs = append(errs, fmt.Errorf("--shutdown-timeout %s: want a positive duration", c.ShutdownTimeout))
	}
	return errors.Join(errs...)
}

// LogValue lets the configuration be logged at startup. It holds no secret
// (client secrets live in the apps file, which is logged by name only);
// fields that ever do must be redacted here.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("listen", c.Listen),
		slog.String("log_format", c.LogFormat),
		slog.String("log_level", c.LogLevel),
		slog.String("log_calls", c.LogCalls),
		slog.Int("max_recv_bytes", c.MaxRecvBytes),
		slog.Uint64("max_concurrent_streams", uint64(c.MaxConcurrentStreams)),
		slog.Duration("shutdown_timeout", c.ShutdownTimeout),
		slog.String("metrics_listen", c.MetricsListen),
		slog.String("hubspot_api_url", c.HubSpotAPIURL),
		slog.String("hubspot_oauth_version", c.HubSpotOAuthVersion),
		slog.Duration("hubspot_timeout", c.HubSpotTimeout),
		slog.String("apps_file", c.AppsFile),
		slog.Duration("refresh_skew", c.RefreshSkew),
	)
}

// NewLogger builds the process logger the configuration asks for.
func (c Config) NewLogger(w io.Writer) (*slog.Logger, error) {
	level, err := parseLevel(c.LogLevel)
	if err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: level}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}

func parseLevel(s string) (slog.Level, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("level %q: want debug, info, warn or error", s)
	}
	return level, nil
}
