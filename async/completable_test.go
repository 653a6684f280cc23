package async_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jobtree/jobtree/async"
	"github.com/jobtree/jobtree/core"
	"github.com/jobtree/jobtree/internal/testkit"
)

// This file ports kotlinx's CompletableDeferredTest
// (common/test/CompletableDeferredTest.kt), and holds issue 3's
// Complete/Fail races. Not ported: getCancellationException and
// getCompletionExceptionOrNull, which the Go API does not have (Cause and
// GetCompleted say the same).

// checkFresh checks an Active CompletableDeferred that has no outcome yet.
func checkFresh[T comparable](t *testing.T, c async.CompletableDeferred[T]) {
	t.Helper()
	testkit.CheckState(t, c, core.Active)
	if err := c.Cause(); err != nil {
		t.Errorf("Cause() = %v, want nil", err)
	}
	var zero T
	if v, err := c.GetCompleted(); v != zero || !errors.Is(err, async.ErrNotCompleted) {
		t.Errorf("GetCompleted() = %v, %v, want %v, %v", v, err, zero, async.ErrNotCompleted)
	}
}

// checkCompleted checks a CompletableDeferred completed with want.
func checkCompleted[T comparable](t *testing.T, c async.CompletableDeferred[T], want T) {
	t.Helper()
	testkit.CheckState(t, c, core.Completed)
	if v, err := c.GetCompleted(); v != want || err != nil {
		t.Errorf("GetCompleted() = %v, %v, want %v, nil", v, err, want)
	}
	if err := c.Cause(); err != nil {
		t.Errorf("Cause() = %v, want nil", err)
	}
}

// checkFailed checks a CompletableDeferred that ended with the failure
// want.
func checkFailed[T comparable](t *testing.T, c async.CompletableDeferred[T], want error) {
	t.Helper()
	testkit.CheckState(t, c, core.Cancelled)
	var zero T
	if v, err := c.GetCompleted(); v != zero || err != want {
		t.Errorf("GetCompleted() = %v, %v, want %v, %v", v, err, zero, want)
	}
}

// checkCancelled checks a CompletableDeferred that ended cancelled.
func checkCancelled[T comparable](t *testing.T, c async.CompletableDeferred[T]) {
	t.Helper()
	testkit.CheckState(t, c, core.Cancelled)
	var zero T
	v, err := c.GetCompleted()
	if v != zero {
		t.Errorf("GetCompleted() value = %v, want %v", v, zero)
	}
	testkit.WantCancellation(t, "GetCompleted()", err, nil)
}

// TestCompletableDeferred_Fresh ports CompletableDeferredTest.testFresh.
func TestCompletableDeferred_Fresh(t *testing.T) {
	t.Parallel()
	c := async.NewCompletableDeferred[string](nil)
	checkFresh(t, c)
	if c.Parent() != nil {
		t.Errorf("Parent() = %v, want nil for a root", c.Parent())
	}
	c.Cancel(nil)
}

// TestCompletableDeferred_Complete ports CompletableDeferredTest.testComplete:
// Complete returns true once; later calls return false and change nothing.
func TestCompletableDeferred_Complete(t *testing.T) {
	t.Parallel()
	c := async.NewCompletableDeferred[string](nil)
	if !c.Complete("OK") {
		t.Fatalf("Complete(OK) = false, want true")
	}
	checkCompleted(t, c, "OK")
	if c.Complete("again") {
		t.Errorf("second Complete = true, want false")
	}
	if c.Fail(testkit.NewErr("late")) {
		t.Errorf("Fail after Complete = true, want false")
	}
	c.Cancel(nil)
	checkCompleted(t, c, "OK")
	if v, err := c.Await(context.Background()); v != "OK" || err != nil {
		t.Errorf("Await = %v, %v, want OK, nil", v, err)
	}
}

// TestCompletableDeferred_CompleteWithHandleValue ports
// CompletableDeferredTest.testCompleteWithIncompleteResult: the value may be
// a handle registered on the deferred itself.
func TestCompletableDeferred_CompleteWithHandleValue(t *testing.T) {
	t.Parallel()
	c := async.NewCompletableDeferred[core.DisposableHandle](nil)
	h := c.InvokeOnCompletion(func(error) {})
	if !c.Complete(h) {
		t.Fatalf("Complete(handle) = false, want true")
	}
	checkCompleted(t, c, h)
	if c.Complete(c.InvokeOnCompletion(func(error) {})) {
		t.Errorf("second Complete = true, want false")
	}
	checkCompleted(t, c, h)
}

