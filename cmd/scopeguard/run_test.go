package main

import (
	"bytes"
	"context"
	"math"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/eshopman/scopeguard/server/catalog"
)

// cliCase is one command line and what it must do.
type cliCase struct {
	name     string
	args     []string
	stdin    string
	wantCode int
	wantErr  string   // a substring of the returned error; "" for none
	wantOut  []string // substrings of standard output
}

// runCases runs each case through run, in parallel.
func runCases(t *testing.T, tests []cliCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			code, err := run(context.Background(), tt.args, strings.NewReader(tt.stdin), &stdout, &stderr)
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, stdout.String(), stderr.String())
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("error = %v, want one containing %q", err, tt.wantErr)
			}
			for _, want := range tt.wantOut {
				if !strings.Contains(stdout.String(), want) {
					t.Errorf("stdout lacks %q:\n%s", want, stdout.String())
				}
			}
		})
	}
}

// everyCommand are the lines of the usage text that name each command.
var everyCommand = []string{"\n  serve ", "\n  check ", "\n  plan ", "\n  explain ", "\n  version ", "\n  help "}

func TestRunUsage(t *testing.T) {
	t.Parallel()
	runCases(t, []cliCase{
		{name: "help", args: []string{"help"}, wantCode: exitOK, wantOut: everyCommand},
		{name: "-h lists every command", args: []string{"-h"}, wantCode: exitOK, wantOut: everyCommand},
		{name: "--help lists every command", args: []string{"--help"}, wantCode: exitOK, wantOut: everyCommand},
		{name: "version", args: []string{"version"}, wantCode: exitOK, wantOut: []string{"scopeguard ", "\ncommit ", "\ngo ", "\ncatalog "}},
		{name: "version takes no arguments", args: []string{"version", "x"}, wantCode: exitUsage, wantErr: "no arguments"},
		{name: "serve -h prints flags", args: []string{"serve", "-h"}, wantCode: exitOK},
		{name: "unknown command", args: []string{"frobnicate"}, wantCode: exitUsage, wantErr: `unknown command "frobnicate"`},
		{name: "stray argument", args: []string{"serve", "extra"}, wantCode: exitUsage, wantErr: "unexpected arguments"},
		{name: "bad flag value", args: []string{"serve", "--log-format", "xml"}, wantCode: exitUsage, wantErr: "--log-format"},
		{name: "bad listen address", args: []string{"serve", "--listen", "nowhere"}, wantCode: exitUsage, wantErr: "--listen"},
	})
}

func TestDescribeBuild(t *testing.T) {
	t.Parallel()
	cat := catalog.Summary{Operations: 10, LegacyOperations: 2, Scopes: 5, Objects: 3, Bytes: 1234, Digest: "0123456789ab"}
	stamped := &debug.BuildInfo{
		Main: debug.Module{Path: "github.com/eshopman/scopeguard", Version: "v0.0.0-20261201235000-56c808b320ae+dirty"},
		Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "56c808b320ae5749993fbecd85a3391a19b82cd6"},
			{Key: "vcs.time", Value: "2026-12-01T23:50:00Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	tests := []struct {
		name string
		info *debug.BuildInfo
		want []string
	}{
		{"stamped by go build in a clone", stamped, []string{
			"scopeguard v0.0.0-20261201235000-56c808b320ae+dirty\n",
			"commit   56c808b320ae5749993fbecd85a3391a19b82cd6 (2026-12-01T23:50:00Z), with uncommitted changes\n",
		}},
		{"no build information", nil, []string{"scopeguard (devel)\n", "commit   unknown ("}},
		{"no version control information", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, []string{"scopeguard (devel)\n", "commit   unknown ("}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := describeBuild(tt.info, cat)
			for _, want := range append(tt.want, "catalog  10 operations (2 from the legacy overlay), 5 scopes, 3 object types; 1234 bytes, sha256 0123456789ab\n") {
				if !strings.Contains(got, want) {
					t.Errorf("describeBuild() = %q, lacks %q", got, want)
				}
			}
		})
	}
}

// TestSetServeGC covers serve's GC defaults. Not parallel: it sets the
// test process's GC percent and memory limit (and restores them).
func TestSetServeGC(t *testing.T) {
	oldPercent := debug.SetGCPercent(100)
	defer debug.SetGCPercent(oldPercent)
	oldLimit := debug.SetMemoryLimit(math.MaxInt64)
	defer debug.SetMemoryLimit(oldLimit)

	set := func(name string) (string, bool) {
		return map[string]string{"GOGC": "150", "GOMEMLIMIT": "1GiB"}[name], true
	}
	if gogc, limit := setServeGC(set); gogc != "150" || limit != "1GiB" {
		t.Errorf("with GOGC and GOMEMLIMIT set, settings in force = %q, %q; want theirs", gogc, limit)
	}
	if percent, limit := debug.SetGCPercent(100), debug.SetMemoryLimit(-1); percent != 100 || limit != math.MaxInt64 {
		t.Errorf("with GOGC and GOMEMLIMIT set, setServeGC changed the runtime's settings to %d, %d", percent, limit)
	}

	unset := func(string) (string, bool) { return "", false }
	if gogc, limit := setServeGC(unset); gogc != "400" || limit != "256MiB" {
		t.Errorf("with nothing set, settings in force = %q, %q; want 400, 256MiB", gogc, limit)
	}
	if percent, limit := debug.SetGCPercent(100), debug.SetMemoryLimit(-1); percent != serveGOGC || limit != serveMemoryLimit {
		t.Errorf("runtime settings after setServeGC = %d, %d; want %d, %d", percent, limit, serveGOGC, serveMemoryLimit)
	}
}
