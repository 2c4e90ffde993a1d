package tokens

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/eshopman/scopeguard/internal/yamlfile"
	"github.com/eshopman/scopeguard/server/hubspot"
)

// An apps file (--apps-file) names the OAuth apps whose credentials the
// server holds, so callers can refresh and introspect by app name without
// holding the client secret. It is YAML (JSON works too, being YAML):
//
//	apps:
//	  shop:
//	    client_id: 5f0c1a9e-...
//	    client_secret_env: SHOP_HUBSPOT_CLIENT_SECRET   # preferred
//	    redirect_uri: https://shop.example/oauth/callback
//	  legacy:
//	    client_id: 0b7d...
//	    client_secret: 9c1e...                           # allowed, discouraged
//
// Each app needs client_id and exactly one of client_secret (the value) or
// client_secret_env (the environment variable holding it, so the secret never
// sits in a file). redirect_uri is optional; when set it must be https, or
// http on localhost, as HubSpot requires. Unknown keys are errors.

// App is one OAuth app's credentials from the apps file.
type App struct {
	// Name is the app's key in the file, used as RefreshTokenRequest.app.
	Name string
	hubspot.AppCredentials
}

// LogValue logs the app without its secret.
func (a App) LogValue() slog.Value {
	return slog.GroupValue(slog.String("name", a.Name), slog.Any("credentials", a.AppCredentials))
}

// Apps is the loaded apps file. A nil *Apps is an empty configuration.
type Apps struct {
	byName map[string]App
}

type appsFile struct {
	Apps map[string]appEntry `yaml:"apps"`
}

type appEntry struct {
	ClientID        string `yaml:"client_id"`
	ClientSecret    string `yaml:"client_secret"`
	ClientSecretEnv string `yaml:"client_secret_env"`
	RedirectURI     string `yaml:"redirect_uri"`
}

var (
	appName = regexp.MustCompile(`^[A-Za-z0-9._-]{1,128}$`)
	// envName is a POSIX environment variable name. A client secret (a UUID)
	// never is one, so a secret written as client_secret_env is refused
	// without being quoted.
	envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// LoadApps reads and validates the apps file at path; lookupEnv resolves
// client_secret_env (os.LookupEnv in production).
func LoadApps(path string, lookupEnv func(string) (string, bool)) (*Apps, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("apps file: %w", err)
	}
	apps, err := ParseApps(data, lookupEnv)
	if err != nil {
		return nil, fmt.Errorf("apps file %s: %w", path, err)
	}
	return apps, nil
}

// ParseApps validates an apps file's contents.
func ParseApps(data []byte, lookupEnv func(string) (string, bool)) (*Apps, error) {
	var file appsFile
	if err := yamlfile.Decode(data, &file, "apps maps names to mappings of strings"); err != nil {
		if errors.Is(err, yamlfile.ErrEmpty) {
			return nil, errors.New("no apps defined")
		}
		return nil, err
	}
	if len(file.Apps) == 0 {
		return nil, errors.New("no apps defined")
	}
	apps := &Apps{byName: make(map[string]App, len(file.Apps))}
	for name, e := range file.Apps {
		app, err := e.resolve(name, lookupEnv)
		if err != nil {
			return nil, fmt.Errorf("app %q: %w", name, err)
		}
		apps.byName[name] = app
	}
	return apps, nil
}

func (e appEntry) resolve(name string, lookupEnv func(string) (string, bool)) (App, error) {
	if !appName.MatchString(name) {
		return App{}, errors.New("name must be 1 to 128 letters, digits, '.', '_' or '-'")
	}
	if strings.TrimSpace(e.ClientID) == "" {
		return App{}, errors.New("client_id is required")
	}
	secret := e.ClientSecret
	switch {
	case e.ClientSecret != "" && e.ClientSecretEnv != "":
		return App{}, errors.New("give client_secret or client_secret_env, not both")
	case e.ClientSecretEnv != "" && !envName.MatchString(e.ClientSecretEnv):
		return App{}, errors.New("client_secret_env must name an environment variable (letters, digits and _), not hold the secret")
	case e.ClientSecretEnv != "":
		value, ok := lookupEnv(e.ClientSecretEnv)
		if !ok || strings.TrimSpace(value) == "" {
			return App{}, fmt.Errorf("environment variable %s (client_secret_env) is not set", e.ClientSecretEnv)
		}
		secret = value
	case e.ClientSecret == "":
		return App{}, errors.New("client_secret or client_secret_env is required")
	}
	if e.RedirectURI != "" {
		if err := checkRedirectURI(e.RedirectURI); err != nil {
			return App{}, err
		}
	}
	return App{Name: name, AppCredentials: hubspot.AppCredentials{
		ClientID: strings.TrimSpace(e.ClientID), ClientSecret: hubspot.Secret(strings.TrimSpace(secret)), RedirectURI: e.RedirectURI,
	}}, nil
}

// checkRedirectURI applies HubSpot's rule: https, or http only on localhost.
func checkRedirectURI(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		// Not quoted: what is not a URL may be a secret in the wrong place.
		return errors.New("redirect_uri is not an absolute URL")
	}
	if u.Scheme == "https" || (u.Scheme == "http" && u.Hostname() == "localhost") {
		return nil
	}
	return fmt.Errorf("redirect_uri %q must use https (http only for localhost)", raw)
}

// Lookup returns the app named name.
func (a *Apps) Lookup(name string) (App, bool) {
	if a == nil {
		return App{}, false
	}
	app, ok := a.byName[name]
	return app, ok
}

// Only returns the single configured app; false when there are none or
// several (requests that name no app use the only one, if any).
func (a *Apps) Only() (App, bool) {
	if a == nil || len(a.byName) != 1 {
		return App{}, false
	}
	for _, app := range a.byName {
		return app, true
	}
	return App{}, false
}

// Names lists the configured app names, sorted.
func (a *Apps) Names() []string {
	if a == nil {
		return nil
	}
	names := make([]string, 0, len(a.byName))
	for name := range a.byName {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// LogValue logs each app's name, client id and redirect URI, never a secret.
func (a *Apps) LogValue() slog.Value {
	attrs := make([]slog.Attr, 0, len(a.Names()))
	for _, name := range a.Names() {
		app := a.byName[name]
		attrs = append(attrs, slog.Group(name, slog.String("client_id", app.ClientID), slog.String("redirect_uri", app.RedirectURI)))
	}
	return slog.GroupValue(attrs...)
}

// String lists the apps without secrets, for startup logs and flag dumps.
func (a *Apps) String() string {
	parts := make([]string, 0, len(a.Names()))
	for _, name := range a.Names() {
		parts = append(parts, fmt.Sprintf("%s(client_id=%s)", name, a.byName[name].ClientID))
	}
	return "apps[" + strings.Join(parts, " ") + "]"
}
