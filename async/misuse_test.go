package async_test

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/jobtree/jobtree/async"
	"github.com/jobtree/jobtree/core"
	"github.com/jobtree/jobtree/internal/testkit"
)

// wantNilDeferredError checks the error of AwaitAll or AwaitAny (fn) for a
// nil deferred at index i. There is no sentinel for it: the message is
// what the documentation promises ("returns an error at once").
func wantNilDeferredError(t *testing.T, fn string, i int, err error) {
	t.Helper()
	if want := fmt.Sprintf("async: %s: deferred %d is nil", fn, i); err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("%s with a nil deferred = %v, want an error starting with %q", fn, err, want)
	}
}

// lazyDeferred returns a lazy deferred with value v, cancelled when the
// test ends, and a flag that is set when its body runs.
func lazyDeferred(t *testing.T, v int) (async.Deferred[int], *atomic.Bool) {
	ran := new(atomic.Bool)
	d := async.Async(nil, func(context.Context) (int, error) { ran.Store(true); return v, nil }, core.Lazy())
	t.Cleanup(func() { d.Cancel(nil) })
	return d, ran
}

// selfAwaiting returns a deferred whose body calls wait with its own
// deferred and its own context, and returns the error wait returned as its
// value.
func selfAwaiting(wait func(ctx context.Context, self async.Deferred[error]) error) async.Deferred[error] {
	ready := make(chan struct{})
	var d async.Deferred[error]
	d = async.Async(nil, func(ctx context.Context) (error, error) {
		<-ready // d is set
		return wait(ctx, d), nil
	})
	close(ready)
	return d
}

// ancestorAwaiting returns a deferred whose body starts a child deferred
// that calls wait with the outer deferred and the child's context; the
// outer deferred's value is the error wait returned.
func ancestorAwaiting(wait func(ctx context.Context, ancestor async.Deferred[error]) error) async.Deferred[error] {
	ready := make(chan struct{})
	var outer async.Deferred[error]
	outer = async.Async(nil, func(ctx context.Context) (error, error) {
		<-ready // outer is set
		inner := async.Async(ctx, func(ctx context.Context) (error, error) {
			return wait(ctx, outer), nil
		})
		return inner.Await(ctx)
	})
	close(ready)
	return outer
}

// allAtOnce returns a function for Map whose calls each wait until n
// calls have started: Map returns only if it runs n calls at once.
func allAtOnce(t *testing.T, n int) func(ctx context.Context, item int) (int, error) {
	var started atomic.Int64
	all := make(chan struct{})
	return func(ctx context.Context, item int) (int, error) {
		if started.Add(1) == int64(n) {
			close(all)
		}
		select {
		case <-all:
			return item, nil
		case <-t.Context().Done(): // the test failed: end the call
			return 0, t.Context().Err()
		}
	}
}

