package core_test

// FuzzModel drives the model test (model_test.go) from fuzzer bytes: each
// byte is one random choice of a round (how many trees, which operation on
// which job, which outcome, which handler, …); when the bytes run out the
// round stops adding random phases and drains its trees to their end, so
// every input is a complete, checked round.
//
// `go test` replays the seed corpus in testdata/fuzz/FuzzModel (make test
// does so under -race); `make fuzz` explores:
//
//	go test -run '^$' -fuzz '^FuzzModel$' -fuzztime 60s ./core/

import (
	"fmt"
	"strings"
	"testing"
)

func FuzzModel(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 512 {
			data = data[:512] // a round stays small
		}
		label := fmt.Sprintf("%d/fuzz", modelRunID.Add(1))
		res := runModelRound(t, fmt.Sprintf("fuzz input %q", data), label, &modelBytes{b: data}, mutNone)
		if len(res.problems) > 0 {
			t.Fatalf("fuzz input %q: %d problem(s):\n\t%s", data, len(res.problems), strings.Join(res.problems, "\n\t"))
		}
	})
}
