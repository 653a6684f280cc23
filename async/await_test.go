package async_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/jobtree/jobtree/async"
	"github.com/jobtree/jobtree/core"
	"github.com/jobtree/jobtree/internal/testkit"
)

// This file ports kotlinx's AwaitTest (common/test/AwaitTest.kt): awaitAll
// as async.AwaitAll, and joinAll on deferreds as core.JoinAll. Not ported:
// testAwaitAllTyped (Kotlin's mixed element types; a Go slice has one T).
// kotlinx's NonCancellable parent, used there so that a failing deferred
// does not cancel the test's scope, is a root deferred (a
// context.Background() ctx) here.

// heldAsync starts a deferred whose body holds until release is closed
// (ignoring its cancellation) and then returns v.
func heldAsync[T any](t *testing.T, ctx context.Context, release <-chan struct{}, v T) async.Deferred[T] {
	return async.Async(ctx, func(context.Context) (T, error) {
		testkit.Hold(t, release)
		return v, nil
	})
}

// failedAsync returns a root deferred that has failed with err.
func failedAsync[T any](t *testing.T, err error) async.Deferred[T] {
	t.Helper()
	d := async.Async(context.Background(), func(context.Context) (T, error) {
		var zero T
		return zero, err
	})
	testkit.WaitDone(t, d)
	return d
}

// TestAwaitAll_Values ports AwaitTest.testAwaitAll: AwaitAll returns the
// values in argument order, whatever the order in which the deferreds
// complete, once all of them are Completed.
func TestAwaitAll_Values(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	slow := heldAsync(t, context.Background(), release, "slow")
	fast := async.Async(context.Background(), func(context.Context) (string, error) { return "fast", nil })
	testkit.WaitDone(t, fast)
	res := goCall(func() ([]string, error) { return async.AwaitAll(context.Background(), slow, fast) })
	testkit.CheckState(t, slow, core.Active)
	if returned(res) {
		t.Fatalf("AwaitAll returned while a deferred was still active")
	}
	close(release)
	got, err := recv(t, res, "AwaitAll")
	if want := []string{"slow", "fast"}; !slices.Equal(got, want) || err != nil {
		t.Errorf("AwaitAll = %q, %v, want %q, nil", got, err, want)
	}
	testkit.CheckState(t, slow, core.Completed)
	testkit.CheckState(t, fast, core.Completed)
}

// TestAwaitAll_Lazy ports AwaitTest.testAwaitAllLazy: AwaitAll starts lazy
// deferreds.
func TestAwaitAll_Lazy(t *testing.T) {
	t.Parallel()
	d1, runs1 := lazyCounter(context.Background())
	d2 := async.Async(context.Background(), func(context.Context) (int, error) { return 2, nil }, core.Lazy())
	got, err := call(t, "AwaitAll", func() ([]int, error) { return async.AwaitAll(context.Background(), d1, d2) })
	if want := []int{42, 2}; !slices.Equal(got, want) || err != nil {
		t.Errorf("AwaitAll = %v, %v, want %v, nil", got, err, want)
	}
	if n := runs1.Load(); n != 1 {
		t.Errorf("lazy body ran %d times, want 1", n)
	}
}

// TestAwaitAll_FailsFast ports AwaitTest.testAwaitAllExceptionally:
// AwaitAll returns the first failure at once, without waiting for the
// deferreds still running and without cancelling them.
func TestAwaitAll_FailsFast(t *testing.T) {
	t.Parallel()
	parent := core.NewJob(nil)
	defer parent.Cancel(nil)
	ok := async.Async(parent.Context(), func(context.Context) (int, error) { return 1, nil })
	testkit.WaitDone(t, ok)
	failure := testkit.NewErr("fails")
	started := make(chan struct{})
	failing := async.Async(context.Background(), func(context.Context) (int, error) {
		<-started
		return 0, failure
	})
	release := make(chan struct{})
	running := heldAsync(t, parent.Context(), release, 3)
	res := goCall(func() ([]int, error) { return async.AwaitAll(context.Background(), ok, failing, running) })
	close(started)
	got, err := recv(t, res, "AwaitAll")
	if got != nil || err != failure {
		t.Errorf("AwaitAll = %v, %v, want nil, %v", got, err, failure)
	}
	testkit.CheckState(t, ok, core.Completed)
	testkit.CheckState(t, failing, core.Cancelled)
	testkit.CheckState(t, running, core.Active) // neither awaited nor cancelled
	testkit.CheckState(t, parent, core.Active)
	running.Cancel(nil)
	close(release)
	testkit.WaitDone(t, running)
}

