package timeout_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/samber/mo"

	"github.com/jobtree/jobtree/core"
	"github.com/jobtree/jobtree/internal/testkit"
	"github.com/jobtree/jobtree/timeout"
)

// TestTimeoutError checks the error's text and what errors.Is and
// errors.As make of it.
func TestTimeoutError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		d    time.Duration
		want string
	}{
		{name: "positive", d: 10 * time.Millisecond, want: "timeout: timed out waiting for 10ms"},
		{name: "long", d: 90 * time.Second, want: "timeout: timed out waiting for 1m30s"},
		{name: "zero", d: 0, want: "timeout: timed out immediately"},
		{name: "negative", d: -time.Second, want: "timeout: timed out immediately"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var err error = &timeout.TimeoutError{Timeout: tt.d}
			if got := err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("errors.Is(%v, context.DeadlineExceeded) = false, want true", err)
			}
			if errors.Is(err, context.Canceled) {
				t.Errorf("errors.Is(%v, context.Canceled) = true, want false", err)
			}
			// Each timeout is its own: another one with the same
			// duration is not the same error.
			if errors.Is(err, &timeout.TimeoutError{Timeout: tt.d}) {
				t.Errorf("errors.Is(%v, another TimeoutError) = true, want false", err)
			}
			wrapped := fmt.Errorf("fetch: %w", err)
			if te := testkit.As[*timeout.TimeoutError](t, "wrapped", wrapped); te.Timeout != tt.d {
				t.Errorf("errors.As(wrapped).Timeout = %v, want %v", te.Timeout, tt.d)
			}
			if !errors.Is(wrapped, context.DeadlineExceeded) {
				t.Errorf("errors.Is(%v, context.DeadlineExceeded) = false, want true", wrapped)
			}
		})
	}
}

// TestScopeContextAfterTimeout checks what the body, its children and the
// contexts derived from its context see once the timeout fired: Err is
// context.DeadlineExceeded, and the cause is a cancellation carrying the
// very *TimeoutError that WithTimeout returns.
func TestScopeContextAfterTimeout(t *testing.T) {
	t.Parallel()
	type seen struct {
		err, cause error
	}
	var body, child, derived seen
	var childJob core.Job
	var err error
	within(t, "WithTimeout", func() {
		_, err = timeout.WithTimeout(context.Background(), shortDuration, func(ctx context.Context) (int, error) {
			dctx, stop := context.WithCancel(ctx)
			defer stop()
			childJob = core.Launch(ctx, func(ctx context.Context) error {
				<-ctx.Done()
				child = seen{ctx.Err(), context.Cause(ctx)}
				return ctx.Err()
			})
			<-ctx.Done()
			<-dctx.Done()
			body = seen{ctx.Err(), context.Cause(ctx)}
			derived = seen{dctx.Err(), context.Cause(dctx)}
			return 0, ctx.Err()
		})
	})
	te := wantOwnTimeout(t, "WithTimeout(ctx, shortDuration, body)", err, shortDuration)
	for _, s := range []struct {
		what string
		seen
	}{{"body's ctx", body}, {"child's ctx", child}, {"derived ctx", derived}} {
		if !errors.Is(s.err, context.DeadlineExceeded) {
			t.Errorf("%s: Err() = %v, want context.DeadlineExceeded", s.what, s.err)
		}
		if !core.IsCancellation(s.cause) {
			t.Errorf("%s: context.Cause = %v, want a cancellation", s.what, s.cause)
		}
		if !errors.Is(s.cause, te) {
			t.Errorf("%s: context.Cause = %v, want one caused by the returned %v", s.what, s.cause, te)
		}
	}
	// The child was cancelled, not failed, by the timeout.
	if got := childJob.State(); got != core.Cancelled {
		t.Errorf("child %v: State() = %v, want Cancelled", childJob, got)
	}
}

