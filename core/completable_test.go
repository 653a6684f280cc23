package core_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jobtree/jobtree/core"
	"github.com/jobtree/jobtree/internal/testkit"
)

// completableKinds are the two body-less job constructors.
var completableKinds = []struct {
	name string
	make func(ctx context.Context) core.CompletableJob
}{
	{"NewJob", core.NewJob},
	{"NewSupervisorJob", core.NewSupervisorJob},
}

// TestCompletableJob_Complete ports kotlinx CompletableJobTest.testComplete:
// a new job is Active, Complete returns true once and completes it at once
// (API rule 12; kotlinx rules 61, 62).
func TestCompletableJob_Complete(t *testing.T) {
	t.Parallel()
	for _, kt := range completableKinds {
		t.Run(kt.name, func(t *testing.T) {
			t.Parallel()
			job := kt.make(nil)
			testkit.CheckState(t, job, core.Active)
			if !job.Complete() {
				t.Fatalf("Complete() = false, want true")
			}
			testkit.CheckState(t, job, core.Completed)
			if job.Complete() {
				t.Errorf("second Complete() = true, want false")
			}
			if job.Fail(testkit.NewErr("late")) {
				t.Errorf("Fail() after Complete() = true, want false")
			}
			testkit.CheckState(t, job, core.Completed)
			if err := job.Cause(); err != nil {
				t.Errorf("Cause() = %v, want nil", err)
			}
		})
	}
}

// TestCompletableJob_Fail ports kotlinx
// CompletableJobTest.testCompleteWithException: Fail returns true once and
// makes the job Cancelled with that cause; a second Fail is ignored entirely
// (API rule 12; kotlinx rules 63, 66).
func TestCompletableJob_Fail(t *testing.T) {
	t.Parallel()
	for _, kt := range completableKinds {
		t.Run(kt.name, func(t *testing.T) {
			t.Parallel()
			job := kt.make(nil)
			first, second := testkit.NewErr("first"), testkit.NewErr("second")
			if !job.Fail(first) {
				t.Fatalf("Fail() = false, want true")
			}
			testkit.CheckState(t, job, core.Cancelled)
			if job.Fail(second) {
				t.Errorf("second Fail() = true, want false")
			}
			if job.Complete() {
				t.Errorf("Complete() after Fail() = true, want false")
			}
			err := job.Cause()
			if !errors.Is(err, first) || errors.Is(err, second) || core.IsCancellation(err) {
				t.Errorf("Cause() = %v, want %v only", err, first)
			}
		})
	}
}

// TestCompletableJob_CancelCountsAsCompletion checks that after Cancel a
// body-less job refuses Complete and Fail (API rules 6, 12; kotlinx rule 64).
func TestCompletableJob_CancelCountsAsCompletion(t *testing.T) {
	t.Parallel()
	for _, kt := range completableKinds {
		t.Run(kt.name, func(t *testing.T) {
			t.Parallel()
			job := kt.make(nil)
			job.Cancel(nil)
			testkit.CheckState(t, job, core.Cancelled)
			if job.Complete() {
				t.Errorf("Complete() after Cancel = true, want false")
			}
			if job.Fail(testkit.NewErr("x")) {
				t.Errorf("Fail() after Cancel = true, want false")
			}
			wantCancellation(t, job.Cause())
		})
	}
}

// TestCompletableJob_CompleteWithChildren ports kotlinx
// CompletableJobTest.testCompleteWithChildren: after Complete the job waits
// (still active) for its children (API rules 5, 12; kotlinx rule 62).
func TestCompletableJob_CompleteWithChildren(t *testing.T) {
	t.Parallel()
	for _, kt := range completableKinds {
		t.Run(kt.name, func(t *testing.T) {
			t.Parallel()
			parent := kt.make(nil)
			child := core.NewJob(parent.Context())
			if !parent.Complete() {
				t.Fatalf("Complete() = false, want true")
			}
			if parent.Complete() {
				t.Errorf("second Complete() = true, want false")
			}
			testkit.CheckState(t, parent, core.Completing)
			if testkit.IsClosed(parent.Done()) {
				t.Errorf("Done() closed while a child is active")
			}
			if !child.Complete() {
				t.Fatalf("child.Complete() = false, want true")
			}
			testkit.CheckState(t, child, core.Completed)
			testkit.CheckState(t, parent, core.Completed)
		})
	}
}

