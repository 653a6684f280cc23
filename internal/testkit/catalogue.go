package testkit

import (
	"os"
	"strings"
	"testing"
)

// CatalogueDoc is where the misuse catalogues are published, relative to a
// package's directory (where go test runs its tests).
const CatalogueDoc = "../docs/reliability.md"

// MisuseCase is a row of a package's misuse catalogue: a bad input, its
// documented result, and the test that shows the result.
type MisuseCase struct {
	Name string             // the bad input, e.g. "Join/on self"
	Want string             // the documented result
	Run  func(t *testing.T) // fails when the result is not the documented one
}

// RunCatalogue runs every case as a parallel subtest named after its bad
// input, logging the documented result of a case that fails. It then
// checks that the catalogue in doc (normally [CatalogueDoc]) lists every
// case as a table row "| Name | Want |", so that the published catalogue
// cannot drift from the tests.
func RunCatalogue(t *testing.T, doc string, cases []MisuseCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			t.Parallel()
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("documented result: %s", tc.Want)
				}
			})
			tc.Run(t)
		})
	}
	text, err := os.ReadFile(doc)
	if err != nil {
		t.Fatalf("reading the published catalogue: %v", err)
	}
	for _, tc := range cases {
		if row := CatalogueRow(tc); !strings.Contains(string(text), row+"\n") {
			t.Errorf("%s does not list the case %q with its documented result; add the row\n%s", doc, tc.Name, row)
		}
	}
}

// CatalogueRow is the Markdown table row that publishes tc: its bad input
// and its documented result, with "|" escaped.
func CatalogueRow(tc MisuseCase) string {
	esc := strings.NewReplacer("|", `\|`)
	return "| " + esc.Replace(tc.Name) + " | " + esc.Replace(tc.Want) + " |"
}
