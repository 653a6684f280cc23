package core_test

// The misuse catalogue of package core (issue 6, item 4; docs/reliability.md):
// every bad input the API can get, and its documented result. The other
// packages keep their rows in their own misuse_test.go.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jobtree/jobtree/core"
	"github.com/jobtree/jobtree/internal/testkit"
)

// misuseOutcome is what a call under test did (testkit.Try's outcome of a
// call that returns only an error).
type misuseOutcome testkit.Outcome[struct{}]

// misuseTry is testkit.Try for the calls of core's catalogue, which return
// only an error: it calls f on a new goroutine and returns what it did, a
// panic included, failing the test with a goroutine dump if f does not
// return in time.
func misuseTry(t *testing.T, what string, f func() error) misuseOutcome {
	t.Helper()
	return misuseOutcome(testkit.Try(t, what, func() (struct{}, error) { return struct{}{}, f() }))
}

// returned returns the call's error, failing the test if it panicked.
func (o misuseOutcome) returned(t *testing.T, what string) error {
	t.Helper()
	_, err := testkit.Outcome[struct{}](o).Returned(t, what)
	return err
}

// wantPanic checks that the call panicked with exactly the string msg
// (core's rows name the whole message; testkit's WantPanic checks a
// prefix).
func (o misuseOutcome) wantPanic(t *testing.T, what, msg string) {
	t.Helper()
	if !o.Panicked {
		t.Errorf("%s returned %v, want a panic %q", what, o.Err, msg)
		return
	}
	if got, ok := o.Panic.(string); !ok || got != msg {
		t.Errorf("%s panicked with %#v, want %q", what, o.Panic, msg)
	}
}

// misuseBool runs f (through misuseTry) and returns its result.
func misuseBool(t *testing.T, what string, f func() bool) bool {
	t.Helper()
	var got bool
	misuseTry(t, what, func() error { got = f(); return nil }).returned(t, what)
	return got
}

// misuseWantCause checks that err is a *core.CancellationError whose Cause
// is cause (rule 11's form of a done ctx).
func misuseWantCause(t *testing.T, what string, err, cause error) {
	t.Helper()
	var ce *core.CancellationError
	if !errors.As(err, &ce) || !errors.Is(ce.Cause, cause) {
		t.Errorf("%s = %v, want a *core.CancellationError caused by %v", what, err, cause)
	}
}

// selfJoin returns a job whose body calls wait with the job itself (or,
// with child, a child's body calls it with the outer job) and its own
// context, and the error wait returned, once the body is done.
func selfJoin(t *testing.T, child bool, wait func(ctx context.Context, j core.Job) error) (core.Job, <-chan error) {
	ready := make(chan struct{})
	res := make(chan error, 1)
	var outer core.Job
	outer = core.Launch(nil, func(ctx context.Context) error {
		<-ready // outer is set
		if !child {
			res <- wait(ctx, outer)
			return nil
		}
		inner := core.Launch(ctx, func(ctx context.Context) error {
			res <- wait(ctx, outer)
			return nil
		})
		return inner.Join(ctx)
	})
	close(ready)
	testkit.CleanupJob(t, outer)
	return outer, res
}

