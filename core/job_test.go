package core_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jobtree/jobtree/core"
	"github.com/jobtree/jobtree/internal/testkit"
)

// ---------------------------------------------------------------------------
// Rule 2: Launch.

// TestRule2_LaunchReturnsAtOnce checks that Launch runs the body on another
// goroutine with the job's context and returns while it runs (API rule 2).
func TestRule2_LaunchReturnsAtOnce(t *testing.T) {
	t.Parallel()
	rec := testkit.NewRecorder()
	started := make(chan struct{})
	unblock := make(chan struct{})
	bodyJob := make(chan core.Job, 1)
	launched := make(chan core.Job, 1)
	go func() { // ends when Launch returns
		launched <- core.Launch(rec.Ctx(), func(ctx context.Context) error {
			bodyJob <- core.JobOf(ctx)
			close(started)
			testkit.Hold(t, unblock)
			return nil
		})
	}()
	var job core.Job
	select {
	case job = <-launched:
	case <-time.After(testkit.WaitTimeout(t)):
		close(unblock)
		t.Fatalf("Launch did not return while its body was blocked\n%s", testkit.GoroutineDump())
	}
	testkit.WaitChan(t, started, "body to start")
	testkit.CheckState(t, job, core.Active)
	if got := <-bodyJob; got != job {
		t.Errorf("JobOf(body ctx) = %v, want the launched job %v", got, job)
	}
	close(unblock)
	testkit.MustJoin(t, job)
	testkit.CheckState(t, job, core.Completed)
	if err := job.Cause(); err != nil {
		t.Errorf("Cause() = %v, want nil", err)
	}
	rec.ExpectNone(t)
}

// TestRule2_BodyOutcome checks how the body's result decides the job's end:
// nil completes, a cancellation cancels normally, anything else (or a panic)
// fails the job, cancels the parent and is reported (API rules 2, 7, 9).
func TestRule2_BodyOutcome(t *testing.T) {
	t.Parallel()
	failure := testkit.NewErr("failure")
	tests := []struct {
		name    string
		body    func(ctx context.Context) error
		state   core.State
		failure bool                          // the job failed: reported, parent cancelled
		check   func(t *testing.T, err error) // checks the job's Cause()
	}{
		{
			name:  "nil completes",
			body:  func(context.Context) error { return nil },
			state: core.Completed,
			check: func(t *testing.T, err error) {
				if err != nil {
					t.Errorf("Cause() = %v, want nil", err)
				}
			},
		},
		{
			name:  "context.Canceled cancels",
			body:  func(context.Context) error { return context.Canceled },
			state: core.Cancelled,
			check: wantCancellation,
		},
		{
			name:  "wrapped context.Canceled cancels",
			body:  func(context.Context) error { return fmt.Errorf("read: %w", context.Canceled) },
			state: core.Cancelled,
			check: wantCancellation,
		},
		{
			name: "CancellationError cancels",
			body: func(context.Context) error {
				return &core.CancellationError{Message: "stop", Cause: testkit.NewErr("why")}
			},
			state: core.Cancelled,
			check: wantCancellation,
		},
		{
			name:    "error fails",
			body:    func(context.Context) error { return failure },
			state:   core.Cancelled,
			failure: true,
			check: func(t *testing.T, err error) {
				if !errors.Is(err, failure) || core.IsCancellation(err) {
					t.Errorf("Cause() = %v, want %v", err, failure)
				}
			},
		},
		{
			name:    "DeadlineExceeded of an active job fails",
			body:    func(context.Context) error { return context.DeadlineExceeded },
			state:   core.Cancelled,
			failure: true,
			check: func(t *testing.T, err error) {
				if !errors.Is(err, context.DeadlineExceeded) || core.IsCancellation(err) {
					t.Errorf("Cause() = %v, want %v", err, context.DeadlineExceeded)
				}
			},
		},
		{
			name:    "panic with a string fails",
			body:    func(context.Context) error { panic("boom") },
			state:   core.Cancelled,
			failure: true,
			check: func(t *testing.T, err error) {
				pe := testkit.As[*core.PanicError](t, "Cause()", err)
				if pe.Value != "boom" {
					t.Errorf("PanicError.Value = %#v, want %q", pe.Value, "boom")
				}
				if pe.Unwrap() != nil {
					t.Errorf("PanicError.Unwrap() = %v, want nil for a non-error value", pe.Unwrap())
				}
				if !strings.Contains(string(pe.Stack), "core_test") {
					t.Errorf("PanicError.Stack does not show the panicking body:\n%s", pe.Stack)
				}
				if !strings.Contains(pe.Error(), "boom") {
					t.Errorf("PanicError.Error() = %q, want it to mention %q", pe.Error(), "boom")
				}
			},
		},
		{
			name:    "panic with an error fails",
			body:    func(context.Context) error { panic(failure) },
			state:   core.Cancelled,
			failure: true,
			check: func(t *testing.T, err error) {
				testkit.As[*core.PanicError](t, "Cause()", err)
				if !errors.Is(err, failure) {
					t.Errorf("Cause() = %v, want it to wrap %v", err, failure)
				}
				if core.IsCancellation(err) {
					t.Errorf("IsCancellation(%v) = true, want false", err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := testkit.NewRecorder()
			parent := core.NewJob(rec.Ctx())
			testkit.CleanupJob(t, parent)
			job := core.Launch(parent.Context(), tt.body)
			testkit.MustJoin(t, job)
			testkit.CheckState(t, job, tt.state)
			tt.check(t, job.Cause())
			if !tt.failure {
				rec.ExpectNone(t)
				if !parent.IsActive() {
					t.Errorf("parent.IsActive() = false after a child ended %v, want true", tt.state)
				}
				if !parent.Complete() {
					t.Errorf("parent.Complete() = false, want true")
				}
				testkit.MustJoin(t, parent)
				testkit.CheckState(t, parent, core.Completed)
				return
			}
			// The root NewJob does not handle the failure, so the
			// Launch job reports it, before its Join returns.
			got := rec.ExpectOne(t, job.Cause())
			tt.check(t, got)
			if !parent.IsCancelled() {
				t.Errorf("parent.IsCancelled() = false after a child failed, want true")
			}
			testkit.MustJoin(t, parent)
			if err := parent.Cause(); !errors.Is(err, job.Cause()) {
				t.Errorf("parent.Cause() = %v, want the child's failure %v", err, job.Cause())
			}
		})
	}
}

func wantCancellation(t *testing.T, err error) {
	t.Helper()
	if !core.IsCancellation(err) {
		t.Errorf("Cause() = %v, want a cancellation", err)
	}
}

// TestRule2_EchoOfOwnCancellation checks that a body handing up its own
// cancellation (ctx.Err(), context.Cause(ctx), a deadline that the job's
// context honoured) cancels the job normally instead of failing it
// (API rule 2).
func TestRule2_EchoOfOwnCancellation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body func(ctx context.Context) error
	}{
		{"ctx.Err", func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }},
		{"context.Cause", func(ctx context.Context) error { <-ctx.Done(); return context.Cause(ctx) }},
		{"wrapped ctx.Err", func(ctx context.Context) error { <-ctx.Done(); return fmt.Errorf("op: %w", ctx.Err()) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := testkit.NewRecorder()
			parent := core.NewJob(rec.Ctx())
			testkit.CleanupJob(t, parent)
			job := core.Launch(parent.Context(), tt.body)
			job.Cancel(testkit.NewErr("plain cause")) // not a cancellation error itself
			wantOnlyCancelled(t, job, parent, rec)
		})
	}
}

// wantOnlyCancelled joins job and checks that it ended cancelled, not
// failed: Cancelled with a cancellation cause, nothing reported, and its
// parent still active.
func wantOnlyCancelled(t *testing.T, job, parent core.Job, rec *testkit.Recorder) {
	t.Helper()
	testkit.MustJoin(t, job)
	testkit.CheckState(t, job, core.Cancelled)
	wantCancellation(t, job.Cause())
	rec.ExpectNone(t)
	if !parent.IsActive() {
		t.Errorf("parent.IsActive() = false, want true: the child was only cancelled")
	}
}

// TestRule2_DeadlineEchoIsCancellation checks that a context.DeadlineExceeded
// returned after the job's deadline passed is the echo of its cancellation,
// not a failure (API rule 2).
func TestRule2_DeadlineEchoIsCancellation(t *testing.T) {
	t.Parallel()
	rec := testkit.NewRecorder()
	parent := core.NewJob(rec.Ctx())
	testkit.CleanupJob(t, parent)
	ctx, stop := context.WithTimeout(parent.Context(), time.Millisecond)
	defer stop()
	job := core.Launch(ctx, func(ctx context.Context) error {
		<-ctx.Done()
		return ctx.Err()
	})
	wantOnlyCancelled(t, job, parent, rec)
}

