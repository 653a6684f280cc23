package async_test

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jobtree/jobtree/async"
	"github.com/jobtree/jobtree/core"
	"github.com/jobtree/jobtree/internal/testkit"
)

// This file ports kotlinx's AsyncTest (common/test/AsyncTest.kt), and holds
// the tests of Await, GetCompleted and AwaitResult that issue 3 asks for.
// Not ported: testUndispatched and the ATOMIC start of
// testCancellationWithCause/testCancellationTransparency/testOverriddenParent
// (Go has no start modes; the bodies here are started before they are
// cancelled instead), testIncompleteAsyncFastPath (a dispatcher), and the
// expect(n) orderings of the single-threaded event loop.

// TestAsync_Simple ports AsyncTest.testSimple and testDeferBadClass: a
// deferred is active while its body runs, Await returns the body's value
// (the very same pointer), and every later Await returns it again.
func TestAsync_Simple(t *testing.T) {
	t.Parallel()
	type bad struct{ n int }
	want := &bad{42}
	started, release := make(chan struct{}), make(chan struct{})
	d := async.Async(context.Background(), func(context.Context) (*bad, error) {
		close(started)
		testkit.Hold(t, release)
		return want, nil
	})
	testkit.WaitChan(t, started, "body to start")
	testkit.CheckState(t, d, core.Active)
	close(release)
	for i := range 2 {
		got, err := call(t, "Await", func() (*bad, error) { return d.Await(context.Background()) })
		if got != want || err != nil {
			t.Errorf("Await #%d = %p, %v, want %p, nil", i+1, got, err, want)
		}
	}
	testkit.CheckState(t, d, core.Completed)
	if err := d.Cause(); err != nil {
		t.Errorf("Cause() = %v, want nil", err)
	}
}

// TestAsync_IsAJob checks that a deferred is a job of the tree like any
// other: its body gets the deferred's own context, it is a child of
// JobOf(ctx), and it takes core's options. (JobOf, Parent and Children
// report the job behind a deferred, jobOf(d), not the Deferred value.)
func TestAsync_IsAJob(t *testing.T) {
	t.Parallel()
	parent := core.NewJob(nil)
	defer parent.Cancel(nil)
	bodyJob := make(chan core.Job, 1)
	release := make(chan struct{})
	d := async.Async(parent.Context(), func(ctx context.Context) (int, error) {
		bodyJob <- core.JobOf(ctx)
		testkit.Hold(t, release)
		return 1, nil
	}, core.Named("fetch"))
	self := <-bodyJob
	if self == nil || self != jobOf(d) {
		t.Errorf("JobOf(body ctx) = %v, want the deferred's job %v", self, jobOf(d))
	}
	if got := d.Parent(); got != core.Job(parent) {
		t.Errorf("Parent() = %v, want %v", got, parent)
	}
	found := false
	for c := range parent.Children() {
		found = found || c == jobOf(d)
	}
	if !found {
		t.Errorf("parent's Children() does not list the deferred %v", d)
	}
	if s := d.String(); !strings.Contains(s, "fetch") {
		t.Errorf("String() = %q, want it to show the name %q", s, "fetch")
	}
	close(release)
	testkit.WaitDone(t, d)
	testkit.CheckState(t, parent, core.Active)
}