// TestCompletableDeferred_Fail ports CompletableDeferredTest.testCancelWithException:
// Fail returns true once; a second failure is ignored entirely.
func TestCompletableDeferred_Fail(t *testing.T) {
	t.Parallel()
	failure, second := testkit.NewErr("first"), testkit.NewErr("second")
	c := async.NewCompletableDeferred[string](nil)
	if !c.Fail(failure) {
		t.Fatalf("Fail = false, want true")
	}
	checkFailed(t, c, failure)
	if c.Fail(second) {
		t.Errorf("second Fail = true, want false")
	}
	if c.Complete("late") {
		t.Errorf("Complete after Fail = true, want false")
	}
	checkFailed(t, c, failure)
	if err := c.Cause(); err != failure {
		t.Errorf("Cause() = %v, want only %v", err, failure)
	}
	if _, err := c.Await(context.Background()); err != failure {
		t.Errorf("Await = %v, want %v", err, failure)
	}
}

// TestCompletableDeferred_ParentCancelsChild ports
// CompletableDeferredTest.testParentCancelsChild.
func TestCompletableDeferred_ParentCancelsChild(t *testing.T) {
	t.Parallel()
	parent := core.NewJob(nil)
	c := async.NewCompletableDeferred[string](parent.Context())
	checkFresh(t, c)
	parent.Cancel(nil)
	testkit.CheckState(t, parent, core.Cancelled)
	checkCancelled(t, c)
	if c.Complete("late") {
		t.Errorf("Complete after the parent's cancellation = true, want false")
	}
}

// TestCompletableDeferred_ParentActiveOnChildCompletion ports
// CompletableDeferredTest.testParentActiveOnChildCompletion.
func TestCompletableDeferred_ParentActiveOnChildCompletion(t *testing.T) {
	t.Parallel()
	parent := core.NewJob(nil)
	defer parent.Cancel(nil)
	c := async.NewCompletableDeferred[string](parent.Context())
	checkFresh(t, c)
	if !c.Complete("OK") {
		t.Fatalf("Complete = false, want true")
	}
	checkCompleted(t, c, "OK")
	testkit.CheckState(t, parent, core.Active)
}

// TestCompletableDeferred_ParentCancelledOnChildFailure ports
// CompletableDeferredTest.testParentCancelledOnChildException: Fail cancels
// the parent with the failure.
func TestCompletableDeferred_ParentCancelledOnChildFailure(t *testing.T) {
	t.Parallel()
	rec := &testkit.Recorder{}
	parent := core.NewJob(rec.Ctx())
	c := async.NewCompletableDeferred[string](parent.Context())
	checkFresh(t, c)
	failure := testkit.NewErr("child")
	if !c.Fail(failure) {
		t.Fatalf("Fail = false, want true")
	}
	checkFailed(t, c, failure)
	testkit.CheckState(t, parent, core.Cancelled)
	if err := parent.Cause(); err != failure {
		t.Errorf("parent's Cause() = %v, want %v", err, failure)
	}
	rec.ExpectNone(t)
}

// TestCompletableDeferred_ParentActiveOnChildCancellation ports
// CompletableDeferredTest.testParentActiveOnChildCancellation: cancelling
// the deferred, or failing it with a cancellation, leaves the parent alone.
func TestCompletableDeferred_ParentActiveOnChildCancellation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		cancel func(t *testing.T, c async.CompletableDeferred[string])
	}{
		{"Cancel", func(t *testing.T, c async.CompletableDeferred[string]) { c.Cancel(nil) }},
		{"Fail with a cancellation", func(t *testing.T, c async.CompletableDeferred[string]) {
			if !c.Fail(&core.CancellationError{Message: "stop"}) {
				t.Errorf("Fail(cancellation) = false, want true")
			}
		}},
		{"Fail with context.Canceled", func(t *testing.T, c async.CompletableDeferred[string]) {
			if !c.Fail(context.Canceled) {
				t.Errorf("Fail(context.Canceled) = false, want true")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			parent := core.NewJob(nil)
			defer parent.Cancel(nil)
			c := async.NewCompletableDeferred[string](parent.Context())
			checkFresh(t, c)
			tt.cancel(t, c)
			checkCancelled(t, c)
			testkit.CheckState(t, parent, core.Active)
		})
	}
}

