package core_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jobtree/jobtree/core"
	"github.com/jobtree/jobtree/internal/testkit"
)

// TestRule8_SupervisorJob ports kotlinx SupervisorTest.testSupervisorJob: the
// children of a supervisor fail independently, each reporting to its own
// context's exception handler, and the supervisor stays active (API rules 8,
// 9; kotlinx rule 77).
func TestRule8_SupervisorJob(t *testing.T) {
	t.Parallel()
	rec := testkit.NewRecorder()
	sup := core.NewSupervisorJob(rec.Ctx())
	testkit.CleanupJob(t, sup)
	e1, e2 := testkit.NewErr("1"), testkit.NewErr("2")
	started := make(chan struct{})
	survivor := core.Launch(sup.Context(), blockUntilDone(started))
	testkit.WaitChan(t, started, "survivor to start")
	j1 := core.Launch(sup.Context(), func(context.Context) error { return e1 }, core.Named("job1"))
	j2 := core.Launch(sup.Context(), func(context.Context) error { return e2 }, core.Named("job2"))
	if err := call(t, "JoinAll", func() error { return core.JoinAll(context.Background(), j1, j2) }); err != nil {
		t.Fatalf("JoinAll(ctx, j1, j2) = %v, want nil", err)
	}
	testkit.CheckState(t, j1, core.Cancelled)
	testkit.CheckState(t, j2, core.Cancelled)
	testkit.CheckState(t, sup, core.Active)
	testkit.CheckState(t, survivor, core.Active)
	if err := sup.Cause(); err != nil {
		t.Errorf("supervisor Cause() = %v, want nil", err)
	}
	errs := rec.Errors()
	if len(errs) != 2 || !(errors.Is(errs[0], e1) && errors.Is(errs[1], e2) || errors.Is(errs[0], e2) && errors.Is(errs[1], e1)) {
		t.Errorf("exception handler got %v, want %v and %v once each", errs, e1, e2)
	}
	if !sup.Complete() {
		t.Errorf("supervisor Complete() = false, want true")
	}
	testkit.CheckState(t, sup, core.Completing) // waits for the survivor
	survivor.Cancel(nil)
	testkit.MustJoin(t, sup)
	testkit.CheckState(t, sup, core.Completed)
}

// TestRule8_SupervisorChildUsesItsOwnHandler checks that a supervisor
// delivers a child's failure to the exception handler of that child's
// context, not of the supervisor's (API rule 8; kotlinx rule 39).
func TestRule8_SupervisorChildUsesItsOwnHandler(t *testing.T) {
	t.Parallel()
	supRec, childRec := testkit.NewRecorder(), testkit.NewRecorder()
	sup := core.NewSupervisorJob(supRec.Ctx())
	defer sup.Cancel(nil)
	failure := testkit.NewErr("child")
	child := core.Launch(core.WithExceptionHandler(sup.Context(), childRec.Handle), func(context.Context) error {
		return failure
	})
	testkit.MustJoin(t, child)
	childRec.ExpectOne(t, failure)
	supRec.ExpectNone(t)
	testkit.CheckState(t, sup, core.Active)
}

// TestRule8_NewJobUnderSupervisorDoesNotHandle checks that a NewJob whose
// only ancestor is a supervisor does not handle: the failing Launch below it
// reports, the NewJob is cancelled, the supervisor is not (API rules 8, 9;
// kotlinx rule 37).
func TestRule8_NewJobUnderSupervisorDoesNotHandle(t *testing.T) {
	t.Parallel()
	rec := testkit.NewRecorder()
	sup := core.NewSupervisorJob(rec.Ctx())
	defer sup.Cancel(nil)
	mid := core.NewJob(sup.Context())
	failure := testkit.NewErr("x")
	child := core.Launch(mid.Context(), func(context.Context) error { return failure })
	testkit.MustJoin(t, child)
	rec.ExpectOne(t, failure)
	testkit.MustJoin(t, mid)
	testkit.CheckState(t, mid, core.Cancelled)
	testkit.CheckState(t, sup, core.Active)
}

// TestRule8_SupervisorCancelGoesDown ports kotlinx
// SupervisorTest.testAsyncCancellation (with Launch): the supervisor's own Fail
// cancels its children with a cancellation caused by the failure (API rules
// 6, 8; kotlinx rule 78).
func TestRule8_SupervisorCancelGoesDown(t *testing.T) {
	t.Parallel()
	rec := testkit.NewRecorder()
	sup := core.NewSupervisorJob(rec.Ctx())
	started := make(chan struct{})
	child := core.Launch(sup.Context(), blockUntilDone(started))
	testkit.WaitChan(t, started, "child to start")
	failure := testkit.NewErr("sup")
	sup.Fail(failure)
	testkit.MustJoin(t, sup)
	testkit.CheckState(t, child, core.Cancelled)
	if err := child.Cause(); !core.IsCancellation(err) || !errors.Is(err, failure) {
		t.Errorf("child.Cause() = %v, want a cancellation caused by %v", err, failure)
	}
	rec.ExpectNone(t)
}