// TestAsync_Failure ports AsyncTest.testSimpleException and
// testDeferAndYieldException: Await returns the body's error, the same on
// every call; and, as the spec says, the failure cancels the parent (and so
// the siblings) like any child's.
func TestAsync_Failure(t *testing.T) {
	t.Parallel()
	rec := &testkit.Recorder{}
	parent := core.NewJob(rec.Ctx())
	defer parent.Cancel(nil)
	sibling := async.Async(parent.Context(), func(ctx context.Context) (int, error) {
		<-ctx.Done()
		return 0, ctx.Err()
	})
	failure := testkit.NewErr("async")
	d := async.Async(parent.Context(), func(context.Context) (int, error) { return 7, failure })
	for i := range 2 {
		v, err := call(t, "Await", func() (int, error) { return d.Await(context.Background()) })
		if v != 0 || err != failure {
			t.Errorf("Await #%d = %v, %v, want 0, %v", i+1, v, err, failure)
		}
	}
	testkit.CheckState(t, d, core.Cancelled)
	if parent.IsActive() || !errors.Is(parent.Cause(), failure) {
		t.Errorf("parent: IsActive() = %v, Cause() = %v; want cancelled by %v", parent.IsActive(), parent.Cause(), failure)
	}
	_, err := call(t, "sibling Await", func() (int, error) { return sibling.Await(context.Background()) })
	testkit.WantCancellation(t, "sibling's Await", err, failure)
	testkit.WaitDone(t, parent)
	rec.ExpectNone(t) // a NewJob and an Async never report
}

// TestAsync_Panic checks that a panicking body fails its deferred with a
// *core.PanicError (with the stack), which Await returns and which cancels
// the parent.
func TestAsync_Panic(t *testing.T) {
	t.Parallel()
	failure := testkit.NewErr("panic value")
	tests := []struct {
		name   string
		value  any
		unwrap error
	}{
		{"string", "boom", nil},
		{"error", failure, failure},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			parent := core.NewJob(nil)
			defer parent.Cancel(nil)
			d := async.Async(parent.Context(), func(context.Context) (int, error) { panic(tt.value) })
			_, err := call(t, "Await", func() (int, error) { return d.Await(context.Background()) })
			pe := testkit.As[*core.PanicError](t, "Await", err)
			if pe.Value != tt.value {
				t.Errorf("PanicError.Value = %#v, want %#v", pe.Value, tt.value)
			}
			if got := pe.Unwrap(); got != tt.unwrap {
				t.Errorf("PanicError.Unwrap() = %v, want %v", got, tt.unwrap)
			}
			if !strings.Contains(string(pe.Stack), "async_test") {
				t.Errorf("PanicError.Stack does not show the panicking body:\n%s", pe.Stack)
			}
			if !errors.Is(parent.Cause(), pe) {
				t.Errorf("parent's Cause() = %v, want the panic %v", parent.Cause(), pe)
			}
		})
	}
}

// TestAsync_CancellationWithCause ports AsyncTest.testCancellationWithCause:
// Await on a cancelled deferred returns the cancellation it was given (a
// *core.CancellationError as is, any other cause wrapped), and cancelling a
// deferred leaves its parent alone.
func TestAsync_CancellationWithCause(t *testing.T) {
	t.Parallel()
	why := testkit.NewErr("why")
	given := &core.CancellationError{Message: "TEST"}
	tests := []struct {
		name  string
		cause error
		check func(t *testing.T, err error)
	}{
		{"CancellationError", given, func(t *testing.T, err error) {
			var ce *core.CancellationError
			if !errors.As(err, &ce) || ce != given || ce.Message != "TEST" {
				t.Errorf("Await = %v, want the given cancellation %v", err, given)
			}
		}},
		{"other cause", why, func(t *testing.T, err error) { testkit.WantCancellation(t, "Await", err, why) }},
		{"nil", nil, func(t *testing.T, err error) { testkit.WantCancellation(t, "Await", err, nil) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			parent := core.NewJob(nil)
			defer parent.Cancel(nil)
			started := make(chan struct{})
			d := async.Async(parent.Context(), func(ctx context.Context) (int, error) {
				close(started)
				<-ctx.Done()
				return 0, ctx.Err()
			})
			testkit.WaitChan(t, started, "body to start")
			d.Cancel(tt.cause)
			_, err := call(t, "Await", func() (int, error) { return d.Await(context.Background()) })
			tt.check(t, err)
			testkit.CheckState(t, d, core.Cancelled)
			testkit.CheckState(t, parent, core.Active)
		})
	}
}

