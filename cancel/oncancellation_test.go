package cancel_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jobtree/jobtree/async"
	"github.com/jobtree/jobtree/cancel"
	"github.com/jobtree/jobtree/core"
	"github.com/jobtree/jobtree/internal/testkit"
)

// blockCall is what block saw when it ran.
type blockCall struct {
	cause error
	value any
	done  bool // ctx.Done() != nil
	job   core.Job
}

// recordingBlock returns a block that sends what it saw on calls, then
// holds until release is closed (nil: returns at once) and returns ret.
func recordingBlock(t testing.TB, calls chan<- blockCall, release chan struct{}, ret error) func(context.Context, error) error {
	return func(ctx context.Context, cause error) error {
		calls <- blockCall{cause: cause, value: ctx.Value(valueKey{}), done: ctx.Done() != nil, job: core.JobOf(ctx)}
		if release != nil {
			testkit.Hold(t, release)
		}
		return ret
	}
}

// deferredJob returns the job of a deferred: what JobOf finds for its
// context, and what its parent lists among its children.
func deferredJob(d async.CompletableDeferred[struct{}]) core.Job { return core.JobOf(d.Context()) }

// block runs when the job is cancelled; the job (and the deferred) complete
// only once block has returned.
func TestLaunchOnCancellationRunsOnJobCancel(t *testing.T) {
	t.Parallel()
	rec := testkit.NewRecorder()
	job := core.NewJob(context.WithValue(rec.Ctx(), valueKey{}, "kept"))
	calls := make(chan blockCall, 2)
	release := make(chan struct{})
	d := cancel.LaunchOnCancellation(job, recordingBlock(t, calls, release, nil))
	if p := deferredJob(d).Parent(); p != job {
		t.Errorf("the deferred's parent = %v, want %v", p, job)
	}
	errQuit := testkit.NewErr("quit")
	job.Cancel(errQuit)
	c := testkit.WaitChan(t, calls, "block")
	if !errors.Is(c.cause, errQuit) || !core.IsCancellation(c.cause) {
		t.Errorf("block's cause = %v, want a cancellation carrying %v", c.cause, errQuit)
	}
	if c.value != "kept" || c.done || c.job != nil {
		t.Errorf("block's ctx: Value = %v, Done != nil = %v, JobOf = %v; want %q, false, nil", c.value, c.done, c.job, "kept")
	}
	if d.IsCompleted() || job.IsCompleted() {
		t.Errorf("while block runs: deferred %v, job %v; want both still cancelling", d.State(), job.State())
	}
	close(release)
	testkit.MustJoin(t, job)
	if d.State() != core.Cancelled || job.State() != core.Cancelled {
		t.Errorf("after block returned: deferred %v, job %v; want Cancelled, Cancelled", d.State(), job.State())
	}
	if len(calls) != 0 {
		t.Errorf("block ran more than once")
	}
	if errs := rec.Errors(); len(errs) != 0 {
		t.Errorf("exception handler got %v, want nothing", errs)
	}
}

// block runs when the returned deferred is cancelled; the job stays active.
func TestLaunchOnCancellationRunsOnDeferredCancel(t *testing.T) {
	t.Parallel()
	job := core.NewJob(nil)
	calls := make(chan blockCall, 2)
	release := make(chan struct{})
	d := cancel.LaunchOnCancellation(job, recordingBlock(t, calls, release, nil))
	errStop := testkit.NewErr("stop")
	d.Cancel(errStop)
	c := testkit.WaitChan(t, calls, "block")
	if !errors.Is(c.cause, errStop) {
		t.Errorf("block's cause = %v, want a cancellation carrying %v", c.cause, errStop)
	}
	if d.IsCompleted() {
		t.Errorf("while block runs the deferred is %v, want not complete", d.State())
	}
	close(release)
	testkit.MustJoin(t, d)
	if got := d.State(); got != core.Cancelled {
		t.Errorf("deferred is %v, want Cancelled", got)
	}
	if !job.IsActive() {
		t.Errorf("job is %v, want Active: a cancelled child does not cancel its parent", job.State())
	}
	job.Complete()
	testkit.MustJoin(t, job)
	if got := job.State(); got != core.Completed {
		t.Errorf("job is %v, want Completed", got)
	}
	if len(calls) != 0 {
		t.Errorf("block ran more than once")
	}
}

