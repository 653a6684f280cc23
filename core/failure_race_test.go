package core_test

// A failure can be lost when the failing job finalizes on another goroutine
// while the failing call hands the failure to the parent (API rule 7).
// Found by TestHammer_JobRaces under -count=50 (issue 6); reduced here.
//
// Fail (or a body's returned failure) cancels the job's children, then
// claims the record's offered flag and climbs to the parent (cancel →
// offerUp). A child cancelled in that drain can end on its own goroutine
// (a Launch body that returns once its context is done) and finalize the
// failing job meanwhile: that finalizer sees offered already claimed,
// passes nothing up, and releases its hold on the parent — which, if it
// was waiting in Completing for this last child, completes normally
// before the failing call's offerUp reaches it; offerUp is then refused
// (the parent is finalizing or final) and the failure is lost: the parent
// ends Completed although its child failed.

import (
	"context"
	"errors"
	"testing"

	"github.com/jobtree/jobtree/core"
	"github.com/jobtree/jobtree/internal/testkit"
)

// TestRule7_FailureNotLostToConcurrentFinalization fails a body-less child
// whose own child ends on its goroutine as soon as it is cancelled, while
// the parent waits for that failing child in Completing. The parent must
// end Cancelled with the failure, every time.
func TestRule7_FailureNotLostToConcurrentFinalization(t *testing.T) {
	t.Parallel()
	rounds := 20_000
	if testing.Short() {
		rounds = 2_000
	}
	lost := 0
	for range rounds {
		parent := core.NewJob(nil)
		child := core.NewJob(parent.Context())
		grandchild := core.Launch(child.Context(), func(ctx context.Context) error {
			<-ctx.Done()
			return ctx.Err()
		})
		parent.Complete() // Completing: waits for child only
		failure := errors.New("child failed")
		if !child.Fail(failure) {
			t.Fatalf("child.Fail() = false, want true")
		}
		testkit.WaitDone(t, parent)
		testkit.WaitDone(t, grandchild)
		if parent.State() != core.Cancelled || !errors.Is(parent.Cause(), failure) {
			lost++
			if lost == 1 {
				t.Errorf("parent ended %v with cause %v after its child failed with %v; want Cancelled with the failure", parent.State(), parent.Cause(), failure)
			}
		}
	}
	if lost > 0 {
		t.Errorf("the failure was lost in %d of %d rounds", lost, rounds)
	}
}