// TestAsync_LostException ports AsyncTest.testLostException: the failure of
// a deferred that nobody awaits is reported nowhere; Join returns nil.
func TestAsync_LostException(t *testing.T) {
	t.Parallel()
	rec := &testkit.Recorder{}
	parent := core.NewJob(rec.Ctx())
	defer parent.Cancel(nil)
	d := async.Async(parent.Context(), func(context.Context) (int, error) { return 0, testkit.NewErr("lost") })
	if _, err := call(t, "Join", func() (struct{}, error) { return struct{}{}, d.Join(context.Background()) }); err != nil {
		t.Errorf("Join(ctx) = %v, want nil", err)
	}
	testkit.WaitDone(t, parent) // the NewJob is cancelled by its failing child
	rec.ExpectNone(t)
}

// TestAsync_ParallelDecompositionCaughtException ports
// AsyncTest.testParallelDecompositionCaughtException: a body that awaits a
// failing root deferred and handles the error completes with its own value.
func TestAsync_ParallelDecompositionCaughtException(t *testing.T) {
	t.Parallel()
	failure := testkit.NewErr("decomposed")
	d := async.Async(context.Background(), func(ctx context.Context) (int, error) {
		inner := async.Async(context.Background(), func(context.Context) (int, error) { return 1, failure })
		if _, err := inner.Await(ctx); errors.Is(err, failure) {
			return 42, nil
		}
		return 0, errors.New("inner deferred did not fail")
	})
	v, err := call(t, "Await", func() (int, error) { return d.Await(context.Background()) })
	if v != 42 || err != nil {
		t.Errorf("Await = %v, %v, want 42, nil", v, err)
	}
}

// TestAsync_ParallelDecompositionCaughtExceptionWithInheritedParent ports
// AsyncTest.testParallelDecompositionCaughtExceptionWithInheritedParent: a
// failing child deferred fails its parent deferred even when the parent's
// body handles the error; the value that body returns is discarded.
func TestAsync_ParallelDecompositionCaughtExceptionWithInheritedParent(t *testing.T) {
	t.Parallel()
	failure := testkit.NewErr("decomposed")
	d := async.Async(context.Background(), func(ctx context.Context) (int, error) {
		inner := async.Async(ctx, func(context.Context) (int, error) { return 1, failure })
		if _, err := inner.Await(ctx); errors.Is(err, failure) {
			return 42, nil // too late: the parent already failed
		}
		return 0, errors.New("inner deferred did not fail")
	})
	v, err := call(t, "Await", func() (int, error) { return d.Await(context.Background()) })
	if v != 0 || err != failure {
		t.Errorf("Await = %v, %v, want 0, %v", v, err, failure)
	}
	testkit.CheckState(t, d, core.Cancelled)
}

// TestAsync_ParallelDecompositionUncaughtException ports
// AsyncTest.testParallelDecompositionUncaughtException(WithInheritedParent):
// a body that hands up the error of its failing child deferred fails with
// that very error, not with a cancellation.
func TestAsync_ParallelDecompositionUncaughtException(t *testing.T) {
	t.Parallel()
	failure := testkit.NewErr("decomposed")
	d := async.Async(context.Background(), func(ctx context.Context) (int, error) {
		inner := async.Async(ctx, func(context.Context) (int, error) { return 1, failure })
		return inner.Await(ctx)
	})
	v, err := call(t, "Await", func() (int, error) { return d.Await(context.Background()) })
	if v != 0 || err != failure {
		t.Errorf("Await = %v, %v, want 0, %v", v, err, failure)
	}
}

// TestAsync_CancellationTransparency ports
// AsyncTest.testCancellationTransparency: a body that fails after its
// deferred was cancelled makes the deferred failed; Await returns the
// failure, not the cancellation.
func TestAsync_CancellationTransparency(t *testing.T) {
	t.Parallel()
	failure := testkit.NewErr("after cancel")
	started := make(chan struct{})
	d := async.Async(context.Background(), func(ctx context.Context) (int, error) {
		close(started)
		<-ctx.Done()
		return 0, failure
	})
	testkit.WaitChan(t, started, "body to start")
	d.Cancel(nil)
	_, err := call(t, "Await", func() (int, error) { return d.Await(context.Background()) })
	wantFailure(t, "Await", err, failure)
}

