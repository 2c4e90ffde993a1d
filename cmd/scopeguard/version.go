package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/eshopman/scopeguard/server/catalog"
)

// version prints what this binary is: the module version, the commit it
// was built from, the Go toolchain and the catalog it embeds.
func version(args []string, stdout io.Writer) (int, error) {
	if len(args) > 0 {
		return exitUsage, fmt.Errorf("version takes no arguments, got %q", args)
	}
	info, _ := debug.ReadBuildInfo()
	_, err := io.WriteString(stdout, describeBuild(info, catalog.Describe()))
	if err != nil {
		return exitError, err
	}
	return exitOK, nil
}

// describeBuild is version's text. info is nil when the binary carries no
// build information.
func describeBuild(info *debug.BuildInfo, cat catalog.Summary) string {
	module, commit := "(devel)", "unknown (built without version control information: outside a git clone, or with -buildvcs=false)"
	if info != nil {
		if v := info.Main.Version; v != "" {
			module = v
		}
		settings := map[string]string{}
		for _, s := range info.Settings {
			settings[s.Key] = s.Value
		}
		if rev := settings["vcs.revision"]; rev != "" {
			commit = rev
			if at := settings["vcs.time"]; at != "" {
				commit += " (" + at + ")"
			}
			if settings["vcs.modified"] == "true" {
				commit += ", with uncommitted changes"
			}
		}
	}
	return fmt.Sprintf("scopeguard %s\ncommit   %s\ngo       %s %s/%s\n"+
		"catalog  %d operations (%d from the legacy overlay), %d scopes, %d object types; %d bytes, sha256 %s\n",
		module, commit, runtime.Version(), runtime.GOOS, runtime.GOARCH,
		cat.Operations, cat.LegacyOperations, cat.Scopes, cat.Objects, cat.Bytes, cat.Digest)
}