// TestRule8_SupervisorScope ports kotlinx SupervisorTest.testSupervisorScope:
// failing children are reported and do not fail the scope, which returns the
// body's result (API rules 8, 13; kotlinx rule 79).
func TestRule8_SupervisorScope(t *testing.T) {
	t.Parallel()
	rec := testkit.NewRecorder()
	e1, e2 := testkit.NewErr("1"), testkit.NewErr("2")
	err := call(t, "SupervisorScope", func() error {
		return core.SupervisorScope(rec.Ctx(), func(ctx context.Context) error {
			core.Launch(ctx, func(context.Context) error { return e1 })
			core.Launch(ctx, func(context.Context) error { panic(e2) })
			return nil
		})
	})
	if err != nil {
		t.Errorf("SupervisorScope(ctx, f) = %v, want nil", err)
	}
	errs := rec.Errors()
	if len(errs) != 2 {
		t.Fatalf("exception handler got %v, want the two children's failures", errs)
	}
	var seen1, seen2 bool
	for _, e := range errs {
		seen1 = seen1 || errors.Is(e, e1)
		seen2 = seen2 || errors.Is(e, e2)
	}
	if !seen1 || !seen2 {
		t.Errorf("exception handler got %v, want %v and a panic with %v", errs, e1, e2)
	}
}

// TestRule8_SupervisorScopeIsolation ports kotlinx
// SupervisorTest.testSupervisorScopeIsolation: a failed child leaves its
// sibling running (API rules 8, 13).
func TestRule8_SupervisorScopeIsolation(t *testing.T) {
	t.Parallel()
	rec := testkit.NewRecorder()
	failure := testkit.NewErr("x")
	err := call(t, "SupervisorScope", func() error {
		return core.SupervisorScope(rec.Ctx(), func(ctx context.Context) error {
			started := make(chan struct{})
			sibling := core.Launch(ctx, blockUntilDone(started))
			<-started
			failing := core.Launch(ctx, func(context.Context) error { return failure })
			if err := failing.Join(ctx); err != nil {
				return err
			}
			if !sibling.IsActive() || sibling.IsCancelled() {
				t.Errorf("sibling state = %v after its sibling failed, want Active", sibling.State())
			}
			if !core.JobOf(ctx).IsActive() {
				t.Errorf("scope job state = %v after a child failed, want Active", core.JobOf(ctx).State())
			}
			sibling.Cancel(nil)
			return nil
		})
	})
	if err != nil {
		t.Errorf("SupervisorScope(ctx, f) = %v, want nil", err)
	}
	rec.ExpectOne(t, failure)
}

// TestRule8_ThrowingSupervisorScope ports kotlinx
// SupervisorTest.testThrowingSupervisorScope and testSupervisorThrows: a body
// error cancels the children, waits for them and is returned (API rule 13;
// kotlinx rule 79).
func TestRule8_ThrowingSupervisorScope(t *testing.T) {
	t.Parallel()
	rec := testkit.NewRecorder()
	failure := testkit.NewErr("body")
	var kids []core.Job
	err := call(t, "SupervisorScope", func() error {
		return core.SupervisorScope(rec.Ctx(), func(ctx context.Context) error {
			for range 2 {
				started := make(chan struct{})
				kids = append(kids, core.Launch(ctx, blockUntilDone(started)))
				<-started
			}
			return failure
		})
	})
	if !errors.Is(err, failure) || core.IsCancellation(err) {
		t.Errorf("SupervisorScope(ctx, f) = %v, want %v", err, failure)
	}
	for _, k := range kids {
		if !k.IsCompleted() || !k.IsCancelled() {
			t.Errorf("child state = %v when SupervisorScope returned, want Cancelled", k.State())
		}
	}
	rec.ExpectNone(t) // a scope returns its error instead of reporting it
}