// TestAsync_TwoWaiters ports AsyncTest.testDeferWithTwoWaiters: two jobs
// awaiting one deferred both get its value.
func TestAsync_TwoWaiters(t *testing.T) {
	t.Parallel()
	var got [2]int
	_, err := call(t, "Scope", func() (struct{}, error) {
		return struct{}{}, core.Scope(context.Background(), func(ctx context.Context) error {
			release := make(chan struct{})
			d := async.Async(ctx, func(context.Context) (int, error) {
				testkit.Hold(t, release)
				return 42, nil
			})
			var waiting sync.WaitGroup
			for i := range got {
				waiting.Add(1)
				core.Launch(ctx, func(ctx context.Context) error {
					waiting.Done()
					v, err := d.Await(ctx)
					got[i] = v
					return err
				})
			}
			waiting.Wait()
			close(release)
			return nil
		})
	})
	if err != nil || got != [2]int{42, 42} {
		t.Errorf("Scope = %v with waiters' values %v, want nil and [42 42]", err, got)
	}
}

// TestAsync_OverriddenParent ports AsyncTest.testOverriddenParent: a
// deferred whose parent is cancelled is cancelled; one created under an
// already cancelled parent never runs its body.
func TestAsync_OverriddenParent(t *testing.T) {
	t.Parallel()
	t.Run("cancelled while running", func(t *testing.T) {
		t.Parallel()
		parent := core.NewJob(nil)
		started := make(chan struct{})
		d := async.Async(parent.Context(), func(ctx context.Context) (int, error) {
			close(started)
			<-ctx.Done()
			return 0, ctx.Err()
		})
		testkit.WaitChan(t, started, "body to start")
		parent.Cancel(nil)
		_, err := call(t, "Await", func() (int, error) { return d.Await(context.Background()) })
		testkit.WantCancellation(t, "Await", err, nil)
		testkit.CheckState(t, d, core.Cancelled)
	})
	t.Run("cancelled before", func(t *testing.T) {
		t.Parallel()
		parent := core.NewJob(nil)
		parent.Cancel(nil)
		var ran atomic.Bool
		d := async.Async(parent.Context(), func(context.Context) (int, error) {
			ran.Store(true)
			return 1, nil
		})
		_, err := call(t, "Await", func() (int, error) { return d.Await(context.Background()) })
		testkit.WantCancellation(t, "Await", err, nil)
		testkit.CheckState(t, d, core.Cancelled)
		if ran.Load() {
			t.Errorf("the body of a deferred created under a cancelled parent ran")
		}
	})
}

// TestAsync_ValueLooksLikeState ports AsyncTest.testIncompleteAsyncState:
// a value that is itself a handle of the job, or an error, is just a value.
func TestAsync_ValueLooksLikeState(t *testing.T) {
	t.Parallel()
	t.Run("DisposableHandle", func(t *testing.T) {
		t.Parallel()
		d := async.Async(context.Background(), func(ctx context.Context) (core.DisposableHandle, error) {
			return core.JobOf(ctx).InvokeOnCompletion(func(error) {}), nil
		})
		h, err := call(t, "Await", func() (core.DisposableHandle, error) { return d.Await(context.Background()) })
		if h == nil || err != nil {
			t.Fatalf("Await = %v, %v, want a handle, nil", h, err)
		}
		h.Dispose()
		if got, err := d.GetCompleted(); got != h || err != nil {
			t.Errorf("GetCompleted() = %v, %v, want %v, nil", got, err, h)
		}
		testkit.CheckState(t, d, core.Completed)
	})
	t.Run("error", func(t *testing.T) {
		t.Parallel()
		value := testkit.NewErr("a value")
		d := async.Async(context.Background(), func(context.Context) (error, error) { return value, nil })
		got, err := call(t, "Await", func() (error, error) { return d.Await(context.Background()) })
		if got != value || err != nil {
			t.Errorf("Await = %v, %v, want %v, nil", got, err, value)
		}
		testkit.CheckState(t, d, core.Completed)
	})
}

