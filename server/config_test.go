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
	cfg := Config{Listen: "nope", LogFormat: "xml", LogLevel: "loud", LogCalls: "some", MaxRecvBytes: 1, ShutdownTimeout: -1}
	err := cfg.Validate()
	if err == nil {
		t.Fatal("Validate accepted a broken config")
	}
	for _, flagName := range []string{"--listen", "--log-format", "--log-level", "--log-calls", "--max-recv-bytes", "--max-concurrent-streams", "--shutdown-timeout"} {
		if !strings.Contains(err.Error(), flagName) {
			t.Errorf("Validate error does not mention %s: %v", flagName, err)
		}
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Errorf("default config invalid: %v", err)
	}
}