// TestRule8_SupervisorThrowsWithFailingChild ports kotlinx
// SupervisorTest.testSupervisorThrowsWithFailingChild: the body's error is
// returned alone; a child failing while cancelled is reported, not attached
// (API rules 8, 13).
func TestRule8_SupervisorThrowsWithFailingChild(t *testing.T) {
	t.Parallel()
	rec := testkit.NewRecorder()
	eBody, eChild := testkit.NewErr("body"), testkit.NewErr("child")
	err := call(t, "SupervisorScope", func() error {
		return core.SupervisorScope(rec.Ctx(), func(ctx context.Context) error {
			s1, s2 := make(chan struct{}), make(chan struct{})
			core.Launch(ctx, blockUntilDone(s1))
			core.Launch(ctx, func(ctx context.Context) error {
				close(s2)
				<-ctx.Done()
				return eChild // fails during cancellation
			})
			<-s1
			<-s2
			return eBody
		})
	})
	if !errors.Is(err, eBody) || errors.Is(err, eChild) {
		t.Errorf("SupervisorScope(ctx, f) = %v, want %v alone", err, eBody)
	}
	rec.ExpectOne(t, eChild)
}

// TestRule8_SupervisorScopeCancellationVsException ports kotlinx
// SupervisorTest.testSupervisorScopeCancellationVsException: the caller's job
// is cancelled, then the body fails: the failure is returned (API rules 7,
// 13; kotlinx rule 25).
func TestRule8_SupervisorScopeCancellationVsException(t *testing.T) {
	t.Parallel()
	rec := testkit.NewRecorder()
	failure := testkit.NewErr("body")
	res := make(chan error, 1)
	job := core.Launch(rec.Ctx(), func(ctx context.Context) error {
		err := core.SupervisorScope(ctx, func(ctx context.Context) error {
			core.JobOf(ctx).Parent().Cancel(nil) // cancel the caller's job first
			return failure
		})
		res <- err
		return nil
	})
	testkit.MustJoin(t, job)
	if err := <-res; !errors.Is(err, failure) || core.IsCancellation(err) {
		t.Errorf("SupervisorScope(ctx, f) = %v, want %v", err, failure)
	}
	testkit.CheckState(t, job, core.Cancelled)
	rec.ExpectNone(t)
}

// TestRule8_SupervisorScopeCancelledByCaller checks that cancelling the
// caller's job cancels a supervisor scope and its children synchronously,
// and the scope returns a cancellation (API rules 6, 13; kotlinx rule 79).
func TestRule8_SupervisorScopeCancelledByCaller(t *testing.T) {
	t.Parallel()
	rec := testkit.NewRecorder()
	outer := core.NewJob(rec.Ctx())
	started := make(chan struct{})
	var child core.Job
	res := make(chan error, 1)
	go func() { // ends when the scope returns, after outer.Cancel
		res <- core.SupervisorScope(outer.Context(), func(ctx context.Context) error {
			child = core.Launch(ctx, blockUntilDone(nil))
			close(started)
			<-ctx.Done()
			return ctx.Err()
		})
	}()
	testkit.WaitChan(t, started, "scope body to start")
	outer.Cancel(nil)
	if !child.IsCancelled() {
		t.Errorf("child.IsCancelled() = false when Cancel of the caller returned, want true")
	}
	if err := testkit.WaitChan(t, res, "SupervisorScope"+" to return"); !core.IsCancellation(err) {
		t.Errorf("SupervisorScope(ctx, f) = %v, want a cancellation", err)
	}
	testkit.MustJoin(t, outer)
	rec.ExpectNone(t)
}

// TestRule8_SupervisorChildFailingWithPendingChildren checks that a child
// that fails while its own child is still running (so it stays Cancelling
// for a while) does not cancel the supervisor or its siblings, neither when
// it starts cancelling nor when it ends (API rule 8; kotlinx rules 30, 77).
func TestRule8_SupervisorChildFailingWithPendingChildren(t *testing.T) {
	t.Parallel()
	rec := testkit.NewRecorder()
	sup := core.NewSupervisorJob(rec.Ctx())
	testkit.CleanupJob(t, sup)
	sibStarted := make(chan struct{})
	sibling := core.Launch(sup.Context(), blockUntilDone(sibStarted))
	testkit.WaitChan(t, sibStarted, "sibling to start")
	failure := testkit.NewErr("child")
	grandStarted := make(chan struct{})
	release := make(chan struct{})
	child := core.Launch(sup.Context(), func(ctx context.Context) error {
		core.Launch(ctx, func(context.Context) error {
			close(grandStarted)
			testkit.Hold(t, release) // ignores the cancellation
			return nil
		})
		<-grandStarted
		return failure
	})
	if got := waitLeaves(t, child, core.Active); got != core.Cancelling {
		t.Fatalf("child.State() = %v after its body failed, want %v", got, core.Cancelling)
	}
	testkit.CheckState(t, sup, core.Active)
	testkit.CheckState(t, sibling, core.Active)
	close(release)
	testkit.MustJoin(t, child)
	rec.ExpectOne(t, failure)
	testkit.CheckState(t, sup, core.Active)
	testkit.CheckState(t, sibling, core.Active)
}