// Fail on the deferred is a cancellation of it too (and, being a failure,
// cancels job).
func TestLaunchOnCancellationRunsOnDeferredFail(t *testing.T) {
	t.Parallel()
	job := core.NewJob(nil)
	calls := make(chan blockCall, 2)
	d := cancel.LaunchOnCancellation(job, recordingBlock(t, calls, nil, nil))
	errBoom := testkit.NewErr("boom")
	if !d.Fail(errBoom) {
		t.Fatalf("Fail = false, want true")
	}
	if c := testkit.WaitChan(t, calls, "block"); !errors.Is(c.cause, errBoom) {
		t.Errorf("block's cause = %v, want %v", c.cause, errBoom)
	}
	testkit.MustJoin(t, job)
	if !errors.Is(job.Cause(), errBoom) {
		t.Errorf("job's cause = %v, want %v (the deferred's failure)", job.Cause(), errBoom)
	}
}

// Once the deferred is completed, block never runs: neither on the job's
// normal completion nor on its cancellation.
func TestLaunchOnCancellationNotAfterComplete(t *testing.T) {
	t.Parallel()
	for _, end := range []string{"Complete", "Cancel"} {
		t.Run("job "+end, func(t *testing.T) {
			t.Parallel()
			job := core.NewJob(nil)
			calls := make(chan blockCall, 1)
			d := cancel.LaunchOnCancellation(job, recordingBlock(t, calls, nil, nil))
			if !d.Complete(struct{}{}) {
				t.Fatalf("Complete = false, want true")
			}
			if d.Complete(struct{}{}) {
				t.Errorf("second Complete = true, want false")
			}
			testkit.MustJoin(t, d)
			if got := d.State(); got != core.Completed {
				t.Errorf("deferred is %v, want Completed", got)
			}
			if end == "Complete" {
				job.Complete()
			} else {
				job.Cancel(nil)
			}
			testkit.MustJoin(t, job)
			if len(calls) != 0 {
				t.Errorf("block ran after the deferred was completed")
			}
		})
	}
}

// The deferred is a child: the job cannot complete while it is open.
func TestLaunchOnCancellationHoldsTheJob(t *testing.T) {
	t.Parallel()
	calls := make(chan blockCall, 1)
	t.Run("NewJob", func(t *testing.T) {
		t.Parallel()
		job := core.NewJob(nil)
		d := cancel.LaunchOnCancellation(job, recordingBlock(t, calls, nil, nil))
		job.Complete()
		if got := job.State(); got != core.Completing {
			t.Errorf("job after Complete with the deferred open: %v, want Completing", got)
		}
		d.Complete(struct{}{})
		testkit.MustJoin(t, job)
		if got := job.State(); got != core.Completed {
			t.Errorf("job after the deferred completed: %v, want Completed", got)
		}
	})
	t.Run("Launch", func(t *testing.T) {
		t.Parallel()
		deferreds := make(chan async.CompletableDeferred[struct{}], 1)
		job := core.Launch(context.Background(), func(ctx context.Context) error {
			deferreds <- cancel.LaunchOnCancellation(core.JobOf(ctx), recordingBlock(t, calls, nil, nil))
			return nil // the body is done; the deferred is not
		})
		d := testkit.WaitChan(t, deferreds, "the deferred")
		if job.IsCompleted() {
			t.Errorf("job with the deferred open is %v, want not complete", job.State())
		}
		d.Complete(struct{}{})
		testkit.MustJoin(t, job)
		if got := job.State(); got != core.Completed {
			t.Errorf("job after the deferred completed: %v, want Completed", got)
		}
	})
	t.Cleanup(func() {
		if len(calls) != 0 {
			t.Errorf("block ran, want never")
		}
	})
}

