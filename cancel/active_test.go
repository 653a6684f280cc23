package cancel_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jobtree/jobtree/cancel"
	"github.com/jobtree/jobtree/core"
	"github.com/jobtree/jobtree/internal/testkit"
)

// scopeKey is the key of a value added on top of a job's context: the Go
// shape of kotlinx's CoroutineScope(job + something).
type scopeKey struct{}

// extensionContexts returns the contexts through which JobExtensionsTest
// checks a job: the job's own context, a context derived from it with a
// value (a "scope" over the job), and one derived with an exception
// handler, as the Kotlin test's scope has.
func extensionContexts(j core.Job) map[string]context.Context {
	return map[string]context.Context{
		"job.Context()":           j.Context(),
		"WithValue(job.Context)":  context.WithValue(j.Context(), scopeKey{}, "scope"),
		"WithExceptionHandler(…)": core.WithExceptionHandler(j.Context(), func(error) {}),
	}
}

// Port of kotlinx JobExtensionsTest.testIsActive: an active job, its
// children and contexts over it pass EnsureActive; after CancelAndJoin they
// do not.
func TestEnsureActiveOnActiveJob(t *testing.T) {
	t.Parallel()
	job := core.NewJob(nil)
	testkit.CleanupJob(t, job)
	checked := make(chan error, 3)
	child := core.Launch(job.Context(), func(ctx context.Context) error {
		checked <- cancel.EnsureActive(ctx)
		derived, stop := context.WithCancel(ctx)
		defer stop()
		checked <- cancel.EnsureActive(derived)
		checked <- cancel.EnsureActive(core.JobOf(ctx).Context())
		<-ctx.Done() // kotlinx's delay(Long.MAX_VALUE)
		return ctx.Err()
	})
	for range 3 {
		if err := testkit.WaitChan(t, checked, "the child's checks"); err != nil {
			t.Errorf("EnsureActive inside an active child = %v, want nil", err)
		}
	}
	for name, ctx := range extensionContexts(job) {
		if err := cancel.EnsureActive(ctx); err != nil {
			t.Errorf("EnsureActive(%s) of an active job = %v, want nil", name, err)
		}
		if !cancel.IsActive(ctx) {
			t.Errorf("IsActive(%s) of an active job = false, want true", name)
		}
	}
	if err := cancel.CancelAndJoin(context.Background(), job); err != nil {
		t.Fatalf("CancelAndJoin(ctx, job) = %v, want nil", err)
	}
	if !child.IsCompleted() {
		t.Errorf("after CancelAndJoin the child is %v, want complete", child.State())
	}
	for name, ctx := range extensionContexts(job) {
		ce := wantCancellation(t, "EnsureActive("+name+") of a cancelled job", cancel.EnsureActive(ctx))
		if ce.Cause != nil {
			t.Errorf("EnsureActive(%s) after Cancel(nil): Cause = %v, want nil (a plain cancellation)", name, ce.Cause)
		}
		if cancel.IsActive(ctx) {
			t.Errorf("IsActive(%s) of a cancelled job = true, want false", name)
		}
	}
}

// Port of kotlinx JobExtensionsTest.testIsCompleted: once a job completed
// normally, EnsureActive fails with a cancellation.
func TestEnsureActiveOnCompletedJob(t *testing.T) {
	t.Parallel()
	job := core.NewJob(nil)
	checked := make(chan error, 1)
	core.Launch(job.Context(), func(ctx context.Context) error {
		checked <- cancel.EnsureActive(ctx)
		return nil
	})
	if err := testkit.WaitChan(t, checked, "the child's check"); err != nil {
		t.Errorf("EnsureActive inside an active child = %v, want nil", err)
	}
	job.Complete()
	testkit.MustJoin(t, job)
	if got := job.State(); got != core.Completed {
		t.Fatalf("job.State() = %v, want Completed", got)
	}
	for name, ctx := range extensionContexts(job) {
		wantCancellation(t, "EnsureActive("+name+") of a completed job", cancel.EnsureActive(ctx))
		if cancel.IsActive(ctx) {
			t.Errorf("IsActive(%s) of a completed job = true, want false", name)
		}
	}
}

