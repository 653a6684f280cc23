package core_test

// A failure reaches each ancestor exactly once (API rule 7; docs/design.md
// §2: "the parent never holds one error twice even when it is of an
// uncomparable type"). Found while writing the model test of issue 6: a
// failure that climbs two or more levels is handed to the grandparent twice
// — once by the climb (offerUp), once more when the parent finalizes
// (passFailure), because the records the climb publishes on the ancestors
// are never marked offered. Identity de-duplication hides the second copy
// for comparable errors; for an error of an uncomparable type the
// grandparent's final cause lists it twice, and a Launch grandparent
// reports the duplicate to its exception handler.

import (
	"context"
	"errors"
	"testing"

	"github.com/jobtree/jobtree/core"
	"github.com/jobtree/jobtree/internal/testkit"
)

// TestRule7_FailureReachesEachAncestorOnce fails the leaf of a three-level
// chain and checks that the top job's final cause is the leaf's failure
// alone (not an aggregate listing it twice), and that a Launch top job
// reports it once, as itself.
func TestRule7_FailureReachesEachAncestorOnce(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
	}{
		{"comparable", testkit.NewErr("leaf")},
		{"uncomparable", hammerFailure{id: "leaf", path: []string{"leaf"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name+"/NewJob chain", func(t *testing.T) {
			t.Parallel()
			top := core.NewJob(nil)
			mid := core.NewJob(top.Context())
			leaf := core.NewJob(mid.Context())
			if !leaf.Fail(tc.err) {
				t.Fatalf("leaf.Fail(%v) = false, want true", tc.err)
			}
			for _, j := range []core.Job{leaf, mid, top} {
				testkit.CheckState(t, j, core.Cancelled)
				if errs := multiErrors(j.Cause()); errs != nil {
					t.Errorf("%v: Cause() = %v, an aggregate of %d errors, want the leaf's failure alone", j, j.Cause(), len(errs))
				} else if !errors.Is(j.Cause(), tc.err) {
					t.Errorf("%v: Cause() = %v, want %v", j, j.Cause(), tc.err)
				}
			}
		})
		t.Run(tc.name+"/Launch chain", func(t *testing.T) {
			t.Parallel()
			rec := testkit.NewRecorder()
			top := core.Launch(rec.Ctx(), func(ctx context.Context) error {
				mid := core.Launch(ctx, blockUntilDone(nil))
				leaf := core.NewJob(mid.Context())
				leaf.Fail(tc.err)
				<-ctx.Done()
				return ctx.Err()
			})
			mustJoin(t, top)
			if errs := multiErrors(top.Cause()); errs != nil {
				t.Errorf("top: Cause() = %v, an aggregate of %d errors, want the leaf's failure alone", top.Cause(), len(errs))
			}
			got := rec.ExpectOne(t, tc.err)
			if errs := multiErrors(got); errs != nil {
				t.Errorf("exception handler got %v, an aggregate of %d errors, want the leaf's failure alone", got, len(errs))
			}
		})
	}
}
