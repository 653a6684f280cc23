package core_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/jobtree/jobtree/core"
	"github.com/jobtree/jobtree/internal/testkit"
)

// scopeKinds are the two scope functions.
var scopeKinds = []struct {
	name  string
	scope func(ctx context.Context, body func(ctx context.Context) error) error
}{
	{"Scope", core.Scope},
	{"SupervisorScope", core.SupervisorScope},
}

// TestRule13_ScopeWaitsForAllChildren ports kotlinx CoroutineScopeTest.testScope:
// the scope returns only when its children and grandchildren are done, and
// the caller's job is not affected (API rule 13; kotlinx rule 80).
func TestRule13_ScopeWaitsForAllChildren(t *testing.T) {
	t.Parallel()
	for _, sk := range scopeKinds {
		t.Run(sk.name, func(t *testing.T) {
			t.Parallel()
			outer := core.NewJob(nil)
			defer outer.Cancel(nil)
			var done atomic.Int32
			var scopeJob core.Job
			err := call(t, sk.name, func() error {
				return sk.scope(outer.Context(), func(ctx context.Context) error {
					scopeJob = core.JobOf(ctx)
					if scopeJob == nil || scopeJob == core.Job(outer) {
						t.Errorf("JobOf(scope ctx) = %v, want a new job", scopeJob)
					} else if got := scopeJob.Parent(); got != core.Job(outer) {
						t.Errorf("scope job's Parent() = %v, want the caller's job %v", got, outer)
					}
					core.Launch(ctx, func(context.Context) error { done.Add(1); return nil })
					core.Launch(ctx, func(ctx context.Context) error {
						core.Launch(ctx, func(context.Context) error { done.Add(1); return nil })
						done.Add(1)
						return nil
					})
					return nil
				})
			})
			if err != nil {
				t.Errorf("%s(ctx, f) = %v, want nil", sk.name, err)
			}
			if got := done.Load(); got != 3 {
				t.Errorf("%d of 3 descendants done when the scope returned", got)
			}
			testkit.CheckState(t, scopeJob, core.Completed)
			testkit.CheckState(t, outer, core.Active)
		})
	}
}

// TestRule13_ScopeChildFailure ports kotlinx
// CoroutineScopeTest.testScopeCancelledFromWithin: a failing child cancels
// the others, and the scope returns that failure itself without failing
// the caller (API rule 13; kotlinx rules 40, 80).
func TestRule13_ScopeChildFailure(t *testing.T) {
	t.Parallel()
	rec := testkit.NewRecorder()
	outer := core.NewJob(rec.Ctx())
	defer outer.Cancel(nil)
	failure := testkit.NewErr("child")
	var sibling core.Job
	err := call(t, "Scope", func() error {
		return core.Scope(outer.Context(), func(ctx context.Context) error {
			started := make(chan struct{})
			sibling = core.Launch(ctx, blockUntilDone(started))
			<-started
			core.Launch(ctx, func(context.Context) error { return failure })
			return nil
		})
	})
	if !errors.Is(err, failure) || core.IsCancellation(err) || multiErrors(err) != nil {
		t.Errorf("Scope(ctx, f) = %v, want %v itself", err, failure)
	}
	testkit.CheckState(t, sibling, core.Cancelled)
	testkit.CheckState(t, outer, core.Active)
	rec.ExpectNone(t)
}