// Port of kotlinx JobExtensionsTest.testIsCancelled: after a child failed,
// EnsureActive on its parent's contexts returns a cancellation whose cause
// is the failure.
func TestEnsureActiveOnFailedJob(t *testing.T) {
	t.Parallel()
	rec := testkit.NewRecorder()
	job := core.NewJob(rec.Ctx())
	errBoom := testkit.NewErr("boom")
	checked := make(chan error, 1)
	core.Launch(job.Context(), func(ctx context.Context) error {
		checked <- cancel.EnsureActive(ctx)
		return errBoom
	})
	if err := testkit.WaitChan(t, checked, "the child's check"); err != nil {
		t.Errorf("EnsureActive inside an active child = %v, want nil", err)
	}
	testkit.MustJoin(t, job) // the child's failure cancelled the job, which had nothing else to wait for
	for name, ctx := range extensionContexts(job) {
		ce := wantCancellation(t, "EnsureActive("+name+") of a failed job", cancel.EnsureActive(ctx))
		if !errors.Is(ce.Cause, errBoom) {
			t.Errorf("EnsureActive(%s) of a failed job: Cause = %v, want %v", name, ce.Cause, errBoom)
		}
	}
	// The child had no handling parent: its failure was reported once.
	if errs := rec.Errors(); len(errs) != 1 || !errors.Is(errs[0], errBoom) {
		t.Errorf("exception handler got %v, want exactly %v", errs, errBoom)
	}
}

// Port of kotlinx JobExtensionsTest.testEnsureActiveWithEmptyContext: a
// context without job that cannot be cancelled is always active.
func TestEnsureActiveWithoutJob(t *testing.T) {
	t.Parallel()
	for name, ctx := range map[string]context.Context{
		"context.Background()":  context.Background(),
		"nil":                   nil,
		"WithValue(Background)": context.WithValue(context.Background(), scopeKey{}, 1),
	} {
		if err := cancel.EnsureActive(ctx); err != nil {
			t.Errorf("EnsureActive(%s) = %v, want nil", name, err)
		}
		if err := cancel.Yield(ctx); err != nil {
			t.Errorf("Yield(%s) = %v, want nil", name, err)
		}
		if !cancel.IsActive(ctx) {
			t.Errorf("IsActive(%s) = false, want true", name)
		}
	}
}

// A plain context (no job) that is done: EnsureActive reports it as every
// waiting call of jobtree does (core's rule 11).
func TestEnsureActiveOnDoneContext(t *testing.T) {
	t.Parallel()
	errQuit := testkit.NewErr("quit")
	withCause, stopCause := context.WithCancelCause(context.Background())
	stopCause(errQuit)
	plain, stop := context.WithCancel(context.Background())
	stop()
	ce := &core.CancellationError{Message: "shutting down"}
	withCE, stopCE := context.WithCancelCause(context.Background())
	stopCE(ce)
	expired, stopExpired := context.WithDeadline(context.Background(), deadlineInThePast)
	defer stopExpired()

	tests := []struct {
		name      string
		ctx       context.Context
		wantCause error
	}{
		{"cancelled with a cause", withCause, errQuit},
		{"cancelled", plain, context.Canceled},
		{"deadline passed", expired, context.DeadlineExceeded},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, check := range []struct {
				name string
				f    func(context.Context) error
			}{{"EnsureActive", cancel.EnsureActive}, {"Yield", cancel.Yield}} {
				err := check.f(tc.ctx)
				got := wantCancellation(t, check.name+"(ctx)", err)
				if !errors.Is(got.Cause, tc.wantCause) {
					t.Errorf("%s(ctx).Cause = %v, want %v", check.name, got.Cause, tc.wantCause)
				}
			}
			if cancel.IsActive(tc.ctx) {
				t.Errorf("IsActive(ctx) = true, want false")
			}
		})
	}
	t.Run("cancelled with a *CancellationError", func(t *testing.T) {
		t.Parallel()
		// The cause is returned as is: no cancellation wraps another.
		var got *core.CancellationError
		if err := cancel.EnsureActive(withCE); !errors.As(err, &got) || got != ce {
			t.Errorf("EnsureActive(ctx) = %v, want the cause %v itself", err, ce)
		}
	})
}