// TestRule2_ForeignDeadlineAfterCancelIsFailure checks that after a plain
// Cancel (Err() == context.Canceled) a body returning DeadlineExceeded has
// not echoed its cancellation: that is a failure, and a real failure beats
// the earlier cancellation (API rules 2, 7).
func TestRule2_ForeignDeadlineAfterCancelIsFailure(t *testing.T) {
	t.Parallel()
	rec := testkit.NewRecorder()
	started := make(chan struct{})
	job := core.Launch(rec.Ctx(), func(ctx context.Context) error {
		close(started)
		<-ctx.Done()
		return context.DeadlineExceeded
	})
	testkit.WaitChan(t, started, "body to start")
	job.Cancel(nil)
	testkit.MustJoin(t, job)
	if err := job.Cause(); !errors.Is(err, context.DeadlineExceeded) || core.IsCancellation(err) {
		t.Errorf("Cause() = %v, want the failure %v", err, context.DeadlineExceeded)
	}
	rec.ExpectOne(t, context.DeadlineExceeded)
}

// ---------------------------------------------------------------------------
// Rule 3: Lazy.

// TestRule3_LazyJobCancelledBeforeStart checks that a lazy job is New, is not
// started by registering handlers, and that Cancel makes it Cancelled at once
// without ever running the body (API rules 3, 6, 10; kotlinx rules 8, 11).
func TestRule3_LazyJobCancelledBeforeStart(t *testing.T) {
	t.Parallel()
	var ran atomic.Bool
	job := core.Launch(context.Background(), func(context.Context) error {
		ran.Store(true)
		return nil
	}, core.Lazy())
	testkit.CheckState(t, job, core.New)
	var completions, cancellings counter
	job.InvokeOnCompletion(func(error) { completions.inc() })
	job.InvokeOnCancelling(func(error) { cancellings.inc() })
	testkit.CheckState(t, job, core.New)

	job.Cancel(nil)
	testkit.CheckState(t, job, core.Cancelled)
	if !testkit.IsClosed(job.Done()) {
		t.Errorf("Done() not closed when Cancel on a New job returned")
	}
	if got := completions.get(); got != 1 {
		t.Errorf("completion handler ran %d times when Cancel returned, want 1", got)
	}
	if got := cancellings.get(); got != 1 {
		t.Errorf("cancelling handler ran %d times when Cancel returned, want 1", got)
	}
	if job.Start() {
		t.Errorf("Start() after Cancel = true, want false")
	}
	if err := call(t, "Join", func() error { return job.Join(context.Background()) }); err != nil {
		t.Errorf("Join(ctx) = %v, want nil", err)
	}
	wantCancellation(t, job.Cause())
	if ran.Load() {
		t.Errorf("the body of a lazy job cancelled before start ran")
	}
}

// TestRule3_StartReturnsTrueOnce ports kotlinx LaunchLazyTest.testStart
// semantics: of many concurrent Start calls exactly one returns true, the body
// runs once, and later calls return false (API rule 3; kotlinx rule 7).
func TestRule3_StartReturnsTrueOnce(t *testing.T) {
	t.Parallel()
	var runs atomic.Int32
	release := make(chan struct{})
	job := core.Launch(context.Background(), func(context.Context) error {
		runs.Add(1)
		testkit.Hold(t, release)
		return nil
	}, core.Lazy())
	testkit.CleanupJob(t, job)
	const n = 8
	var wins atomic.Int32
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for range n {
		goWG(&wg, func() {
			<-gate
			if job.Start() {
				wins.Add(1)
			}
		})
	}
	close(gate)
	wg.Wait()
	if got := wins.Load(); got != 1 {
		t.Errorf("%d concurrent Start() calls returned true, want exactly 1", got)
	}
	if job.Start() {
		t.Errorf("Start() on an active job = true, want false")
	}
	testkit.CheckState(t, job, core.Active)
	close(release)
	testkit.MustJoin(t, job)
	if job.Start() {
		t.Errorf("Start() on a completed job = true, want false")
	}
	if got := runs.Load(); got != 1 {
		t.Errorf("body ran %d times, want 1", got)
	}
}

// TestRule3_JoinStartsLazyJob checks that Join starts a New job and waits for
// it (API rules 3, 11; kotlinx rule 55).
func TestRule3_JoinStartsLazyJob(t *testing.T) {
	t.Parallel()
	var ran atomic.Bool
	job := core.Launch(context.Background(), func(context.Context) error {
		ran.Store(true)
		return nil
	}, core.Lazy())
	if err := call(t, "Join", func() error { return job.Join(context.Background()) }); err != nil {
		t.Fatalf("Join(ctx) = %v, want nil", err)
	}
	if !ran.Load() {
		t.Errorf("Join returned but the lazy body never ran")
	}
	testkit.CheckState(t, job, core.Completed)
}

// TestRule3_LazyChildKeepsParentWaiting checks that a lazy child that was
// never started keeps its parent Completing until it is started and done
// (API rules 3, 5; kotlinx rule 10).
func TestRule3_LazyChildKeepsParentWaiting(t *testing.T) {
	t.Parallel()
	parent := core.NewJob(nil)
	testkit.CleanupJob(t, parent)
	var ran atomic.Bool
	child := core.Launch(parent.Context(), func(context.Context) error {
		ran.Store(true)
		return nil
	}, core.Lazy())
	if !parent.Complete() {
		t.Fatalf("Complete() = false, want true")
	}
	testkit.CheckState(t, parent, core.Completing)
	testkit.CheckState(t, child, core.New)
	if !child.Start() {
		t.Fatalf("child.Start() = false, want true")
	}
	testkit.MustJoin(t, parent)
	testkit.CheckState(t, parent, core.Completed)
	if !ran.Load() {
		t.Errorf("the lazy child's body never ran")
	}
}

// TestRule3_StartVersusCancel races Start against Cancel on lazy jobs: when
// Cancel wins (Start returns false) the body never runs; either way the job
// ends (API rules 3, 15; kotlinx rule 7).
func TestRule3_StartVersusCancel(t *testing.T) {
	t.Parallel()
	for i := range 100 {
		var ran atomic.Bool
		job := core.Launch(context.Background(), func(context.Context) error {
			ran.Store(true)
			return nil
		}, core.Lazy())
		gate := make(chan struct{})
		var started atomic.Bool
		var wg sync.WaitGroup
		goWG(&wg, func() { <-gate; started.Store(job.Start()) })
		goWG(&wg, func() { <-gate; job.Cancel(nil) })
		close(gate)
		wg.Wait()
		testkit.MustJoin(t, job)
		if !started.Load() && ran.Load() {
			t.Fatalf("iteration %d: Start() = false (Cancel won) but the body ran", i)
		}
		if !job.IsCompleted() {
			t.Fatalf("iteration %d: job not completed after Join", i)
		}
	}
}

// ---------------------------------------------------------------------------
// Rule 4: parent.

// TestRule4_ParentIsJobOfCtx checks the parent link, Children and the
// detaching of a completed child (API rule 4; kotlinx rules 5, 6, 27).
func TestRule4_ParentIsJobOfCtx(t *testing.T) {
	t.Parallel()
	parent := core.NewJob(nil)
	testkit.CleanupJob(t, parent)
	if got := core.JobOf(parent.Context()); got != core.Job(parent) {
		t.Fatalf("JobOf(parent.Context()) = %v, want %v", got, parent)
	}
	type key struct{}
	derived := context.WithValue(parent.Context(), key{}, 1)
	started := make(chan struct{})
	child := core.Launch(derived, blockUntilDone(started))
	bodyless := core.NewJob(parent.Context())
	testkit.WaitChan(t, started, "child to start")
	for _, c := range []core.Job{child, bodyless} {
		if got := c.Parent(); got != core.Job(parent) {
			t.Errorf("%v.Parent() = %v, want %v", c, got, parent)
		}
		if !hasChild(parent, c) {
			t.Errorf("parent.Children() = %v, want it to contain %v", children(parent), c)
		}
	}
	if got := len(children(parent)); got != 2 {
		t.Errorf("len(parent.Children()) = %d, want 2", got)
	}

	child.Cancel(nil)
	testkit.MustJoin(t, child)
	if got := child.Parent(); got != nil {
		t.Errorf("Parent() of a completed child = %v, want nil", got)
	}
	if hasChild(parent, child) {
		t.Errorf("parent.Children() still lists the completed child %v", child)
	}
	bodyless.Complete()
	if got := children(parent); len(got) != 0 {
		t.Errorf("parent.Children() = %v after all children completed, want none", got)
	}
	testkit.CheckState(t, parent, core.Active)
}

// TestRule4_RootJobs checks that jobs made from a context without a job, or
// from a nil context, have no parent (API rule 4, deliberate nil ctx choice).
func TestRule4_RootJobs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		make func() core.Job
	}{
		{"Launch Background", func() core.Job {
			return core.Launch(context.Background(), func(context.Context) error { return nil })
		}},
		{"Launch nil ctx", func() core.Job {
			return core.Launch(nil, func(context.Context) error { return nil }) //nolint:staticcheck // nil ctx on purpose
		}},
		{"NewJob nil ctx", func() core.Job { j := core.NewJob(nil); j.Complete(); return j }},
		{"NewSupervisorJob nil ctx", func() core.Job { j := core.NewSupervisorJob(nil); j.Complete(); return j }},
		{"Launch WithoutCancel", func() core.Job {
			p := core.NewJob(nil)
			defer p.Cancel(nil)
			return core.Launch(context.WithoutCancel(p.Context()), func(context.Context) error { return nil })
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			job := tt.make()
			if got := job.Parent(); got != nil {
				t.Errorf("Parent() = %v, want nil", got)
			}
			testkit.MustJoin(t, job)
			testkit.CheckState(t, job, core.Completed)
		})
	}
}