// TestAwaitAll_MultipleFailures ports AwaitTest.testAwaitAllMultipleExceptions
// and testAwaitAllFullyCompletedExceptionally: with several failures,
// AwaitAll returns the first in time; among deferreds already failed when
// it is called, the first in argument order.
func TestAwaitAll_MultipleFailures(t *testing.T) {
	t.Parallel()
	t.Run("already failed", func(t *testing.T) {
		t.Parallel()
		// Fail them in the reverse of argument order.
		fail2, fail1 := testkit.NewErr("second arg"), testkit.NewErr("first arg")
		d2 := failedAsync[int](t, fail2)
		d1 := failedAsync[int](t, fail1)
		_, err := call(t, "AwaitAll", func() ([]int, error) { return async.AwaitAll(context.Background(), d1, d2) })
		if err != fail1 {
			t.Errorf("AwaitAll = %v, want the first argument's %v", err, fail1)
		}
	})
	t.Run("completable deferreds", func(t *testing.T) {
		t.Parallel()
		fail1, fail2 := testkit.NewErr("1"), testkit.NewErr("2")
		d1 := async.NewCompletableDeferred[struct{}](nil)
		d2 := async.NewCompletableDeferred[struct{}](nil)
		d1.Fail(fail1)
		d2.Fail(fail2)
		_, err := call(t, "AwaitAll", func() ([]struct{}, error) { return async.AwaitAll(context.Background(), d1, d2) })
		if err != fail1 {
			t.Errorf("AwaitAll = %v, want %v", err, fail1)
		}
	})
	t.Run("first in time", func(t *testing.T) {
		t.Parallel()
		early, late := testkit.NewErr("early"), testkit.NewErr("late")
		var release = make(chan struct{})
		d1 := async.Async(context.Background(), func(context.Context) (int, error) {
			testkit.Hold(t, release)
			return 0, late
		})
		d2 := async.NewCompletableDeferred[int](nil)
		res := goCall(func() ([]int, error) { return async.AwaitAll(context.Background(), d1, d2) })
		d2.Fail(early)
		_, err := recv(t, res, "AwaitAll")
		if err != early {
			t.Errorf("AwaitAll = %v, want the first failure in time %v", err, early)
		}
		close(release)
		testkit.WaitDone(t, d1)
	})
}

// TestAwaitAll_CallerCancelled ports AwaitTest.testAwaitAllCancellation: a
// deferred blocked in AwaitAll is cancelled like any waiter; it and the
// child it awaited end Cancelled.
func TestAwaitAll_CallerCancelled(t *testing.T) {
	t.Parallel()
	waiting := make(chan async.Deferred[int], 1)
	outer := async.Async(context.Background(), func(ctx context.Context) (int, error) {
		inner := async.Async(ctx, func(ctx context.Context) (int, error) {
			<-ctx.Done()
			return 0, ctx.Err()
		})
		waiting <- inner
		vs, err := async.AwaitAll(ctx, inner)
		if err != nil {
			return 0, err
		}
		return vs[0], nil
	})
	inner := <-waiting
	testkit.CheckState(t, outer, core.Active)
	outer.Cancel(nil)
	if !outer.IsCancelled() || outer.IsActive() { // Cancelling, or Cancelled already
		t.Errorf("%v after Cancel: IsCancelled() = %v, IsActive() = %v, want true, false", outer, outer.IsCancelled(), outer.IsActive())
	}
	_, err := call(t, "Await", func() (int, error) { return outer.Await(context.Background()) })
	testkit.WantCancellation(t, "Await(outer)", err, nil)
	testkit.CheckState(t, outer, core.Cancelled)
	testkit.CheckState(t, inner, core.Cancelled)
}

