package core_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jobtree/jobtree/core"
	"github.com/jobtree/jobtree/internal/testkit"
)

// TestRule1_StateString checks the names of the six states (API: State.String).
func TestRule1_StateString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		state core.State
	}{
		{"New", core.New},
		{"Active", core.Active},
		{"Completing", core.Completing},
		{"Cancelling", core.Cancelling},
		{"Cancelled", core.Cancelled},
		{"Completed", core.Completed},
	}
	for _, tt := range tests {
		if got := tt.state.String(); got != tt.name {
			t.Errorf("State(%d).String() = %q, want %q", int(tt.state), got, tt.name)
		}
	}
}

// TestRule1_BodylessJobStates drives body-less jobs through every state
// synchronously and checks State() and the flags against rule 1's table
// (API rule 1; kotlinx rule 1, Job.kt state table).
func TestRule1_BodylessJobStates(t *testing.T) {
	t.Parallel()
	t.Run("complete", func(t *testing.T) {
		t.Parallel()
		job := core.NewJob(nil)
		testkit.CleanupJob(t, job)
		testkit.CheckState(t, job, core.Active)
		child := core.NewJob(job.Context())
		if !job.Complete() {
			t.Fatalf("Complete() = false, want true")
		}
		testkit.CheckState(t, job, core.Completing)
		testkit.CheckState(t, child, core.Active)
		child.Complete()
		testkit.CheckState(t, child, core.Completed)
		testkit.CheckState(t, job, core.Completed)
	})
	t.Run("cancel", func(t *testing.T) {
		t.Parallel()
		job := core.NewJob(nil)
		testkit.CleanupJob(t, job)
		unblock := make(chan struct{})
		started := make(chan struct{})
		child := core.Launch(job.Context(), func(context.Context) error {
			close(started)
			testkit.Hold(t, unblock) // ignores the cancellation
			return nil
		})
		testkit.WaitChan(t, started, "child body to start")
		job.Cancel(nil)
		testkit.CheckState(t, job, core.Cancelling)
		testkit.CheckState(t, child, core.Cancelling)
		close(unblock)
		testkit.MustJoin(t, job)
		testkit.CheckState(t, child, core.Cancelled)
		testkit.CheckState(t, job, core.Cancelled)
	})
	t.Run("fail", func(t *testing.T) {
		t.Parallel()
		job := core.NewJob(nil)
		if !job.Fail(testkit.NewErr("x")) {
			t.Fatalf("Fail() = false, want true")
		}
		testkit.CheckState(t, job, core.Cancelled)
	})
}

// TestJobStates_NormalCompletion ports kotlinx JobStatesTest.testNormalCompletion:
// New -> Active -> Completing (waiting for a child) -> Completed, with the
// parent link present until the job is complete (API rules 1, 3, 5; kotlinx
// rules 1, 5).
func TestJobStates_NormalCompletion(t *testing.T) {
	t.Parallel()
	parent := core.NewJob(nil)
	testkit.CleanupJob(t, parent)
	release := make(chan struct{})
	bodyStarted := make(chan struct{})
	childStarted := make(chan struct{})
	unblockChild := make(chan struct{})
	childCh := make(chan core.Job, 1)
	job := core.Launch(parent.Context(), func(ctx context.Context) error {
		close(bodyStarted)
		testkit.Hold(t, release)
		childCh <- core.Launch(ctx, func(context.Context) error {
			close(childStarted)
			testkit.Hold(t, unblockChild)
			return nil
		})
		return nil
	}, core.Lazy())

	testkit.CheckState(t, job, core.New)
	if got := job.Parent(); got != core.Job(parent) {
		t.Errorf("Parent() of a New job = %v, want %v", got, parent)
	}
	if !job.Start() {
		t.Fatalf("Start() = false, want true")
	}
	testkit.CheckState(t, job, core.Active)
	testkit.WaitChan(t, bodyStarted, "body to start")
	testkit.CheckState(t, job, core.Active)

	close(release)
	child := <-childCh
	testkit.WaitChan(t, childStarted, "child to start")
	if got := waitLeaves(t, job, core.Active); got != core.Completing {
		t.Fatalf("after the body returned, State() = %v, want %v", got, core.Completing)
	}
	testkit.CheckState(t, job, core.Completing)
	if got := job.Parent(); got != core.Job(parent) {
		t.Errorf("Parent() of a Completing job = %v, want %v", got, parent)
	}
	if testkit.IsClosed(job.Done()) {
		t.Errorf("Done() closed while a child is still running")
	}

	close(unblockChild)
	testkit.MustJoin(t, job)
	testkit.CheckState(t, job, core.Completed)
	testkit.CheckState(t, child, core.Completed)
	if got := job.Parent(); got != nil {
		t.Errorf("Parent() of a completed job = %v, want nil", got)
	}
	if err := job.Cause(); err != nil {
		t.Errorf("Cause() = %v, want nil", err)
	}
}

