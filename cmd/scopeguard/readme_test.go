package main

import (
	"flag"
	"os"
	"regexp"
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

// TestReadmeCommandOutputs keeps the README's offline CLI examples real:
// every "$ scopeguard ..." line followed by output is run, and its output
// must be what the README shows (a refusal as main prints it, after
// "scopeguard: ").
func TestReadmeCommandOutputs(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(readme), "\n")
	ran := 0
	for i, line := range lines {
		cmdline, ok := strings.CutPrefix(line, "$ scopeguard ")
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
		got := ""
		if _, err := run(t.Context(), strings.Fields(cmdline), strings.NewReader(""), &stdout, &stderr); err != nil {
			got = "scopeguard: " + err.Error()
		} else {
			got = strings.TrimRight(stdout.String(), "\n")
		}
		if diff := cmp.Diff(strings.Join(want, "\n"), got); diff != "" {
			t.Errorf("README output of `scopeguard %s` is stale (-README +now):\n%s", cmdline, diff)
		}
	}
	if ran == 0 {
		t.Error("found no scopeguard example with output in the README")
	}
}