// TestRule4_ChildUnderFinishedParent checks that a job created under a parent
// that is cancelling or complete (even normally) starts Cancelled, is not
// attached and never runs its body (API rule 4, which differs from kotlinx
// rule 34; kotlinx JobTest.testCancelledParent,
// JobExceptionHandlingTest.testCancelledParent, testAttachToCancelledJob,
// CancelledParentAttachTest.testLaunch).
func TestRule4_ChildUnderFinishedParent(t *testing.T) {
	t.Parallel()
	parents := []struct {
		name string
		// make returns the parent and a func that lets it finish.
		make func(t *testing.T, rec *testkit.Recorder) (core.Job, func())
	}{
		{"cancelled NewJob", func(t *testing.T, rec *testkit.Recorder) (core.Job, func()) {
			p := core.NewJob(rec.Ctx())
			p.Cancel(nil)
			return p, func() {}
		}},
		{"failed NewJob", func(t *testing.T, rec *testkit.Recorder) (core.Job, func()) {
			p := core.NewJob(rec.Ctx())
			p.Fail(testkit.NewErr("parent"))
			return p, func() {}
		}},
		{"completed NewJob", func(t *testing.T, rec *testkit.Recorder) (core.Job, func()) {
			p := core.NewJob(rec.Ctx())
			p.Complete()
			return p, func() {}
		}},
		{"completed Launch", func(t *testing.T, rec *testkit.Recorder) (core.Job, func()) {
			p := core.Launch(rec.Ctx(), func(context.Context) error { return nil })
			testkit.MustJoin(t, p)
			return p, func() {}
		}},
		{"failed Launch", func(t *testing.T, rec *testkit.Recorder) (core.Job, func()) {
			p := core.Launch(rec.Ctx(), func(context.Context) error { return testkit.NewErr("parent") })
			testkit.MustJoin(t, p)
			return p, func() {}
		}},
		{"cancelling NewJob", func(t *testing.T, rec *testkit.Recorder) (core.Job, func()) {
			p := core.NewJob(rec.Ctx())
			started := make(chan struct{})
			release := make(chan struct{})
			core.Launch(p.Context(), func(context.Context) error {
				close(started)
				testkit.Hold(t, release) // ignores the cancellation
				return nil
			})
			testkit.WaitChan(t, started, "blocking child to start")
			p.Cancel(nil)
			testkit.CheckState(t, p, core.Cancelling)
			return p, func() { close(release); testkit.MustJoin(t, p) }
		}},
		{"cancelling Launch", func(t *testing.T, rec *testkit.Recorder) (core.Job, func()) {
			p, release := launchHeld(t, rec.Ctx())
			p.Cancel(nil)
			testkit.CheckState(t, p, core.Cancelling)
			return p, func() { close(release); testkit.MustJoin(t, p) }
		}},
	}
	kinds := []struct {
		name string
		make func(ctx context.Context, ran *atomic.Bool) core.Job
	}{
		{"Launch", func(ctx context.Context, ran *atomic.Bool) core.Job {
			return core.Launch(ctx, func(context.Context) error { ran.Store(true); return nil })
		}},
		{"Launch Lazy", func(ctx context.Context, ran *atomic.Bool) core.Job {
			return core.Launch(ctx, func(context.Context) error { ran.Store(true); return nil }, core.Lazy())
		}},
		{"NewJob", func(ctx context.Context, ran *atomic.Bool) core.Job { return core.NewJob(ctx) }},
		{"NewSupervisorJob", func(ctx context.Context, ran *atomic.Bool) core.Job { return core.NewSupervisorJob(ctx) }},
		{"Launch under NewJob", func(ctx context.Context, ran *atomic.Bool) core.Job {
			mid := core.NewJob(ctx)
			return core.Launch(mid.Context(), func(context.Context) error { ran.Store(true); return nil })
		}},
	}
	for _, pt := range parents {
		for _, kt := range kinds {
			t.Run(pt.name+"/"+kt.name, func(t *testing.T) {
				t.Parallel()
				rec := testkit.NewRecorder()
				parent, finish := pt.make(t, rec)
				var ran atomic.Bool
				child := kt.make(parent.Context(), &ran)
				testkit.CheckState(t, child, core.Cancelled)
				if !testkit.IsClosed(child.Done()) {
					t.Errorf("child.Done() not closed at creation")
				}
				if got := child.Parent(); got != nil {
					t.Errorf("child.Parent() = %v, want nil (not attached)", got)
				}
				if hasChild(parent, child) {
					t.Errorf("parent.Children() lists the child created too late")
				}
				var handled counter
				child.InvokeOnCompletion(func(error) { handled.inc() })
				if got := handled.get(); got != 1 {
					t.Errorf("completion handler registered on the child ran %d times at once, want 1", got)
				}
				wantCancellation(t, child.Cause())
				if child.Start() {
					t.Errorf("child.Start() = true, want false")
				}
				finish()
				testkit.MustJoin(t, child)
				if ran.Load() {
					t.Errorf("the body of a child created under a finished parent ran")
				}
				for _, err := range rec.Errors() {
					if core.IsCancellation(err) {
						t.Errorf("exception handler got the cancellation %v", err)
					}
				}
			})
		}
	}
}

// TestRule4_ChildUnderCompletingParent checks that a parent that has been
// completed but still waits for a child accepts and waits for a new child
// (API rules 4, 5; kotlinx rule 35).
func TestRule4_ChildUnderCompletingParent(t *testing.T) {
	t.Parallel()
	parent := core.NewJob(nil)
	testkit.CleanupJob(t, parent)
	first := core.NewJob(parent.Context())
	parent.Complete()
	testkit.CheckState(t, parent, core.Completing)
	second := core.NewJob(parent.Context())
	testkit.CheckState(t, second, core.Active)
	if got := second.Parent(); got != core.Job(parent) {
		t.Errorf("Parent() = %v, want %v", got, parent)
	}
	first.Complete()
	testkit.CheckState(t, parent, core.Completing)
	second.Complete()
	testkit.CheckState(t, parent, core.Completed)
}

// TestRule4_PlainContextCancellation checks that a job follows a context that
// can be cancelled on its own: cancelled (not failed, whatever the context's
// cause) when it is done (API rule 4).
func TestRule4_PlainContextCancellation(t *testing.T) {
	t.Parallel()
	kinds := []struct {
		name string
		make func(ctx context.Context) core.Job
	}{
		{"Launch", func(ctx context.Context) core.Job { return core.Launch(ctx, blockUntilDone(nil)) }},
		{"NewJob", func(ctx context.Context) core.Job { return core.NewJob(ctx) }},
		{"NewSupervisorJob", func(ctx context.Context) core.Job { return core.NewSupervisorJob(ctx) }},
		{"Launch Lazy", func(ctx context.Context) core.Job {
			return core.Launch(ctx, blockUntilDone(nil), core.Lazy())
		}},
	}
	for _, kt := range kinds {
		t.Run(kt.name, func(t *testing.T) {
			t.Parallel()
			t.Run("cancelled later", func(t *testing.T) {
				t.Parallel()
				rec := testkit.NewRecorder()
				ctx, stop := context.WithCancelCause(rec.Ctx())
				defer stop(nil)
				job := kt.make(ctx)
				testkit.CleanupJob(t, job)
				if got := job.Parent(); got != nil {
					t.Errorf("Parent() = %v, want nil", got)
				}
				stop(testkit.NewErr("ctx cause"))
				testkit.MustJoin(t, job)
				testkit.CheckState(t, job, core.Cancelled)
				wantCancellation(t, job.Cause())
				rec.ExpectNone(t)
			})
			t.Run("already done", func(t *testing.T) {
				t.Parallel()
				rec := testkit.NewRecorder()
				ctx, stop := context.WithCancel(rec.Ctx())
				stop()
				job := kt.make(ctx)
				testkit.CleanupJob(t, job)
				// The ctx is done already: "when ctx is done" is now.
				if !job.IsCancelled() {
					t.Errorf("job made from a done ctx: State() = %v at creation, want it cancelled", job.State())
				}
				testkit.MustJoin(t, job)
				testkit.CheckState(t, job, core.Cancelled)
				rec.ExpectNone(t)
			})
		})
	}
}

// TestRule4_DerivedContextCancellation checks that a job made from a context
// derived from a job's context is that job's child and is cancelled when the
// derived context is, without touching the parent (API rule 4).
func TestRule4_DerivedContextCancellation(t *testing.T) {
	t.Parallel()
	rec := testkit.NewRecorder()
	parent := core.NewJob(rec.Ctx())
	testkit.CleanupJob(t, parent)
	ctx, stop := context.WithCancel(parent.Context())
	defer stop()
	started := make(chan struct{})
	child := core.Launch(ctx, blockUntilDone(started))
	testkit.WaitChan(t, started, "child to start")
	if got := child.Parent(); got != core.Job(parent) {
		t.Errorf("Parent() = %v, want %v", got, parent)
	}
	stop()
	testkit.MustJoin(t, child)
	testkit.CheckState(t, child, core.Cancelled)
	testkit.CheckState(t, parent, core.Active)
	rec.ExpectNone(t)
}