// TestMisuse is core's part of the misuse catalogue (docs/reliability.md):
// every bad input the API can get, with its documented result — a result
// that says what happened, an error that errors.Is or errors.As
// recognises, or a panic whose message starts with "core: ", at the call
// that got the bad input. No row may hang (every call is bounded, and
// fails the test with a goroutine dump), crash inside the library (a panic
// is caught and checked) or lose anything (a cause, a handler call, a
// report).
func TestMisuse(t *testing.T) {
	t.Parallel()
	noop := func(context.Context) error { return nil }
	tests := []testkit.MisuseCase{
		// Nil contexts: documented as context.Background().
		{Name: "Launch/nil ctx", Want: "a root job, as with context.Background()", Run: func(t *testing.T) {
			j := core.Launch(nil, noop)
			testkit.MustJoin(t, j)
			testkit.CheckState(t, j, core.Completed)
		}},
		{Name: "NewJob/nil ctx", Want: "an Active root job", Run: func(t *testing.T) {
			for _, j := range []core.CompletableJob{core.NewJob(nil), core.NewSupervisorJob(nil)} {
				testkit.CheckState(t, j, core.Active)
				if p := j.Parent(); p != nil {
					t.Errorf("Parent() = %v, want nil", p)
				}
				j.Complete()
				testkit.CheckState(t, j, core.Completed)
			}
		}},
		{Name: "Scope/nil ctx", Want: "runs the body as a root scope", Run: func(t *testing.T) {
			ran := false
			err := misuseTry(t, "Scope(nil, body)", func() error {
				return core.Scope(nil, func(context.Context) error { ran = true; return nil })
			}).returned(t, "Scope(nil, body)")
			if err != nil || !ran {
				t.Errorf("Scope(nil, body) = %v (body ran %v), want nil and the body run", err, ran)
			}
		}},
		{Name: "WithExceptionHandler/nil ctx", Want: "a context.Background() carrying the handler", Run: func(t *testing.T) {
			rec := testkit.NewRecorder()
			ctx := core.WithExceptionHandler(nil, rec.Handle)
			failure := testkit.NewErr("reported")
			j := core.Launch(ctx, func(context.Context) error { return failure })
			testkit.MustJoin(t, j)
			rec.ExpectOne(t, failure)
		}},
		{Name: "Join/nil ctx", Want: "as context.Background(): waits, then nil", Run: func(t *testing.T) {
			j := core.NewJob(nil)
			j.Complete()
			if err := misuseTry(t, "Join(nil)", func() error { return j.Join(nil) }).returned(t, "Join(nil)"); err != nil {
				t.Errorf("Join(nil) = %v, want nil", err)
			}
		}},
		{Name: "JoinAll/nil ctx", Want: "as context.Background()", Run: func(t *testing.T) {
			j := core.NewJob(nil)
			j.Complete()
			if err := misuseTry(t, "JoinAll(nil, j)", func() error { return core.JoinAll(nil, j) }).returned(t, "JoinAll(nil, j)"); err != nil {
				t.Errorf("JoinAll(nil, j) = %v, want nil", err)
			}
		}},
		{Name: "JobOf/nil ctx", Want: "nil", Run: func(t *testing.T) {
			if j := core.JobOf(nil); j != nil {
				t.Errorf("JobOf(nil) = %v, want nil", j)
			}
		}},
		{Name: "JobOf/WithoutCancel", Want: "nil: the job is hidden, jobs made from it are roots", Run: func(t *testing.T) {
			parent := core.NewJob(nil)
			defer parent.Cancel(nil)
			ctx := context.WithoutCancel(parent.Context())
			if j := core.JobOf(ctx); j != nil {
				t.Errorf("JobOf(WithoutCancel(job ctx)) = %v, want nil", j)
			}
			child := core.NewJob(ctx)
			defer child.Cancel(nil)
			if p := child.Parent(); p != nil {
				t.Errorf("a job made from WithoutCancel(job ctx) has Parent() = %v, want nil", p)
			}
		}},

		// Nil functions: programmer errors, panics with "core: ".
		{Name: "Launch/nil body", Want: `panic "core: Launch called with a nil body"; no job is made`, Run: func(t *testing.T) {
			parent := core.NewJob(nil)
			misuseTry(t, "Launch(ctx, nil)", func() error { core.Launch(parent.Context(), nil); return nil }).
				wantPanic(t, "Launch(ctx, nil)", "core: Launch called with a nil body")
			if kids := children(parent); len(kids) != 0 {
				t.Errorf("the parent has children %v after Launch(ctx, nil), want none", kids)
			}
			parent.Complete()
			testkit.CheckState(t, parent, core.Completed)
		}},
		{Name: "Scope/nil body", Want: `panic "core: Scope called with a nil body"`, Run: func(t *testing.T) {
			misuseTry(t, "Scope(ctx, nil)", func() error { return core.Scope(context.Background(), nil) }).
				wantPanic(t, "Scope(ctx, nil)", "core: Scope called with a nil body")
			misuseTry(t, "SupervisorScope(ctx, nil)", func() error { return core.SupervisorScope(context.Background(), nil) }).
				wantPanic(t, "SupervisorScope(ctx, nil)", "core: SupervisorScope called with a nil body")
		}},
		{Name: "InvokeOnCompletion/nil handler", Want: `panic "core: InvokeOnCompletion called with a nil handler", on a live or a complete job`, Run: func(t *testing.T) {
			live, done := core.NewJob(nil), core.NewJob(nil)
			done.Complete()
			for _, j := range []core.Job{live, done} {
				misuseTry(t, "InvokeOnCompletion(nil)", func() error { j.InvokeOnCompletion(nil); return nil }).
					wantPanic(t, "InvokeOnCompletion(nil)", "core: InvokeOnCompletion called with a nil handler")
			}
			live.Complete()
			testkit.CheckState(t, live, core.Completed)
		}},
		{Name: "InvokeOnCancelling/nil handler", Want: `panic "core: InvokeOnCancelling called with a nil handler", on a live or a cancelled job`, Run: func(t *testing.T) {
			live, done := core.NewJob(nil), core.NewJob(nil)
			done.Cancel(nil)
			for _, j := range []core.Job{live, done} {
				misuseTry(t, "InvokeOnCancelling(nil)", func() error { j.InvokeOnCancelling(nil); return nil }).
					wantPanic(t, "InvokeOnCancelling(nil)", "core: InvokeOnCancelling called with a nil handler")
			}
			live.Complete()
			testkit.CheckState(t, live, core.Completed)
		}},
		{Name: "WithExceptionHandler/nil handler", Want: `panic "core: WithExceptionHandler called with a nil handler"`, Run: func(t *testing.T) {
			misuseTry(t, "WithExceptionHandler(ctx, nil)", func() error { core.WithExceptionHandler(context.Background(), nil); return nil }).
				wantPanic(t, "WithExceptionHandler(ctx, nil)", "core: WithExceptionHandler called with a nil handler")
		}},
		{Name: "Launch/nil option", Want: "ignored: the other options apply", Run: func(t *testing.T) {
			j := core.Launch(nil, noop, nil, core.Lazy(), nil, core.Named("kept"))
			testkit.CheckState(t, j, core.New)
			if s := j.String(); !strings.Contains(s, "(kept)") {
				t.Errorf("String() = %q, want the name kept", s)
			}
			if err := misuseTry(t, "Join(ctx)", func() error { return j.Join(context.Background()) }).returned(t, "Join(ctx)"); err != nil {
				t.Errorf("Join(ctx) = %v, want nil", err)
			}
			testkit.CheckState(t, j, core.Completed)
		}},
		{Name: "Named/empty", Want: "no name: String says Job#N", Run: func(t *testing.T) {
			j := core.Launch(nil, noop, core.Named("x"), core.Named(""))
			testkit.MustJoin(t, j)
			if s := j.String(); strings.Contains(s, "(") {
				t.Errorf("String() = %q, want no name (the later Named(\"\") wins)", s)
			}
		}},

		// Completable jobs used twice, or wrongly.
		{Name: "Fail/nil error", Want: `panic "core: Fail called with a nil error"; the job is left alone`, Run: func(t *testing.T) {
			j := core.NewJob(nil)
			misuseTry(t, "Fail(nil)", func() error { j.Fail(nil); return nil }).
				wantPanic(t, "Fail(nil)", "core: Fail called with a nil error")
			testkit.CheckState(t, j, core.Active)
			j.Complete()
			testkit.CheckState(t, j, core.Completed)
		}},
		{Name: "Complete/twice", Want: "the second returns false; Completed, handlers ran once", Run: func(t *testing.T) {
			j := core.NewJob(nil)
			var runs counter
			j.InvokeOnCompletion(func(error) { runs.inc() })
			first := misuseBool(t, "Complete()", j.Complete)
			second := misuseBool(t, "Complete() again", j.Complete)
			if !first || second {
				t.Errorf("Complete() twice = %v, %v; want true, false", first, second)
			}
			testkit.CheckState(t, j, core.Completed)
			if n := runs.get(); n != 1 {
				t.Errorf("completion handler ran %d times, want 1", n)
			}
		}},
		{Name: "Fail/twice", Want: "the second returns false and is recorded nowhere", Run: func(t *testing.T) {
			j := core.NewJob(nil)
			first, second := testkit.NewErr("first"), testkit.NewErr("second")
			if !misuseBool(t, "Fail(first)", func() bool { return j.Fail(first) }) {
				t.Errorf("Fail(first) = false, want true")
			}
			if misuseBool(t, "Fail(second)", func() bool { return j.Fail(second) }) {
				t.Errorf("Fail(second) = true, want false")
			}
			testkit.CheckState(t, j, core.Cancelled)
			if c := j.Cause(); c != error(first) {
				t.Errorf("Cause() = %v, want exactly the first failure %v (the second is not attached)", c, first)
			}
		}},
		{Name: "Complete after Fail", Want: "false; the failure stays", Run: func(t *testing.T) {
			j := core.NewJob(nil)
			failure := testkit.NewErr("failed")
			j.Fail(failure)
			if misuseBool(t, "Complete()", j.Complete) {
				t.Errorf("Complete() after Fail = true, want false")
			}
			testkit.CheckState(t, j, core.Cancelled)
			if !errors.Is(j.Cause(), failure) {
				t.Errorf("Cause() = %v, want %v", j.Cause(), failure)
			}
		}},
		{Name: "Fail after Complete", Want: "false; the job completes normally", Run: func(t *testing.T) {
			parent := core.NewJob(nil)
			child := core.NewJob(parent.Context()) // keeps parent Completing
			parent.Complete()
			if misuseBool(t, "Fail(err)", func() bool { return parent.Fail(testkit.NewErr("late")) }) {
				t.Errorf("Fail after Complete = true, want false")
			}
			testkit.CheckState(t, parent, core.Completing)
			child.Complete()
			testkit.CheckState(t, parent, core.Completed)
		}},
		{Name: "Complete after Cancel", Want: "false: cancelling a body-less job is its completion", Run: func(t *testing.T) {
			j := core.NewJob(nil)
			j.Cancel(nil)
			if misuseBool(t, "Complete()", j.Complete) {
				t.Errorf("Complete() after Cancel = true, want false")
			}
			testkit.CheckState(t, j, core.Cancelled)
		}},
		{Name: "Fail/with a cancellation", Want: "a normal cancellation: the parent is not cancelled", Run: func(t *testing.T) {
			parent := core.NewJob(nil)
			j := core.NewJob(parent.Context())
			if !misuseBool(t, "Fail(context.Canceled)", func() bool { return j.Fail(context.Canceled) }) {
				t.Errorf("Fail(context.Canceled) = false, want true")
			}
			testkit.CheckState(t, j, core.Cancelled)
			if !core.IsCancellation(j.Cause()) {
				t.Errorf("Cause() = %v, want a cancellation", j.Cause())
			}
			testkit.CheckState(t, parent, core.Active)
			parent.Complete()
		}},

		// Cancellation of what cannot be cancelled.
		{Name: "Cancel/after completion", Want: "does nothing: state, cause and handlers unchanged", Run: func(t *testing.T) {
			for _, failed := range []bool{false, true} {
				j := core.NewJob(nil)
				var runs counter
				j.InvokeOnCompletion(func(error) { runs.inc() })
				j.InvokeOnCancelling(func(error) { runs.inc() })
				failure := testkit.NewErr("failed")
				want := core.Completed
				if failed {
					j.Fail(failure)
					want = core.Cancelled
				} else {
					j.Complete()
				}
				before := j.Cause()
				misuseTry(t, "Cancel(cause)", func() error { j.Cancel(testkit.NewErr("late")); return nil }).returned(t, "Cancel(cause)")
				misuseTry(t, "Cancel(nil)", func() error { j.Cancel(nil); return nil }).returned(t, "Cancel(nil)")
				testkit.CheckState(t, j, want)
				if c := j.Cause(); c != before {
					t.Errorf("Cause() = %v after a late Cancel, want %v unchanged", c, before)
				}
				if n := runs.get(); n != 2 {
					t.Errorf("handlers ran %d times in all, want 2 (once each)", n)
				}
			}
		}},
		{Name: "Cancel/twice", Want: "the second does nothing: the root cause stays", Run: func(t *testing.T) {
			j, release := launchHeld(t, context.Background())
			first, second := testkit.NewErr("first"), testkit.NewErr("second")
			j.Cancel(first)
			j.Cancel(second)
			close(release)
			testkit.MustJoin(t, j)
			if ce := testkit.CancellationOf(t, "Cause()", j.Cause()); ce.Cause != error(first) {
				t.Errorf("Cause() = %v, want the first cancellation's, caused by %v", j.Cause(), first)
			}
			if errors.Is(j.Cause(), second) {
				t.Errorf("Cause() = %v holds the second cancellation's cause, want it dropped", j.Cause())
			}
		}},
		{Name: "CancelChildren/no children or complete", Want: "does nothing", Run: func(t *testing.T) {
			j := core.NewJob(nil)
			misuseTry(t, "CancelChildren(nil)", func() error { j.CancelChildren(nil); return nil }).returned(t, "CancelChildren(nil)")
			testkit.CheckState(t, j, core.Active)
			j.Complete()
			misuseTry(t, "CancelChildren(nil)", func() error { j.CancelChildren(nil); return nil }).returned(t, "CancelChildren(nil)")
			testkit.CheckState(t, j, core.Completed)
		}},
		{Name: "Start/not lazy, twice, or cancelled", Want: "false", Run: func(t *testing.T) {
			j, release := launchHeld(t, context.Background())
			if misuseBool(t, "Start()", j.Start) {
				t.Errorf("Start() on a running job = true, want false")
			}
			close(release)
			lazy := core.Launch(nil, noop, core.Lazy())
			if !misuseBool(t, "Start()", lazy.Start) || misuseBool(t, "Start() again", lazy.Start) {
				t.Errorf("Start() twice on a lazy job: want true, then false")
			}
			cancelled := core.Launch(nil, noop, core.Lazy())
			cancelled.Cancel(nil)
			if misuseBool(t, "Start()", cancelled.Start) {
				t.Errorf("Start() on a cancelled lazy job = true, want false")
			}
			testkit.CheckState(t, cancelled, core.Cancelled)
			testkit.MustJoin(t, j)
			testkit.MustJoin(t, lazy)
			bodyless := core.NewJob(nil)
			if misuseBool(t, "Start()", bodyless.Start) {
				t.Errorf("Start() on a NewJob = true, want false")
			}
			bodyless.Complete()
		}},
		{Name: "Launch/under a complete parent", Want: "born Cancelled, not attached; the body never runs", Run: func(t *testing.T) {
			parent := core.NewJob(nil)
			parent.Complete()
			var ran atomic.Bool
			j := core.Launch(parent.Context(), func(context.Context) error { ran.Store(true); return nil })
			testkit.CheckState(t, j, core.Cancelled)
			if ce := testkit.CancellationOf(t, "Cause()", j.Cause()); ce.Message != "parent job is completed" {
				t.Errorf("Cause() = %v, want %q", ce, "parent job is completed")
			}
			testkit.MustJoin(t, j)
			if ran.Load() {
				t.Error("the body ran under a complete parent")
			}
		}},

		// Waiting wrongly.
		{Name: "Join/on self", Want: "an error wrapping core.ErrJoinCycle, at once", Run: func(t *testing.T) {
			j, res := selfJoin(t, false, func(ctx context.Context, j core.Job) error { return j.Join(ctx) })
			if err := testkit.WaitChan(t, res, "Join on itself"+" to return"); !errors.Is(err, core.ErrJoinCycle) {
				t.Errorf("Join(own ctx) = %v, want an error wrapping core.ErrJoinCycle", err)
			}
			testkit.MustJoin(t, j)
		}},
		{Name: "Join/on an ancestor", Want: "an error wrapping core.ErrJoinCycle, at once", Run: func(t *testing.T) {
			j, res := selfJoin(t, true, func(ctx context.Context, j core.Job) error { return j.Join(ctx) })
			if err := testkit.WaitChan(t, res, "Join on the parent"+" to return"); !errors.Is(err, core.ErrJoinCycle) {
				t.Errorf("Join(child ctx) on the parent = %v, want an error wrapping core.ErrJoinCycle", err)
			}
			testkit.MustJoin(t, j)
		}},
		{Name: "JoinAll/self among others", Want: "an error wrapping core.ErrJoinCycle, at once", Run: func(t *testing.T) {
			other := core.NewJob(nil)
			other.Complete()
			j, res := selfJoin(t, false, func(ctx context.Context, j core.Job) error { return core.JoinAll(ctx, other, j) })
			if err := testkit.WaitChan(t, res, "JoinAll with itself"+" to return"); !errors.Is(err, core.ErrJoinCycle) {
				t.Errorf("JoinAll(own ctx, other, self) = %v, want an error wrapping core.ErrJoinCycle", err)
			}
			testkit.MustJoin(t, j)
		}},
		{Name: "Join/done ctx", Want: "*core.CancellationError carrying context.Cause(ctx), even if the job is complete; the job is left alone", Run: func(t *testing.T) {
			cause := testkit.NewErr("gave up")
			live := core.NewJob(nil)
			done := core.NewJob(nil)
			done.Complete()
			for _, j := range []core.Job{live, done} {
				err := misuseTry(t, "Join(done ctx)", func() error { return j.Join(testkit.DoneCtx(cause)) }).returned(t, "Join(done ctx)")
				misuseWantCause(t, "Join(done ctx)", err, cause)
			}
			testkit.CheckState(t, live, core.Active)
			live.Complete()
		}},
		{Name: "Join/done ctx on a lazy job", Want: "the error, and the job is not started", Run: func(t *testing.T) {
			lazy := core.Launch(nil, noop, core.Lazy())
			cause := testkit.NewErr("gave up")
			err := misuseTry(t, "Join(done ctx)", func() error { return lazy.Join(testkit.DoneCtx(cause)) }).returned(t, "Join(done ctx)")
			misuseWantCause(t, "Join(done ctx)", err, cause)
			testkit.CheckState(t, lazy, core.New)
			lazy.Cancel(nil)
		}},
		{Name: "JoinAll/nil job", Want: `an error "core: JoinAll: job 1 is nil", at once; the jobs before it are joined`, Run: func(t *testing.T) {
			j := core.NewJob(nil)
			j.Complete()
			err := misuseTry(t, "JoinAll(ctx, j, nil)", func() error { return core.JoinAll(context.Background(), j, nil) }).returned(t, "JoinAll(ctx, j, nil)")
			if err == nil || err.Error() != "core: JoinAll: job 1 is nil" {
				t.Errorf("JoinAll(ctx, j, nil) = %v, want %q", err, "core: JoinAll: job 1 is nil")
			}
		}},
		{Name: "JoinAll/no jobs or duplicates", Want: "nil", Run: func(t *testing.T) {
			j := core.NewJob(nil)
			j.Complete()
			for _, jobs := range [][]core.Job{nil, {j, j, j}} {
				if err := misuseTry(t, "JoinAll", func() error { return core.JoinAll(context.Background(), jobs...) }).returned(t, "JoinAll"); err != nil {
					t.Errorf("JoinAll(ctx, %d jobs) = %v, want nil", len(jobs), err)
				}
			}
		}},

		// Handlers used wrongly.
		{Name: "Dispose/twice, from two goroutines, after the run", Want: "idempotent: the handler never runs, or ran once", Run: func(t *testing.T) {
			j := core.NewJob(nil)
			var runs counter
			h := j.InvokeOnCompletion(func(error) { runs.inc() })
			var wg sync.WaitGroup
			for range 2 {
				goWG(&wg, func() { h.Dispose(); h.Dispose() })
			}
			wg.Wait()
			kept := j.InvokeOnCompletion(func(error) { runs.inc() })
			j.Complete()
			kept.Dispose()
			kept.Dispose()
			if n := runs.get(); n != 1 {
				t.Errorf("handlers ran %d times, want 1 (the kept one only)", n)
			}
		}},
		{Name: "Dispose/of a handler registered on a complete job", Want: "does nothing: it ran at once", Run: func(t *testing.T) {
			j := core.NewJob(nil)
			j.Complete()
			var runs counter
			h := j.InvokeOnCompletion(func(error) { runs.inc() })
			h.Dispose()
			h.Dispose()
			if n := runs.get(); n != 1 {
				t.Errorf("handler ran %d times, want 1", n)
			}
		}},
		{Name: "Dispose/from inside the handler", Want: "allowed: the handler ran once", Run: func(t *testing.T) {
			j := core.NewJob(nil)
			var runs counter
			var h core.DisposableHandle
			h = j.InvokeOnCompletion(func(error) {
				runs.inc()
				h.Dispose() // set: the handler runs on Complete, below
				h.Dispose()
			})
			j.Complete()
			if n := runs.get(); n != 1 {
				t.Errorf("handler ran %d times, want 1", n)
			}
		}},
		{Name: "handler/panics", Want: "recovered: the other handlers run; each panic goes to the exception handler as a *core.PanicError", Run: func(t *testing.T) {
			rec := testkit.NewRecorder()
			parent := core.NewJob(rec.Ctx())
			j := core.NewJob(parent.Context())
			var runs counter
			j.InvokeOnCompletion(func(error) { panic("first") })
			j.InvokeOnCompletion(func(error) { runs.inc() })
			j.InvokeOnCancelling(func(error) { panic("second") })
			misuseTry(t, "Complete()", func() error { j.Complete(); return nil }).returned(t, "Complete()")
			testkit.CheckState(t, j, core.Completed)
			if n := runs.get(); n != 1 {
				t.Errorf("the handler after the panicking one ran %d times, want 1", n)
			}
			var values []any
			for _, err := range rec.Errors() {
				var pe *core.PanicError
				if !errors.As(err, &pe) {
					t.Errorf("exception handler got %v, want *core.PanicError", err)
					continue
				}
				values = append(values, pe.Value)
			}
			if fmt.Sprint(values) != "[second first]" {
				t.Errorf("exception handler got panics %v, want [second first] (cancelling handlers run first)", values)
			}
			parent.Complete()
		}},
		{Name: "body/panics", Want: "the job fails with a *core.PanicError; the process goes on", Run: func(t *testing.T) {
			rec := testkit.NewRecorder()
			j := core.Launch(rec.Ctx(), func(context.Context) error { panic("boom") })
			testkit.MustJoin(t, j)
			var pe *core.PanicError
			if err := rec.ExpectOne(t, j.Cause()); !errors.As(err, &pe) || pe.Value != "boom" || len(pe.Stack) == 0 {
				t.Errorf("reported %v, want a *core.PanicError of boom with a stack", err)
			}
		}},
		{Name: "body/panics with nil", Want: "a failure: a *core.PanicError of *runtime.PanicNilError", Run: func(t *testing.T) {
			rec := testkit.NewRecorder()
			j := core.Launch(rec.Ctx(), func(context.Context) error { panic(nil) })
			testkit.MustJoin(t, j)
			var pn *runtime.PanicNilError
			if !errors.As(j.Cause(), &pn) {
				t.Errorf("Cause() = %v, want a *core.PanicError of a *runtime.PanicNilError", j.Cause())
			}
			rec.ExpectOne(t, j.Cause())
		}},
		{Name: "body/returns a zero MultiError", Want: "a failure like any other: the job and its parent end Cancelled with it as their cause", Run: func(t *testing.T) {
			empty := &core.MultiError{}
			parent := core.NewJob(nil)
			j := core.Launch(parent.Context(), func(context.Context) error { return empty })
			testkit.MustJoin(t, j)
			parent.Complete()
			testkit.MustJoin(t, parent)
			for _, x := range []core.Job{j, parent} {
				testkit.CheckState(t, x, core.Cancelled)
				if x.Cause() != error(empty) {
					t.Errorf("%v: Cause() = %v, want the zero MultiError", x, x.Cause())
				}
			}
		}},
		{Name: "body/runtime.Goexit", Want: "a failure, not a hang", Run: func(t *testing.T) {
			rec := testkit.NewRecorder()
			j := core.Launch(rec.Ctx(), func(context.Context) error { runtime.Goexit(); return nil })
			testkit.MustJoin(t, j)
			testkit.CheckState(t, j, core.Cancelled)
			if core.IsCancellation(j.Cause()) {
				t.Errorf("Cause() = %v, want a failure", j.Cause())
			}
			rec.ExpectOne(t, j.Cause())
		}},
		{Name: "State/out of range", Want: `String says "State(N)"`, Run: func(t *testing.T) {
			if s := core.State(42).String(); s != "State(42)" {
				t.Errorf("State(42).String() = %q, want %q", s, "State(42)")
			}
			if s := core.State(-1).String(); s != "State(-1)" {
				t.Errorf("State(-1).String() = %q, want %q", s, "State(-1)")
			}
		}},
		{Name: "IsCancellation/nil", Want: "false", Run: func(t *testing.T) {
			if core.IsCancellation(nil) {
				t.Error("IsCancellation(nil) = true, want false")
			}
		}},
		{Name: "PanicError/value not an error", Want: "Unwrap returns nil", Run: func(t *testing.T) {
			if err := (&core.PanicError{Value: 42}).Unwrap(); err != nil {
				t.Errorf("Unwrap() = %v, want nil", err)
			}
		}},
		{Name: "MultiError/zero value", Want: `Error "core: empty MultiError", First nil, Unwrap empty; errors.Is finds nothing`, Run: func(t *testing.T) {
			var m core.MultiError
			if got := misuseTry(t, "MultiError{}.Error()", func() error {
				if s := m.Error(); s != "core: empty MultiError" {
					return fmt.Errorf("Error() = %q", s)
				}
				return nil
			}).returned(t, "MultiError{}.Error()"); got != nil {
				t.Errorf("%v, want %q", got, "core: empty MultiError")
			}
			if f := m.First(); f != nil {
				t.Errorf("First() = %v, want nil", f)
			}
			if u := m.Unwrap(); len(u) != 0 {
				t.Errorf("Unwrap() = %v, want empty", u)
			}
			if errors.Is(&m, context.Canceled) {
				t.Errorf("errors.Is(&MultiError{}, context.Canceled) = true, want false")
			}
		}},
	}
	testkit.RunCatalogue(t, testkit.CatalogueDoc, tests)
}

// TestMisuse_PanickingExceptionHandlerIsLogged is the catalogue's row for
// a panicking exception handler: it is recovered and logged with log/slog
// (level Error), with the failure it was given; the job completes as
// usual. It replaces slog's default logger, which is global: not parallel.
func TestMisuse_PanickingExceptionHandlerIsLogged(t *testing.T) {
	var mu sync.Mutex
	var buf strings.Builder
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(lockedWriter{&mu, &buf}, nil)))
	defer slog.SetDefault(old)
	failure := testkit.NewErr("unhandled")
	ctx := core.WithExceptionHandler(context.Background(), func(error) { panic("handler broke") })
	j := core.Launch(ctx, func(context.Context) error { return failure })
	testkit.MustJoin(t, j)
	mu.Lock()
	logged := buf.String()
	mu.Unlock()
	for _, want := range []string{"handler broke", failure.Error(), "level=ERROR"} {
		if !strings.Contains(logged, want) {
			t.Errorf("log = %q, want it to mention %q", logged, want)
		}
	}
}

// lockedWriter serialises writes to w.
type lockedWriter struct {
	mu *sync.Mutex
	w  *strings.Builder
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