// TestJobStates_CompletingFailed ports kotlinx JobStatesTest.testCompletingFailed:
// a child fails after the body returned, so the job goes Completing ->
// Cancelled, and the root reports the failure (API rules 1, 5, 7, 9).
func TestJobStates_CompletingFailed(t *testing.T) {
	t.Parallel()
	rec := testkit.NewRecorder()
	failure := testkit.NewErr("child")
	childStarted := make(chan struct{})
	release := make(chan struct{})
	job := core.Launch(rec.Ctx(), func(ctx context.Context) error {
		core.Launch(ctx, func(context.Context) error {
			close(childStarted)
			testkit.Hold(t, release)
			return failure
		})
		return nil
	}, core.Lazy())

	testkit.CheckState(t, job, core.New)
	job.Start()
	testkit.WaitChan(t, childStarted, "child to start")
	if got := waitLeaves(t, job, core.Active); got != core.Completing {
		t.Fatalf("after the body returned, State() = %v, want %v", got, core.Completing)
	}
	testkit.CheckState(t, job, core.Completing)

	close(release)
	testkit.MustJoin(t, job)
	testkit.CheckState(t, job, core.Cancelled)
	if err := job.Cause(); !errors.Is(err, failure) {
		t.Errorf("Cause() = %v, want %v", err, failure)
	}
	rec.ExpectOne(t, failure)
}

// TestJobStates_Failed ports kotlinx JobStatesTest.testFailed: the body fails
// while a child is running, so the job is Cancelling until the child ends,
// then Cancelled (API rules 1, 7).
func TestJobStates_Failed(t *testing.T) {
	t.Parallel()
	rec := testkit.NewRecorder()
	failure := testkit.NewErr("body")
	childStarted := make(chan struct{})
	release := make(chan struct{})
	childCh := make(chan core.Job, 1)
	job := core.Launch(rec.Ctx(), func(ctx context.Context) error {
		childCh <- core.Launch(ctx, func(context.Context) error {
			close(childStarted)
			testkit.Hold(t, release) // ignores the cancellation
			return nil
		})
		<-childStarted
		return failure
	}, core.Lazy())

	testkit.CheckState(t, job, core.New)
	job.Start()
	child := <-childCh
	if got := waitLeaves(t, job, core.Active); got != core.Cancelling {
		t.Fatalf("after the body failed, State() = %v, want %v", got, core.Cancelling)
	}
	testkit.CheckState(t, job, core.Cancelling)
	// The body's goroutine sets the parent Cancelling and then cancels
	// the child: an observer can see the first step before the second.
	if got := waitLeaves(t, child, core.Active); got != core.Cancelling {
		t.Fatalf("after the parent failed, the child's State() = %v, want %v", got, core.Cancelling)
	}
	testkit.CheckState(t, child, core.Cancelling)

	close(release)
	testkit.MustJoin(t, job)
	testkit.CheckState(t, job, core.Cancelled)
	testkit.CheckState(t, child, core.Cancelled)
	rec.ExpectOne(t, failure)
}

// TestJobStates_Cancelling ports kotlinx JobStatesTest.testCancelling:
// Completing -> Cancelling on Cancel, then Cancelled once the child ends
// (API rules 1, 6; kotlinx rule 16).
func TestJobStates_Cancelling(t *testing.T) {
	t.Parallel()
	rec := testkit.NewRecorder()
	childStarted := make(chan struct{})
	release := make(chan struct{})
	childCh := make(chan core.Job, 1)
	job := core.Launch(rec.Ctx(), func(ctx context.Context) error {
		childCh <- core.Launch(ctx, func(context.Context) error {
			close(childStarted)
			testkit.Hold(t, release) // ignores the cancellation
			return nil
		})
		return nil
	}, core.Lazy())

	job.Start()
	child := <-childCh
	testkit.WaitChan(t, childStarted, "child to start")
	if got := waitLeaves(t, job, core.Active); got != core.Completing {
		t.Fatalf("after the body returned, State() = %v, want %v", got, core.Completing)
	}
	job.Cancel(nil)
	testkit.CheckState(t, job, core.Cancelling)
	testkit.CheckState(t, child, core.Cancelling)

	close(release)
	testkit.MustJoin(t, job)
	testkit.CheckState(t, job, core.Cancelled)
	if err := job.Cause(); !core.IsCancellation(err) {
		t.Errorf("Cause() = %v, want a cancellation", err)
	}
	rec.ExpectNone(t)
}

// TestRule1_CancelledJobIsNeverCompleted checks that a cancelled job ends
// Cancelled even when its body then returns nil (API rules 1, 2, 6).
func TestRule1_CancelledJobIsNeverCompleted(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		make func(ctx context.Context) core.Job
	}{
		{"NewJob", func(ctx context.Context) core.Job { return core.NewJob(ctx) }},
		{"NewSupervisorJob", func(ctx context.Context) core.Job { return core.NewSupervisorJob(ctx) }},
		{"Launch", func(ctx context.Context) core.Job {
			return core.Launch(ctx, func(ctx context.Context) error { <-ctx.Done(); return nil })
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			job := tt.make(context.Background())
			job.Cancel(nil)
			testkit.MustJoin(t, job)
			testkit.CheckState(t, job, core.Cancelled)
		})
	}
}