// ---------------------------------------------------------------------------
// Rule 5: completing.

// TestRule5_WaitsForChildrenRecursively checks that a job whose body returned
// waits in Completing for its children and grandchildren, and that they
// complete bottom-up (API rule 5; kotlinx rules 4, 32).
func TestRule5_WaitsForChildrenRecursively(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var order []string
	record := func(name string) func(error) {
		return func(error) { mu.Lock(); order = append(order, name); mu.Unlock() }
	}
	release := make(chan struct{})
	grandStarted := make(chan struct{})
	jobs := make(chan core.Job, 2)
	root := core.Launch(context.Background(), func(ctx context.Context) error {
		jobs <- core.Launch(ctx, func(ctx context.Context) error {
			jobs <- core.Launch(ctx, func(context.Context) error {
				close(grandStarted)
				testkit.Hold(t, release)
				return nil
			})
			return nil
		})
		return nil
	})
	root.InvokeOnCompletion(record("root"))
	child, grand := <-jobs, <-jobs
	child.InvokeOnCompletion(record("child"))
	grand.InvokeOnCompletion(record("grandchild"))
	testkit.WaitChan(t, grandStarted, "grandchild to start")
	if got := waitLeaves(t, root, core.Active); got != core.Completing {
		t.Fatalf("root.State() = %v after its body returned, want %v", got, core.Completing)
	}
	if got := waitLeaves(t, child, core.Active); got != core.Completing {
		t.Fatalf("child.State() = %v after its body returned, want %v", got, core.Completing)
	}
	if testkit.IsClosed(root.Done()) || testkit.IsClosed(child.Done()) {
		t.Fatalf("a job is done while its grandchild still runs")
	}
	close(release)
	testkit.MustJoin(t, root)
	for _, j := range []core.Job{root, child, grand} {
		testkit.CheckState(t, j, core.Completed)
	}
	mu.Lock()
	defer mu.Unlock()
	if got, want := strings.Join(order, ","), "grandchild,child,root"; got != want {
		t.Errorf("completion order = %s, want %s", got, want)
	}
}

// ---------------------------------------------------------------------------
// Rule 6: cancellation goes down.

// TestRule6_CancelGoesDown checks that Cancel reaches every descendant
// synchronously and that each gets the root's *CancellationError as cause
// (API rule 6; kotlinx rules 14, 28).
func TestRule6_CancelGoesDown(t *testing.T) {
	t.Parallel()
	rec := testkit.NewRecorder()
	root := core.NewJob(rec.Ctx())
	testkit.CleanupJob(t, root)
	childStarted, grandStarted := make(chan struct{}), make(chan struct{})
	child := core.Launch(root.Context(), blockUntilDone(childStarted))
	grand := core.Launch(child.Context(), blockUntilDone(grandStarted))
	bodyless := core.NewJob(grand.Context())
	sup := core.NewSupervisorJob(child.Context())
	underSup := core.Launch(sup.Context(), blockUntilDone(nil))
	testkit.WaitChan(t, childStarted, "child to start")
	testkit.WaitChan(t, grandStarted, "grandchild to start")

	why := testkit.NewErr("why")
	root.Cancel(why)
	for _, j := range []core.Job{root, child, grand, bodyless, sup, underSup} {
		if !j.IsCancelled() {
			t.Errorf("%v.IsCancelled() = false when Cancel on the root returned, want true", j)
		}
	}
	testkit.MustJoin(t, root)

	rootCE := testkit.CancellationOf(t, "root.Cause()", root.Cause())
	if !errors.Is(root.Cause(), why) {
		t.Errorf("root.Cause() = %v, want it to wrap %v", root.Cause(), why)
	}
	for _, j := range []core.Job{child, grand, bodyless, sup, underSup} {
		testkit.CheckState(t, j, core.Cancelled)
		ce := testkit.CancellationOf(t, fmt.Sprintf("%v.Cause()", j), j.Cause())
		if ce != rootCE {
			t.Errorf("%v.Cause() = %v, want the root's cancellation error %v itself", j, ce, rootCE)
		}
		if !errors.Is(j.Cause(), why) {
			t.Errorf("%v.Cause() = %v, want it to wrap %v", j, j.Cause(), why)
		}
	}
	rec.ExpectNone(t)
}

// TestRule6_CancelCause checks the cause a Cancel call records (API rule 6;
// kotlinx rule 13).
func TestRule6_CancelCause(t *testing.T) {
	t.Parallel()
	why := testkit.NewErr("why")
	own := &core.CancellationError{Message: "stopped by test", Cause: why}
	tests := []struct {
		name  string
		cause error
		check func(t *testing.T, ce *core.CancellationError)
	}{
		{"nil", nil, func(t *testing.T, ce *core.CancellationError) {
			if ce.Error() == "" {
				t.Errorf("default CancellationError has an empty Error()")
			}
		}},
		{"plain error is wrapped", why, func(t *testing.T, ce *core.CancellationError) {
			if !errors.Is(ce.Cause, why) {
				t.Errorf("CancellationError.Cause = %v, want %v", ce.Cause, why)
			}
		}},
		{"CancellationError used as is", own, func(t *testing.T, ce *core.CancellationError) {
			if ce != own {
				t.Errorf("Cause() = %v, want the *CancellationError passed to Cancel (%p), got %p", ce, own, ce)
			}
		}},
		{"context.Canceled is wrapped", context.Canceled, func(t *testing.T, ce *core.CancellationError) {}},
	}
	kinds := []struct {
		name string
		make func() core.Job
	}{
		{"NewJob", func() core.Job { return core.NewJob(nil) }},
		{"Launch", func() core.Job { return core.Launch(nil, blockUntilDone(nil)) }}, //nolint:staticcheck // nil ctx on purpose
	}
	for _, kt := range kinds {
		for _, tt := range tests {
			t.Run(kt.name+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				job := kt.make()
				job.Cancel(tt.cause)
				testkit.MustJoin(t, job)
				err := job.Cause()
				if !core.IsCancellation(err) {
					t.Errorf("IsCancellation(Cause()) = false for %v, want true", err)
				}
				tt.check(t, testkit.CancellationOf(t, "Cause()", err))
			})
		}
	}
}

// TestRule6_CancelNeverCancelsParent ports kotlinx
// JobTest.testJobWithParentCancelNormally and
// SupervisorTest.testSupervisorWithParentCancelNormally; unlike kotlinx's
// cancel(TestException), Cancel with a plain error is still a normal
// cancellation (API rule 6).
func TestRule6_CancelNeverCancelsParent(t *testing.T) {
	t.Parallel()
	kinds := []struct {
		name string
		make func(ctx context.Context) core.Job
	}{
		{"NewJob", func(ctx context.Context) core.Job { return core.NewJob(ctx) }},
		{"NewSupervisorJob", func(ctx context.Context) core.Job { return core.NewSupervisorJob(ctx) }},
		{"Launch", func(ctx context.Context) core.Job { return core.Launch(ctx, blockUntilDone(nil)) }},
	}
	for _, kt := range kinds {
		for _, cause := range []error{nil, testkit.NewErr("plain")} {
			t.Run(fmt.Sprintf("%s/%v", kt.name, cause), func(t *testing.T) {
				t.Parallel()
				rec := testkit.NewRecorder()
				parent := core.NewJob(rec.Ctx())
				testkit.CleanupJob(t, parent)
				sibling := core.NewJob(parent.Context())
				job := kt.make(parent.Context())
				job.Cancel(cause)
				if !job.IsCancelled() {
					t.Errorf("IsCancelled() = false after Cancel, want true")
				}
				testkit.MustJoin(t, job)
				testkit.CheckState(t, parent, core.Active)
				testkit.CheckState(t, sibling, core.Active)
				rec.ExpectNone(t)
			})
		}
	}
}

// TestRule6_CancelIsSynchronous checks what holds when Cancel returns on a
// running job: it is Cancelling, its descendants are cancelling, and its
// cancelling handlers (and theirs) have run (API rule 6; kotlinx rule 14).
func TestRule6_CancelIsSynchronous(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	started := make(chan struct{})
	job := core.Launch(context.Background(), func(context.Context) error {
		close(started)
		testkit.Hold(t, release) // ignores the cancellation
		return nil
	})
	child := core.NewJob(job.Context())
	grand := core.Launch(child.Context(), blockUntilDone(nil))
	var jobCancelling, grandCancelling, completions counter
	job.InvokeOnCancelling(func(error) { jobCancelling.inc() })
	grand.InvokeOnCancelling(func(error) { grandCancelling.inc() })
	job.InvokeOnCompletion(func(error) { completions.inc() })
	testkit.WaitChan(t, started, "body to start")

	job.Cancel(nil)
	testkit.CheckState(t, job, core.Cancelling)
	if !child.IsCancelled() || !grand.IsCancelled() {
		t.Errorf("descendants not cancelling when Cancel returned: child %v, grandchild %v", child.State(), grand.State())
	}
	if got := jobCancelling.get(); got != 1 {
		t.Errorf("job's cancelling handler ran %d times when Cancel returned, want 1", got)
	}
	if got := grandCancelling.get(); got != 1 {
		t.Errorf("grandchild's cancelling handler ran %d times when Cancel returned, want 1", got)
	}
	if got := completions.get(); got != 0 {
		t.Errorf("completion handler ran while the body still runs")
	}
	close(release)
	testkit.MustJoin(t, job)
	if got := completions.get(); got != 1 {
		t.Errorf("completion handler ran %d times, want 1", got)
	}
}

