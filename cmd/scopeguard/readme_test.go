package main

import (
	"flag"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/eshopman/scopeguard/server"
)

// TestReadmeConfigurationTable keeps the README's configuration table true:
// one row per serve flag, with its environment twin and default.
func TestReadmeConfigurationTable(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	// Defaults are in backquotes; an empty default is written as "(none)".
	row := regexp.MustCompile("(?m)^\\| `--([a-z-]+)` \\| `([A-Z_]+)` \\| (?:`([^`]*)`|\\(none\\)) \\|")
	got := map[string][2]string{}
	for _, m := range row.FindAllStringSubmatch(string(readme), -1) {
		got[m[1]] = [2]string{m[2], m[3]}
	}

	cfg := server.DefaultConfig()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfg.RegisterFlags(fs)
	want := map[string][2]string{}
	fs.VisitAll(func(f *flag.Flag) {
		want[f.Name] = [2]string{server.EnvName(f.Name), f.DefValue}
	})
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("README configuration table differs from the flags (-flags +README):\n%s", diff)
	}
	if !strings.Contains(string(readme), "make check") {
		t.Error("README does not name the test command")
	}
}

// updateReadme rewrites the README's CLI outputs instead of comparing them:
// go test ./cmd/scopeguard -run Readme -update-readme (then review the diff).
var updateReadme = flag.Bool("update-readme", false, "write the offline CLI's current outputs into README.md")

// TestReadmeCommandOutputs keeps the README's offline CLI examples real:
// every "$ scopeguard ..." line followed by output is run from the
// repository root, as the README's commands are, and its output must be what
// the README shows (for version, but for what the build stamps; for a
// refusal, main's "scopeguard: " and the error). The server examples are
// scripts/readme.sh's.
func TestReadmeCommandOutputs(t *testing.T) {
	t.Chdir("../..")
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(readme), "\n")
	var updated []string // the README with today's outputs
	ran := 0
	for i := 0; i < len(lines); i++ {
		updated = append(updated, lines[i])
		cmdline, ok := strings.CutPrefix(lines[i], "$ scopeguard ")
		if !ok {
			continue
		}
		var want []string
		for _, out := range lines[i+1:] {
			if strings.HasPrefix(out, "$ ") || strings.HasPrefix(out, "```") {
				break
			}
			want = append(want, out)
		}
		if len(want) == 0 {
			continue // shown without output
		}
		ran++
		var stdout, stderr strings.Builder
		got := []string{}
		if _, err := run(t.Context(), strings.Fields(cmdline), strings.NewReader(""), &stdout, &stderr); err != nil {
			got = append(got, "scopeguard: "+err.Error())
		} else {
			got = strings.Split(strings.TrimRight(stdout.String(), "\n"), "\n")
		}
		i += len(want)
		if diff := cmp.Diff(maskBuild(cmdline, want), maskBuild(cmdline, got)); diff != "" {
			if !*updateReadme {
				t.Errorf("README output of `scopeguard %s` is stale (-README +now; -update-readme rewrites it):\n%s", cmdline, diff)
			}
			want = keepStamps(cmdline, want, got)
		}
		updated = append(updated, want...)
	}
	if ran == 0 {
		t.Error("found no scopeguard example with output in the README")
	}
	if *updateReadme {
		if err := os.WriteFile("README.md", []byte(strings.Join(updated, "\n")), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// buildStamped are the lines of `scopeguard version` that depend on the
// build (a test binary has no module version or commit).
var buildStamped = regexp.MustCompile(`(?m)^(scopeguard|commit|go) .*$`)

// maskBuild hides, in the output lines of cmdline, what depends on the
// build.
func maskBuild(cmdline string, lines []string) []string {
	if cmdline != "version" {
		return lines
	}
	masked := make([]string, len(lines))
	for i, l := range lines {
		masked[i] = buildStamped.ReplaceAllString(l, "$1 …")
	}
	return masked
}

// keepStamps is got, for version with the README's build-stamped lines
// (a real build's) where got has its own.
func keepStamps(cmdline string, readme, got []string) []string {
	if cmdline != "version" {
		return got
	}
	out := slices.Clone(got)
	for i := range out {
		if i < len(readme) && buildStamped.MatchString(out[i]) && buildStamped.MatchString(readme[i]) {
			out[i] = readme[i]
		}
	}
	return out
}