// TestCompletableJob_AfterCompleteWithChildren checks what a pending Complete
// still allows: Fail is refused and changes nothing, Cancel still cancels
// (API rules 6, 12; kotlinx rule 65).
func TestCompletableJob_AfterCompleteWithChildren(t *testing.T) {
	t.Parallel()
	t.Run("Fail is refused", func(t *testing.T) {
		t.Parallel()
		parent := core.NewJob(nil)
		child := core.NewJob(parent.Context())
		parent.Complete()
		if parent.Fail(testkit.NewErr("late")) {
			t.Errorf("Fail() after Complete() = true, want false")
		}
		testkit.CheckState(t, parent, core.Completing)
		testkit.CheckState(t, child, core.Active)
		child.Complete()
		testkit.CheckState(t, parent, core.Completed)
		if err := parent.Cause(); err != nil {
			t.Errorf("Cause() = %v, want nil", err)
		}
	})
	t.Run("Cancel cancels", func(t *testing.T) {
		t.Parallel()
		parent := core.NewJob(nil)
		started := make(chan struct{})
		child := core.Launch(parent.Context(), blockUntilDone(started))
		testkit.WaitChan(t, started, "child to start")
		parent.Complete()
		parent.Cancel(nil)
		if !child.IsCancelled() {
			t.Errorf("child.IsCancelled() = false after Cancel of its Completing parent, want true")
		}
		testkit.MustJoin(t, parent)
		testkit.CheckState(t, parent, core.Cancelled)
		wantCancellation(t, parent.Cause())
	})
	t.Run("child failure fails", func(t *testing.T) {
		t.Parallel()
		rec := testkit.NewRecorder()
		parent := core.NewJob(rec.Ctx())
		started := make(chan struct{})
		release := make(chan struct{})
		failure := testkit.NewErr("child")
		core.Launch(parent.Context(), func(context.Context) error {
			close(started)
			testkit.Hold(t, release)
			return failure
		})
		testkit.WaitChan(t, started, "child to start")
		parent.Complete()
		close(release)
		testkit.MustJoin(t, parent)
		testkit.CheckState(t, parent, core.Cancelled)
		if err := parent.Cause(); !errors.Is(err, failure) {
			t.Errorf("Cause() = %v, want %v", err, failure)
		}
		rec.ExpectOne(t, failure) // the Launch reports: NewJob does not handle
	})
}

// TestCompletableJob_FailCancelsChildrenNotReported ports kotlinx
// CompletableJobTest.testExceptionIsNotReportedToChildren: Fail cancels the
// children with a cancellation caused by the failure; the children do not
// fail and nothing is reported (API rules 6, 9, 12; kotlinx rules 28, 63).
func TestCompletableJob_FailCancelsChildrenNotReported(t *testing.T) {
	t.Parallel()
	for _, kt := range completableKinds {
		t.Run(kt.name, func(t *testing.T) {
			t.Parallel()
			rec := testkit.NewRecorder()
			job := kt.make(rec.Ctx())
			started := make(chan struct{})
			seen := make(chan error, 1)
			child := core.Launch(job.Context(), func(ctx context.Context) error {
				close(started)
				<-ctx.Done()
				seen <- context.Cause(ctx)
				return ctx.Err()
			})
			testkit.WaitChan(t, started, "child to start")
			failure := testkit.NewErr("job")
			if !job.Fail(failure) {
				t.Fatalf("Fail() = false, want true")
			}
			if !job.IsCancelled() {
				t.Errorf("IsCancelled() = false when Fail returned, want true")
			}
			testkit.MustJoin(t, job)
			testkit.CheckState(t, job, core.Cancelled)
			testkit.CheckState(t, child, core.Cancelled)
			if err := <-seen; !core.IsCancellation(err) || !errors.Is(err, failure) {
				t.Errorf("context.Cause(child ctx) = %v, want a cancellation caused by %v", err, failure)
			}
			if err := child.Cause(); !core.IsCancellation(err) || !errors.Is(err, failure) {
				t.Errorf("child.Cause() = %v, want a cancellation caused by %v", err, failure)
			}
			if err := job.Cause(); !errors.Is(err, failure) || core.IsCancellation(err) {
				t.Errorf("Cause() = %v, want %v", err, failure)
			}
			rec.ExpectNone(t) // body-less jobs never report, the child only was cancelled
		})
	}
}