// TestAsync_ValueAfterCancellationDiscarded ports
// AsyncTest.testAsyncWithFinally: a deferred cancelled while its body runs
// is Cancelling until the body returns; the value the body then returns is
// discarded and Await returns the cancellation.
func TestAsync_ValueAfterCancellationDiscarded(t *testing.T) {
	t.Parallel()
	started, release := make(chan struct{}), make(chan struct{})
	d := async.Async(context.Background(), func(context.Context) (string, error) {
		close(started)
		testkit.Hold(t, release) // ignores the cancellation, as a finally block would
		return "Fail", nil
	})
	testkit.WaitChan(t, started, "body to start")
	testkit.CheckState(t, d, core.Active)
	d.Cancel(nil)
	testkit.CheckState(t, d, core.Cancelling)
	res := goCall(func() (string, error) { return d.Await(context.Background()) })
	testkit.CheckState(t, d, core.Cancelling)
	close(release)
	v, err := recv(t, res, "Await")
	if v != "" {
		t.Errorf("Await = %q, want the zero value", v)
	}
	testkit.WantCancellation(t, "Await", err, nil)
	testkit.CheckState(t, d, core.Cancelled)
	if v, err := d.GetCompleted(); v != "" || !core.IsCancellation(err) {
		t.Errorf("GetCompleted() = %q, %v, want \"\", a cancellation", v, err)
	}
}

// TestAsync_UnderSupervisorNotReported checks that a failing deferred under
// a supervisor cancels neither the supervisor nor its siblings, and is not
// reported to the exception handler: Await returns it.
func TestAsync_UnderSupervisorNotReported(t *testing.T) {
	t.Parallel()
	rec := &testkit.Recorder{}
	sup := core.NewSupervisorJob(rec.Ctx())
	defer sup.Cancel(nil)
	release := make(chan struct{})
	sibling := async.Async(sup.Context(), func(context.Context) (int, error) {
		testkit.Hold(t, release)
		return 1, nil
	})
	failure := testkit.NewErr("supervised")
	d := async.Async(sup.Context(), func(context.Context) (int, error) { return 0, failure })
	_, err := call(t, "Await", func() (int, error) { return d.Await(context.Background()) })
	wantFailure(t, "Await", err, failure)
	testkit.CheckState(t, sup, core.Active)
	testkit.CheckState(t, sibling, core.Active)
	close(release)
	if v, err := call(t, "sibling Await", func() (int, error) { return sibling.Await(context.Background()) }); v != 1 || err != nil {
		t.Errorf("sibling Await = %v, %v, want 1, nil", v, err)
	}
	rec.ExpectNone(t)
}

// TestAsync_NilBodyPanics checks that Async rejects a nil body.
func TestAsync_NilBodyPanics(t *testing.T) {
	t.Parallel()
	expectPanic(t, "Async(ctx, nil)", func() { async.Async[int](context.Background(), nil) })
}

// ---------------------------------------------------------------------------
// Await, GetCompleted, AwaitResult.