// TestRule13_ScopeBodyError ports kotlinx CoroutineScopeTest.testExceptionFromWithin
// and testScopeBlockThrows: the body's error cancels the children, the scope
// waits for them and returns the error (API rule 13).
func TestRule13_ScopeBodyError(t *testing.T) {
	t.Parallel()
	rec := testkit.NewRecorder()
	failure := testkit.NewErr("body")
	var child core.Job
	err := call(t, "Scope", func() error {
		return core.Scope(rec.Ctx(), func(ctx context.Context) error {
			started := make(chan struct{})
			child = core.Launch(ctx, blockUntilDone(started))
			<-started
			return failure
		})
	})
	if !errors.Is(err, failure) || core.IsCancellation(err) {
		t.Errorf("Scope(ctx, f) = %v, want %v", err, failure)
	}
	testkit.CheckState(t, child, core.Cancelled)
	rec.ExpectNone(t)

	err = call(t, "Scope", func() error {
		return core.Scope(rec.Ctx(), func(context.Context) error { return failure })
	})
	if !errors.Is(err, failure) {
		t.Errorf("Scope(ctx, f) = %v, want %v", err, failure)
	}
}

// TestRule13_ScopePanics checks that a panic in the body or in a child comes
// back from the scope as a *PanicError (API rules 2, 13).
func TestRule13_ScopePanics(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body func(ctx context.Context) error
	}{
		{"body", func(context.Context) error { panic("body boom") }},
		{"child", func(ctx context.Context) error {
			core.Launch(ctx, func(context.Context) error { panic("child boom") })
			<-ctx.Done()
			return ctx.Err()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := testkit.NewRecorder()
			err := call(t, "Scope", func() error { return core.Scope(rec.Ctx(), tt.body) })
			pe := testkit.As[*core.PanicError](t, "Scope(ctx, f)", err)
			if s, _ := pe.Value.(string); !strings.HasSuffix(s, "boom") {
				t.Errorf("PanicError.Value = %#v, want the panic value", pe.Value)
			}
			rec.ExpectNone(t)
		})
	}
}

// TestRule13_ScopeFirstFailureWins checks that when several children fail the
// scope returns the aggregate headed by the first failure (API rules 7, 13).
func TestRule13_ScopeFirstFailureWins(t *testing.T) {
	t.Parallel()
	e1, e2 := testkit.NewErr("first"), testkit.NewErr("second")
	err := call(t, "Scope", func() error {
		return core.Scope(context.Background(), func(ctx context.Context) error {
			started, release := make(chan struct{}), make(chan struct{})
			second := core.Launch(ctx, func(context.Context) error {
				close(started)
				<-release // ignores the cancellation
				return e2
			})
			<-started
			first := core.Launch(ctx, func(context.Context) error { return e1 })
			<-first.Done()
			close(release)
			<-second.Done()
			return nil
		})
	})
	checkAggregate(t, "Scope(ctx, f)", err, e1, e2)
}

// TestRule13_OuterJobCancelled ports kotlinx CoroutineScopeTest.testOuterJobIsCancelled:
// cancelling the caller's job cancels the scope and its children, and the
// scope returns a cancellation once they are done (API rules 6, 13; kotlinx
// rule 81).
func TestRule13_OuterJobCancelled(t *testing.T) {
	t.Parallel()
	for _, sk := range scopeKinds {
		t.Run(sk.name, func(t *testing.T) {
			t.Parallel()
			rec := testkit.NewRecorder()
			started := make(chan struct{})
			res := make(chan error, 1)
			var child core.Job
			outer := core.Launch(rec.Ctx(), func(ctx context.Context) error {
				err := sk.scope(ctx, func(ctx context.Context) error {
					child = core.Launch(ctx, blockUntilDone(nil))
					close(started)
					<-ctx.Done()
					return ctx.Err()
				})
				res <- err
				return err
			})
			testkit.WaitChan(t, started, "scope body to start")
			outer.Cancel(nil)
			err := testkit.WaitChan(t, res, sk.name+" to return")
			if !core.IsCancellation(err) {
				t.Errorf("%s(ctx, f) = %v, want a cancellation", sk.name, err)
			}
			testkit.CheckState(t, child, core.Cancelled)
			testkit.MustJoin(t, outer)
			testkit.CheckState(t, outer, core.Cancelled)
			rec.ExpectNone(t)
		})
	}
}

