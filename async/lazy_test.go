package async_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/jobtree/jobtree/async"
	"github.com/jobtree/jobtree/core"
	"github.com/jobtree/jobtree/internal/testkit"
)

// This file ports kotlinx's AsyncLazyTest (common/test/AsyncLazyTest.kt):
// Async with core.Lazy. The yields of testLazyDeferAndYield(2) only order a
// single-threaded event loop; what they show (a lazy deferred stays New for
// every observer until something starts it) is asserted directly.

// lazyCounter returns a lazy deferred of 42 and the number of times its body
// ran.
func lazyCounter(ctx context.Context) (async.Deferred[int], *atomic.Int32) {
	var runs atomic.Int32
	d := async.Async(ctx, func(context.Context) (int, error) {
		runs.Add(1)
		return 42, nil
	}, core.Lazy())
	return d, &runs
}

// TestAsyncLazy_Simple ports AsyncLazyTest.testSimple,
// testLazyDeferAndYield and testLazyDeferAndYield2: a lazy deferred is New
// (reading its state, registering handlers or looking at it from another
// goroutine does not start it) until Await starts it; Await then returns
// the value, and so does every later Await.
func TestAsyncLazy_Simple(t *testing.T) {
	t.Parallel()
	d, runs := lazyCounter(context.Background())
	testkit.CheckState(t, d, core.New)
	var completions atomic.Int32
	d.InvokeOnCompletion(func(error) { completions.Add(1) })
	d.InvokeOnCancelling(func(error) {})
	seen := make(chan core.State)
	go func() { seen <- d.State() }() // ends once the state is received
	if s := <-seen; s != core.New {
		t.Errorf("State() seen from another goroutine = %v, want %v", s, core.New)
	}
	testkit.CheckState(t, d, core.New)
	if n := runs.Load(); n != 0 {
		t.Fatalf("the body of a lazy deferred ran %d times before it was started", n)
	}
	for i := range 2 {
		v, err := call(t, "Await", func() (int, error) { return d.Await(context.Background()) })
		if v != 42 || err != nil {
			t.Errorf("Await #%d = %v, %v, want 42, nil", i+1, v, err)
		}
	}
	testkit.CheckState(t, d, core.Completed)
	if n, c := runs.Load(), completions.Load(); n != 1 || c != 1 {
		t.Errorf("body ran %d times, completion handler %d times; want 1 and 1", n, c)
	}
}

// TestAsyncLazy_Failure ports AsyncLazyTest.testSimpleException,
// testLazyDeferAndYieldException and testCatchException: Await starts a
// lazy deferred whose body fails and returns the failure; the deferred is
// then Cancelled.
func TestAsyncLazy_Failure(t *testing.T) {
	t.Parallel()
	failure := testkit.NewErr("lazy")
	d := async.Async(context.Background(), func(context.Context) (int, error) { return 0, failure }, core.Lazy())
	testkit.CheckState(t, d, core.New)
	_, err := call(t, "Await", func() (int, error) { return d.Await(context.Background()) })
	wantFailure(t, "Await", err, failure)
	testkit.CheckState(t, d, core.Cancelled)
}

// TestAsyncLazy_Start ports AsyncLazyTest.testStart: Start starts a lazy
// deferred and returns true once; the deferred then runs to its value.
func TestAsyncLazy_Start(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	d := async.Async(context.Background(), func(context.Context) (int, error) {
		testkit.Hold(t, release)
		return 42, nil
	}, core.Lazy())
	testkit.CheckState(t, d, core.New)
	if !d.Start() {
		t.Errorf("first Start() = false, want true")
	}
	testkit.CheckState(t, d, core.Active)
	if d.Start() {
		t.Errorf("second Start() = true, want false")
	}
	close(release)
	testkit.WaitDone(t, d)
	testkit.CheckState(t, d, core.Completed)
	if v, err := d.Await(context.Background()); v != 42 || err != nil {
		t.Errorf("Await = %v, %v, want 42, nil", v, err)
	}
}