// TestScopeContextDeadline checks the deadline the body's context reports:
// now plus the timeout, or the caller's deadline when it comes first.
func TestScopeContextDeadline(t *testing.T) {
	t.Parallel()
	deadlineIn := func(ctx context.Context, d time.Duration) (dl time.Time, ok bool, before, after time.Time) {
		before = time.Now()
		within(t, "WithTimeout", func() {
			_ = timeout.Run(ctx, d, func(ctx context.Context) error {
				dl, ok = ctx.Deadline()
				return nil
			})
		})
		return dl, ok, before, time.Now()
	}

	t.Run("own", func(t *testing.T) {
		t.Parallel()
		dl, ok, before, after := deadlineIn(context.Background(), neverDuration)
		if !ok || dl.Before(before.Add(neverDuration)) || dl.After(after.Add(neverDuration)) {
			t.Errorf("Deadline() = %v, %v, want between %v and %v", dl, ok, before.Add(neverDuration), after.Add(neverDuration))
		}
	})
	t.Run("caller's earlier", func(t *testing.T) {
		t.Parallel()
		ctx, stop := context.WithTimeout(context.Background(), neverDuration)
		defer stop()
		want, _ := ctx.Deadline()
		dl, ok, _, _ := deadlineIn(ctx, 2*neverDuration)
		if !ok || !dl.Equal(want) {
			t.Errorf("Deadline() = %v, %v, want the caller's %v", dl, ok, want)
		}
	})
	t.Run("nested", func(t *testing.T) {
		t.Parallel()
		var outer, inner time.Time
		within(t, "WithTimeout", func() {
			_ = timeout.Run(context.Background(), 2*neverDuration, func(ctx context.Context) error {
				outer, _ = ctx.Deadline()
				return timeout.Run(ctx, neverDuration, func(ctx context.Context) error {
					inner, _ = ctx.Deadline()
					return nil
				})
			})
		})
		if !inner.Before(outer) {
			t.Errorf("inner Deadline() = %v, want before the outer %v", inner, outer)
		}
	})
	t.Run("derived", func(t *testing.T) {
		t.Parallel()
		// A context.WithTimeout with a later deadline inside the body
		// keeps the scope's, as for any parent with a deadline.
		var own, derived time.Time
		within(t, "WithTimeout", func() {
			_ = timeout.Run(context.Background(), neverDuration, func(ctx context.Context) error {
				own, _ = ctx.Deadline()
				dctx, stop := context.WithTimeout(ctx, 2*neverDuration)
				defer stop()
				derived, _ = dctx.Deadline()
				return nil
			})
		})
		if !derived.Equal(own) {
			t.Errorf("derived Deadline() = %v, want the scope's %v", derived, own)
		}
	})
}

// TestScopeIsChildOfCaller checks that the body runs in a new child job of
// the caller's job, which is gone from the caller's children once the call
// returned.
func TestScopeIsChildOfCaller(t *testing.T) {
	t.Parallel()
	parent := core.NewJob(nil)
	defer parent.Cancel(nil)
	var scope, scopeParent core.Job
	within(t, "WithTimeout", func() {
		_, _ = timeout.WithTimeout(parent.Context(), neverDuration, func(ctx context.Context) (int, error) {
			scope = core.JobOf(ctx)
			scopeParent = scope.Parent()
			return 0, nil
		})
	})
	if scope == parent || scopeParent != parent {
		t.Errorf("scope %v has parent %v, want a new child of %v", scope, scopeParent, parent)
	}
	if !scope.IsCompleted() {
		t.Errorf("scope %v is not complete after WithTimeout returned", scope)
	}
	for c := range parent.Children() {
		t.Errorf("parent still has child %v after WithTimeout returned", c)
	}
}