// TestAwaitAll_CtxDone checks that a ctx done while AwaitAll waits, or
// already at the call, makes it return the wait error carrying the ctx's
// cause, and leaves the deferreds alone.
func TestAwaitAll_CtxDone(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	pending := heldAsync(t, context.Background(), release, 1)
	complete := async.Async(context.Background(), func(context.Context) (int, error) { return 2, nil })
	testkit.WaitDone(t, complete)
	why := testkit.NewErr("caller gave up")
	ctx, stop := context.WithCancelCause(context.Background())
	res := goCall(func() ([]int, error) { return async.AwaitAll(ctx, complete, pending) })
	stop(why)
	got, err := recv(t, res, "AwaitAll")
	if got != nil {
		t.Errorf("AwaitAll(cancelled ctx) values = %v, want nil", got)
	}
	testkit.WantCancellation(t, "AwaitAll(cancelled ctx)", err, why)
	testkit.CheckState(t, pending, core.Active)

	// Done at the call, even with every deferred complete (as Join).
	_, err = async.AwaitAll(ctx, complete)
	testkit.WantCancellation(t, "AwaitAll(done ctx, complete deferred)", err, why)

	close(release)
	got, err = call(t, "AwaitAll", func() ([]int, error) { return async.AwaitAll(context.Background(), complete, pending) })
	if want := []int{2, 1}; !slices.Equal(got, want) || err != nil {
		t.Errorf("later AwaitAll = %v, %v, want %v, nil", got, err, want)
	}
}

// TestAwaitAll_PartiallyCompleted ports AwaitTest.testAwaitAllPartiallyCompleted:
// complete and running deferreds mix.
func TestAwaitAll_PartiallyCompleted(t *testing.T) {
	t.Parallel()
	d1 := async.Async(context.Background(), func(context.Context) (int, error) { return 1, nil })
	if _, err := call(t, "Await", func() (int, error) { return d1.Await(context.Background()) }); err != nil {
		t.Fatalf("Await = %v, want nil", err)
	}
	d2 := async.Async(context.Background(), func(context.Context) (int, error) { return 2, nil })
	got, err := call(t, "AwaitAll", func() ([]int, error) { return async.AwaitAll(context.Background(), d1, d2) })
	if want := []int{1, 2}; !slices.Equal(got, want) || err != nil {
		t.Errorf("AwaitAll = %v, %v, want %v, nil", got, err, want)
	}
	testkit.CheckState(t, d2, core.Completed)
}

// TestAwaitAll_PartiallyCompletedExceptionally ports
// AwaitTest.testAwaitAllPartiallyCompletedExceptionally: an already failed
// deferred makes AwaitAll return at once; the running one is left to
// finish, and a later Await gets its value.
func TestAwaitAll_PartiallyCompletedExceptionally(t *testing.T) {
	t.Parallel()
	failure := testkit.NewErr("partial")
	d1 := failedAsync[int](t, failure)
	release := make(chan struct{})
	d2 := heldAsync(t, context.Background(), release, 2)
	_, err := call(t, "AwaitAll", func() ([]int, error) { return async.AwaitAll(context.Background(), d1, d2) })
	if err != failure {
		t.Errorf("AwaitAll = %v, want %v", err, failure)
	}
	testkit.CheckState(t, d2, core.Active)
	close(release)
	if v, err := call(t, "Await", func() (int, error) { return d2.Await(context.Background()) }); v != 2 || err != nil {
		t.Errorf("Await = %v, %v, want 2, nil", v, err)
	}
}

// TestAwaitAll_FullyCompleted ports AwaitTest.testAwaitAllFullyCompleted and
// testAwaitOnSet: completed CompletableDeferreds and Async deferreds mix.
func TestAwaitAll_FullyCompleted(t *testing.T) {
	t.Parallel()
	c1 := async.NewCompletableDeferred[string](nil)
	c2 := async.NewCompletableDeferred[string](nil)
	c1.Complete("c1")
	c2.Complete("c2")
	got, err := async.AwaitAll(context.Background(), c1, c2)
	if want := []string{"c1", "c2"}; !slices.Equal(got, want) || err != nil {
		t.Errorf("AwaitAll(completed) = %q, %v, want %q, nil", got, err, want)
	}
	d := async.Async(context.Background(), func(context.Context) (string, error) { return "async", nil })
	got, err = call(t, "AwaitAll", func() ([]string, error) { return async.AwaitAll(context.Background(), c1, c2, d) })
	if want := []string{"c1", "c2", "async"}; !slices.Equal(got, want) || err != nil {
		t.Errorf("AwaitAll(completed, async) = %q, %v, want %q, nil", got, err, want)
	}
}