// TestRule6_CancelFinalAtOnce checks that a job with nothing left to wait for
// is final when Cancel, Complete or Fail returns (API rule 6; kotlinx rules
// 11, 15; JobTest.testState, testHandler).
func TestRule6_CancelFinalAtOnce(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		make  func() core.Job
		end   func(j core.Job)
		state core.State
	}{
		{"NewJob Cancel", func() core.Job { return core.NewJob(nil) }, func(j core.Job) { j.Cancel(nil) }, core.Cancelled},
		{"NewJob Complete", func() core.Job { return core.NewJob(nil) }, func(j core.Job) { j.(core.CompletableJob).Complete() }, core.Completed},
		{"NewJob Fail", func() core.Job { return core.NewJob(nil) }, func(j core.Job) { j.(core.CompletableJob).Fail(testkit.NewErr("x")) }, core.Cancelled},
		{"NewSupervisorJob Cancel", func() core.Job { return core.NewSupervisorJob(nil) }, func(j core.Job) { j.Cancel(nil) }, core.Cancelled},
		{"NewJob with completed child", func() core.Job {
			j := core.NewJob(nil)
			core.NewJob(j.Context()).Complete()
			return j
		}, func(j core.Job) { j.Cancel(nil) }, core.Cancelled},
		{"lazy Launch Cancel", func() core.Job {
			return core.Launch(nil, func(context.Context) error { return nil }, core.Lazy()) //nolint:staticcheck // nil ctx on purpose
		}, func(j core.Job) { j.Cancel(nil) }, core.Cancelled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			job := tt.make()
			var fired counter
			job.InvokeOnCompletion(func(error) { fired.inc() })
			tt.end(job)
			testkit.CheckState(t, job, tt.state)
			if !testkit.IsClosed(job.Done()) {
				t.Errorf("Done() not closed when the call returned")
			}
			if got := fired.get(); got != 1 {
				t.Errorf("completion handler ran %d times when the call returned, want 1", got)
			}
			job.Cancel(nil) // does nothing
			testkit.CheckState(t, job, tt.state)
			if got := fired.get(); got != 1 {
				t.Errorf("completion handler ran %d times after a second Cancel, want 1", got)
			}
		})
	}
}

// TestRule6_CancelCompletedJobDoesNothing checks that cancelling a completed
// job changes nothing (API rule 6; kotlinx rule 18).
func TestRule6_CancelCompletedJobDoesNothing(t *testing.T) {
	t.Parallel()
	launched := core.Launch(context.Background(), func(context.Context) error { return nil })
	testkit.MustJoin(t, launched)
	bodyless := core.NewJob(nil)
	bodyless.Complete()
	for _, job := range []core.Job{launched, bodyless} {
		var cancelling counter
		job.InvokeOnCancelling(func(error) { cancelling.inc() })
		before := cancelling.get()
		job.Cancel(testkit.NewErr("late"))
		testkit.CheckState(t, job, core.Completed)
		if err := job.Cause(); err != nil {
			t.Errorf("%v.Cause() = %v after a late Cancel, want nil", job, err)
		}
		if got := cancelling.get(); got != before {
			t.Errorf("%v: a late Cancel ran a cancelling handler", job)
		}
	}
}