// TestCallerCancellationPassesThrough checks that a cancellation of the
// caller — its job, its context, a deadline of its context — is returned
// as an error by both calls, and never as WithTimeoutOrNull's None.
func TestCallerCancellationPassesThrough(t *testing.T) {
	t.Parallel()
	stopped := errors.New("stopped by the caller")
	tests := []struct {
		name string
		// run calls f with a context that is cancelled while f's body
		// waits; want checks the error.
		run  func(t *testing.T, f func(ctx context.Context) error)
		want func(t *testing.T, err error)
	}{
		{
			name: "job cancelled",
			run: func(t *testing.T, f func(ctx context.Context) error) {
				parent := core.NewJob(nil)
				defer parent.Cancel(nil)
				res := make(chan error, 1)
				started := make(chan struct{})
				core.Launch(parent.Context(), func(ctx context.Context) error {
					res <- f(context.WithValue(ctx, startedKey{}, started))
					return nil
				})
				testkit.WaitChan(t, started, "body to start")
				parent.Cancel(stopped)
				var err error
				within(t, "WithTimeout", func() { err = <-res })
				if err != nil {
					t.Error(err)
				}
			},
			want: func(t *testing.T, err error) {
				if !errors.Is(err, stopped) {
					t.Errorf("error = %v, want one caused by %v", err, stopped)
				}
			},
		},
		{
			name: "context cancelled",
			run: func(t *testing.T, f func(ctx context.Context) error) {
				ctx, stop := context.WithCancelCause(context.Background())
				defer stop(nil)
				started := make(chan struct{})
				go func() { // ends once the body started (or the test is over)
					testkit.Hold(t, started)
					stop(stopped)
				}()
				var err error
				within(t, "WithTimeout", func() { err = f(context.WithValue(ctx, startedKey{}, started)) })
				if err != nil {
					t.Error(err)
				}
			},
			want: func(t *testing.T, err error) {
				if !errors.Is(err, stopped) {
					t.Errorf("error = %v, want one caused by %v", err, stopped)
				}
			},
		},
		{
			name: "context deadline",
			run: func(t *testing.T, f func(ctx context.Context) error) {
				ctx, stop := context.WithTimeout(context.Background(), shortDuration)
				defer stop()
				var err error
				within(t, "WithTimeout", func() { err = f(ctx) })
				if err != nil {
					t.Error(err)
				}
			},
			want: func(t *testing.T, err error) {
				// The caller's deadline, not a timeout of the call.
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("error = %v, want one caused by context.DeadlineExceeded", err)
				}
				var te *timeout.TimeoutError
				if errors.As(err, &te) {
					t.Errorf("error = %v, want no *timeout.TimeoutError in it", err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name+"/WithTimeout", func(t *testing.T) {
			t.Parallel()
			tt.run(t, func(ctx context.Context) error {
				_, err := timeout.WithTimeout(ctx, neverDuration, signalUntilDone)
				if !core.IsCancellation(err) {
					return fmt.Errorf("WithTimeout = %v, want a cancellation", err)
				}
				tt.want(t, err)
				return nil
			})
		})
		t.Run(tt.name+"/WithTimeoutOrNull", func(t *testing.T) {
			t.Parallel()
			tt.run(t, func(ctx context.Context) error {
				got, err := timeout.WithTimeoutOrNull(ctx, neverDuration, signalUntilDone)
				if got.IsPresent() || !core.IsCancellation(err) {
					return fmt.Errorf("WithTimeoutOrNull = %v, %v, want None and a cancellation", got, err)
				}
				tt.want(t, err)
				return nil
			})
		})
	}
}

// startedKey is the context key of the channel signalUntilDone closes.
type startedKey struct{}

// signalUntilDone is a body that closes the channel stored under startedKey
// in its context, if any, then waits until its context is done.
func signalUntilDone(ctx context.Context) (int, error) {
	if ch, ok := ctx.Value(startedKey{}).(chan struct{}); ok {
		close(ch)
	}
	return untilDone[int](ctx)
}

// TestDoneContextDoesNotRunBody checks that a call made with a context that
// is already done returns its cancellation without running the body.
func TestDoneContextDoesNotRunBody(t *testing.T) {
	t.Parallel()
	stopped := errors.New("stopped")
	ctx, stop := context.WithCancelCause(context.Background())
	stop(stopped)
	ran := false
	body := func(context.Context) (int, error) {
		ran = true
		return 1, nil
	}
	_, err := timeout.WithTimeout(ctx, neverDuration, body)
	if !core.IsCancellation(err) || !errors.Is(err, stopped) {
		t.Errorf("WithTimeout(done ctx) = %v, want a cancellation caused by %v", err, stopped)
	}
	got, err := timeout.WithTimeoutOrNull(ctx, neverDuration, body)
	if got.IsPresent() || !core.IsCancellation(err) || !errors.Is(err, stopped) {
		t.Errorf("WithTimeoutOrNull(done ctx) = %v, %v, want None and a cancellation caused by %v", got, err, stopped)
	}
	if ran {
		t.Errorf("the body ran under a done context")
	}
}

// TestChildFailure checks that a child's failure is returned — before the
// timeout, or after it (a real failure beats the timeout) — and that it
// never reaches the caller's job.
func TestChildFailure(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		d    time.Duration
		// child is the body of the child the scope's body launches;
		// the scope's body itself waits until its context is done.
		child func(ctx context.Context, boom error) error
	}{
		{name: "in time", d: neverDuration, child: func(_ context.Context, boom error) error { return boom }},
		{name: "after the timeout", d: shortDuration, child: func(ctx context.Context, boom error) error {
			<-ctx.Done()
			return boom
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			boom := testkit.NewErr(tt.name)
			parent := core.NewJob(nil)
			defer parent.Cancel(nil)
			var err error
			var got mo.Option[int]
			var errNull error
			within(t, "WithTimeout", func() {
				body := func(ctx context.Context) (int, error) {
					core.Launch(ctx, func(ctx context.Context) error { return tt.child(ctx, boom) })
					return untilDone[int](ctx)
				}
				_, err = timeout.WithTimeout(parent.Context(), tt.d, body)
				got, errNull = timeout.WithTimeoutOrNull(parent.Context(), tt.d, body)
			})
			if !errors.Is(err, boom) {
				t.Errorf("WithTimeout = %v, want %v", err, boom)
			}
			if got.IsPresent() || !errors.Is(errNull, boom) {
				t.Errorf("WithTimeoutOrNull = %v, %v, want None, %v", got, errNull, boom)
			}
			var te *timeout.TimeoutError
			if errors.As(err, &te) || errors.As(errNull, &te) {
				t.Errorf("errors %v, %v hold a timeout, want the failure only", err, errNull)
			}
			if !parent.IsActive() {
				t.Errorf("parent %v was cancelled by the scope's failure, want it untouched", parent)
			}
		})
	}
}

// TestWaitsForChildrenAfterTimeout checks that after the timeout fired the
// call still waits for a child that ignores its cancellation: it never
// abandons running work.
func TestWaitsForChildrenAfterTimeout(t *testing.T) {
	t.Parallel()
	cancelling, release := make(chan struct{}), make(chan struct{})
	go func() { // ends once the scope is cancelling (or the test is over)
		testkit.Hold(t, cancelling)
		close(release)
	}()
	var child core.Job
	var err error
	within(t, "WithTimeout", func() {
		_, err = timeout.WithTimeout(context.Background(), shortDuration, func(ctx context.Context) (int, error) {
			core.JobOf(ctx).InvokeOnCancelling(func(error) { close(cancelling) })
			child = core.Launch(ctx, func(context.Context) error {
				testkit.Hold(t, release) // ignores the cancellation
				return nil
			})
			return untilDone[int](ctx)
		})
	})
	wantOwnTimeout(t, "WithTimeout", err, shortDuration)
	if !child.IsCompleted() {
		t.Errorf("WithTimeout returned before its child %v was complete", child)
	}
}

// TestTimeoutErrorEscapingJobIsFailure checks the deliberate difference
// from Kotlin: a *TimeoutError returned from a job's body fails that job and
// cancels its parent, whereas Kotlin's TimeoutCancellationException would
// only cancel the job.
func TestTimeoutErrorEscapingJobIsFailure(t *testing.T) {
	t.Parallel()
	var err error
	var job core.Job
	within(t, "Scope", func() {
		err = core.Scope(context.Background(), func(ctx context.Context) error {
			job = core.Launch(ctx, func(ctx context.Context) error {
				_, err := timeout.WithTimeout(ctx, shortDuration, untilDone[int])
				return err // not examined: a failure
			})
			// The failure cancels the scope, and so ends this wait.
			<-ctx.Done()
			return nil
		})
	})
	wantOwnTimeout(t, "Scope with a job returning a timeout", err, shortDuration)
	if got := job.Cause(); !errors.Is(got, err) {
		t.Errorf("job.Cause() = %v, want the failure %v", got, err)
	}
}

// TestPanicInBody checks that a panic in the body comes back as a
// *core.PanicError from every form.
func TestPanicInBody(t *testing.T) {
	t.Parallel()
	var errs [3]error
	within(t, "calls", func() {
		_, errs[0] = timeout.WithTimeout(context.Background(), neverDuration, func(context.Context) (int, error) { panic("boom") })
		_, errs[1] = timeout.WithTimeoutOrNull(context.Background(), neverDuration, func(context.Context) (int, error) { panic("boom") })
		errs[2] = timeout.Run(context.Background(), neverDuration, func(context.Context) error { panic("boom") })
	})
	for i, err := range errs {
		var pe *core.PanicError
		if !errors.As(err, &pe) || pe.Value != "boom" {
			t.Errorf("call %d = %v, want a *core.PanicError with value %q", i, err, "boom")
		}
	}
}

// TestNilBody checks that every form panics at the call, with a "timeout: "
// message, on a nil body.
func TestNilBody(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	expectPanic(t, "WithTimeout(ctx, d, nil)", func() { _, _ = timeout.WithTimeout[int](ctx, neverDuration, nil) })
	expectPanic(t, "WithTimeoutOrNull(ctx, d, nil)", func() { _, _ = timeout.WithTimeoutOrNull[int](ctx, neverDuration, nil) })
	expectPanic(t, "Run(ctx, d, nil)", func() { _ = timeout.Run(ctx, neverDuration, nil) })
	// Also with a non-positive duration, where the body would not run.
	expectPanic(t, "WithTimeout(ctx, 0, nil)", func() { _, _ = timeout.WithTimeout[int](ctx, 0, nil) })
}

// TestNilContext checks that a nil ctx stands for context.Background().
func TestNilContext(t *testing.T) {
	t.Parallel()
	var v int
	var err error
	var got mo.Option[int]
	var errNull error
	within(t, "calls", func() {
		v, err = timeout.WithTimeout(nil, neverDuration, func(context.Context) (int, error) { return 1, nil })
		got, errNull = timeout.WithTimeoutOrNull(nil, shortDuration, untilDone[int])
	})
	if v != 1 || err != nil {
		t.Errorf("WithTimeout(nil, …) = %v, %v, want 1, nil", v, err)
	}
	wantNone(t, "WithTimeoutOrNull(nil, shortDuration, …)", got, errNull)
}

// TestRun checks the three outcomes of Run.
func TestRun(t *testing.T) {
	t.Parallel()
	boom := testkit.NewErr("boom")
	var errOK, errFail, errTimeout error
	within(t, "Run", func() {
		errOK = timeout.Run(context.Background(), neverDuration, func(context.Context) error { return nil })
		errFail = timeout.Run(context.Background(), neverDuration, func(context.Context) error { return boom })
		errTimeout = timeout.Run(context.Background(), shortDuration, func(ctx context.Context) error {
			<-ctx.Done()
			return context.Cause(ctx)
		})
	})
	if errOK != nil {
		t.Errorf("Run(completing body) = %v, want nil", errOK)
	}
	if !errors.Is(errFail, boom) {
		t.Errorf("Run(failing body) = %v, want %v", errFail, boom)
	}
	wantOwnTimeout(t, "Run(waiting body)", errTimeout, shortDuration)
}

// TestTimeoutRacesCompletion runs calls whose timeout fires about when the
// body completes: each must end either with the body's value or with its
// own timeout, never anything else, and leave nothing running.
func TestTimeoutRacesCompletion(t *testing.T) {
	t.Parallel()
	const rounds = 200
	var wg sync.WaitGroup
	errs := make(chan error, 2*rounds)
	parent := core.NewJob(nil)
	defer parent.Cancel(nil)
	for i := range rounds {
		d := time.Duration(i%20) * time.Microsecond
		wg.Add(1)
		go func() { // ends when both calls returned
			defer wg.Done()
			v, err := timeout.WithTimeout(parent.Context(), d, func(context.Context) (int, error) { return i + 1, nil })
			switch {
			case err == nil && v == i+1:
			case v == 0 && isOwnTimeout(err, d):
			default:
				errs <- fmt.Errorf("WithTimeout(ctx, %v, body) = %v, %v, want %d, nil or a timeout", d, v, err, i+1)
			}
			got, err := timeout.WithTimeoutOrNull(parent.Context(), d, func(context.Context) (int, error) { return i + 1, nil })
			if x, ok := got.Get(); err != nil || (ok && x != i+1) {
				errs <- fmt.Errorf("WithTimeoutOrNull(ctx, %v, body) = %v, %v, want Some(%d) or None, nil", d, got, err, i+1)
			}
		}()
	}
	done := make(chan struct{})
	go func() { // ends when all calls returned
		wg.Wait()
		close(done)
	}()
	testkit.WaitChan(t, done, "all calls")
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if !parent.IsActive() {
		t.Errorf("parent %v is not active, want it untouched", parent)
	}
	for c := range parent.Children() {
		t.Errorf("parent still has child %v", c)
	}
}

// isOwnTimeout reports whether err is a *timeout.TimeoutError for d.
func isOwnTimeout(err error, d time.Duration) bool {
	te, ok := err.(*timeout.TimeoutError)
	return ok && te.Timeout == d
}

// hookCtx is a context of a type the context package does not know, with
// its own AfterFunc method (as a job's context has): it is cancelled by
// cancel, which runs the registered functions.
type hookCtx struct {
	context.Context // values only
	done            chan struct{}

	mu         sync.Mutex
	err        error    // nil until cancel; guarded by mu
	fns        []func() // registered by AfterFunc, run once by cancel; guarded by mu
	registered int      // AfterFunc calls; guarded by mu
}

func newHookCtx() *hookCtx {
	return &hookCtx{Context: context.Background(), done: make(chan struct{})}
}

func (c *hookCtx) Done() <-chan struct{} { return c.done }

func (c *hookCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *hookCtx) AfterFunc(f func()) func() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.registered++
	if c.err != nil {
		go f() // ends when f returns
		return func() bool { return false }
	}
	c.fns = append(c.fns, f)
	return func() bool { return false } // the tests never stop early
}