// An error or panic from block goes to the exception handler; it fails
// neither the deferred nor the job.
func TestLaunchOnCancellationBlockFailure(t *testing.T) {
	t.Parallel()
	errBoom := testkit.NewErr("boom")
	for name, block := range map[string]func(context.Context, error) error{
		"error": func(context.Context, error) error { return errBoom },
		"panic": func(context.Context, error) error { panic(errBoom) },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			rec := testkit.NewRecorder()
			job := core.NewJob(rec.Ctx())
			d := cancel.LaunchOnCancellation(job, block)
			d.Cancel(nil)
			testkit.MustJoin(t, d)
			errs := rec.Errors()
			if len(errs) != 1 || !errors.Is(errs[0], errBoom) {
				t.Errorf("exception handler got %v, want exactly %v", errs, errBoom)
			}
			if name == "panic" && !errors.As(errs[0], new(*core.PanicError)) {
				t.Errorf("exception handler got %v, want a *core.PanicError", errs[0])
			}
			if !core.IsCancellation(d.Cause()) {
				t.Errorf("deferred's cause = %v, want its cancellation (block's failure is not its own)", d.Cause())
			}
			if !job.IsActive() {
				t.Errorf("job is %v, want Active", job.State())
			}
			job.Complete()
			testkit.MustJoin(t, job)
		})
	}
}

// On a job that is already cancelled or complete, the deferred is born
// cancelled and block runs at once.
func TestLaunchOnCancellationOnFinishedJob(t *testing.T) {
	t.Parallel()
	for _, end := range []string{"cancelled", "completed"} {
		t.Run(end, func(t *testing.T) {
			t.Parallel()
			job := core.NewJob(nil)
			if end == "cancelled" {
				job.Cancel(nil)
			} else {
				job.Complete()
			}
			calls := make(chan blockCall, 2)
			d := cancel.LaunchOnCancellation(job, recordingBlock(t, calls, nil, nil))
			if !d.IsCancelled() {
				t.Errorf("deferred on a %s job is %v, want cancelled", end, d.State())
			}
			c := testkit.WaitChan(t, calls, "block")
			if !core.IsCancellation(c.cause) {
				t.Errorf("block's cause = %v, want a cancellation", c.cause)
			}
			testkit.MustJoin(t, d)
			// The fallback block runs as a root job; its goroutine ends
			// right after block returns, which goleak waits for.
		})
	}
}

// Complete racing the job's cancellation: block runs exactly when Complete
// lost, and at most once.
func TestLaunchOnCancellationCompleteVersusCancel(t *testing.T) {
	t.Parallel()
	const rounds = 200
	for range rounds {
		job := core.NewJob(nil)
		var ran atomic.Int32
		d := cancel.LaunchOnCancellation(job, func(context.Context, error) error {
			ran.Add(1)
			return nil
		})
		var wg sync.WaitGroup
		var completed atomic.Bool
		gate := make(chan struct{})
		wg.Add(2)
		go func() { // ends after one Complete call
			defer wg.Done()
			<-gate
			completed.Store(d.Complete(struct{}{}))
		}()
		go func() { // ends after one Cancel call
			defer wg.Done()
			<-gate
			job.Cancel(nil)
		}()
		close(gate)
		wg.Wait()
		testkit.MustJoin(t, job) // complete only once the deferred, and so block, is done
		want := int32(1)
		if completed.Load() {
			want = 0
		}
		if got := ran.Load(); got != want {
			t.Fatalf("Complete() = %v, block ran %d times; want %d", completed.Load(), got, want)
		}
	}
}

func TestLaunchOnCancellationNil(t *testing.T) {
	t.Parallel()
	job := core.NewJob(nil)
	defer job.Cancel(nil)
	expectPanic(t, "LaunchOnCancellation(nil, block)", func() {
		cancel.LaunchOnCancellation(nil, func(context.Context, error) error { return nil })
	})
	expectPanic(t, "LaunchOnCancellation(job, nil)", func() { cancel.LaunchOnCancellation(job, nil) })
}