// TestRule6_SecondCancelKeepsRootCause checks that cancelling a job that is
// already cancelling changes neither its cause nor reruns its handlers
// (API rule 6; kotlinx rule 17).
func TestRule6_SecondCancelKeepsRootCause(t *testing.T) {
	t.Parallel()
	job, release := launchHeld(t, context.Background())
	var mu sync.Mutex
	var causes []error
	job.InvokeOnCancelling(func(err error) { mu.Lock(); causes = append(causes, err); mu.Unlock() })
	first, second := testkit.NewErr("first"), testkit.NewErr("second")
	job.Cancel(first)
	job.Cancel(second)
	close(release)
	testkit.MustJoin(t, job)
	if err := job.Cause(); !errors.Is(err, first) || errors.Is(err, second) {
		t.Errorf("Cause() = %v, want the first cause %v only", err, first)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(causes) != 1 || !errors.Is(causes[0], first) {
		t.Errorf("cancelling handler got %v, want one call with %v", causes, first)
	}
}

// TestRule6_CancelChildren checks that CancelChildren cancels the current
// children with the cause and leaves the job itself active (API: CancelChildren;
// kotlinx rule 36).
func TestRule6_CancelChildren(t *testing.T) {
	t.Parallel()
	rec := testkit.NewRecorder()
	parent := core.NewJob(rec.Ctx())
	testkit.CleanupJob(t, parent)
	started := make(chan struct{})
	c1 := core.Launch(parent.Context(), blockUntilDone(started))
	c2 := core.NewJob(parent.Context())
	grand := core.NewJob(c2.Context())
	testkit.WaitChan(t, started, "child to start")
	why := testkit.NewErr("why")
	parent.CancelChildren(why)
	for _, c := range []core.Job{c1, c2, grand} {
		if !c.IsCancelled() {
			t.Errorf("%v.IsCancelled() = false after CancelChildren, want true", c)
		}
	}
	testkit.CheckState(t, parent, core.Active)
	testkit.MustJoin(t, c1)
	for _, c := range []core.Job{c1, c2, grand} {
		if err := c.Cause(); !core.IsCancellation(err) || !errors.Is(err, why) {
			t.Errorf("%v.Cause() = %v, want a cancellation wrapping %v", c, err, why)
		}
	}
	later := core.NewJob(parent.Context())
	testkit.CheckState(t, later, core.Active)
	parent.CancelChildren(nil)
	if !later.IsCancelled() {
		t.Errorf("IsCancelled() = false for a child after CancelChildren(nil), want true")
	}
	testkit.MustJoin(t, later)
	wantCancellation(t, later.Cause())
	if !parent.Complete() {
		t.Errorf("parent.Complete() = false, want true")
	}
	testkit.MustJoin(t, parent)
	testkit.CheckState(t, parent, core.Completed)
	rec.ExpectNone(t)
}

// TestJob_CancelAndJoinParentWaitsChildren ports kotlinx
// JobTest.testCancelAndJoinParentWaitChildren: a cancelled body-less parent
// stays Cancelling until its child's cleanup ran (API rules 5, 6).
func TestJob_CancelAndJoinParentWaitsChildren(t *testing.T) {
	t.Parallel()
	parent := core.NewJob(nil)
	started := make(chan struct{})
	release := make(chan struct{})
	var cleanedUp atomic.Bool
	core.Launch(parent.Context(), func(ctx context.Context) error {
		close(started)
		<-ctx.Done()
		testkit.Hold(t, release)
		cleanedUp.Store(true)
		return ctx.Err()
	})
	testkit.WaitChan(t, started, "child to start")
	parent.Cancel(nil)
	testkit.CheckState(t, parent, core.Cancelling)
	close(release)
	if err := call(t, "Join", func() error { return parent.Join(context.Background()) }); err != nil {
		t.Fatalf("Join(ctx) = %v, want nil", err)
	}
	if !cleanedUp.Load() {
		t.Errorf("parent's Join returned before the child's cleanup ran")
	}
	testkit.CheckState(t, parent, core.Cancelled)
}

// TestJob_IncompleteJobState ports kotlinx JobTest.testIncompleteJobState and
// testChildrenWithIncompleteState: a job whose body registered a handler on
// itself ends Completed with no children (API rules 1, 10).
func TestJob_IncompleteJobState(t *testing.T) {
	t.Parallel()
	job := core.Launch(context.Background(), func(ctx context.Context) error {
		core.JobOf(ctx).InvokeOnCompletion(func(error) {})
		return nil
	})
	testkit.MustJoin(t, job)
	testkit.CheckState(t, job, core.Completed)
	if got := children(job); len(got) != 0 {
		t.Errorf("Children() = %v, want none", got)
	}
}

// ---------------------------------------------------------------------------
// Rule 7: failure goes up.

// TestRule7_FailureCancelsParentAndSiblings checks that a failing child
// cancels its parent with the failure itself and the siblings with a
// cancellation caused by it (API rule 7; kotlinx rules 28, 29;
// CoroutinesTest.testCancelParentOnChildException).
func TestRule7_FailureCancelsParentAndSiblings(t *testing.T) {
	t.Parallel()
	rec := testkit.NewRecorder()
	rootStarted, sibStarted := make(chan struct{}), make(chan struct{})
	root := core.Launch(rec.Ctx(), blockUntilDone(rootStarted))
	testkit.WaitChan(t, rootStarted, "root body to start")
	sibling := core.Launch(root.Context(), blockUntilDone(sibStarted))
	bodyless := core.NewJob(root.Context())
	testkit.WaitChan(t, sibStarted, "sibling to start")
	failure := testkit.NewErr("child")
	failing := core.Launch(root.Context(), func(context.Context) error { return failure })
	testkit.MustJoin(t, root)

	for _, j := range []core.Job{root, sibling, bodyless, failing} {
		testkit.CheckState(t, j, core.Cancelled)
	}
	err := root.Cause()
	if !errors.Is(err, failure) || core.IsCancellation(err) || multiErrors(err) != nil {
		t.Errorf("root.Cause() = %v, want the failure %v itself", err, failure)
	}
	for _, j := range []core.Job{sibling, bodyless} {
		if err := j.Cause(); !core.IsCancellation(err) || !errors.Is(err, failure) {
			t.Errorf("%v.Cause() = %v, want a cancellation caused by %v", j, err, failure)
		}
	}
	rec.ExpectOne(t, failure)
}

// TestRule7_RealFailureBeatsCancellation ports kotlinx
// JobExceptionHandlingTest.testExceptionDuringCancellation: a job cancelled
// first whose child then fails ends with the failure, which is reported
// (API rules 7, 9; kotlinx rule 25).
func TestRule7_RealFailureBeatsCancellation(t *testing.T) {
	t.Parallel()
	rec := testkit.NewRecorder()
	rootStarted, childStarted := make(chan struct{}), make(chan struct{})
	release := make(chan struct{})
	root := core.Launch(rec.Ctx(), blockUntilDone(rootStarted))
	testkit.WaitChan(t, rootStarted, "root body to start")
	failure := testkit.NewErr("late")
	core.Launch(root.Context(), func(context.Context) error {
		close(childStarted)
		testkit.Hold(t, release)
		return failure
	})
	testkit.WaitChan(t, childStarted, "child to start")
	root.Cancel(nil)
	close(release)
	testkit.MustJoin(t, root)
	if err := root.Cause(); !errors.Is(err, failure) || core.IsCancellation(err) {
		t.Errorf("root.Cause() = %v, want the failure %v", err, failure)
	}
	rec.ExpectOne(t, failure)
}

// TestRule7_Aggregation ports kotlinx
// JobExceptionHandlingTest.testMultipleChildrenThrowAtomically: the first
// failure comes first, later ones follow in arrival order, cancellations are
// not attached (API rule 7; kotlinx rules 22-24).
func TestRule7_Aggregation(t *testing.T) {
	t.Parallel()
	rec := testkit.NewRecorder()
	rootStarted := make(chan struct{})
	root := core.Launch(rec.Ctx(), blockUntilDone(rootStarted))
	testkit.WaitChan(t, rootStarted, "root body to start")
	e1, e2, e3, eCancel := testkit.NewErr("1"), testkit.NewErr("2"), testkit.NewErr("3"), testkit.NewErr("cancel cause")

	late := func(release chan struct{}, err error) (core.Job, chan struct{}) {
		started := make(chan struct{})
		j := core.Launch(root.Context(), func(context.Context) error {
			close(started)
			testkit.Hold(t, release) // ignores the cancellation
			return err
		})
		return j, started
	}
	r2, r3, r4 := make(chan struct{}), make(chan struct{}), make(chan struct{})
	c2, s2 := late(r2, e2)
	c3, s3 := late(r3, e3)
	c4, s4 := late(r4, &core.CancellationError{Message: "gave up", Cause: eCancel})
	c5started := make(chan struct{})
	core.Launch(root.Context(), blockUntilDone(c5started))
	for _, s := range []chan struct{}{s2, s3, s4, c5started} {
		testkit.WaitChan(t, s, "child to start")
	}

	c1 := core.Launch(root.Context(), func(context.Context) error { return e1 })
	testkit.WaitDone(t, c1)
	close(r2)
	testkit.WaitDone(t, c2)
	close(r3)
	testkit.WaitDone(t, c3)
	close(r4)
	testkit.WaitDone(t, c4)
	testkit.MustJoin(t, root)

	err := root.Cause()
	checkAggregate(t, "root.Cause()", err, e1, e2, e3)
	if errors.Is(err, eCancel) {
		t.Errorf("root.Cause() = %v, want the cancellation of a child not attached", err)
	}
	checkAggregate(t, "reported error", rec.ExpectOne(t, e1), e1, e2, e3)
}

// checkAggregate checks that err is the aggregate of want, in that order.
func checkAggregate(t *testing.T, what string, err error, want ...error) {
	t.Helper()
	for _, w := range want {
		if !errors.Is(err, w) {
			t.Errorf("%s = %v, want it to include %v", what, err, w)
		}
	}
	if core.IsCancellation(err) {
		t.Errorf("IsCancellation(%s) = true, want false: %v", what, err)
	}
	if err != nil && !strings.HasPrefix(err.Error(), want[0].Error()) {
		t.Errorf("%s.Error() = %q, want it to start with %q", what, err.Error(), want[0].Error())
	}
	errs := multiErrors(err)
	if len(errs) != len(want) {
		t.Fatalf("%s.Unwrap() = %v, want %d errors %v", what, errs, len(want), want)
	}
	for i, w := range want {
		if !errors.Is(errs[i], w) {
			t.Errorf("%s.Unwrap()[%d] = %v, want %v", what, i, errs[i], w)
		}
	}
}

// TestRule7_BodyFailureAfterChildFailure ports kotlinx
// JobExceptionHandlingTest.testMultipleChildrenAndParentThrowsAtomic in
// arrival order: a child's failure first, then the body's own (API rule 7).
func TestRule7_BodyFailureAfterChildFailure(t *testing.T) {
	t.Parallel()
	rec := testkit.NewRecorder()
	eChild, eBody := testkit.NewErr("child"), testkit.NewErr("body")
	started := make(chan struct{})
	release := make(chan struct{})
	root := core.Launch(rec.Ctx(), func(context.Context) error {
		close(started)
		testkit.Hold(t, release) // ignores the cancellation
		return eBody
	})
	testkit.WaitChan(t, started, "root body to start")
	child := core.Launch(root.Context(), func(context.Context) error { return eChild })
	testkit.WaitDone(t, child)
	if !root.IsCancelled() {
		t.Errorf("root.IsCancelled() = false after its child failed, want true")
	}
	close(release)
	testkit.MustJoin(t, root)
	checkAggregate(t, "root.Cause()", root.Cause(), eChild, eBody)
	checkAggregate(t, "reported error", rec.ExpectOne(t, eChild), eChild, eBody)
}

// TestRule7_CancelledChildDoesNotAffectParent checks that a child that ends
// cancelled (by Cancel or by returning a cancellation) affects neither the
// parent nor its siblings (API rule 7; kotlinx rule 31).
func TestRule7_CancelledChildDoesNotAffectParent(t *testing.T) {
	t.Parallel()
	rec := testkit.NewRecorder()
	parent, release := launchHeld(t, rec.Ctx())
	sibling := core.Launch(parent.Context(), blockUntilDone(nil))
	cancelled := core.Launch(parent.Context(), blockUntilDone(nil))
	cancelled.Cancel(testkit.NewErr("only me"))
	giveUp := core.Launch(parent.Context(), func(context.Context) error {
		return &core.CancellationError{Message: "gave up"}
	})
	bodyless := core.NewJob(parent.Context())
	bodyless.Cancel(nil)
	for _, j := range []core.Job{cancelled, giveUp, bodyless} {
		testkit.MustJoin(t, j)
		testkit.CheckState(t, j, core.Cancelled)
	}
	testkit.CheckState(t, parent, core.Active)
	testkit.CheckState(t, sibling, core.Active)
	sibling.Cancel(nil)
	close(release)
	testkit.MustJoin(t, parent)
	testkit.CheckState(t, parent, core.Completed)
	rec.ExpectNone(t)
}

// TestRule7_FailureClimbsChain checks that a failure travels up every level,
// unwrapped, and is reported once by the root (API rules 7, 9; kotlinx rule
// 33; CoroutinesTest.testCancelParentOnNestedException).
func TestRule7_FailureClimbsChain(t *testing.T) {
	t.Parallel()
	rec := testkit.NewRecorder()
	failure := testkit.NewErr("deep")
	jobs := make(chan core.Job, 3)
	root := core.Launch(rec.Ctx(), func(ctx context.Context) error {
		jobs <- core.Launch(ctx, func(ctx context.Context) error {
			mid := core.NewJob(ctx)
			jobs <- mid
			jobs <- core.Launch(mid.Context(), func(context.Context) error { return failure })
			<-ctx.Done()
			return ctx.Err()
		})
		<-ctx.Done()
		return ctx.Err()
	})
	testkit.MustJoin(t, root)
	all := []core.Job{root, <-jobs, <-jobs, <-jobs}
	for _, j := range all {
		testkit.CheckState(t, j, core.Cancelled)
		if err := j.Cause(); !errors.Is(err, failure) || core.IsCancellation(err) {
			t.Errorf("%v.Cause() = %v, want the failure %v unwrapped", j, err, failure)
		}
	}
	rec.ExpectOne(t, failure)
}

// ---------------------------------------------------------------------------
// Rule 11: Join.

// TestRule11_JoinReturnsNilWhateverTheOutcome ports kotlinx FailedJobTest:
// Join returns nil for completed, cancelled and failed jobs (API rule 11;
// kotlinx rule 53).
func TestRule11_JoinReturnsNilWhateverTheOutcome(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		make func(ctx context.Context) core.Job
	}{
		{"completed", func(ctx context.Context) core.Job {
			return core.Launch(ctx, func(context.Context) error { return nil })
		}},
		{"cancelled", func(ctx context.Context) core.Job {
			j := core.Launch(ctx, blockUntilDone(nil))
			j.Cancel(nil)
			return j
		}},
		{"failed", func(ctx context.Context) core.Job {
			return core.Launch(ctx, func(context.Context) error { return testkit.NewErr("x") })
		}},
		{"panicked", func(ctx context.Context) core.Job {
			return core.Launch(ctx, func(context.Context) error { panic("x") })
		}},
		{"failed NewJob", func(ctx context.Context) core.Job {
			j := core.NewJob(ctx)
			j.Fail(testkit.NewErr("x"))
			return j
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := testkit.NewRecorder()
			job := tt.make(rec.Ctx())
			for i := range 2 {
				if err := call(t, "Join", func() error { return job.Join(context.Background()) }); err != nil {
					t.Errorf("Join(ctx) #%d = %v, want nil", i, err)
				}
			}
			if !job.IsCompleted() {
				t.Errorf("IsCompleted() = false after Join returned")
			}
		})
	}
}