// A job cancelled with a *CancellationError: EnsureActive on its context
// returns that very error.
func TestEnsureActiveReturnsTheJobsCancellation(t *testing.T) {
	t.Parallel()
	job := core.NewJob(nil)
	ce := &core.CancellationError{Message: "user logged out"}
	job.Cancel(ce)
	var got *core.CancellationError
	if err := cancel.EnsureActive(job.Context()); !errors.As(err, &got) || got != ce {
		t.Errorf("EnsureActive(job.Context()) = %v, want the job's cause %v itself", err, ce)
	}
	errQuit := testkit.NewErr("quit")
	other := core.NewJob(nil)
	other.Cancel(errQuit)
	if err := cancel.EnsureActive(other.Context()); !errors.Is(err, errQuit) {
		t.Errorf("EnsureActive after Cancel(errQuit) = %v, want an error wrapping %v", err, errQuit)
	}
}

// A context derived from a job's can still read as not done while the job
// is already cancelling (its cancellation reaches the derived context a
// moment later): EnsureActive already reports the job's cancellation.
func TestEnsureActiveSeesTheJobBeforeTheDerivedContext(t *testing.T) {
	t.Parallel()
	job := core.NewJob(nil)
	errQuit := testkit.NewErr("quit")
	type result struct {
		err    error
		active bool
	}
	got := make(chan result, 1)
	var derived context.Context
	// Registered first, so it runs before the derived context's own
	// cancellation callback: in it, the job is cancelling whatever the
	// derived context says.
	job.InvokeOnCancelling(func(error) {
		got <- result{cancel.EnsureActive(derived), cancel.IsActive(derived)}
	})
	derived, stop := context.WithCancel(context.WithValue(job.Context(), scopeKey{}, 1))
	defer stop()
	job.Cancel(errQuit)
	r := testkit.WaitChan(t, got, "the cancelling handler")
	if !errors.Is(r.err, errQuit) {
		t.Errorf("EnsureActive(derived) inside the job's cancelling handler = %v, want a cancellation wrapping %v", r.err, errQuit)
	}
	wantCancellation(t, "EnsureActive(derived)", r.err)
	if r.active {
		t.Errorf("IsActive(derived) inside the job's cancelling handler = true, want false")
	}
}

// The context of a lazy job that has not started is not active (kotlinx:
// isActive is false for a New job).
func TestEnsureActiveOnLazyJob(t *testing.T) {
	t.Parallel()
	job := core.Launch(context.Background(), func(context.Context) error { return nil }, core.Lazy())
	defer job.Cancel(nil)
	ce := wantCancellation(t, "EnsureActive(lazy job's context)", cancel.EnsureActive(job.Context()))
	if ce.Cause != nil {
		t.Errorf("EnsureActive(lazy job's context).Cause = %v, want nil", ce.Cause)
	}
	if cancel.IsActive(job.Context()) {
		t.Errorf("IsActive(lazy job's context) = true, want false")
	}
	if job.State() != core.New {
		t.Errorf("after EnsureActive the lazy job is %v, want New (checks start nothing)", job.State())
	}
}

// A loop that checks with Yield stops at its first check after the
// cancellation, and its job ends cancelled (not failed).
func TestYieldStopsALoop(t *testing.T) {
	t.Parallel()
	rec := testkit.NewRecorder()
	running := make(chan struct{})
	iterations := 0
	job := core.Launch(rec.Ctx(), func(ctx context.Context) error {
		for {
			if err := cancel.Yield(ctx); err != nil {
				return err
			}
			iterations++
			if iterations == 1 {
				close(running)
			}
		}
	})
	testkit.WaitChan(t, running, "the loop to run")
	if err := cancel.CancelAndJoin(context.Background(), job); err != nil {
		t.Fatalf("CancelAndJoin = %v, want nil", err)
	}
	if got := job.State(); got != core.Cancelled {
		t.Errorf("job.State() = %v, want Cancelled", got)
	}
	if !core.IsCancellation(job.Cause()) {
		t.Errorf("job.Cause() = %v, want a cancellation (not a failure)", job.Cause())
	}
	if iterations < 1 {
		t.Errorf("iterations = %d, want at least 1", iterations)
	}
	if errs := rec.Errors(); len(errs) != 0 {
		t.Errorf("exception handler got %v, want nothing: a cancellation is not reported", errs)
	}
}