// TestCompletableJob_FailCancelsParent ports kotlinx
// JobTest.testJobWithParentCancelException and
// SupervisorTest.testSupervisorWithParentCancelException: Fail with a
// failure cancels the parent with it (API rules 7, 12; kotlinx rules 63, 78).
func TestCompletableJob_FailCancelsParent(t *testing.T) {
	t.Parallel()
	for _, kt := range completableKinds {
		t.Run(kt.name, func(t *testing.T) {
			t.Parallel()
			rec := testkit.NewRecorder()
			parent := core.NewJob(rec.Ctx())
			sibling := core.NewJob(parent.Context())
			job := kt.make(parent.Context())
			failure := testkit.NewErr("x")
			job.Fail(failure)
			testkit.CheckState(t, job, core.Cancelled)
			if !parent.IsCancelled() {
				t.Fatalf("parent.IsCancelled() = false after its child's Fail, want true")
			}
			if !sibling.IsCancelled() {
				t.Errorf("sibling.IsCancelled() = false after its sibling's Fail, want true")
			}
			testkit.MustJoin(t, parent)
			if err := parent.Cause(); !errors.Is(err, failure) || core.IsCancellation(err) {
				t.Errorf("parent.Cause() = %v, want %v", err, failure)
			}
			rec.ExpectNone(t)
		})
	}
}

// TestCompletableJob_FailWithCancellation checks that Fail with a
// cancellation error is a normal cancellation: the parent is not touched
// (API rules 7, 12; kotlinx rules 21, 31).
func TestCompletableJob_FailWithCancellation(t *testing.T) {
	t.Parallel()
	parent := core.NewJob(nil)
	job := core.NewJob(parent.Context())
	if !job.Fail(&core.CancellationError{Message: "stop"}) {
		t.Fatalf("Fail() = false, want true")
	}
	testkit.CheckState(t, job, core.Cancelled)
	wantCancellation(t, job.Cause())
	testkit.CheckState(t, parent, core.Active)
	parent.Complete()
	testkit.CheckState(t, parent, core.Completed)
}

// TestCompletableJob_ChildFailureCancelsBodylessJob checks that a failing
// child cancels a root NewJob (which does not handle it), so that a later
// Complete is refused (API rules 7, 9, 12; kotlinx rule 37;
// JobExceptionHandlingTest.testChildException).
func TestCompletableJob_ChildFailureCancelsBodylessJob(t *testing.T) {
	t.Parallel()
	rec := testkit.NewRecorder()
	job := core.NewJob(rec.Ctx())
	failure := testkit.NewErr("child")
	child := core.Launch(job.Context(), func(context.Context) error { return failure })
	testkit.MustJoin(t, child)
	testkit.MustJoin(t, job)
	testkit.CheckState(t, job, core.Cancelled)
	if job.Complete() {
		t.Errorf("Complete() = true after a child's failure cancelled the job, want false")
	}
	if err := job.Cause(); !errors.Is(err, failure) {
		t.Errorf("Cause() = %v, want %v", err, failure)
	}
	rec.ExpectOne(t, failure)
}

// TestCompletableJob_NewJobUnderJobHandles ports kotlinx
// JobExceptionHandlingTest.testExceptionIsNotReported(TripleChain): a NewJob
// with a handling job above it handles its children's failures
// (API rule 9; kotlinx rule 37).
func TestCompletableJob_NewJobUnderJobHandles(t *testing.T) {
	t.Parallel()
	for _, depth := range []int{1, 3} {
		t.Run(map[int]string{1: "single", 3: "triple chain"}[depth], func(t *testing.T) {
			t.Parallel()
			rec := testkit.NewRecorder()
			failure := testkit.NewErr("deep")
			err := call(t, "Scope", func() error {
				return core.Scope(rec.Ctx(), func(ctx context.Context) error {
					for range depth {
						ctx = core.NewJob(ctx).Context()
					}
					core.Launch(ctx, func(context.Context) error { return failure })
					return nil
				})
			})
			if !errors.Is(err, failure) {
				t.Errorf("Scope(ctx, f) = %v, want %v", err, failure)
			}
			rec.ExpectNone(t)
		})
	}
}