// TestRule11_JoinWithDoneContext checks that Join reports a done ctx as a
// *CancellationError with the ctx's cause, even for a complete job, and
// leaves the job alone (API rule 11; kotlinx rule 54).
func TestRule11_JoinWithDoneContext(t *testing.T) {
	t.Parallel()
	why := testkit.NewErr("caller gave up")
	own := &core.CancellationError{Message: "caller cancelled"}
	causes := []struct {
		name  string
		done  func() context.Context
		check func(t *testing.T, err error)
	}{
		{"WithCancel", func() context.Context {
			ctx, stop := context.WithCancel(context.Background())
			stop()
			return ctx
		}, func(t *testing.T, err error) {
			ce := testkit.CancellationOf(t, "Join(ctx)", err)
			if !errors.Is(ce.Cause, context.Canceled) {
				t.Errorf("Join(ctx) cause = %v, want %v", ce.Cause, context.Canceled)
			}
		}},
		{"WithCancelCause", func() context.Context {
			ctx, stop := context.WithCancelCause(context.Background())
			stop(why)
			return ctx
		}, func(t *testing.T, err error) {
			ce := testkit.CancellationOf(t, "Join(ctx)", err)
			if !errors.Is(ce.Cause, why) {
				t.Errorf("Join(ctx) cause = %v, want %v", ce.Cause, why)
			}
		}},
		{"cause is a CancellationError", func() context.Context {
			ctx, stop := context.WithCancelCause(context.Background())
			stop(own)
			return ctx
		}, func(t *testing.T, err error) {
			if ce := testkit.CancellationOf(t, "Join(ctx)", err); ce != own {
				t.Errorf("Join(ctx) = %v, want the ctx's *CancellationError itself", err)
			}
		}},
		{"cancelled caller job", func() context.Context {
			caller := core.NewJob(nil)
			caller.Cancel(why)
			return caller.Context()
		}, func(t *testing.T, err error) {
			testkit.CancellationOf(t, "Join(ctx)", err)
			if !errors.Is(err, why) {
				t.Errorf("Join(ctx) = %v, want it to carry %v", err, why)
			}
		}},
	}
	jobs := []struct {
		name  string
		make  func() core.Job
		state core.State
	}{
		{"active", func() core.Job { return core.NewJob(nil) }, core.Active},
		{"completed", func() core.Job { j := core.NewJob(nil); j.Complete(); return j }, core.Completed},
	}
	for _, jt := range jobs {
		for _, ct := range causes {
			t.Run(jt.name+"/"+ct.name, func(t *testing.T) {
				t.Parallel()
				job := jt.make()
				defer job.Cancel(nil)
				err := call(t, "Join", func() error { return job.Join(ct.done()) })
				if !core.IsCancellation(err) {
					t.Fatalf("Join(ctx) = %v, want a cancellation", err)
				}
				ct.check(t, err)
				testkit.CheckState(t, job, jt.state)
			})
		}
	}
}

// TestRule11_JoinCtxDoneWhileWaiting checks that a waiting Join returns when
// its ctx is cancelled and does not cancel the job (API rule 11).
func TestRule11_JoinCtxDoneWhileWaiting(t *testing.T) {
	t.Parallel()
	job := core.NewJob(nil)
	testkit.CleanupJob(t, job)
	ctx, stop := context.WithCancelCause(context.Background())
	why := testkit.NewErr("gave up")
	res := make(chan error, 1)
	go func() { res <- job.Join(ctx) }() // ends when ctx is cancelled
	stop(why)
	var err error
	select {
	case err = <-res:
	case <-time.After(testkit.WaitTimeout(t)):
		t.Fatalf("Join did not return after its ctx was cancelled\n%s", testkit.GoroutineDump())
	}
	ce := testkit.CancellationOf(t, "Join(ctx)", err)
	if !errors.Is(ce.Cause, why) {
		t.Errorf("Join(ctx) = %v, want a cancellation caused by %v", err, why)
	}
	testkit.CheckState(t, job, core.Active)
}

// TestRule11_JoinCycle checks that joining a job from inside itself or a
// descendant returns ErrJoinCycle at once instead of deadlocking, while
// joining a child from its parent works (API rule 11; kotlinx section 4).
func TestRule11_JoinCycle(t *testing.T) {
	t.Parallel()
	type key struct{}
	tests := []struct {
		name string
		// body runs in job, returns what the Join inside returned.
		body func(ctx context.Context, job core.Job) error
	}{
		{"self", func(ctx context.Context, job core.Job) error { return job.Join(ctx) }},
		{"self derived ctx", func(ctx context.Context, job core.Job) error {
			return job.Join(context.WithValue(ctx, key{}, 1))
		}},
		{"child", func(ctx context.Context, job core.Job) error {
			res := make(chan error, 1)
			mustJoinQuiet(core.Launch(ctx, func(ctx context.Context) error { res <- job.Join(ctx); return nil }))
			return <-res
		}},
		{"grandchild of NewJob", func(ctx context.Context, job core.Job) error {
			mid := core.NewJob(ctx)
			defer mid.Complete()
			res := make(chan error, 1)
			mustJoinQuiet(core.Launch(mid.Context(), func(ctx context.Context) error { res <- job.Join(ctx); return nil }))
			return <-res
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			jobCh := make(chan core.Job, 1)
			res := make(chan error, 1)
			job := core.Launch(context.Background(), func(ctx context.Context) error {
				res <- tt.body(ctx, <-jobCh)
				return nil
			})
			jobCh <- job
			testkit.CleanupJob(t, job)
			var err error
			select {
			case err = <-res:
			case <-time.After(testkit.WaitTimeout(t)):
				t.Fatalf("Join from inside the job did not return\n%s", testkit.GoroutineDump())
			}
			if !errors.Is(err, core.ErrJoinCycle) {
				t.Errorf("Join(ctx) = %v, want %v", err, core.ErrJoinCycle)
			}
			testkit.MustJoin(t, job)
			testkit.CheckState(t, job, core.Completed)
		})
	}
}

// mustJoinQuiet joins j without a test handle (inside job bodies).
func mustJoinQuiet(j core.Job) { _ = j.Join(context.Background()) }

// TestRule11_ParentJoinsChild checks that a body may join its own children
// and other jobs: that is no cycle (API rule 11).
func TestRule11_ParentJoinsChild(t *testing.T) {
	t.Parallel()
	other := core.NewJob(nil)
	res := make(chan error, 2)
	job := core.Launch(context.Background(), func(ctx context.Context) error {
		child := core.Launch(ctx, func(context.Context) error { return nil })
		res <- child.Join(ctx)
		res <- other.Join(ctx)
		return nil
	})
	other.Complete()
	testkit.MustJoin(t, job)
	for range 2 {
		if err := <-res; err != nil {
			t.Errorf("Join(ctx) = %v, want nil", err)
		}
	}
}

// TestRule11_JoinAll checks JoinAll: nil whatever the outcomes, starts lazy
// jobs, accepts duplicates and no jobs, and reports a done ctx (API rule 11;
// kotlinx rule 56, AwaitTest.testJoinAll*).
func TestRule11_JoinAll(t *testing.T) {
	t.Parallel()
	rec := testkit.NewRecorder()
	var lazyRan atomic.Bool
	lazy := core.Launch(rec.Ctx(), func(context.Context) error { lazyRan.Store(true); return nil }, core.Lazy())
	failed := core.Launch(rec.Ctx(), func(context.Context) error { return testkit.NewErr("x") })
	cancelled := core.Launch(rec.Ctx(), blockUntilDone(nil))
	cancelled.Cancel(nil)
	bodyless := core.NewJob(nil)
	release := make(chan struct{})
	slow := core.Launch(rec.Ctx(), func(context.Context) error { testkit.Hold(t, release); return nil })
	go func() { bodyless.Complete(); close(release) }() // ends at once

	err := call(t, "JoinAll", func() error {
		return core.JoinAll(context.Background(), lazy, failed, cancelled, bodyless, slow, lazy)
	})
	if err != nil {
		t.Errorf("JoinAll(ctx, ...) = %v, want nil", err)
	}
	for _, j := range []core.Job{lazy, failed, cancelled, bodyless, slow} {
		if !j.IsCompleted() {
			t.Errorf("%v not completed after JoinAll returned", j)
		}
	}
	if !lazyRan.Load() {
		t.Errorf("JoinAll did not start the lazy job")
	}
	if err := call(t, "JoinAll", func() error { return core.JoinAll(context.Background()) }); err != nil {
		t.Errorf("JoinAll(ctx) with no jobs = %v, want nil", err)
	}

	pending := core.NewJob(nil)
	defer pending.Cancel(nil)
	ctx, stop := context.WithCancelCause(context.Background())
	why := testkit.NewErr("why")
	stop(why)
	err = call(t, "JoinAll", func() error { return core.JoinAll(ctx, pending) })
	if ce := testkit.CancellationOf(t, "JoinAll(done ctx)", err); !errors.Is(ce.Cause, why) {
		t.Errorf("JoinAll(ctx) = %v, want a cancellation caused by %v", err, why)
	}
	testkit.CheckState(t, pending, core.Active)
}