// TestMisuse is async's part of the misuse catalogue (docs/reliability.md):
// every bad input the package's API can get, with its documented result —
// an error that errors.Is or errors.As recognises, or a panic whose
// message starts with "async: ", at the call that got the bad input. No
// row may hang (every call is bounded, and fails the test with a
// goroutine dump), crash inside the library (a panic is caught and
// checked) or lose anything (a value, a cause, or a deferred that should
// have been left alone).
func TestMisuse(t *testing.T) {
	t.Parallel()
	double := func(_ context.Context, i int) (int, error) { return 2 * i, nil }
	tests := []testkit.MisuseCase{
		// Async and Await.
		{Name: "Async/nil body", Want: `panic "async: …" (also with a nil ctx)`, Run: func(t *testing.T) {
			for _, ctx := range []context.Context{context.Background(), nil} {
				testkit.Try(t, "Async(ctx, nil)", func() (async.Deferred[int], error) {
					return async.Async[int](ctx, nil), nil
				}).WantPanic(t, "Async(ctx, nil)", "async: ")
			}
		}},
		{Name: "Async/nil ctx", Want: "a root deferred, as with context.Background()", Run: func(t *testing.T) {
			d := async.Async(nil, func(context.Context) (int, error) { return 42, nil }, core.Lazy())
			if p := jobOf(d).Parent(); p != nil {
				t.Errorf("Async(nil, body).Parent() = %v, want nil (a root)", p)
			}
			v, err := testkit.Try(t, "Await(ctx)", func() (int, error) { return d.Await(context.Background()) }).Returned(t, "Await(ctx)")
			if v != 42 || err != nil {
				t.Errorf("Await(ctx) = %v, %v; want 42, nil", v, err)
			}
		}},
		{Name: "Async/nil option", Want: "ignored (undocumented)", Run: func(t *testing.T) {
			d := async.Async(nil, func(context.Context) (int, error) { return 42, nil }, nil, core.Lazy(), nil)
			testkit.CheckState(t, d, core.New) // the options around the nil ones apply
			v, err := testkit.Try(t, "Await(ctx)", func() (int, error) { return d.Await(context.Background()) }).Returned(t, "Await(ctx)")
			if v != 42 || err != nil {
				t.Errorf("Await(ctx) = %v, %v; want 42, nil", v, err)
			}
		}},
		{Name: "Async/cancelled parent", Want: "born Cancelled, body never runs; Await returns the cancellation", Run: func(t *testing.T) {
			parent := core.NewJob(nil)
			cause := testkit.NewErr("parent cancelled")
			parent.Cancel(cause)
			var ran atomic.Bool
			d := async.Async(parent.Context(), func(context.Context) (int, error) { ran.Store(true); return 1, nil })
			testkit.CheckState(t, d, core.Cancelled)
			_, err := testkit.Try(t, "Await(ctx)", func() (int, error) { return d.Await(context.Background()) }).Returned(t, "Await(ctx)")
			testkit.WantCancellation(t, "Await(ctx)", err, nil)
			if ran.Load() {
				t.Error("the body ran under a cancelled parent, want it never to run")
			}
		}},
		{Name: "Async/body panics", Want: "Await returns a *core.PanicError; the process goes on", Run: func(t *testing.T) {
			d := async.Async(nil, func(context.Context) (int, error) { panic("boom") })
			_, err := testkit.Try(t, "Await(ctx)", func() (int, error) { return d.Await(context.Background()) }).Returned(t, "Await(ctx)")
			var pe *core.PanicError
			if !errors.As(err, &pe) || pe.Value != "boom" {
				t.Errorf("Await(ctx) = %v, want a *core.PanicError with value boom", err)
			}
		}},
		{Name: "Await/nil ctx", Want: "as context.Background(): the value", Run: func(t *testing.T) {
			d := async.Async(nil, func(context.Context) (int, error) { return 42, nil })
			v, err := testkit.Try(t, "Await(nil)", func() (int, error) { return d.Await(nil) }).Returned(t, "Await(nil)")
			if v != 42 || err != nil {
				t.Errorf("Await(nil) = %v, %v; want 42, nil", v, err)
			}
		}},
		{Name: "Await/self", Want: "an error wrapping core.ErrJoinCycle, at once", Run: func(t *testing.T) {
			d := selfAwaiting(func(ctx context.Context, self async.Deferred[error]) error {
				_, err := self.Await(ctx)
				return err
			})
			got, err := testkit.Try(t, "Await(ctx)", func() (error, error) { return d.Await(context.Background()) }).Returned(t, "Await(ctx)")
			if err != nil {
				t.Fatalf("Await(ctx) of the self-awaiting deferred = %v, want its value", err)
			}
			testkit.WantCycle(t, "Await(own ctx) from the deferred's body", got)
		}},
		{Name: "Await/ancestor", Want: "an error wrapping core.ErrJoinCycle, at once", Run: func(t *testing.T) {
			d := ancestorAwaiting(func(ctx context.Context, ancestor async.Deferred[error]) error {
				_, err := ancestor.Await(ctx)
				return err
			})
			got, err := testkit.Try(t, "Await(ctx)", func() (error, error) { return d.Await(context.Background()) }).Returned(t, "Await(ctx)")
			if err != nil {
				t.Fatalf("Await(ctx) of the outer deferred = %v, want its value", err)
			}
			testkit.WantCycle(t, "Await(child ctx) on the parent deferred", got)
		}},
		{Name: "Await/done ctx, not complete", Want: "*core.CancellationError carrying context.Cause(ctx); the deferred is left alone", Run: func(t *testing.T) {
			c := async.NewCompletableDeferred[int](nil)
			cause := testkit.NewErr("gave up")
			_, err := testkit.Try(t, "Await(done ctx)", func() (int, error) { return c.Await(testkit.DoneCtx(cause)) }).Returned(t, "Await(done ctx)")
			testkit.WantCancellation(t, "Await(done ctx)", err, cause)
			testkit.CheckState(t, c, core.Active)
			c.Complete(7)
			if v, err := c.Await(context.Background()); v != 7 || err != nil {
				t.Errorf("later Await(ctx) = %v, %v; want 7, nil", v, err)
			}
		}},
		{Name: "Await/done ctx, complete", Want: "the value: a complete deferred answers whatever ctx", Run: func(t *testing.T) {
			c := async.NewCompletableDeferred[int](nil)
			c.Complete(7)
			v, err := testkit.Try(t, "Await(done ctx)", func() (int, error) { return c.Await(testkit.DoneCtx(testkit.NewErr("gave up"))) }).Returned(t, "Await(done ctx)")
			if v != 7 || err != nil {
				t.Errorf("Await(done ctx) = %v, %v; want 7, nil", v, err)
			}
		}},
		{Name: "GetCompleted/not complete", Want: "ErrNotCompleted", Run: func(t *testing.T) {
			c := async.NewCompletableDeferred[int](nil)
			defer c.Cancel(nil)
			if _, err := c.GetCompleted(); !errors.Is(err, async.ErrNotCompleted) {
				t.Errorf("GetCompleted() = %v, want ErrNotCompleted", err)
			}
		}},

		// CompletableDeferred.
		{Name: "NewCompletableDeferred/nil ctx", Want: "an Active root", Run: func(t *testing.T) {
			c := async.NewCompletableDeferred[int](nil)
			defer c.Cancel(nil)
			testkit.CheckState(t, c, core.Active)
			if p := jobOf(c).Parent(); p != nil {
				t.Errorf("Parent() = %v, want nil (a root)", p)
			}
		}},
		{Name: "NewCompletableDeferred/cancelled parent", Want: "born Cancelled; Complete returns false; Await returns the cancellation", Run: func(t *testing.T) {
			parent := core.NewJob(nil)
			parent.Cancel(nil)
			c := async.NewCompletableDeferred[int](parent.Context())
			testkit.CheckState(t, c, core.Cancelled)
			if c.Complete(1) {
				t.Error("Complete = true on a deferred born cancelled, want false")
			}
			_, err := testkit.Try(t, "Await(ctx)", func() (int, error) { return c.Await(context.Background()) }).Returned(t, "Await(ctx)")
			testkit.WantCancellation(t, "Await(ctx)", err, nil)
		}},
		{Name: "CompletableDeferred/Complete twice", Want: "true, then false; the first value is kept", Run: func(t *testing.T) {
			c := async.NewCompletableDeferred[int](nil)
			if !c.Complete(1) {
				t.Error("first Complete = false, want true")
			}
			if c.Complete(2) {
				t.Error("second Complete = true, want false")
			}
			if v, err := c.GetCompleted(); v != 1 || err != nil {
				t.Errorf("GetCompleted() = %v, %v; want 1, nil", v, err)
			}
		}},
		{Name: "CompletableDeferred/Fail twice", Want: "true, then false; the first failure is kept", Run: func(t *testing.T) {
			c := async.NewCompletableDeferred[int](nil)
			first, second := testkit.NewErr("first"), testkit.NewErr("second")
			if !c.Fail(first) {
				t.Error("first Fail = false, want true")
			}
			if c.Fail(second) {
				t.Error("second Fail = true, want false")
			}
			_, err := c.GetCompleted()
			wantFailure(t, "GetCompleted()", err, first)
			if errors.Is(err, second) {
				t.Errorf("GetCompleted() = %v, want the second failure ignored", err)
			}
		}},
		{Name: "CompletableDeferred/Fail after Complete", Want: "false; the value is kept; the parent is not cancelled", Run: func(t *testing.T) {
			parent := core.NewJob(nil)
			defer parent.Cancel(nil)
			c := async.NewCompletableDeferred[int](parent.Context())
			c.Complete(1)
			if c.Fail(testkit.NewErr("late")) {
				t.Error("Fail after Complete = true, want false")
			}
			if v, err := c.GetCompleted(); v != 1 || err != nil {
				t.Errorf("GetCompleted() = %v, %v; want 1, nil", v, err)
			}
			testkit.CheckState(t, parent, core.Active)
		}},
		{Name: "CompletableDeferred/Complete after Fail", Want: "false; Await returns the failure", Run: func(t *testing.T) {
			c := async.NewCompletableDeferred[int](nil)
			errBoom := testkit.NewErr("boom")
			c.Fail(errBoom)
			if c.Complete(1) {
				t.Error("Complete after Fail = true, want false")
			}
			_, err := testkit.Try(t, "Await(ctx)", func() (int, error) { return c.Await(context.Background()) }).Returned(t, "Await(ctx)")
			wantFailure(t, "Await(ctx)", err, errBoom)
		}},
		{Name: "CompletableDeferred/Fail(nil)", Want: `panic "async: …"; the deferred is unchanged`, Run: func(t *testing.T) {
			c := async.NewCompletableDeferred[int](nil)
			testkit.Try(t, "Fail(nil)", func() (bool, error) { return c.Fail(nil), nil }).WantPanic(t, "Fail(nil)", "async: ")
			testkit.CheckState(t, c, core.Active)
			if !c.Complete(1) {
				t.Error("Complete after Fail(nil) = false, want true")
			}
		}},
		{Name: "CompletableDeferred/Fail(cancellation)", Want: "cancels it, without failing the parent", Run: func(t *testing.T) {
			parent := core.NewJob(nil)
			defer parent.Cancel(nil)
			c := async.NewCompletableDeferred[int](parent.Context())
			cancellation := &core.CancellationError{Message: "no longer needed"}
			if !c.Fail(cancellation) {
				t.Error("Fail(cancellation) = false, want true")
			}
			testkit.CheckState(t, c, core.Cancelled)
			testkit.CheckState(t, parent, core.Active)
			_, err := c.GetCompleted()
			testkit.WantCancellation(t, "GetCompleted()", err, nil)
		}},
		{Name: "CompletableDeferred/Cancel after Complete", Want: "nothing: the value is kept", Run: func(t *testing.T) {
			c := async.NewCompletableDeferred[int](nil)
			c.Complete(1)
			c.Cancel(testkit.NewErr("late"))
			testkit.CheckState(t, c, core.Completed)
			if v, err := c.GetCompleted(); v != 1 || err != nil {
				t.Errorf("GetCompleted() = %v, %v; want 1, nil", v, err)
			}
		}},
		{Name: "CompletableDeferred/Cancel after Complete, children running", Want: "cancels it: Complete left it Completing, waiting for its children; the value is discarded", Run: func(t *testing.T) {
			c := async.NewCompletableDeferred[int](nil)
			child := core.NewJob(c.Context())
			if !c.Complete(1) {
				t.Error("Complete = false, want true")
			}
			testkit.CheckState(t, c, core.Completing)
			c.Cancel(nil)
			testkit.CheckState(t, child, core.Cancelled)
			testkit.CheckState(t, c, core.Cancelled)
			v, err := c.GetCompleted()
			testkit.WantCancellation(t, "GetCompleted()", err, nil)
			if v != 0 {
				t.Errorf("GetCompleted() = %v, want the zero value", v)
			}
		}},
		{Name: "CompletableDeferred/Cancel after Fail", Want: "nothing: the failure stays the cause", Run: func(t *testing.T) {
			c := async.NewCompletableDeferred[int](nil)
			errBoom := testkit.NewErr("boom")
			c.Fail(errBoom)
			c.Cancel(nil)
			_, err := c.GetCompleted()
			wantFailure(t, "GetCompleted()", err, errBoom)
		}},
		{Name: "CompletableDeferred/Complete after Cancel", Want: "false; the value is discarded; Await returns the cancellation", Run: func(t *testing.T) {
			c := async.NewCompletableDeferred[int](nil)
			cause := testkit.NewErr("cancelled")
			c.Cancel(cause)
			if c.Complete(1) {
				t.Error("Complete after Cancel = true, want false")
			}
			v, err := testkit.Try(t, "Await(ctx)", func() (int, error) { return c.Await(context.Background()) }).Returned(t, "Await(ctx)")
			testkit.WantCancellation(t, "Await(ctx)", err, cause)
			if v != 0 {
				t.Errorf("Await(ctx) = %v, want the zero value", v)
			}
		}},

		// AwaitAll, AwaitAny, Race, AwaitResult.
		{Name: "AwaitAll/nil ctx", Want: "as context.Background(): the values", Run: func(t *testing.T) {
			d := async.Async(nil, func(context.Context) (int, error) { return 1, nil })
			got, err := testkit.Try(t, "AwaitAll(nil, d)", func() ([]int, error) { return async.AwaitAll(nil, d) }).Returned(t, "AwaitAll(nil, d)")
			if !slices.Equal(got, []int{1}) || err != nil {
				t.Errorf("AwaitAll(nil, d) = %v, %v; want [1], nil", got, err)
			}
		}},
		{Name: "AwaitAll/no deferreds", Want: "an empty slice, at once", Run: func(t *testing.T) {
			got, err := testkit.Try(t, "AwaitAll(ctx)", func() ([]int, error) { return async.AwaitAll[int](context.Background()) }).Returned(t, "AwaitAll(ctx)")
			if len(got) != 0 || err != nil {
				t.Errorf("AwaitAll(ctx) = %v, %v; want [], nil", got, err)
			}
		}},
		{Name: "AwaitAll/nil deferred", Want: `an error "async: AwaitAll: deferred i is nil", at once; the others are left alone`, Run: func(t *testing.T) {
			lazy, ran := lazyDeferred(t, 1)
			_, err := testkit.Try(t, "AwaitAll(ctx, lazy, nil)", func() ([]int, error) {
				return async.AwaitAll(context.Background(), lazy, nil)
			}).Returned(t, "AwaitAll(ctx, lazy, nil)")
			wantNilDeferredError(t, "AwaitAll", 1, err)
			testkit.CheckState(t, lazy, core.New)
			if ran.Load() {
				t.Error("the lazy deferred's body ran, want it left alone")
			}
		}},
		{Name: "AwaitAll/self", Want: "an error wrapping core.ErrJoinCycle, at once", Run: func(t *testing.T) {
			d := selfAwaiting(func(ctx context.Context, self async.Deferred[error]) error {
				_, err := async.AwaitAll(ctx, self)
				return err
			})
			got, err := testkit.Try(t, "Await(ctx)", func() (error, error) { return d.Await(context.Background()) }).Returned(t, "Await(ctx)")
			if err != nil {
				t.Fatalf("Await(ctx) = %v, want the deferred's value", err)
			}
			testkit.WantCycle(t, "AwaitAll(own ctx, self)", got)
		}},
		{Name: "AwaitAll/ancestor", Want: "an error wrapping core.ErrJoinCycle, at once", Run: func(t *testing.T) {
			d := ancestorAwaiting(func(ctx context.Context, ancestor async.Deferred[error]) error {
				_, err := async.AwaitAll(ctx, ancestor)
				return err
			})
			got, err := testkit.Try(t, "Await(ctx)", func() (error, error) { return d.Await(context.Background()) }).Returned(t, "Await(ctx)")
			if err != nil {
				t.Fatalf("Await(ctx) = %v, want the deferred's value", err)
			}
			testkit.WantCycle(t, "AwaitAll(child ctx, parent)", got)
		}},
		{Name: "AwaitAll/done ctx", Want: "*core.CancellationError carrying context.Cause(ctx); lazy deferreds not started", Run: func(t *testing.T) {
			lazy, _ := lazyDeferred(t, 1)
			cause := testkit.NewErr("gave up")
			_, err := testkit.Try(t, "AwaitAll(done ctx, lazy)", func() ([]int, error) {
				return async.AwaitAll(testkit.DoneCtx(cause), lazy)
			}).Returned(t, "AwaitAll(done ctx, lazy)")
			testkit.WantCancellation(t, "AwaitAll(done ctx, lazy)", err, cause)
			testkit.CheckState(t, lazy, core.New)
		}},
		{Name: "AwaitAll/same deferred twice", Want: "allowed: its value twice", Run: func(t *testing.T) {
			d := async.Async(nil, func(context.Context) (int, error) { return 1, nil })
			got, err := testkit.Try(t, "AwaitAll(ctx, d, d)", func() ([]int, error) {
				return async.AwaitAll(context.Background(), d, d)
			}).Returned(t, "AwaitAll(ctx, d, d)")
			if !slices.Equal(got, []int{1, 1}) || err != nil {
				t.Errorf("AwaitAll(ctx, d, d) = %v, %v; want [1 1], nil", got, err)
			}
		}},
		{Name: "AwaitAny/no deferreds", Want: "ErrNothingToAwait (also with a nil ctx)", Run: func(t *testing.T) {
			for _, ctx := range []context.Context{context.Background(), nil} {
				_, err := testkit.Try(t, "AwaitAny(ctx)", func() (int, error) { return async.AwaitAny[int](ctx) }).Returned(t, "AwaitAny(ctx)")
				if !errors.Is(err, async.ErrNothingToAwait) {
					t.Errorf("AwaitAny(%v) = %v, want ErrNothingToAwait", ctx, err)
				}
			}
		}},
		{Name: "AwaitAny/nil deferred", Want: `an error "async: AwaitAny: deferred i is nil", at once; the others are left alone`, Run: func(t *testing.T) {
			lazy, ran := lazyDeferred(t, 1)
			_, err := testkit.Try(t, "AwaitAny(ctx, nil, lazy)", func() (int, error) {
				return async.AwaitAny(context.Background(), nil, lazy)
			}).Returned(t, "AwaitAny(ctx, nil, lazy)")
			wantNilDeferredError(t, "AwaitAny", 0, err)
			testkit.CheckState(t, lazy, core.New)
			if ran.Load() {
				t.Error("the lazy deferred's body ran, want it left alone")
			}
		}},
		{Name: "AwaitAny/self", Want: "an error wrapping core.ErrJoinCycle, at once", Run: func(t *testing.T) {
			d := selfAwaiting(func(ctx context.Context, self async.Deferred[error]) error {
				_, err := async.AwaitAny(ctx, self)
				return err
			})
			got, err := testkit.Try(t, "Await(ctx)", func() (error, error) { return d.Await(context.Background()) }).Returned(t, "Await(ctx)")
			if err != nil {
				t.Fatalf("Await(ctx) = %v, want the deferred's value", err)
			}
			testkit.WantCycle(t, "AwaitAny(own ctx, self)", got)
		}},
		{Name: "AwaitAny/ancestor", Want: "an error wrapping core.ErrJoinCycle, at once", Run: func(t *testing.T) {
			d := ancestorAwaiting(func(ctx context.Context, ancestor async.Deferred[error]) error {
				_, err := async.AwaitAny(ctx, ancestor)
				return err
			})
			got, err := testkit.Try(t, "Await(ctx)", func() (error, error) { return d.Await(context.Background()) }).Returned(t, "Await(ctx)")
			if err != nil {
				t.Fatalf("Await(ctx) = %v, want the deferred's value", err)
			}
			testkit.WantCycle(t, "AwaitAny(child ctx, parent)", got)
		}},
		{Name: "AwaitAny/nil ctx", Want: "as context.Background(): the winner's value", Run: func(t *testing.T) {
			d := async.Async(nil, func(context.Context) (int, error) { return 1, nil })
			v, err := testkit.Try(t, "AwaitAny(nil, d)", func() (int, error) { return async.AwaitAny(nil, d) }).Returned(t, "AwaitAny(nil, d)")
			if v != 1 || err != nil {
				t.Errorf("AwaitAny(nil, d) = %v, %v; want 1, nil", v, err)
			}
		}},
		{Name: "Race/no bodies", Want: "ErrNothingToAwait (also with a nil ctx)", Run: func(t *testing.T) {
			for _, ctx := range []context.Context{context.Background(), nil} {
				_, err := testkit.Try(t, "Race(ctx)", func() (int, error) { return async.Race[int](ctx) }).Returned(t, "Race(ctx)")
				if !errors.Is(err, async.ErrNothingToAwait) {
					t.Errorf("Race(%v) = %v, want ErrNothingToAwait", ctx, err)
				}
			}
		}},
		{Name: "Race/nil body", Want: `panic "async: …", before any body starts`, Run: func(t *testing.T) {
			var ran atomic.Bool
			body := func(context.Context) (int, error) { ran.Store(true); return 1, nil }
			testkit.Try(t, "Race(ctx, body, nil)", func() (int, error) {
				return async.Race(context.Background(), body, nil)
			}).WantPanic(t, "Race(ctx, body, nil)", "async: ")
			if ran.Load() {
				t.Error("a body ran, want none started")
			}
		}},
		{Name: "Race/nil ctx", Want: "as context.Background(): the winner's value (undocumented)", Run: func(t *testing.T) {
			v, err := testkit.Try(t, "Race(nil, body)", func() (int, error) {
				return async.Race(nil, func(context.Context) (int, error) { return 1, nil })
			}).Returned(t, "Race(nil, body)")
			if v != 1 || err != nil {
				t.Errorf("Race(nil, body) = %v, %v; want 1, nil", v, err)
			}
		}},
		{Name: "AwaitResult/nil ctx", Want: "as context.Background(): Ok with the value", Run: func(t *testing.T) {
			d := async.Async(nil, func(context.Context) (int, error) { return 1, nil })
			r, _ := testkit.Try(t, "AwaitResult(nil, d)", func() (int, error) {
				return async.AwaitResult(nil, d).Get()
			}).Returned(t, "AwaitResult(nil, d)")
			if r != 1 {
				t.Errorf("AwaitResult(nil, d) = %v, want Ok(1)", r)
			}
		}},

		// Map, ForEach, MapSeq, ForEachSeq, Limit.
		{Name: "Map/nil f", Want: `panic "async: …" (Map, ForEach, MapSeq, ForEachSeq)`, Run: func(t *testing.T) {
			ctx, in, seq := context.Background(), []int{1}, slices.Values([]int{1})
			calls := map[string]func(){
				"Map":        func() { _, _ = async.Map[int, int](ctx, in, nil) },
				"ForEach":    func() { _ = async.ForEach(ctx, in, nil) },
				"MapSeq":     func() { _, _ = async.MapSeq[int, int](ctx, seq, nil) },
				"ForEachSeq": func() { _ = async.ForEachSeq(ctx, seq, nil) },
			}
			for name, call := range calls {
				testkit.Try(t, name, func() (int, error) { call(); return 0, nil }).WantPanic(t, name+" with a nil f", "async: ")
			}
		}},
		{Name: "MapSeq/nil seq", Want: `panic "async: …" (MapSeq, ForEachSeq; undocumented)`, Run: func(t *testing.T) {
			ctx := context.Background()
			var seq iter.Seq[int]
			testkit.Try(t, "MapSeq", func() ([]int, error) {
				return async.MapSeq(ctx, seq, double)
			}).WantPanic(t, "MapSeq with a nil seq", "async: ")
			testkit.Try(t, "ForEachSeq", func() (int, error) {
				return 0, async.ForEachSeq(ctx, seq, func(context.Context, int) error { return nil })
			}).WantPanic(t, "ForEachSeq with a nil seq", "async: ")
		}},
		{Name: "Map/nil slice", Want: "an empty slice, at once; f is never called", Run: func(t *testing.T) {
			var called atomic.Bool
			got, err := testkit.Try(t, "Map(ctx, nil, f)", func() ([]int, error) {
				return async.Map(context.Background(), nil, func(context.Context, int) (int, error) { called.Store(true); return 0, nil })
			}).Returned(t, "Map(ctx, nil, f)")
			if len(got) != 0 || err != nil || called.Load() {
				t.Errorf("Map(ctx, nil, f) = %v, %v (f called: %v); want [], nil (f not called)", got, err, called.Load())
			}
		}},
		{Name: "Map/nil ctx", Want: "as context.Background() (undocumented)", Run: func(t *testing.T) {
			got, err := testkit.Try(t, "Map(nil, in, f)", func() ([]int, error) { return async.Map(nil, []int{1, 2}, double) }).Returned(t, "Map(nil, in, f)")
			if !slices.Equal(got, []int{2, 4}) || err != nil {
				t.Errorf("Map(nil, in, f) = %v, %v; want [2 4], nil", got, err)
			}
		}},
		{Name: "Map/done ctx", Want: "*core.CancellationError carrying the cause; f is never called", Run: func(t *testing.T) {
			var called atomic.Bool
			cause := testkit.NewErr("gave up")
			_, err := testkit.Try(t, "Map(done ctx, in, f)", func() ([]int, error) {
				return async.Map(testkit.DoneCtx(cause), []int{1, 2}, func(context.Context, int) (int, error) { called.Store(true); return 0, nil })
			}).Returned(t, "Map(done ctx, in, f)")
			testkit.WantCancellation(t, "Map(done ctx, in, f)", err, cause)
			if called.Load() {
				t.Error("f was called, want never")
			}
		}},
		{Name: "Map/f panics", Want: "a *core.PanicError; the process goes on", Run: func(t *testing.T) {
			_, err := testkit.Try(t, "Map(ctx, in, f)", func() ([]int, error) {
				return async.Map(context.Background(), []int{1}, func(context.Context, int) (int, error) { panic("boom") })
			}).Returned(t, "Map(ctx, in, f)")
			var pe *core.PanicError
			if !errors.As(err, &pe) || pe.Value != "boom" {
				t.Errorf("Map(ctx, in, f) = %v, want a *core.PanicError with value boom", err)
			}
		}},
		{Name: "Limit/zero or negative", Want: "no limit: one goroutine per item", Run: func(t *testing.T) {
			n := runtime.GOMAXPROCS(0) + 2 // more than the default limit
			in := make([]int, n)
			for i := range in {
				in[i] = i
			}
			for _, limit := range []int{0, -1} {
				what := fmt.Sprintf("Map(ctx, %d items, f, Limit(%d))", n, limit)
				got, err := testkit.Try(t, what, func() ([]int, error) {
					return async.Map(context.Background(), in, allAtOnce(t, n), async.Limit(limit))
				}).Returned(t, what)
				if !slices.Equal(got, in) || err != nil {
					t.Errorf("%s = %v, %v; want %v, nil", what, got, err, in)
				}
				what = fmt.Sprintf("MapSeq(ctx, %d items, f, Limit(%d))", n, limit)
				got, err = testkit.Try(t, what, func() ([]int, error) {
					return async.MapSeq(context.Background(), slices.Values(in), allAtOnce(t, n), async.Limit(limit))
				}).Returned(t, what)
				if !slices.Equal(got, in) || err != nil {
					t.Errorf("%s = %v, %v; want %v, nil", what, got, err, in)
				}
			}
		}},
		{Name: "Limit/nil MapOption", Want: "ignored (undocumented)", Run: func(t *testing.T) {
			got, err := testkit.Try(t, "Map(ctx, in, f, nil)", func() ([]int, error) {
				return async.Map(context.Background(), []int{1, 2}, double, nil, async.Limit(1), nil)
			}).Returned(t, "Map(ctx, in, f, nil)")
			if !slices.Equal(got, []int{2, 4}) || err != nil {
				t.Errorf("Map(ctx, in, f, nil) = %v, %v; want [2 4], nil", got, err)
			}
		}},
	}
	testkit.RunCatalogue(t, testkit.CatalogueDoc, tests)
}

// TestMisuse_NilDeferredSentinel: the nil-deferred errors of AwaitAll,
// AwaitAny and AwaitResult wrap ErrNilDeferred, so callers need not parse
// the message.
func TestMisuse_NilDeferredSentinel(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	if _, err := async.AwaitAll[int](ctx, nil); !errors.Is(err, async.ErrNilDeferred) {
		t.Errorf("AwaitAll(nil deferred) = %v, want an error wrapping ErrNilDeferred", err)
	}
	if _, err := async.AwaitAny[int](ctx, nil); !errors.Is(err, async.ErrNilDeferred) {
		t.Errorf("AwaitAny(nil deferred) = %v, want an error wrapping ErrNilDeferred", err)
	}
	r := async.AwaitResult[int](ctx, nil)
	if !r.IsError() || !errors.Is(r.Error(), async.ErrNilDeferred) {
		t.Errorf("AwaitResult(nil) = %v, want an Err wrapping ErrNilDeferred", r)
	}
}
