package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"strconv"

	"github.com/eshopman/scopeguard/server"
)

// Exit codes: 0 success, 1 a failure while running, 2 bad usage.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

const usage = `usage: scopeguard [command] [flags] [args]

commands:
  serve    run the gRPC server (default)
  check    check granted scopes against endpoints, offline: check [flags] METHOD PATH...
  plan     plan the least-privileged scopes for endpoints, offline: plan [flags] METHOD PATH...
  explain  explain a HubSpot error response, offline: explain --status 403 --body @file.json

Run "scopeguard <command> -h" for a command's flags.
`

// run dispatches to a subcommand and returns the process exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	cmd := "serve"
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, args, stderr)
	case "check":
		return check(ctx, args, stdout, stderr)
	case "plan":
		return plan(ctx, args, stdout, stderr)
	case "explain":
		return explainCmd(ctx, args, stdin, stdout, stderr)
	case "help":
		fmt.Fprint(stdout, usage)
		return exitOK, nil
	default:
		fmt.Fprint(stderr, usage)
		return exitUsage, fmt.Errorf("unknown command %q", cmd)
	}
}

func serve(ctx context.Context, args []string, stderr io.Writer) (int, error) {
	cfg := server.DefaultConfig()
	fs := flag.NewFlagSet("scopeguard serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg.RegisterFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return usageError(err)
	}
	if err := cfg.Validate(); err != nil {
		return exitUsage, err
	}
	logOut := server.NewBufferedLogWriter(stderr)
	defer func() { _ = logOut.Close() }()
	log, err := cfg.NewLogger(logOut)
	if err != nil {
		return exitUsage, err
	}
	gogc := setServeGOGC(server.LookupEnv)
	log.Info("starting scopeguard", slog.Any("config", cfg), slog.String("gogc", gogc))
	metrics := server.NewMetrics()
	svc, err := server.BuildService(cfg, log, metrics)
	if err != nil {
		return exitError, err
	}
	if err := server.Run(ctx, cfg, log, svc, metrics, nil); err != nil {
		return exitError, err
	}
	return exitOK, nil
}

// serveGOGC is the garbage collector's GOGC for serve when the GOGC
// environment variable is unset. The live heap is mostly the catalog, so
// Go's default of 100 collects every ~25 MiB of garbage, and a CheckScopes
// call spent about a fifth of its server CPU in the collector; at 400 it
// spends about a twentieth, for about 40 MiB more memory under load
// (BENCHMARKS.md, "Garbage collector").
const serveGOGC = 400

// setServeGOGC applies serveGOGC unless GOGC is set (the runtime has then
// applied it), and returns the GOGC in force, for the startup log line.
func setServeGOGC(lookup func(string) (string, bool)) string {
	if v, ok := lookup("GOGC"); ok {
		return v
	}
	debug.SetGCPercent(serveGOGC)
	return strconv.Itoa(serveGOGC)
}

// parseFlags parses args and then fills unset flags from their environment
// twins.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	return server.ApplyEnv(fs, server.LookupEnv)
}

// usageError is the exit for a command line that could not be used: -h is
// a success (the flags were printed), anything else a usage error.
func usageError(err error) (int, error) {
	if errors.Is(err, flag.ErrHelp) {
		return exitOK, nil
	}
	return exitUsage, err
}