// TestRule13_ScopeCancellationVsException ports kotlinx
// CoroutineScopeTest.testCoroutineScopeCancellationVsException: the caller's
// job is cancelled first, then the body fails: the failure is returned
// (API rules 7, 13; kotlinx rule 25).
func TestRule13_ScopeCancellationVsException(t *testing.T) {
	t.Parallel()
	rec := testkit.NewRecorder()
	failure := testkit.NewErr("body")
	res := make(chan error, 1)
	job := core.Launch(rec.Ctx(), func(ctx context.Context) error {
		res <- core.Scope(ctx, func(ctx context.Context) error {
			core.JobOf(ctx).Parent().Cancel(nil)
			<-ctx.Done()
			return failure
		})
		return nil
	})
	testkit.MustJoin(t, job)
	if err := <-res; !errors.Is(err, failure) || core.IsCancellation(err) {
		t.Errorf("Scope(ctx, f) = %v, want %v", err, failure)
	}
	rec.ExpectNone(t)
}

// TestRule13_ScopeFailureNotPassedUp checks that a scope returns its failure
// to the caller instead of failing the caller's job (API rule 13; kotlinx
// rule 40, ParentCancellationTest).
func TestRule13_ScopeFailureNotPassedUp(t *testing.T) {
	t.Parallel()
	for _, sk := range scopeKinds {
		t.Run(sk.name, func(t *testing.T) {
			t.Parallel()
			rec := testkit.NewRecorder()
			failure := testkit.NewErr("scope")
			res := make(chan error, 1)
			job := core.Launch(rec.Ctx(), func(ctx context.Context) error {
				res <- sk.scope(ctx, func(context.Context) error { return failure })
				if core.JobOf(ctx).IsCancelled() {
					t.Errorf("the caller's job was cancelled by the scope's failure")
				}
				return nil // the caller decides: it swallows the error
			})
			testkit.MustJoin(t, job)
			if err := <-res; !errors.Is(err, failure) {
				t.Errorf("%s(ctx, f) = %v, want %v", sk.name, err, failure)
			}
			testkit.CheckState(t, job, core.Completed)
			rec.ExpectNone(t)
		})
	}
}

// TestRule13_IncompleteScopeState ports kotlinx
// CoroutineScopeTest.testIncompleteScopeState: the scope job ends Completed
// (API rules 1, 13).
func TestRule13_IncompleteScopeState(t *testing.T) {
	t.Parallel()
	var scopeJob core.Job
	err := call(t, "Scope", func() error {
		return core.Scope(context.Background(), func(ctx context.Context) error {
			scopeJob = core.JobOf(ctx)
			scopeJob.InvokeOnCompletion(func(error) {})
			return nil
		})
	})
	if err != nil {
		t.Fatalf("Scope(ctx, f) = %v, want nil", err)
	}
	testkit.MustJoin(t, scopeJob)
	testkit.CheckState(t, scopeJob, core.Completed)
	if got := scopeJob.Parent(); got != nil {
		t.Errorf("Parent() of a root scope job = %v, want nil", got)
	}
}

// TestRule13_ScopeUnderFinishedParent ports kotlinx
// CancelledParentAttachTest.testScopes with API rule 4 (which differs from
// kotlinx rule 82): under a cancelled or completed parent a scope never runs
// its body and returns a cancellation.
func TestRule13_ScopeUnderFinishedParent(t *testing.T) {
	t.Parallel()
	parents := []struct {
		name string
		make func() core.Job
	}{
		{"cancelled", func() core.Job { j := core.NewJob(nil); j.Cancel(nil); return j }},
		{"failed", func() core.Job { j := core.NewJob(nil); j.Fail(testkit.NewErr("x")); return j }},
		{"completed", func() core.Job { j := core.NewJob(nil); j.Complete(); return j }},
	}
	for _, pt := range parents {
		for _, sk := range scopeKinds {
			t.Run(pt.name+"/"+sk.name, func(t *testing.T) {
				t.Parallel()
				parent := pt.make()
				var ran atomic.Bool
				err := call(t, sk.name, func() error {
					return sk.scope(parent.Context(), func(context.Context) error {
						ran.Store(true)
						return nil
					})
				})
				if !core.IsCancellation(err) {
					t.Errorf("%s(ctx, f) = %v, want a cancellation", sk.name, err)
				}
				if ran.Load() {
					t.Errorf("the body of a scope under a %s parent ran", pt.name)
				}
			})
		}
	}
}