// TestAsyncLazy_CancelBeforeStart ports AsyncLazyTest.testCancelBeforeStart:
// cancelling a New deferred makes it Cancelled before Cancel returns (its
// completion handlers have run), it can no longer be started, its body
// never runs, and Await returns the cancellation.
func TestAsyncLazy_CancelBeforeStart(t *testing.T) {
	t.Parallel()
	d, runs := lazyCounter(context.Background())
	var handled atomic.Bool
	d.InvokeOnCompletion(func(error) { handled.Store(true) })
	d.Cancel(nil)
	testkit.CheckState(t, d, core.Cancelled)
	if !handled.Load() {
		t.Errorf("completion handler did not run inside Cancel of a New deferred")
	}
	if d.Start() {
		t.Errorf("Start() after Cancel = true, want false")
	}
	_, err := call(t, "Await", func() (int, error) { return d.Await(context.Background()) })
	testkit.WantCancellation(t, "Await", err, nil)
	if n := runs.Load(); n != 0 {
		t.Errorf("the body of a cancelled lazy deferred ran %d times", n)
	}
}

// TestAsyncLazy_CancelWhileComputing ports
// AsyncLazyTest.testCancelWhileComputing: a started lazy deferred cancelled
// while its body runs is Cancelling until the body ends; Await returns the
// cancellation.
func TestAsyncLazy_CancelWhileComputing(t *testing.T) {
	t.Parallel()
	started, release := make(chan struct{}), make(chan struct{})
	d := async.Async(context.Background(), func(context.Context) (int, error) {
		close(started)
		testkit.Hold(t, release)
		return 42, nil
	}, core.Lazy())
	testkit.CheckState(t, d, core.New)
	if !d.Start() {
		t.Fatalf("Start() = false, want true")
	}
	testkit.WaitChan(t, started, "body to start")
	testkit.CheckState(t, d, core.Active)
	d.Cancel(nil)
	testkit.CheckState(t, d, core.Cancelling)
	close(release)
	_, err := call(t, "Await", func() (int, error) { return d.Await(context.Background()) })
	testkit.WantCancellation(t, "Await", err, nil)
	testkit.CheckState(t, d, core.Cancelled)
}

// TestAsyncLazy_StartedByWaiters checks kotlinx's rule 8 for deferreds:
// every way of waiting for a lazy deferred starts it, and so does attaching
// a child to it.
func TestAsyncLazy_StartedByWaiters(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		wait func(d async.Deferred[int]) error
	}{
		{"Await", func(d async.Deferred[int]) error { _, err := d.Await(context.Background()); return err }},
		{"Join", func(d async.Deferred[int]) error { return d.Join(context.Background()) }},
		{"AwaitResult", func(d async.Deferred[int]) error { return async.AwaitResult(context.Background(), d).Error() }},
		{"AwaitAll", func(d async.Deferred[int]) error { _, err := async.AwaitAll(context.Background(), d); return err }},
		{"AwaitAny", func(d async.Deferred[int]) error { _, err := async.AwaitAny(context.Background(), d); return err }},
		{"core.JoinAll", func(d async.Deferred[int]) error { return core.JoinAll(context.Background(), d) }},
		{"child attached", func(d async.Deferred[int]) error {
			core.Launch(d.Context(), func(context.Context) error { return nil })
			return d.Join(context.Background())
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d, runs := lazyCounter(context.Background())
			if _, err := call(t, tt.name, func() (struct{}, error) { return struct{}{}, tt.wait(d) }); err != nil {
				t.Errorf("%s = %v, want nil", tt.name, err)
			}
			testkit.CheckState(t, d, core.Completed)
			if n := runs.Load(); n != 1 {
				t.Errorf("body ran %d times, want 1", n)
			}
		})
	}
}

// TestAsyncLazy_NeverStartedKeepsParent checks kotlinx's rule 10: a lazy
// child deferred that nobody starts keeps its parent from completing; once
// it is cancelled the parent completes.
func TestAsyncLazy_NeverStartedKeepsParent(t *testing.T) {
	t.Parallel()
	parent := core.NewJob(nil)
	d, runs := lazyCounter(parent.Context())
	if !parent.Complete() {
		t.Fatalf("parent Complete() = false, want true")
	}
	testkit.CheckState(t, parent, core.Completing)
	testkit.CheckState(t, d, core.New)
	d.Cancel(nil)
	testkit.WaitDone(t, parent)
	testkit.CheckState(t, parent, core.Completed)
	if n := runs.Load(); n != 0 {
		t.Errorf("the body of the never started deferred ran %d times", n)
	}
}