// TestCompletableDeferred_Await ports CompletableDeferredTest.testAwait: a
// waiter blocked in Await gets the value of a later Complete, and so does
// every Await after it.
func TestCompletableDeferred_Await(t *testing.T) {
	t.Parallel()
	c := async.NewCompletableDeferred[string](nil)
	res := goCall(func() (string, error) { return c.Await(context.Background()) })
	if returned(res) {
		t.Fatalf("Await returned before Complete")
	}
	c.Complete("OK")
	if v, err := recv(t, res, "Await"); v != "OK" || err != nil {
		t.Errorf("Await = %v, %v, want OK, nil", v, err)
	}
	if v, err := c.Await(context.Background()); v != "OK" || err != nil {
		t.Errorf("second Await = %v, %v, want OK, nil", v, err)
	}
}

// TestCompletableDeferred_CancelWaitsForChildren ports
// CompletableDeferredTest.testCancelAndAwaitParentWaitChildren: a cancelled
// deferred with a running child is Cancelling until the child ends; Await
// returns the cancellation only then.
func TestCompletableDeferred_CancelWaitsForChildren(t *testing.T) {
	t.Parallel()
	c := async.NewCompletableDeferred[string](nil)
	started, release := make(chan struct{}), make(chan struct{})
	var childDone atomic.Bool
	child := core.Launch(c.Context(), func(ctx context.Context) error {
		close(started)
		<-ctx.Done()
		testkit.Hold(t, release) // the "finally" of the Kotlin test
		childDone.Store(true)
		return ctx.Err()
	})
	testkit.WaitChan(t, started, "child to start")
	c.Cancel(nil)
	testkit.CheckState(t, c, core.Cancelling)
	res := goCall(func() (string, error) { return c.Await(context.Background()) })
	testkit.CheckState(t, c, core.Cancelling)
	close(release)
	_, err := recv(t, res, "Await")
	testkit.WantCancellation(t, "Await", err, nil)
	if !childDone.Load() {
		t.Errorf("Await returned before the child ended")
	}
	testkit.CheckState(t, child, core.Cancelled)
	checkCancelled(t, c)
}

// TestCompletableDeferred_CompleteWaitsForChildren ports
// CompletableDeferredTest.testCompleteAndAwaitParentWaitChildren: Complete
// on a deferred with a running child returns true and leaves it Completing
// (active) until the child ends; Await then returns the value.
func TestCompletableDeferred_CompleteWaitsForChildren(t *testing.T) {
	t.Parallel()
	c := async.NewCompletableDeferred[string](nil)
	started, release := make(chan struct{}), make(chan struct{})
	var childDone atomic.Bool
	core.Launch(c.Context(), func(context.Context) error {
		close(started)
		testkit.Hold(t, release)
		childDone.Store(true)
		return nil
	})
	testkit.WaitChan(t, started, "child to start")
	if !c.Complete("OK") {
		t.Fatalf("Complete = false, want true")
	}
	testkit.CheckState(t, c, core.Completing)
	if c.Complete("again") || c.Fail(testkit.NewErr("late")) {
		t.Errorf("Complete or Fail after Complete returned true, want false")
	}
	if v, err := c.GetCompleted(); !errors.Is(err, async.ErrNotCompleted) {
		t.Errorf("GetCompleted() while Completing = %v, %v, want %v", v, err, async.ErrNotCompleted)
	}
	res := goCall(func() (string, error) { return c.Await(context.Background()) })
	close(release)
	if v, err := recv(t, res, "Await"); v != "OK" || err != nil {
		t.Errorf("Await = %v, %v, want OK, nil", v, err)
	}
	if !childDone.Load() {
		t.Errorf("Await returned before the child ended")
	}
	checkCompleted(t, c, "OK")
}

// TestCompletableDeferred_HandlesChildFailure checks kotlinx's rule 74 (from
// CoroutineExceptionHandlerTest.testCompletableDeferred): a deferred whose
// child fails ends with the child's failure, which Await returns; nothing
// is reported when a handling job is above (API rule 9).
func TestCompletableDeferred_HandlesChildFailure(t *testing.T) {
	t.Parallel()
	rec := &testkit.Recorder{}
	failure := testkit.NewErr("child")
	var c async.CompletableDeferred[string]
	err := core.Scope(rec.Ctx(), func(ctx context.Context) error {
		c = async.NewCompletableDeferred[string](ctx)
		core.Launch(c.Context(), func(context.Context) error { return failure })
		_, err := c.Await(context.Background())
		return err
	})
	if err != failure {
		t.Errorf("Scope = %v, want the child's failure %v", err, failure)
	}
	checkFailed(t, c, failure)
	rec.ExpectNone(t)
}

