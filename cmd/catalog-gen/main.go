// Command catalog-gen regenerates the embedded endpoint catalog
// (server/catalog/catalog.txt) from HubSpot's spec facts in
// ../shared/hubspot and the curated overlay (cmd/catalog-gen/overlay.json).
//
// Run it from the repository root:
//
//	go run ./cmd/catalog-gen          # rewrite server/catalog/catalog.txt
//	go run ./cmd/catalog-gen -check   # fail if the file is out of date
//
// The output is deterministic: the same inputs always give the same bytes.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
)

func main() {
	source := flag.String("source", "../shared/hubspot", "folder holding catalog-source.json and scopes.json")
	overlayPath := flag.String("overlay", "cmd/catalog-gen/overlay.json", "curated overlay file; the family files in overlay.d/ beside it are read too")
	out := flag.String("out", "server/catalog/catalog.txt", "catalog file to write")
	check := flag.Bool("check", false, "compare with the existing file instead of writing it; exit 1 when they differ")
	flag.Parse()
	if err := run(*source, *overlayPath, *out, *check); err != nil {
		fmt.Fprintln(os.Stderr, "catalog-gen:", err)
		os.Exit(1)
	}
}

func run(source, overlayPath, out string, check bool) error {
	data, stats, err := generate(source, overlayPath)
	if err != nil {
		return err
	}
	if check {
		current, err := os.ReadFile(out)
		if err != nil {
			return err
		}
		if !bytes.Equal(current, data) {
			return fmt.Errorf("%s is out of date: run go run ./cmd/catalog-gen", out)
		}
		return nil
	}
	if err := os.WriteFile(out, data, 0o644); err != nil {
		return err
	}
	for _, k := range slices.Sorted(maps.Keys(stats)) {
		fmt.Fprintf(os.Stderr, "%s: %d\n", k, stats[k])
	}
	return nil
}

// generate reads the inputs and renders the catalog file.
func generate(source, overlayPath string) ([]byte, map[string]int, error) {
	ov, err := readOverlay(overlayPath)
	if err != nil {
		return nil, nil, err
	}
	var ops []sourceOp
	if err := readJSON(filepath.Join(source, "catalog-source.json"), &ops); err != nil {
		return nil, nil, err
	}
	var scopes []sourceScope
	if err := readJSON(filepath.Join(source, "scopes.json"), &scopes); err != nil {
		return nil, nil, err
	}
	g, err := newGenerator(ov, scopes)
	if err != nil {
		return nil, nil, err
	}
	for i := range ops {
		if g.dropped(&ops[i]) {
			g.stats["source operations dropped (test/QA)"]++
			continue
		}
		g.addSource(&ops[i])
	}
	for i := range ov.Operations {
		if err := g.addOverlay(&ov.Operations[i]); err != nil {
			return nil, nil, err
		}
	}
	f, err := g.build()
	if err != nil {
		return nil, nil, err
	}
	g.stats["operations"] = len(f.Operations)
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		return nil, nil, err
	}
	return buf.Bytes(), g.stats, nil
}