// TestAwait_NeverPoisons checks issue 3's "Await never poisons the
// deferred": a caller whose ctx is done gets its ctx's cause and leaves the
// deferred alone; a later Await still gets the value.
func TestAwait_NeverPoisons(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	d := async.Async(context.Background(), func(context.Context) (int, error) {
		testkit.Hold(t, release)
		return 42, nil
	})
	why := testkit.NewErr("caller gave up")
	ctx, stop := context.WithCancelCause(context.Background())
	res := goCall(func() (int, error) { return d.Await(ctx) })
	stop(why)
	v, err := recv(t, res, "Await with a cancelled ctx")
	if v != 0 {
		t.Errorf("Await(cancelled ctx) = %v, want the zero value", v)
	}
	testkit.WantCancellation(t, "Await(cancelled ctx)", err, why)
	testkit.CheckState(t, d, core.Active)

	// Already done at the call.
	_, err = d.Await(ctx)
	testkit.WantCancellation(t, "Await(done ctx)", err, why)
	expired, stop2 := context.WithDeadline(context.Background(), time.Unix(1, 0))
	defer stop2()
	_, err = d.Await(expired)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Await(expired ctx) = %v, want it to carry %v", err, context.DeadlineExceeded)
	}
	testkit.WantCancellation(t, "Await(expired ctx)", err, nil)
	testkit.CheckState(t, d, core.Active)

	close(release)
	if v, err := call(t, "Await", func() (int, error) { return d.Await(context.Background()) }); v != 42 || err != nil {
		t.Errorf("later Await = %v, %v, want 42, nil", v, err)
	}
	// A complete deferred answers whatever ctx.
	if v, err := d.Await(ctx); v != 42 || err != nil {
		t.Errorf("Await(done ctx) on a complete deferred = %v, %v, want 42, nil", v, err)
	}
	if r := async.AwaitResult(ctx, d); !r.IsOk() || r.MustGet() != 42 {
		t.Errorf("AwaitResult(done ctx) on a complete deferred = %v, want Ok(42)", r)
	}
}

// TestAwait_Cycle checks that awaiting a deferred from inside itself or one
// of its descendants returns core.ErrJoinCycle at once.
func TestAwait_Cycle(t *testing.T) {
	t.Parallel()
	self := make(chan async.Deferred[int], 1)
	d := async.Async(context.Background(), func(ctx context.Context) (int, error) {
		me := <-self
		if _, err := me.Await(ctx); !errors.Is(err, core.ErrJoinCycle) {
			return 0, errors.New("Await from the body: " + errString(err))
		}
		child := async.Async(ctx, func(ctx context.Context) (int, error) {
			if _, err := me.Await(ctx); !errors.Is(err, core.ErrJoinCycle) {
				return 0, errors.New("Await from a child: " + errString(err))
			}
			return 1, nil
		})
		return child.Await(ctx)
	})
	self <- d
	if v, err := call(t, "Await", func() (int, error) { return d.Await(context.Background()) }); v != 1 || err != nil {
		t.Errorf("Await = %v, %v, want 1, nil (the cycles reported ErrJoinCycle)", v, err)
	}
}

// errString is err.Error(), or "nil".
func errString(err error) string {
	if err == nil {
		return "nil"
	}
	return err.Error()
}

// manyWaitersRan holds the names of the heavy tests this process has run.
var manyWaitersRan sync.Map

// TestAwait_ManyWaiters checks issue 3's must-show: 100,000 goroutines
// waiting on one deferred are all released, with the value, when it
// completes. The full count runs once per test process and not under
// -short (under -race it takes about 2 s and 2 GB, which -count=50 would
// only repeat); the other runs use a smaller count.
func TestAwait_ManyWaiters(t *testing.T) {
	n := 100_000
	if _, again := manyWaitersRan.LoadOrStore(t.Name(), true); again || testing.Short() {
		n = 2_000
	}
	d := async.NewCompletableDeferred[int](nil)
	var ready, finished sync.WaitGroup
	var released, wrong atomic.Int64
	ready.Add(n)
	finished.Add(n)
	for range n {
		go func() { // ends when Await returns: d completes below
			defer finished.Done()
			ready.Done()
			v, err := d.Await(context.Background())
			if v != 42 || err != nil {
				wrong.Add(1)
			}
			released.Add(1)
		}()
	}
	ready.Wait()
	if got := released.Load(); got != 0 {
		t.Fatalf("%d waiters returned before the deferred completed", got)
	}
	if !d.Complete(42) {
		t.Fatalf("Complete(42) = false, want true")
	}
	all := make(chan struct{})
	go func() { finished.Wait(); close(all) }() // ends when every waiter has returned
	testkit.WaitChan(t, all, "every waiter to be released")
	if got := released.Load(); got != int64(n) {
		t.Errorf("%d of %d waiters released", got, n)
	}
	if got := wrong.Load(); got != 0 {
		t.Errorf("%d of %d waiters got something else than 42, nil", got, n)
	}
	runtime.GC() // give the stacks of the waiters back before the next test
}

