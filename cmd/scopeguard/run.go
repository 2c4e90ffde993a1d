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
  serve    run the gRPC server (the default): serve [flags]
  check    check granted scopes against endpoints, offline: check [flags] METHOD PATH...
  plan     plan the least-privileged scopes for endpoints, offline: plan [flags] METHOD PATH...
  explain  explain a HubSpot error response, offline: explain --status 403 --body @file.json
  catalog  list what the embedded catalog knows: catalog [--family NAME] [PATH_PREFIX]
  version  print the module version, commit, Go version and embedded catalog
  help     print this help (also -h, --help)

Run "scopeguard <command> -h" for a command's flags.
`

// run dispatches to a subcommand and returns the process exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	cmd := "serve"
	switch {
	case len(args) > 0 && isHelpFlag(args[0]):
		// "scopeguard -h" asks about the binary, "scopeguard serve -h"
		// about serve's flags.
		cmd = "help"
	case len(args) > 0 && args[0] != "" && args[0][0] != '-':
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
	case "catalog":
		return catalogCmd(args, stdout, stderr)
	case "version":
		return version(args, stdout)
	case "help":
		fmt.Fprint(stdout, usage)
		return exitOK, nil
	default:
		fmt.Fprint(stderr, usage)
		return exitUsage, fmt.Errorf("unknown command %q", cmd)
	}
}

// isHelpFlag reports whether arg asks for help the way the flag package
// understands it.
func isHelpFlag(arg string) bool {
	switch arg {
	case "-h", "-help", "--h", "--help":
		return true
	}
	return false
}

func serve(ctx context.Context, args []string, stderr io.Writer) (int, error) {
	cfg := server.DefaultConfig()
	fs := flag.NewFlagSet("scopeguard serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg.RegisterFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return usageError(err)
	}
	cfg.Redis.LoadSecrets(server.LookupEnv)
	if err := cfg.Validate(); err != nil {
		return exitUsage, err
	}
	logOut := server.NewBufferedLogWriter(stderr)
	defer func() { _ = logOut.Close() }()
	log, err := cfg.NewLogger(logOut)
	if err != nil {
		return exitUsage, err
	}
	gogc, memoryLimit := setServeGC(server.LookupEnv)
	log.Info("starting scopeguard", slog.Any("config", cfg), slog.String("gogc", gogc), slog.String("gomemlimit", memoryLimit))
	metrics := server.NewMetrics()
	svc, err := server.BuildService(cfg, log, metrics)
	if err != nil {
		return exitError, err
	}
	defer func() { _ = svc.Close() }()
	if err := server.Run(ctx, cfg, log, svc, metrics, nil); err != nil {
		return exitError, err
	}
	return exitOK, nil
}

// serve's garbage collector settings, each applied unless its environment
// variable (GOGC, GOMEMLIMIT) is set. The live heap is mostly the catalog,
// so at Go's default GOGC of 100 the collector runs every ~25 MiB of
// garbage and took 12-16% of a CheckScopes call's server CPU; at 400 it
// takes about 5%, for 35-40 MiB more memory under load. GOGC alone scales
// bursts too (50 concurrent 1,000-endpoint checks peaked at 320 MiB
// against 139 MiB), so a soft memory limit makes the collector work
// harder only when the heap nears it (BENCHMARKS.md, "Garbage
// collector").
const (
	serveGOGC        = 400
	serveMemoryLimit = 256 << 20
)

// setServeGC applies serveGOGC and serveMemoryLimit where GOGC and
// GOMEMLIMIT are unset (the runtime has applied those that are), and
// returns the settings in force, for the startup log line.
func setServeGC(lookup func(string) (string, bool)) (gogc, memoryLimit string) {
	gogc, ok := lookup("GOGC")
	if !ok {
		debug.SetGCPercent(serveGOGC)
		gogc = strconv.Itoa(serveGOGC)
	}
	memoryLimit, ok = lookup("GOMEMLIMIT")
	if !ok {
		debug.SetMemoryLimit(serveMemoryLimit)
		memoryLimit = strconv.Itoa(serveMemoryLimit>>20) + "MiB"
	}
	return gogc, memoryLimit
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
