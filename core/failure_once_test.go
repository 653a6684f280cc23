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
	"sync/atomic"
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
			testkit.MustJoin(t, top)
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

// TestRule7_ReturnedAggregateReachesParentOnce: a body that returns an
// aggregate (the *core.MultiError of a Scope whose children failed twice)
// fails its job with it; the parent must hold each failure of the
// aggregate once. Found by the model test once it built scopes: the
// aggregate went up when the job started cancelling, and its finalizer,
// taking only the aggregate's first failure for the part that went up
// already, handed the second one over again — listed twice when its type
// is uncomparable.
func TestRule7_ReturnedAggregateReachesParentOnce(t *testing.T) {
	t.Parallel()
	first := hammerFailure{id: "first", path: []string{"first"}}
	second := hammerFailure{id: "second", path: []string{"second"}}
	parent := core.NewJob(nil)
	job := core.Launch(parent.Context(), func(ctx context.Context) error {
		return core.Scope(ctx, func(ctx context.Context) error {
			started := make(chan struct{})
			core.Launch(ctx, func(ctx context.Context) error {
				close(started)
				<-ctx.Done()  // cancelled by the scope's failure
				return second // a later failure all the same
			})
			<-started    // a child cancelled before it starts never runs
			return first // the scope's own failure comes first
		})
	})
	testkit.WaitChan(t, job.Done(), "the job to end")
	parent.Complete()
	testkit.MustJoin(t, parent)
	for _, j := range []core.Job{job, parent} {
		errs := multiErrors(j.Cause())
		if len(errs) != 2 || errs[0].Error() != "first" || errs[1].Error() != "second" {
			t.Errorf("%v: Cause() = %v (%d failures), want [first second], each once", j, j.Cause(), len(errs))
		}
	}
}

// TestRule7_ReturnedAggregateWithChildEndingAtOnce is the case above with a
// body-less child under the failing job, which the job's cancellation ends
// at once: the child's release finishes the job, and its finalizer — not
// the failing call — hands the aggregate's failures to the parent, one by
// one, first the first. The parent starts cancelling with the first
// failure (found by the model test: a cancelling call that finalized the
// job only after offering handed the aggregate up whole), and ends with
// both, each once.
func TestRule7_ReturnedAggregateWithChildEndingAtOnce(t *testing.T) {
	t.Parallel()
	first := hammerFailure{id: "first", path: []string{"first"}}
	second := hammerFailure{id: "second", path: []string{"second"}}
	parent := core.NewJob(nil)
	var cancelling atomic.Pointer[error]
	parent.InvokeOnCancelling(func(cause error) { cancelling.Store(&cause) })
	job := core.Launch(parent.Context(), func(ctx context.Context) error {
		core.NewJob(ctx) // ended at once by the job's cancellation
		return core.Scope(ctx, func(ctx context.Context) error {
			started := make(chan struct{})
			core.Launch(ctx, func(ctx context.Context) error {
				close(started)
				<-ctx.Done()
				return second
			})
			<-started
			return first
		})
	})
	testkit.WaitChan(t, job.Done(), "the job to end")
	parent.Complete()
	testkit.MustJoin(t, parent)
	if c := cancelling.Load(); c == nil {
		t.Error("the parent's cancelling handler never ran")
	} else if !errors.Is(*c, first) || multiErrors(*c) != nil {
		t.Errorf("the parent's cancelling handler got %v, want the first failure alone", *c)
	}
	for _, j := range []core.Job{job, parent} {
		errs := multiErrors(j.Cause())
		if len(errs) != 2 || errs[0].Error() != "first" || errs[1].Error() != "second" {
			t.Errorf("%v: Cause() = %v (%d failures), want [first second], each once", j, j.Cause(), len(errs))
		}
	}
}
