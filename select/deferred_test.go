package selects_test

// OnAwait: the scenarios of kotlinx's SelectDeferredTest
// (kotlinx-coroutines-core/common/test/selects/SelectDeferredTest.kt).

import (
	"context"
	"errors"
	"testing"

	"github.com/jobtree/jobtree/async"
	"github.com/jobtree/jobtree/core"
	"github.com/jobtree/jobtree/internal/testkit"
	selects "github.com/jobtree/jobtree/select"
)

// value42 is the body of a deferred that returns 42.
func value42(context.Context) (int, error) { return 42, nil }

// want42 is an OnAwait function that checks it got 42.
func want42(t *testing.T) func(int) (string, error) {
	return func(v int) (string, error) {
		if v != 42 {
			t.Errorf("OnAwait's function got %d, want 42", v)
		}
		return "OK", nil
	}
}

// TestOnAwait_Completed: a deferred that has its value already is chosen at
// once, with the value. Kotlin: SelectDeferredTest.testSimpleReturnsImmediately
// and testSelectIncompleteFastPath.
func TestOnAwait_Completed(t *testing.T) {
	t.Parallel()
	d := async.Async(nil, value42)
	if _, err := d.Await(testCtx(t)); err != nil {
		t.Fatalf("Await: %v", err)
	}
	got, err := selects.Select(testCtx(t), selects.OnAwait(d, want42(t)))
	if got != "OK" || err != nil {
		t.Fatalf("Select = %q, %v; want OK, nil", got, err)
	}
}

// TestOnAwait_Incomplete: a deferred still running when the select starts
// is chosen once it has its value. Kotlin:
// SelectDeferredTest.testSelectIncomplete (and testSimpleWithYield).
func TestOnAwait_Incomplete(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	inner := async.Async(nil, func(context.Context) (int, error) { <-release; return 42, nil })
	d := watchDeferred(inner)
	go func() { // ends once the select has registered
		<-d.armed
		close(release)
	}()
	got, err := selects.Select(testCtx(t), selects.OnAwait[int](d, want42(t)))
	if got != "OK" || err != nil {
		t.Fatalf("Select = %q, %v; want OK, nil", got, err)
	}
}

// TestOnAwait_Lazy: a select starts a lazy deferred and gets its value.
// Kotlin: SelectDeferredTest.testSelectIncompleteLazy.
func TestOnAwait_Lazy(t *testing.T) {
	t.Parallel()
	d := async.Async(nil, value42, core.Lazy())
	got, err := selects.Select(testCtx(t), selects.OnAwait(d, want42(t)))
	if got != "OK" || err != nil {
		t.Fatalf("Select = %q, %v; want OK, nil", got, err)
	}
}

// TestOnAwait_Two: of two deferreds, the one that completes first is
// chosen, and the other's function is never called. Kotlin:
// SelectDeferredTest.testSelectTwo.
func TestOnAwait_Two(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	d1 := async.Async(nil, func(context.Context) (string, error) { <-release; return "d1", nil })
	d2 := async.Async(nil, func(context.Context) (string, error) { return "d2", nil })
	got, err := selects.Select(testCtx(t),
		selects.OnAwait(d1, func(string) (string, error) {
			t.Error("d1's clause was chosen, want d2's")
			return "FAIL", nil
		}),
		selects.OnAwait(d2, func(v string) (string, error) {
			if v != "d2" {
				t.Errorf("d2's clause got %q, want d2", v)
			}
			return "OK", nil
		}))
	close(release)
	if got != "OK" || err != nil {
		t.Fatalf("Select = %q, %v; want OK, nil", got, err)
	}
	if v, err := d1.Await(testCtx(t)); v != "d1" || err != nil {
		t.Errorf("d1.Await = %q, %v; want d1, nil (the select leaves the loser alone)", v, err)
	}
}

// TestOnAwait_Cancelled: a deferred cancelled while the select waits makes
// Select return the deferred's cause, a cancellation; the clause's function
// is not called. Kotlin: SelectDeferredTest.testSelectCancel.
func TestOnAwait_Cancelled(t *testing.T) {
	t.Parallel()
	d := watchDeferred[string](async.NewCompletableDeferred[string](nil))
	go func() { // ends once the select has registered
		<-d.armed
		d.Cancel(nil)
	}()
	_, err := selects.Select(testCtx(t), selects.OnAwait[string](d, func(string) (string, error) {
		t.Error("the function of a cancelled deferred's clause was called")
		return "FAIL", nil
	}))
	var ce *core.CancellationError
	if !errors.As(err, &ce) || !errors.Is(err, context.Canceled) {
		t.Fatalf("Select = %v, want the deferred's *core.CancellationError", err)
	}
	if cause := d.Cause(); !errors.Is(err, cause) {
		t.Errorf("Select = %v, want the deferred's cause %v itself", err, cause)
	}
}

// TestOnAwait_Failed: a failed deferred makes Select return its failure,
// whether it failed before the select looked or while it waited.
func TestOnAwait_Failed(t *testing.T) {
	t.Parallel()
	for _, before := range []bool{true, false} {
		boom := testkit.NewErr("boom")
		cd := async.NewCompletableDeferred[string](nil)
		d := watchDeferred[string](cd)
		if before {
			cd.Fail(boom)
		} else {
			go func() { // ends once the select has registered
				<-d.armed
				cd.Fail(boom)
			}()
		}
		_, err := selects.Select(testCtx(t), selects.OnAwait[string](d, func(string) (string, error) {
			t.Error("the function of a failed deferred's clause was called")
			return "FAIL", nil
		}))
		if !errors.Is(err, boom) {
			t.Errorf("failed before the select: %v: Select = %v, want %v", before, err, boom)
		}
	}
}

// TestOnAwait_FunctionError: the error of the chosen clause's function is
// Select's error, with the function's result.
func TestOnAwait_FunctionError(t *testing.T) {
	t.Parallel()
	boom := testkit.NewErr("boom")
	d := async.NewCompletableDeferred[int](nil)
	d.Complete(1)
	got, err := selects.Select(testCtx(t), selects.OnAwait(d, func(v int) (int, error) { return v + 1, boom }))
	if got != 2 || !errors.Is(err, boom) {
		t.Fatalf("Select = %d, %v; want 2, %v", got, err, boom)
	}
}