// TestAwaitAll_Duplicates ports AwaitTest.testAwaitAllSameJobMultipleTimes
// and testAwaitAllSameThrowingJobMultipleTimes: a deferred may appear more
// than once.
func TestAwaitAll_Duplicates(t *testing.T) {
	t.Parallel()
	ok := async.Async(context.Background(), func(context.Context) (string, error) { return "OK", nil })
	got, err := call(t, "AwaitAll", func() ([]string, error) { return async.AwaitAll(context.Background(), ok, ok, ok) })
	if want := []string{"OK", "OK", "OK"}; !slices.Equal(got, want) || err != nil {
		t.Errorf("AwaitAll(d, d, d) = %q, %v, want %q, nil", got, err, want)
	}
	failure := testkit.NewErr("dup")
	bad := async.Async(context.Background(), func(context.Context) (string, error) { return "", failure })
	_, err = call(t, "AwaitAll", func() ([]string, error) { return async.AwaitAll(context.Background(), bad, ok, bad, ok) })
	if err != failure {
		t.Errorf("AwaitAll(bad, ok, bad, ok) = %v, want %v", err, failure)
	}
	lazy, runs := lazyCounter(context.Background())
	got2, err := call(t, "AwaitAll", func() ([]int, error) { return async.AwaitAll(context.Background(), lazy, lazy) })
	if want := []int{42, 42}; !slices.Equal(got2, want) || err != nil || runs.Load() != 1 {
		t.Errorf("AwaitAll(lazy, lazy) = %v, %v with %d runs, want %v, nil with 1 run", got2, err, runs.Load(), want)
	}
}

// TestAwaitAll_Empty ports AwaitTest.testAwaitAllEmpty: no deferreds is an
// empty (non-nil) slice at once.
func TestAwaitAll_Empty(t *testing.T) {
	t.Parallel()
	got, err := async.AwaitAll[int](context.Background())
	if got == nil || len(got) != 0 || err != nil {
		t.Errorf("AwaitAll(ctx) = %#v, %v, want []int{}, nil", got, err)
	}
	got, err = async.AwaitAll(context.Background(), []async.Deferred[int]{}...)
	if got == nil || len(got) != 0 || err != nil {
		t.Errorf("AwaitAll(ctx, empty...) = %#v, %v, want []int{}, nil", got, err)
	}
}

// TestAwaitAll_NilDeferred checks that a nil deferred is an error, not a
// panic, and that the other deferreds are left alone.
func TestAwaitAll_NilDeferred(t *testing.T) {
	t.Parallel()
	d, runs := lazyCounter(context.Background())
	defer d.Cancel(nil)
	got, err := async.AwaitAll(context.Background(), d, nil)
	if got != nil || err == nil || !strings.Contains(err.Error(), "nil") {
		t.Errorf("AwaitAll(d, nil) = %v, %v, want nil and an error about the nil deferred", got, err)
	}
	testkit.CheckState(t, d, core.New)
	if n := runs.Load(); n != 0 {
		t.Errorf("body ran %d times, want 0", n)
	}
}

// TestAwaitAll_Cycle checks that AwaitAll from inside one of the awaited
// deferreds, or from one of their descendants, returns core.ErrJoinCycle at
// once.
func TestAwaitAll_Cycle(t *testing.T) {
	t.Parallel()
	self := make(chan async.Deferred[int], 1)
	other := async.NewCompletableDeferred[int](nil)
	defer other.Cancel(nil)
	d := async.Async(context.Background(), func(ctx context.Context) (int, error) {
		me := <-self
		if _, err := async.AwaitAll(ctx, other, me); !errors.Is(err, core.ErrJoinCycle) {
			return 0, errors.New("AwaitAll from the body: " + errString(err))
		}
		child := async.Async(ctx, func(ctx context.Context) (int, error) {
			if _, err := async.AwaitAll(ctx, me); !errors.Is(err, core.ErrJoinCycle) {
				return 0, errors.New("AwaitAll from a child: " + errString(err))
			}
			return 1, nil
		})
		return child.Await(ctx)
	})
	self <- d
	if v, err := call(t, "Await", func() (int, error) { return d.Await(context.Background()) }); v != 1 || err != nil {
		t.Errorf("Await = %v, %v, want 1, nil (AwaitAll reported ErrJoinCycle)", v, err)
	}
	testkit.CheckState(t, other, core.Active)
}

