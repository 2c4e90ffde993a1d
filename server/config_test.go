package server

import (
	"flag"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestApplyEnv(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    func(*Config)
		wantErr string
	}{
		{
			name: "environment fills unset flags",
			env:  map[string]string{"SCOPEGUARD_LISTEN": "0.0.0.0:9000", "SCOPEGUARD_SHUTDOWN_TIMEOUT": "3s"},
			want: func(c *Config) { c.Listen = "0.0.0.0:9000"; c.ShutdownTimeout = 3 * time.Second },
		},
		{
			name: "a flag beats its environment twin",
			args: []string{"--listen", "127.0.0.1:1"},
			env:  map[string]string{"SCOPEGUARD_LISTEN": "0.0.0.0:9000"},
			want: func(c *Config) { c.Listen = "127.0.0.1:1" },
		},
		{
			name:    "a bad environment value names the variable",
			env:     map[string]string{"SCOPEGUARD_MAX_RECV_BYTES": "lots"},
			wantErr: "SCOPEGUARD_MAX_RECV_BYTES",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := DefaultConfig()
			fs := flag.NewFlagSet("serve", flag.ContinueOnError)
			cfg.RegisterFlags(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			err := ApplyEnv(fs, func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ApplyEnv error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := DefaultConfig()
			tt.want(&want)
			if diff := cmp.Diff(want, cfg); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	t.Parallel()
	cfg := Config{Listen: "nope", HTTPListen: "8080", LogFormat: "xml", LogLevel: "loud", LogCalls: "some", MaxRecvBytes: 1, ShutdownTimeout: -1}
	err := cfg.Validate()
	if err == nil {
		t.Fatal("Validate accepted a broken config")
	}
	for _, flagName := range []string{"--listen", "--http-listen", "--log-format", "--log-level", "--log-calls", "--max-recv-bytes", "--max-concurrent-streams", "--shutdown-timeout"} {
		if !strings.Contains(err.Error(), flagName) {
			t.Errorf("Validate error does not mention %s: %v", flagName, err)
		}
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Errorf("default config invalid: %v", err)
	}
}

// TestProtectedMode: a server reachable from other hosts needs a callers
// file, or the explicit opt-out.
func TestProtectedMode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		listen    string
		http      string
		callers   string
		anonymous bool
		refused   bool
	}{
		{listen: "127.0.0.1:50051"},
		{listen: "[::1]:50051"},
		{listen: "localhost:50051"},
		{listen: "0.0.0.0:50051", refused: true},
		{listen: ":50051", refused: true},
		{listen: "[::]:50051", refused: true},
		{listen: "10.1.2.3:50051", refused: true},
		{listen: "scopeguard.internal:50051", refused: true},
		{listen: "0.0.0.0:50051", callers: "callers.yaml"},
		{listen: "0.0.0.0:50051", anonymous: true},
		{listen: "127.0.0.1:50051", http: "0.0.0.0:8080", refused: true},
		{listen: "127.0.0.1:50051", http: "127.0.0.1:8080"},
		{listen: "127.0.0.1:50051", http: "0.0.0.0:8080", callers: "callers.yaml"},
	}
	for _, tt := range tests {
		cfg := DefaultConfig()
		cfg.Listen, cfg.HTTPListen, cfg.CallersFile, cfg.AllowAnonymousCallers = tt.listen, tt.http, tt.callers, tt.anonymous
		err := cfg.Validate()
		if got := err != nil; got != tt.refused {
			t.Errorf("listen %s, http %q, callers file %q, anonymous %v: Validate = %v, want refused %v", tt.listen, tt.http, tt.callers, tt.anonymous, err, tt.refused)
			continue
		}
		if tt.refused && (!strings.Contains(err.Error(), "--callers-file") || !strings.Contains(err.Error(), "--allow-anonymous-callers")) {
			t.Errorf("refusal does not say how to proceed: %v", err)
		}
	}
}

func TestValidateTLSFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cert, key, ca string
		want          string
	}{
		{cert: "c.pem", want: "give both or neither"},
		{key: "k.pem", want: "give both or neither"},
		{ca: "ca.pem", want: "--tls-client-ca-file needs"},
	}
	for _, tt := range tests {
		cfg := DefaultConfig()
		cfg.TLSCertFile, cfg.TLSKeyFile, cfg.TLSClientCAFile = tt.cert, tt.key, tt.ca
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("cert %q key %q ca %q: Validate = %v, want %q", tt.cert, tt.key, tt.ca, err, tt.want)
		}
	}
}