// TestGetCompleted checks that GetCompleted returns ErrNotCompleted in every
// state before the final one, and the value or cause after it.
func TestGetCompleted(t *testing.T) {
	t.Parallel()
	failure := testkit.NewErr("get")
	tests := []struct {
		name  string
		state core.State
		// make returns the deferred in that state and a function that lets
		// it finish.
		make  func(t *testing.T) (async.Deferred[int], func())
		value int
		check func(t *testing.T, err error)
	}{
		{"New", core.New, func(t *testing.T) (async.Deferred[int], func()) {
			d := async.Async(context.Background(), func(context.Context) (int, error) { return 1, nil }, core.Lazy())
			return d, func() { d.Cancel(nil) }
		}, 0, nil},
		{"Active", core.Active, func(t *testing.T) (async.Deferred[int], func()) {
			release := make(chan struct{})
			d := async.Async(context.Background(), func(context.Context) (int, error) { testkit.Hold(t, release); return 1, nil })
			return d, func() { close(release) }
		}, 0, nil},
		{"Completing", core.Completing, func(t *testing.T) (async.Deferred[int], func()) {
			release := make(chan struct{})
			d := async.Async(context.Background(), func(ctx context.Context) (int, error) {
				core.Launch(ctx, func(context.Context) error { testkit.Hold(t, release); return nil })
				return 1, nil
			})
			waitState(t, d, core.Completing)
			return d, func() { close(release) }
		}, 0, nil},
		{"Cancelling", core.Cancelling, func(t *testing.T) (async.Deferred[int], func()) {
			started, release := make(chan struct{}), make(chan struct{})
			d := async.Async(context.Background(), func(context.Context) (int, error) {
				close(started)
				testkit.Hold(t, release)
				return 1, nil
			})
			testkit.WaitChan(t, started, "body to start")
			d.Cancel(nil)
			return d, func() { close(release) }
		}, 0, nil},
		{"Completed", core.Completed, func(t *testing.T) (async.Deferred[int], func()) {
			d := async.Async(context.Background(), func(context.Context) (int, error) { return 1, nil })
			testkit.WaitDone(t, d)
			return d, func() {}
		}, 1, func(t *testing.T, err error) {
			if err != nil {
				t.Errorf("GetCompleted() error = %v, want nil", err)
			}
		}},
		{"Cancelled by failure", core.Cancelled, func(t *testing.T) (async.Deferred[int], func()) {
			d := async.Async(context.Background(), func(context.Context) (int, error) { return 1, failure })
			testkit.WaitDone(t, d)
			return d, func() {}
		}, 0, func(t *testing.T, err error) { wantFailure(t, "GetCompleted()", err, failure) }},
		{"Cancelled", core.Cancelled, func(t *testing.T) (async.Deferred[int], func()) {
			d := async.Async(context.Background(), func(context.Context) (int, error) { return 1, nil }, core.Lazy())
			d.Cancel(nil)
			return d, func() {}
		}, 0, func(t *testing.T, err error) { testkit.WantCancellation(t, "GetCompleted()", err, nil) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d, finish := tt.make(t)
			testkit.CheckState(t, d, tt.state)
			v, err := d.GetCompleted()
			if tt.check == nil {
				if v != 0 || !errors.Is(err, async.ErrNotCompleted) {
					t.Errorf("GetCompleted() = %v, %v, want 0, %v", v, err, async.ErrNotCompleted)
				}
			} else {
				if v != tt.value {
					t.Errorf("GetCompleted() value = %v, want %v", v, tt.value)
				}
				tt.check(t, err)
			}
			finish()
			testkit.WaitDone(t, d)
		})
	}
}