func TestCancelAndJoin(t *testing.T) {
	t.Parallel()

	t.Run("waits for the body's clean-up", func(t *testing.T) {
		t.Parallel()
		started := make(chan struct{})
		cleaned := false
		job := core.Launch(context.Background(), func(ctx context.Context) error {
			close(started)
			<-ctx.Done()
			cleaned = true // written before the job completes
			return ctx.Err()
		})
		testkit.WaitChan(t, started, "the body")
		err := testkit.WaitChan(t, goAsync(func() error { return cancel.CancelAndJoin(context.Background(), job) }), "CancelAndJoin")
		if err != nil {
			t.Fatalf("CancelAndJoin = %v, want nil", err)
		}
		if !cleaned {
			t.Errorf("CancelAndJoin returned before the body's clean-up ran")
		}
		if got := job.State(); got != core.Cancelled {
			t.Errorf("job.State() = %v, want Cancelled", got)
		}
	})

	t.Run("a done ctx returns at once and leaves the job cancelling", func(t *testing.T) {
		t.Parallel()
		release := make(chan struct{})
		started := make(chan struct{})
		job := core.Launch(context.Background(), func(context.Context) error {
			close(started)
			testkit.Hold(t, release) // ignores its cancellation
			return nil
		})
		defer func() { close(release); testkit.MustJoin(t, job) }()
		testkit.WaitChan(t, started, "the body")
		errQuit := testkit.NewErr("quit")
		ctx, stop := context.WithCancelCause(context.Background())
		stop(errQuit)
		ce := wantCancellation(t, "CancelAndJoin(done ctx, job)", cancel.CancelAndJoin(ctx, job))
		if !errors.Is(ce.Cause, errQuit) {
			t.Errorf("CancelAndJoin(done ctx, job).Cause = %v, want %v", ce.Cause, errQuit)
		}
		if got := job.State(); got != core.Cancelling {
			t.Errorf("job.State() = %v, want Cancelling (cancelled, body still running)", got)
		}
	})

	t.Run("a complete job", func(t *testing.T) {
		t.Parallel()
		job := core.NewJob(nil)
		job.Complete()
		if err := cancel.CancelAndJoin(context.Background(), job); err != nil {
			t.Errorf("CancelAndJoin on a completed job = %v, want nil", err)
		}
		if got := job.State(); got != core.Completed {
			t.Errorf("job.State() = %v, want Completed: cancelling a complete job does nothing", got)
		}
	})

	t.Run("a lazy job never runs", func(t *testing.T) {
		t.Parallel()
		ran := false
		job := core.Launch(context.Background(), func(context.Context) error {
			ran = true
			return nil
		}, core.Lazy())
		if err := cancel.CancelAndJoin(context.Background(), job); err != nil {
			t.Errorf("CancelAndJoin on a lazy job = %v, want nil", err)
		}
		if ran || job.State() != core.Cancelled {
			t.Errorf("lazy job after CancelAndJoin: ran = %v, state %v; want false, Cancelled", ran, job.State())
		}
	})

	t.Run("from inside the job", func(t *testing.T) {
		t.Parallel()
		got := make(chan error, 1)
		job := core.Launch(context.Background(), func(ctx context.Context) error {
			got <- cancel.CancelAndJoin(ctx, core.JobOf(ctx))
			return nil
		})
		// Its own ctx is done once it is cancelled: Join reports that at
		// once instead of waiting for itself.
		wantCancellation(t, "CancelAndJoin(ctx, own job)", testkit.WaitChan(t, got, "CancelAndJoin from inside"))
		testkit.MustJoin(t, job)
		if got := job.State(); got != core.Cancelled {
			t.Errorf("job.State() = %v, want Cancelled", got)
		}
	})

	t.Run("nil job", func(t *testing.T) {
		t.Parallel()
		expectPanic(t, "CancelAndJoin(ctx, nil)", func() { _ = cancel.CancelAndJoin(context.Background(), nil) })
	})
}