// TestJoinAll_Deferreds ports AwaitTest's joinAll tests (testJoinAll,
// testJoinAllLazy, testJoinAllExceptionally, testJoinAllAlreadyCompleted,
// testJoinAllEmpty, testJoinAllSameJob, testJoinAllSameJobExceptionally):
// a deferred is a job, and core.JoinAll waits for deferreds and launched
// jobs alike, starts lazy ones, and returns nil whatever their outcome.
func TestJoinAll_Deferreds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		jobs func(t *testing.T) []core.Job
	}{
		{"mixed", func(t *testing.T) []core.Job {
			return []core.Job{
				core.Launch(context.Background(), func(context.Context) error { return nil }),
				async.Async(context.Background(), func(context.Context) (string, error) { return "OK", nil }),
				core.Launch(context.Background(), func(context.Context) error { return nil }),
			}
		}},
		{"lazy", func(t *testing.T) []core.Job {
			d, _ := lazyCounter(context.Background())
			return []core.Job{d, core.Launch(context.Background(), func(context.Context) error { return nil }, core.Lazy())}
		}},
		{"exceptionally", func(t *testing.T) []core.Job {
			return []core.Job{
				core.Launch(context.Background(), func(context.Context) error { return nil }),
				async.Async(context.Background(), func(context.Context) (int, error) { return 0, testkit.NewErr("joined") }),
				async.Async(context.Background(), func(context.Context) (int, error) { return 1, nil }),
			}
		}},
		{"already completed", func(t *testing.T) []core.Job {
			d := async.Async(context.Background(), func(context.Context) (int, error) { return 1, nil })
			testkit.WaitDone(t, d)
			return []core.Job{d}
		}},
		{"empty", func(t *testing.T) []core.Job { return nil }},
		{"same job", func(t *testing.T) []core.Job {
			d := async.Async(context.Background(), func(context.Context) (int, error) { return 1, nil })
			return []core.Job{d, d, d}
		}},
		{"same job exceptionally", func(t *testing.T) []core.Job {
			d := async.Async(context.Background(), func(context.Context) (int, error) { return 0, testkit.NewErr("same") })
			return []core.Job{d, d, d}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			jobs := tt.jobs(t)
			if _, err := call(t, "JoinAll", func() (struct{}, error) {
				return struct{}{}, core.JoinAll(context.Background(), jobs...)
			}); err != nil {
				t.Errorf("JoinAll = %v, want nil", err)
			}
			for _, j := range jobs {
				if !j.IsCompleted() {
					t.Errorf("%v not complete when JoinAll returned", j)
				}
			}
		})
	}
}

// TestJoinAll_Cancellation ports AwaitTest.testJoinAllCancellation: a job
// blocked in JoinAll on a deferred is cancelled like any waiter: JoinAll
// returns the cancellation, and the job ends Cancelled. (The inner deferred
// holds until JoinAll has returned, so that JoinAll cannot see it complete:
// core's Join does not check its ctx again when both are ready.)
func TestJoinAll_Cancellation(t *testing.T) {
	t.Parallel()
	waiting, joined := make(chan struct{}), make(chan struct{})
	var joinErr error
	outer := core.Launch(context.Background(), func(ctx context.Context) error {
		inner := async.Async(ctx, func(ctx context.Context) (int, error) {
			<-ctx.Done()
			testkit.Hold(t, joined)
			return 0, ctx.Err()
		})
		close(waiting)
		joinErr = core.JoinAll(ctx, inner)
		close(joined)
		return joinErr
	})
	testkit.WaitChan(t, waiting, "outer to wait")
	outer.Cancel(nil)
	testkit.WaitChan(t, joined, "JoinAll to return")
	testkit.WantCancellation(t, "JoinAll in the cancelled job", joinErr, nil)
	testkit.WaitDone(t, outer)
	testkit.CheckState(t, outer, core.Cancelled)
}