// waitState waits until j.State() is want, spinning with runtime.Gosched
// (no sleeping): used only to observe a transition that happens on a body's
// goroutine after the body returned, which nothing else can signal.
func waitState(t testing.TB, j core.Job, want core.State) {
	t.Helper()
	deadline := time.Now().Add(testkit.WaitTimeout(t))
	for j.State() != want {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %v to reach %v\n%s", j, want, testkit.GoroutineDump())
		}
		runtime.Gosched()
	}
}

// TestAwaitResult checks that AwaitResult is Await as a mo.Result: Ok with
// the value, Err with the cause, Err with the wait error for a done ctx;
// and that it starts a lazy deferred.
func TestAwaitResult(t *testing.T) {
	t.Parallel()
	failure := testkit.NewErr("result")
	ok := async.Async(context.Background(), func(context.Context) (int, error) { return 42, nil }, core.Lazy())
	v, err := call(t, "AwaitResult", func() (int, error) { return async.AwaitResult(context.Background(), ok).Get() })
	if v != 42 || err != nil || ok.State() != core.Completed {
		t.Errorf("AwaitResult(lazy deferred of 42) = %v, %v (deferred %v), want Ok(42) and the deferred completed", v, err, ok)
	}
	failed := async.Async(context.Background(), func(context.Context) (int, error) { return 0, failure })
	r := async.AwaitResult(context.Background(), failed)
	if !r.IsError() || r.Error() != failure {
		t.Errorf("AwaitResult(failed deferred) = %v, want Err(%v)", r, failure)
	}
	release := make(chan struct{})
	defer close(release)
	pending := async.Async(context.Background(), func(context.Context) (int, error) { testkit.Hold(t, release); return 1, nil })
	done, stop := context.WithCancel(context.Background())
	stop()
	r = async.AwaitResult(done, pending)
	if !r.IsError() {
		t.Fatalf("AwaitResult(done ctx, pending deferred) = %v, want an Err", r)
	}
	testkit.WantCancellation(t, "AwaitResult(done ctx) error", r.Error(), context.Canceled)
}

// TestNilCtx checks that a nil ctx stands for context.Background() in the
// functions that take one.
func TestNilCtx(t *testing.T) {
	t.Parallel()
	var nilCtx context.Context // documented to stand for context.Background()
	d := async.Async(nilCtx, func(context.Context) (int, error) { return 42, nil })
	if d.Parent() != nil {
		t.Errorf("Parent() = %v, want nil: a nil ctx makes a root", d.Parent())
	}
	if v, err := call(t, "Await", func() (int, error) { return d.Await(nilCtx) }); v != 42 || err != nil {
		t.Errorf("Await(nil) = %v, %v, want 42, nil", v, err)
	}
	if v, err := async.AwaitResult(nilCtx, d).Get(); v != 42 || err != nil {
		t.Errorf("AwaitResult(nil, d) = %v, %v, want 42, nil", v, err)
	}
	lazy, _ := lazyCounter(nilCtx)
	if vs, err := call(t, "AwaitAll", func() ([]int, error) { return async.AwaitAll(nilCtx, d, lazy) }); len(vs) != 2 || err != nil {
		t.Errorf("AwaitAll(nil, ...) = %v, %v, want [42 42], nil", vs, err)
	}
	if v, err := call(t, "AwaitAny", func() (int, error) { return async.AwaitAny(nilCtx, d) }); v != 42 || err != nil {
		t.Errorf("AwaitAny(nil, d) = %v, %v, want 42, nil", v, err)
	}
	if v, err := call(t, "Race", func() (int, error) {
		return async.Race(nilCtx, func(context.Context) (int, error) { return 1, nil })
	}); v != 1 || err != nil {
		t.Errorf("Race(nil, ...) = %v, %v, want 1, nil", v, err)
	}
	if vs, err := call(t, "Map", func() ([]int, error) { return async.Map(nilCtx, []int{2}, square) }); len(vs) != 1 || vs[0] != 4 || err != nil {
		t.Errorf("Map(nil, ...) = %v, %v, want [4], nil", vs, err)
	}
}
