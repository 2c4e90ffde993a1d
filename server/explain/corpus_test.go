package explain_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/eshopman/scopeguard/server/explain"
	"github.com/eshopman/scopeguard/server/explain/explaintest"
)

func TestCorpus(t *testing.T) {
	t.Parallel()
	cases := explaintest.Load(t, filepath.Join("testdata", "cases"))
	if len(cases) < 40 {
		t.Errorf("corpus has %d cases, want at least 40", len(cases))
	}
	scopeFacts := explaintest.ScopeFacts()
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if !strings.HasPrefix(c.Source, "https://") {
				t.Errorf("source %q is not a URL", c.Source)
			}
			runs := []bool{false}
			if c.Facts.Catalog != nil {
				runs = append(runs, true)
			} else if len(c.ExpectCatalog) > 0 {
				t.Fatal("expect_catalog without facts.catalog")
			}
			bugShown := false
			for _, withCatalog := range runs {
				label := "without catalog"
				if withCatalog {
					label = "with catalog"
				}
				in := c.Input(t, withCatalog, scopeFacts)
				want := c.Expectation(t, withCatalog)
				res := explain.Diagnose(in)
				got := res.Response
				mismatches := explaintest.Mismatches(want, got, c.Request.AccessToken)
				switch {
				case len(mismatches) > 0 && c.KnownBug != "":
					bugShown = true
					t.Logf("%s: known bug shows: %s", label, strings.Join(mismatches, "; "))
				default:
					for _, m := range mismatches {
						t.Errorf("%s: %s", label, m)
					}
				}
				if withCatalog != res.Catalog.Checked {
					t.Errorf("%s: Catalog.Checked = %v", label, res.Catalog.Checked)
				}
				if res.Catalog.Agrees != got.GetCatalogAgrees() || (!res.Catalog.Agrees && withCatalog && res.Catalog.Reason == "") {
					t.Errorf("%s: catalog check %+v inconsistent with response", label, res.Catalog)
				}
				if got.GetSummary() == "" || len(got.GetRemediations()) == 0 {
					t.Errorf("%s: empty summary or remediations", label)
				}
			}
			if c.KnownBug != "" {
				if !bugShown {
					t.Fatalf("known_bug is set but every run answers as expected: drop it (%s)", c.KnownBug)
				}
				t.Skip("known bug: " + c.KnownBug)
			}
		})
	}
}
