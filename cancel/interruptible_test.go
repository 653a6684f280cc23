package cancel_test

import (
	"context"
	"errors"
	"runtime"
	"testing"

	"github.com/jobtree/jobtree/cancel"
	"github.com/jobtree/jobtree/core"
	"github.com/jobtree/jobtree/internal/testkit"
)

// blockingCall is a call that ignores every context: it returns v, err once
// release is closed (or the test is over), after closing started.
func blockingCall[T any](t testing.TB, started, release chan struct{}, v T, err error) func() (T, error) {
	return func() (T, error) {
		close(started)
		testkit.Hold(t, release)
		return v, err
	}
}

// wantAbandoned checks that err is an *AbandonedError whose cancellation
// carries wantCause, and returns it.
func wantAbandoned(t testing.TB, err error, wantCause error) *cancel.AbandonedError {
	t.Helper()
	ab := testkit.As[*cancel.AbandonedError](t, "RunInterruptible", err)
	ce := wantCancellation(t, "RunInterruptible", err)
	if ce != ab.Cancellation {
		t.Errorf("errors.As finds %v, want the Cancellation field %v", ce, ab.Cancellation)
	}
	if !errors.Is(err, wantCause) {
		t.Errorf("RunInterruptible = %v, want it to carry %v", err, wantCause)
	}
	if !core.IsCancellation(err) {
		t.Errorf("core.IsCancellation(%v) = false, want true", err)
	}
	if ab.Call == nil {
		t.Fatalf("AbandonedError.Call = nil, want the job of the abandoned call")
	}
	return ab
}

func TestRunInterruptibleReturnsTheResult(t *testing.T) {
	t.Parallel()
	v, err := cancel.RunInterruptible(context.Background(), func() (string, error) { return "read", nil })
	if v != "read" || err != nil {
		t.Errorf("RunInterruptible = %q, %v; want %q, nil", v, err, "read")
	}
	errRead := testkit.NewErr("read")
	v, err = cancel.RunInterruptible(context.Background(), func() (string, error) { return "partial", errRead })
	if v != "partial" || !errors.Is(err, errRead) {
		t.Errorf("RunInterruptible = %q, %v; want %q, %v (f's result as is)", v, err, "partial", errRead)
	}
}

// The classic case: the caller's job is cancelled while a call that ignores
// contexts blocks. The caller gets the cancellation at once, its job
// completes without waiting for the call, and the abandoned call is
// tracked by a root job that completes when the call returns.
func TestRunInterruptibleAbandonsTheCall(t *testing.T) {
	t.Parallel()
	rec := testkit.NewRecorder()
	started, release := make(chan struct{}), make(chan struct{})
	got := make(chan error, 1)
	errQuit := testkit.NewErr("quit")
	job := core.Launch(rec.Ctx(), func(ctx context.Context) error {
		_, err := cancel.RunInterruptible(ctx, blockingCall(t, started, release, 42, nil))
		got <- err
		return err
	})
	testkit.WaitChan(t, started, "the blocking call")
	job.Cancel(errQuit)
	ab := wantAbandoned(t, testkit.WaitChan(t, got, "RunInterruptible"), errQuit)
	testkit.MustJoin(t, job) // the job completes while the call still blocks
	if got := job.State(); got != core.Cancelled {
		t.Errorf("job.State() = %v, want Cancelled (the abandoned call is a cancellation, not a failure)", got)
	}
	call := ab.Call
	testkit.CleanupJob(t, call)
	if !call.IsActive() {
		t.Errorf("the abandoned call's job is %v, want Active: the call still blocks", call.State())
	}
	if p := call.Parent(); p != nil {
		t.Errorf("the abandoned call's job has parent %v, want none (a root)", p)
	}
	close(release)
	testkit.MustJoin(t, call)
	if got := call.State(); got != core.Completed {
		t.Errorf("the abandoned call's job is %v after the call returned nil, want Completed", got)
	}
	if errs := rec.Errors(); len(errs) != 0 {
		t.Errorf("exception handler got %v, want nothing", errs)
	}
}

