package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	scopeguardv1 "github.com/eshopman/scopeguard/gen/scopeguard/v1"
	"github.com/eshopman/scopeguard/server/catalog"
)

// catalogCmd lists what the embedded catalog knows about an API family or
// a path prefix: each operation with its status and the scopes it needs.
func catalogCmd(args []string, stdout, stderr io.Writer) (int, error) {
	fs := flag.NewFlagSet("scopeguard catalog", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: scopeguard catalog [--family NAME] [--app public|private] [PATH_PREFIX]\n\n"+
			"Lists the catalog's operations of an API family (\"hubdb-v2\", \"CRM/Contacts\": the family column of\n"+
			"docs/catalog.md, case insensitive) and/or under a path prefix (\"/contacts/v1/\"), with their status and\n"+
			"the scopes each needs. With neither, lists the families and their operation counts.\n\n")
		fs.PrintDefaults()
	}
	family := fs.String("family", "", "API family, as in the family table of docs/catalog.md")
	appName := fs.String("app", "public", "credential kind whose scopes to show: public (OAuth) or private")
	if err := fs.Parse(args); err != nil {
		return usageError(err)
	}
	if fs.NArg() > 1 {
		return exitUsage, fmt.Errorf("catalog takes at most one path prefix, got %q", fs.Args())
	}
	app, ok := map[string]scopeguardv1.AppType{
		"public":  scopeguardv1.AppType_APP_TYPE_PUBLIC,
		"private": scopeguardv1.AppType_APP_TYPE_PRIVATE,
	}[*appName]
	if !ok {
		return exitUsage, fmt.Errorf("--app must be public or private, not %q", *appName)
	}
	cat, err := catalog.Load()
	if err != nil {
		return exitError, err
	}
	prefix := fs.Arg(0)
	w := bufio.NewWriter(stdout)
	if *family == "" && prefix == "" {
		counts, order := map[string]int{}, []string(nil)
		for _, op := range cat.Operations() {
			name := familyOf(op)
			if counts[name] == 0 {
				order = append(order, name)
			}
			counts[name]++
		}
		for _, name := range order {
			fmt.Fprintf(w, "%-48s %5d operations\n", name, counts[name])
		}
		return exitOK, w.Flush()
	}
	today := time.Now().UTC().Format(time.DateOnly)
	listed := 0
	for _, op := range cat.Operations() {
		if (*family != "" && !strings.EqualFold(familyOf(op), *family)) || !strings.HasPrefix(op.Template, prefix) {
			continue
		}
		listed++
		fmt.Fprintf(w, "%-6s %s  [%s] %s\n", op.Method, op.Template, familyOf(op), opStatus(op, today))
		fmt.Fprintf(w, "       needs: %s\n", scopesWords(op, app))
	}
	if err := w.Flush(); err != nil {
		return exitError, err
	}
	if listed == 0 {
		return exitNotAllowed, fmt.Errorf("the catalog has no operation for family %q and prefix %q (run \"scopeguard catalog\" for the families)", *family, prefix)
	}
	return exitOK, nil
}

// familyOf names an operation's family as docs/catalog.md does: the
// overlay family for curated entries, else HubSpot's API name.
func familyOf(op *catalog.Operation) string {
	return strings.TrimPrefix(op.API, "Legacy/")
}

func opStatus(op *catalog.Operation, today string) string {
	var parts []string
	switch {
	case op.RetiredBy(today):
		parts = append(parts, "retired "+op.SunsetDate)
	case op.Retires:
		parts = append(parts, "switched off from "+op.SunsetDate)
	case op.SunsetDate != "" && op.SunsetDate <= today:
		parts = append(parts, "unsupported since "+op.SunsetDate)
	case op.SunsetDate != "":
		parts = append(parts, "supported until "+op.SunsetDate)
	default:
		parts = append(parts, "live")
	}
	if op.Deprecated {
		parts = append(parts, "deprecated")
	}
	if op.Replacement != "" {
		parts = append(parts, "replacement: "+op.Replacement)
	}
	return strings.Join(parts, ", ")
}

func scopesWords(op *catalog.Operation, app scopeguardv1.AppType) string {
	r, ok := op.Requirement(app)
	switch {
	case !ok:
		return "the scopes of the object type in the path (check a concrete path)"
	case !r.Accepted():
		return "cannot be called with this kind of credential"
	case r.NoScopesRequired():
		return "no scope"
	case r.Unknown():
		return "unknown (no HubSpot source says)"
	}
	alts := r.Alternatives()
	words := make([]string, len(alts))
	for i, a := range alts {
		words[i] = strings.Join(a, " + ")
	}
	return strings.Join(words, " | ")
}