// ---------------------------------------------------------------------------
// Misuse, options, String.

// TestJob_MisusePanics checks the deliberate "core: " panics for nil
// functions and Fail(nil) (API; STYLE 6, 11).
func TestJob_MisusePanics(t *testing.T) {
	t.Parallel()
	job := core.NewJob(nil)
	defer job.Cancel(nil)
	expectPanic(t, "Launch(ctx, nil)", func() { core.Launch(context.Background(), nil) })
	expectPanic(t, "Scope(ctx, nil)", func() { _ = core.Scope(context.Background(), nil) })
	expectPanic(t, "SupervisorScope(ctx, nil)", func() { _ = core.SupervisorScope(context.Background(), nil) })
	expectPanic(t, "InvokeOnCompletion(nil)", func() { job.InvokeOnCompletion(nil) })
	expectPanic(t, "InvokeOnCancelling(nil)", func() { job.InvokeOnCancelling(nil) })
	expectPanic(t, "Fail(nil)", func() { job.Fail(nil) })
	expectPanic(t, "WithExceptionHandler(ctx, nil)", func() { core.WithExceptionHandler(context.Background(), nil) })
	testkit.CheckState(t, job, core.Active)
}

// TestJob_String checks that String names the job and its state (API:
// String, option Named).
func TestJob_String(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	job := core.Launch(context.Background(), func(context.Context) error {
		testkit.Hold(t, release)
		return nil
	}, core.Named("fetch"), core.Lazy())
	if s := job.String(); !strings.Contains(s, "fetch") || !strings.Contains(s, "New") {
		t.Errorf("String() = %q, want it to contain %q and %q", s, "fetch", "New")
	}
	job.Start()
	if s := job.String(); !strings.Contains(s, "fetch") || !strings.Contains(s, "Active") {
		t.Errorf("String() = %q, want it to contain %q and %q", s, "fetch", "Active")
	}
	close(release)
	testkit.MustJoin(t, job)
	if s := job.String(); !strings.Contains(s, "Completed") {
		t.Errorf("String() = %q, want it to contain %q", s, "Completed")
	}
}

// ---------------------------------------------------------------------------
// Rule 15: concurrency (hammer tests, run them with -race).

// TestRule15_CompleteFailCancelRace races Complete, Fail and Cancel on
// body-less jobs: at most one of Complete/Fail wins, and the final state
// matches the winner (API rules 12, 15).
func TestRule15_CompleteFailCancelRace(t *testing.T) {
	t.Parallel()
	for i := range 300 {
		job := core.NewJob(nil)
		var fired counter
		job.InvokeOnCompletion(func(error) { fired.inc() })
		failure := testkit.NewErr("fail")
		gate := make(chan struct{})
		var completed, failed atomic.Bool
		var wg sync.WaitGroup
		goWG(&wg, func() { <-gate; completed.Store(job.Complete()) })
		goWG(&wg, func() { <-gate; failed.Store(job.Fail(failure)) })
		goWG(&wg, func() { <-gate; job.Cancel(nil) })
		close(gate)
		wg.Wait()
		if completed.Load() && failed.Load() {
			t.Fatalf("iteration %d: both Complete and Fail returned true", i)
		}
		if !job.IsCompleted() {
			t.Fatalf("iteration %d: job not final after Complete/Fail/Cancel returned: %v", i, job.State())
		}
		switch {
		case completed.Load():
			if job.State() != core.Completed || job.Cause() != nil {
				t.Fatalf("iteration %d: Complete won but State() = %v, Cause() = %v", i, job.State(), job.Cause())
			}
		case failed.Load():
			if job.State() != core.Cancelled || !errors.Is(job.Cause(), failure) {
				t.Fatalf("iteration %d: Fail won but State() = %v, Cause() = %v", i, job.State(), job.Cause())
			}
		default:
			if job.State() != core.Cancelled || !core.IsCancellation(job.Cause()) {
				t.Fatalf("iteration %d: Cancel won but State() = %v, Cause() = %v", i, job.State(), job.Cause())
			}
		}
		if got := fired.get(); got != 1 {
			t.Fatalf("iteration %d: completion handler ran %d times, want 1", i, got)
		}
	}
}

// TestRule15_CancelVersusBodyEnd races Cancel against a body that returns at
// once: the job ends either Completed with no cause or Cancelled with a
// cancellation, and runs its handlers once (API rules 6, 10, 15).
func TestRule15_CancelVersusBodyEnd(t *testing.T) {
	t.Parallel()
	for i := range 300 {
		job := core.Launch(context.Background(), func(context.Context) error { return nil })
		var fired counter
		job.InvokeOnCompletion(func(error) { fired.inc() })
		job.Cancel(nil)
		testkit.MustJoin(t, job)
		switch job.State() {
		case core.Completed:
			if err := job.Cause(); err != nil {
				t.Fatalf("iteration %d: Completed with Cause() = %v", i, err)
			}
		case core.Cancelled:
			if err := job.Cause(); !core.IsCancellation(err) {
				t.Fatalf("iteration %d: Cancelled with Cause() = %v, want a cancellation", i, err)
			}
		default:
			t.Fatalf("iteration %d: State() = %v after Join", i, job.State())
		}
		if got := fired.get(); got != 1 {
			t.Fatalf("iteration %d: completion handler ran %d times, want 1", i, got)
		}
	}
}

// TestRule15_ChildAttachVersusCancel creates children from several goroutines
// while the parent is cancelled: no child is lost — each ends Cancelled and
// the parent completes only after all attached children (API rules 4, 6, 15;
// kotlinx JobChildStressTest.testChildAttachmentRacingWithCancellation).
func TestRule15_ChildAttachVersusCancel(t *testing.T) {
	t.Parallel()
	for i := range 50 {
		parent := core.NewJob(nil)
		const creators, perCreator = 4, 10
		gate := make(chan struct{})
		var mu sync.Mutex
		var kids []core.Job
		var wg sync.WaitGroup
		for c := range creators {
			goWG(&wg, func() {
				<-gate
				for k := range perCreator {
					var j core.Job
					if (c+k)%2 == 0 {
						j = core.Launch(parent.Context(), blockUntilDone(nil))
					} else {
						j = core.NewJob(parent.Context())
					}
					mu.Lock()
					kids = append(kids, j)
					mu.Unlock()
				}
			})
		}
		close(gate)
		parent.Cancel(nil)
		wg.Wait()
		testkit.MustJoin(t, parent)
		for _, k := range kids {
			testkit.MustJoin(t, k)
			if !k.IsCancelled() {
				t.Fatalf("iteration %d: child %v ended %v, want Cancelled", i, k, k.State())
			}
		}
		if got := children(parent); len(got) != 0 {
			t.Fatalf("iteration %d: parent.Children() = %v after completion, want none", i, got)
		}
	}
}

// TestRule15_ChildAttachVersusLastChildCompletion races the creation of a new
// child against the completion of the last child of a Completing parent:
// either the new child is attached and awaited, or it starts Cancelled
// (API rules 4, 5, 15; kotlinx
// JobChildStressTest.testChildAttachmentRacingWithLastChildCompletion).
func TestRule15_ChildAttachVersusLastChildCompletion(t *testing.T) {
	t.Parallel()
	for i := range 300 {
		parent := core.NewJob(nil)
		last := core.NewJob(parent.Context())
		parent.Complete()
		gate := make(chan struct{})
		newChild := make(chan core.CompletableJob, 1)
		var wg sync.WaitGroup
		goWG(&wg, func() { <-gate; last.Complete() })
		goWG(&wg, func() { <-gate; newChild <- core.NewJob(parent.Context()) })
		close(gate)
		wg.Wait()
		child := <-newChild
		if child.IsCompleted() {
			// Created too late: the parent is, or is about to be, done.
			testkit.CheckState(t, child, core.Cancelled)
			testkit.MustJoin(t, parent)
			testkit.CheckState(t, parent, core.Completed)
			continue
		}
		if parent.IsCompleted() {
			t.Fatalf("iteration %d: parent completed while its new child %v is active", i, child)
		}
		if got := child.Parent(); got != core.Job(parent) {
			t.Fatalf("iteration %d: active child's Parent() = %v, want %v", i, got, parent)
		}
		child.Complete()
		testkit.MustJoin(t, parent)
		testkit.CheckState(t, parent, core.Completed)
	}
}
