package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/jobtree/jobtree/internal/testkit"
)

var update = flag.Bool("update", false, "rewrite testdata/tour.golden with the current output")

// golden holds the expected output of the tour, byte for byte.
var golden = filepath.Join("testdata", "tour.golden")

// runs is how many times the tour is run: its output must not change from
// one run to the next, whatever the scheduler does.
const runs = 10

// veryLongDuration bounds one run of the tour; it finishes in milliseconds.
const veryLongDuration = time.Minute

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestTourOutputIsDeterministic(t *testing.T) {
	n := runs
	if testing.Short() {
		n = 1
	}
	want, err := os.ReadFile(golden)
	if err != nil && !*update {
		t.Fatalf("reading the golden file: %v (run go test ./examples/tour -update to create it)", err)
	}
	for i := range n {
		got := runTour(t)
		if *update {
			if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			want = []byte(got)
			continue
		}
		if got != string(want) {
			t.Fatalf("run %d: output differs from %s at %s\n--- got:\n%s", i+1, golden, firstDiff(got, string(want)), got)
		}
	}
}

// runTour runs the tour once and returns its output. A tour that does not
// finish within veryLongDuration fails the test with every goroutine's stack.
func runTour(t *testing.T) string {
	t.Helper()
	var buf bytes.Buffer
	errc := make(chan error, 1)
	go func() { errc <- run(&buf) }() // ends when run returns
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("run() = %v, want nil\n--- output so far:\n%s", err, buf.String())
		}
	case <-time.After(veryLongDuration):
		t.Fatalf("run() did not return within %v; goroutines:\n%s", veryLongDuration, testkit.GoroutineDump())
	}
	return buf.String()
}

// firstDiff names the first line where got and want differ.
func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range max(len(g), len(w)) {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("line %d:\n  got:  %s\n  want: %s", i+1, gl, wl)
		}
	}
	return "the end"
}