// TestCompletableDeferred_CancelledParent checks that a CompletableDeferred
// created under a cancelled parent starts Cancelled and cannot be completed.
func TestCompletableDeferred_CancelledParent(t *testing.T) {
	t.Parallel()
	parent := core.NewJob(nil)
	parent.Cancel(nil)
	c := async.NewCompletableDeferred[int](parent.Context())
	checkCancelled(t, c)
	if c.Complete(1) || c.Fail(testkit.NewErr("late")) {
		t.Errorf("Complete or Fail of a deferred born cancelled returned true, want false")
	}
	checkCancelled(t, c)
}

// TestCompletableDeferred_FailNil checks that Fail rejects a nil error.
func TestCompletableDeferred_FailNil(t *testing.T) {
	t.Parallel()
	c := async.NewCompletableDeferred[int](nil)
	defer c.Cancel(nil)
	expectPanic(t, "Fail(nil)", func() { c.Fail(nil) })
	checkFresh(t, c)
}

// raceRounds is how many times the race tests below repeat their race.
const raceRounds = 200

// TestCompletableDeferred_CompleteFailRace checks issue 3's must-show: among
// concurrent Complete and Fail calls exactly one returns true, and the
// deferred ends with that call's value or failure.
func TestCompletableDeferred_CompleteFailRace(t *testing.T) {
	t.Parallel()
	const callers = 8
	failures := make([]error, callers)
	for i := range failures {
		failures[i] = testkit.NewErr(fmt.Sprint(i))
	}
	rec := &testkit.Recorder{}
	for round := range raceRounds {
		parent := core.NewSupervisorJob(rec.Ctx()) // a failure does not spread
		c := async.NewCompletableDeferred[int](parent.Context())
		var start, wg sync.WaitGroup
		start.Add(1)
		won := make([]bool, callers)
		for i := range callers {
			wg.Add(1)
			go func() { // ends after one Complete or Fail
				defer wg.Done()
				start.Wait()
				if i%2 == 0 {
					won[i] = c.Complete(i)
				} else {
					won[i] = c.Fail(failures[i])
				}
			}()
		}
		start.Done()
		wg.Wait()
		winner := -1
		for i, w := range won {
			if w {
				if winner >= 0 {
					t.Fatalf("round %d: callers %d and %d both won", round, winner, i)
				}
				winner = i
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: no Complete or Fail returned true", round)
		}
		testkit.WaitDone(t, c)
		v, err := c.GetCompleted()
		if winner%2 == 0 {
			if v != winner || err != nil {
				t.Fatalf("round %d: Complete(%d) won but GetCompleted() = %v, %v", round, winner, v, err)
			}
		} else if err != failures[winner] {
			t.Fatalf("round %d: Fail(%v) won but GetCompleted() = %v, %v", round, failures[winner], v, err)
		}
		parent.Cancel(nil)
	}
	rec.ExpectNone(t) // a body-less deferred never reports its failure
}

// TestCompletableDeferred_CompleteCancelRace checks that Complete racing
// with Cancel is consistent: the deferred ends Completed with the value
// exactly when Complete returned true.
func TestCompletableDeferred_CompleteCancelRace(t *testing.T) {
	t.Parallel()
	for round := range raceRounds {
		c := async.NewCompletableDeferred[int](nil)
		var start, wg sync.WaitGroup
		start.Add(1)
		var won bool
		wg.Add(2)
		go func() { // ends after Complete
			defer wg.Done()
			start.Wait()
			won = c.Complete(round + 1)
		}()
		go func() { // ends after Cancel
			defer wg.Done()
			start.Wait()
			c.Cancel(nil)
		}()
		start.Done()
		wg.Wait()
		testkit.WaitDone(t, c)
		v, err := c.GetCompleted()
		switch {
		case won && (v != round+1 || err != nil):
			t.Fatalf("round %d: Complete won but GetCompleted() = %v, %v", round, v, err)
		case !won && (v != 0 || !core.IsCancellation(err)):
			t.Fatalf("round %d: Cancel won but GetCompleted() = %v, %v", round, v, err)
		}
	}
}
