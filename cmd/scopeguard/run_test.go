package main

import (
	"bytes"
	"context"
	"runtime/debug"
	"strings"
	"testing"
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

func TestRunUsage(t *testing.T) {
	t.Parallel()
	runCases(t, []cliCase{
		{name: "help", args: []string{"help"}, wantCode: exitOK, wantOut: []string{"commands:"}},
		{name: "serve -h prints flags", args: []string{"serve", "-h"}, wantCode: exitOK},
		{name: "unknown command", args: []string{"frobnicate"}, wantCode: exitUsage, wantErr: `unknown command "frobnicate"`},
		{name: "stray argument", args: []string{"serve", "extra"}, wantCode: exitUsage, wantErr: "unexpected arguments"},
		{name: "bad flag value", args: []string{"serve", "--log-format", "xml"}, wantCode: exitUsage, wantErr: "--log-format"},
		{name: "bad listen address", args: []string{"serve", "--listen", "nowhere"}, wantCode: exitUsage, wantErr: "--listen"},
	})
}

// TestSetServeGOGC covers serve's GC default. Not parallel: it sets the
// test process's GC percent (and restores it).
func TestSetServeGOGC(t *testing.T) {
	old := debug.SetGCPercent(100)
	defer debug.SetGCPercent(old)
	if got := setServeGOGC(func(string) (string, bool) { return "150", true }); got != "150" {
		t.Errorf("with GOGC=150 set, GOGC in force = %q, want 150", got)
	}
	if applied := debug.SetGCPercent(100); applied != 100 {
		t.Errorf("with GOGC set, setServeGOGC changed the GC percent to %d", applied)
	}
	if got := setServeGOGC(func(string) (string, bool) { return "", false }); got != "400" {
		t.Errorf("with GOGC unset, GOGC in force = %q, want 400", got)
	}
	if applied := debug.SetGCPercent(100); applied != serveGOGC {
		t.Errorf("GC percent after setServeGOGC = %d, want %d", applied, serveGOGC)
	}
}