func (c *hookCtx) cancel() {
	c.mu.Lock()
	c.err = context.Canceled
	fns := c.fns
	c.fns = nil
	close(c.done)
	c.mu.Unlock()
	for _, f := range fns {
		f()
	}
}

func (c *hookCtx) registrations() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.registered
}

// TestCustomContextParent checks a caller's context that can be cancelled
// on its own and is neither a job's nor the context package's: cancelling
// it cancels the scope (a cancellation passed through, not None), and the
// scope watches it through its own AfterFunc method, which the context the
// scope is created from (the one with the call's deadline) forwards to.
func TestCustomContextParent(t *testing.T) {
	t.Parallel()
	ctx := newHookCtx()
	started := make(chan struct{})
	ctx.Context = context.WithValue(ctx.Context, startedKey{}, started)
	go func() { // ends once the body started (or the test is over)
		testkit.Hold(t, started)
		ctx.cancel()
	}()
	var got mo.Option[int]
	var err error
	within(t, "WithTimeoutOrNull", func() {
		got, err = timeout.WithTimeoutOrNull(ctx, neverDuration, signalUntilDone)
	})
	if got.IsPresent() || !core.IsCancellation(err) {
		t.Errorf("WithTimeoutOrNull = %v, %v, want None and a cancellation", got, err)
	}
	var te *timeout.TimeoutError
	if errors.As(err, &te) {
		t.Errorf("WithTimeoutOrNull = %v, want no timeout in it", err)
	}
	if n := ctx.registrations(); n == 0 {
		t.Errorf("the caller's AfterFunc was not used: want the scope to watch the context through it")
	}
}