// TestRule13_ScopeCancelledByPlainContext checks that a scope follows a plain
// cancellable context (API rules 4, 13).
func TestRule13_ScopeCancelledByPlainContext(t *testing.T) {
	t.Parallel()
	ctx, stop := context.WithCancelCause(context.Background())
	why := testkit.NewErr("why")
	started := make(chan struct{})
	res := make(chan error, 1)
	go func() { // ends when the scope returns, after stop
		res <- core.Scope(ctx, func(ctx context.Context) error {
			core.Launch(ctx, blockUntilDone(nil))
			close(started)
			<-ctx.Done()
			return ctx.Err()
		})
	}()
	testkit.WaitChan(t, started, "scope body to start")
	stop(why)
	if err := testkit.WaitChan(t, res, "Scope"+" to return"); !core.IsCancellation(err) {
		t.Errorf("Scope(ctx, f) = %v, want a cancellation", err)
	}
}

// TestRule13_NilContextScope checks that a nil ctx is accepted as
// context.Background() (deliberate choice of the implementation).
func TestRule13_NilContextScope(t *testing.T) {
	t.Parallel()
	for _, sk := range scopeKinds {
		var parent core.Job = core.NewJob(nil) // non-nil marker
		err := call(t, sk.name, func() error {
			return sk.scope(nil, func(ctx context.Context) error { //nolint:staticcheck // nil ctx on purpose
				parent = core.JobOf(ctx).Parent()
				return nil
			})
		})
		if err != nil {
			t.Errorf("%s(nil, f) = %v, want nil", sk.name, err)
		}
		if parent != nil {
			t.Errorf("%s(nil, f): scope job's Parent() = %v, want nil", sk.name, parent)
		}
	}
}

// TestRule13_ScopeFailureWithPendingChildNotPassedUp checks that a scope
// whose body failed while a child still runs (so the scope stays Cancelling
// for a while) never cancels the caller's job (API rule 13; kotlinx rules
// 30, 40).
func TestRule13_ScopeFailureWithPendingChildNotPassedUp(t *testing.T) {
	t.Parallel()
	for _, sk := range scopeKinds {
		t.Run(sk.name, func(t *testing.T) {
			t.Parallel()
			rec := testkit.NewRecorder()
			failure := testkit.NewErr("scope")
			release := make(chan struct{})
			scopeJob := make(chan core.Job, 1)
			res := make(chan error, 1)
			caller := core.Launch(rec.Ctx(), func(ctx context.Context) error {
				res <- sk.scope(ctx, func(ctx context.Context) error {
					started := make(chan struct{})
					core.Launch(ctx, func(context.Context) error {
						close(started)
						testkit.Hold(t, release) // ignores the cancellation
						return nil
					})
					<-started
					scopeJob <- core.JobOf(ctx)
					return failure
				})
				return nil // the caller swallows the scope's error
			})
			sj := <-scopeJob
			if got := waitLeaves(t, sj, core.Active); got != core.Cancelling {
				t.Fatalf("scope job State() = %v after its body failed, want %v", got, core.Cancelling)
			}
			testkit.CheckState(t, caller, core.Active)
			close(release)
			if err := testkit.WaitChan(t, res, sk.name+" to return"); !errors.Is(err, failure) {
				t.Errorf("%s(ctx, f) = %v, want %v", sk.name, err, failure)
			}
			testkit.MustJoin(t, caller)
			testkit.CheckState(t, caller, core.Completed)
			rec.ExpectNone(t)
		})
	}
}