// What happens to the outcome of an abandoned call.
func TestRunInterruptibleAbandonedOutcome(t *testing.T) {
	t.Parallel()
	errLate := testkit.NewErr("late")
	tests := []struct {
		name       string
		f          func(ctx context.Context) (int, error)
		wantState  core.State
		wantReport error // nil: nothing reported
	}{
		{"returns nil", func(context.Context) (int, error) { return 1, nil }, core.Completed, nil},
		{"returns the echo of ctx", func(ctx context.Context) (int, error) { return 0, ctx.Err() }, core.Cancelled, nil},
		{"returns a cancellation", func(context.Context) (int, error) { return 0, &core.CancellationError{} }, core.Cancelled, nil},
		{"fails", func(context.Context) (int, error) { return 0, errLate }, core.Cancelled, errLate},
		{"panics", func(context.Context) (int, error) { panic(errLate) }, core.Cancelled, errLate},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := testkit.NewRecorder()
			ctx, stop := context.WithCancel(rec.Ctx())
			started, release := make(chan struct{}), make(chan struct{})
			res := goAsync(func() error {
				_, err := cancel.RunInterruptible(ctx, func() (int, error) {
					close(started)
					testkit.Hold(t, release)
					return tc.f(ctx)
				})
				return err
			})
			testkit.WaitChan(t, started, "the call")
			stop()
			ab := wantAbandoned(t, testkit.WaitChan(t, res, "RunInterruptible"), context.Canceled)
			close(release)
			testkit.MustJoin(t, ab.Call)
			if got := ab.Call.State(); got != tc.wantState {
				t.Errorf("the abandoned call's job is %v, want %v", got, tc.wantState)
			}
			errs := rec.Errors()
			switch {
			case tc.wantReport == nil && len(errs) != 0:
				t.Errorf("exception handler got %v, want nothing", errs)
			case tc.wantReport != nil && (len(errs) != 1 || !errors.Is(errs[0], tc.wantReport)):
				t.Errorf("exception handler got %v, want exactly %v", errs, tc.wantReport)
			}
		})
	}
}

// A done ctx: f never runs.
func TestRunInterruptibleDoneContext(t *testing.T) {
	t.Parallel()
	errQuit := testkit.NewErr("quit")
	ctx, stop := context.WithCancelCause(context.Background())
	stop(errQuit)
	ran := false
	_, err := cancel.RunInterruptible(ctx, func() (int, error) {
		ran = true
		return 1, nil
	})
	ce := wantCancellation(t, "RunInterruptible(done ctx)", err)
	if !errors.Is(ce.Cause, errQuit) {
		t.Errorf("RunInterruptible(done ctx).Cause = %v, want %v", ce.Cause, errQuit)
	}
	var ab *cancel.AbandonedError
	if errors.As(err, &ab) {
		t.Errorf("RunInterruptible(done ctx) = %v, an *AbandonedError; want a plain cancellation: nothing ran", err)
	}
	if ran {
		t.Errorf("RunInterruptible(done ctx) ran f")
	}
}

// A panic or runtime.Goexit in f reaches a caller that still waits as an
// error; nothing crashes and nothing hangs.
func TestRunInterruptiblePanicAndGoexit(t *testing.T) {
	t.Parallel()
	rec := testkit.NewRecorder()
	_, err := cancel.RunInterruptible(rec.Ctx(), func() (int, error) { panic("boom") })
	var pe *core.PanicError
	if !errors.As(err, &pe) || pe.Value != "boom" || len(pe.Stack) == 0 {
		t.Errorf("RunInterruptible with a panicking f = %v, want a *core.PanicError with value %q and a stack", err, "boom")
	}
	if errs := rec.Errors(); len(errs) != 0 {
		t.Errorf("exception handler got %v, want nothing: the caller got the panic", errs)
	}
	// Goexit cannot be stopped: it also ends the job's goroutine, which
	// core counts as the job's failure; only the caller's answer is
	// checked here.
	res := goAsync(func() error {
		_, err := cancel.RunInterruptible(testkit.NewRecorder().Ctx(), func() (int, error) {
			runtime.Goexit()
			return 0, nil
		})
		return err
	})
	if err := testkit.WaitChan(t, res, "RunInterruptible with an f that calls Goexit"); err == nil || core.IsCancellation(err) {
		t.Errorf("RunInterruptible with an f that calls Goexit = %v, want a failure", err)
	}
}

func TestRunInterruptibleNil(t *testing.T) {
	t.Parallel()
	expectPanic(t, "RunInterruptible(ctx, nil)", func() {
		_, _ = cancel.RunInterruptible[int](context.Background(), nil)
	})
}
