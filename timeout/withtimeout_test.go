package timeout_test

import (
	"context"
	"errors"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jobtree/jobtree/core"
	"github.com/jobtree/jobtree/internal/testkit"
	"github.com/jobtree/jobtree/timeout"
)

// The scenarios of kotlinx.coroutines' WithTimeoutTest
// (kotlinx-coroutines-core/common/test/WithTimeoutTest.kt), in Go. Kotlin's
// testDispatch is left out: it checks the order in which a single-threaded
// dispatcher resumes coroutines, which Go's scheduler does not promise.

// Kotlin: WithTimeoutTest.testBasicNoSuspend.
func TestWithTimeoutBasicNoSuspend(t *testing.T) {
	t.Parallel()
	ran := false
	var got string
	var err error
	within(t, "WithTimeout", func() {
		got, err = timeout.WithTimeout(context.Background(), neverDuration, func(context.Context) (string, error) {
			ran = true
			return "OK", nil
		})
	})
	if !ran {
		t.Errorf("body did not run")
	}
	if got != "OK" || err != nil {
		t.Errorf("WithTimeout(ctx, %v, body) = %q, %v, want %q, nil", neverDuration, got, err, "OK")
	}
}

// Kotlin: WithTimeoutTest.testBasicSuspend. The body waits once, for a
// value from a job it launched.
func TestWithTimeoutBasicSuspend(t *testing.T) {
	t.Parallel()
	var got string
	var err error
	within(t, "WithTimeout", func() {
		got, err = timeout.WithTimeout(context.Background(), neverDuration, func(ctx context.Context) (string, error) {
			ch := make(chan string, 1)
			core.Launch(ctx, func(context.Context) error {
				ch <- "OK"
				return nil
			})
			return <-ch, nil
		})
	})
	if got != "OK" || err != nil {
		t.Errorf("WithTimeout(ctx, %v, body) = %q, %v, want %q, nil", neverDuration, got, err, "OK")
	}
}

// Kotlin: WithTimeoutTest.testYieldBlockingWithTimeout. A busy body that
// only checks its context between steps still ends with the timeout.
func TestWithTimeoutYieldBlocking(t *testing.T) {
	t.Parallel()
	var err error
	within(t, "WithTimeout", func() {
		_, err = timeout.WithTimeout(context.Background(), shortDuration, func(ctx context.Context) (int, error) {
			for ctx.Err() == nil {
				runtime.Gosched()
			}
			return 0, ctx.Err()
		})
	})
	wantOwnTimeout(t, "WithTimeout(ctx, shortDuration, busy body)", err, shortDuration)
}

// Kotlin: WithTimeoutTest.testWithTimeoutChildWait. WithTimeout returns
// only after the children the body launched are complete, although the
// body itself returned long before.
func TestWithTimeoutChildWait(t *testing.T) {
	t.Parallel()
	bodyReturned, release := make(chan struct{}), make(chan struct{})
	var child core.Job
	var childRan atomic.Bool
	// Lets the child finish once the body has returned: if WithTimeout
	// did not wait for it, it would return with the child still running.
	go func() { // ends once the body returned (or the test is over)
		testkit.Hold(t, bodyReturned)
		close(release)
	}()
	var err error
	within(t, "WithTimeout", func() {
		err = timeout.Run(context.Background(), neverDuration, func(ctx context.Context) error {
			defer close(bodyReturned)
			child = core.Launch(ctx, func(context.Context) error {
				testkit.Hold(t, release)
				childRan.Store(true)
				return nil
			})
			return nil
		})
	})
	if err != nil {
		t.Fatalf("Run(ctx, %v, body) = %v, want nil", neverDuration, err)
	}
	if !child.IsCompleted() || !childRan.Load() {
		t.Errorf("Run returned before its child was complete: child %v, ran %v", child, childRan.Load())
	}
}

// badValue is a result that == cannot compare (it holds a func): Kotlin's
// BadClass, whose equals and hashCode throw.
type badValue struct{ mark func() string }

// Kotlin: WithTimeoutTest.testBadClass. The body's value comes back as it
// is, whatever its type.
func TestWithTimeoutBadClass(t *testing.T) {
	t.Parallel()
	bad := &badValue{mark: func() string { return "bad" }}
	var got *badValue
	var err error
	within(t, "WithTimeout", func() {
		got, err = timeout.WithTimeout(context.Background(), neverDuration, func(context.Context) (*badValue, error) {
			return bad, nil
		})
	})
	if got != bad || err != nil {
		t.Errorf("WithTimeout(ctx, %v, body) = %p, %v, want %p, nil", neverDuration, got, err, bad)
	}
}

// Kotlin: WithTimeoutTest.testExceptionOnTimeout. A body that is still
// waiting when the time is up gets cancelled, and WithTimeout returns a
// *TimeoutError that says how long it waited.
func TestWithTimeoutExceptionOnTimeout(t *testing.T) {
	t.Parallel()
	var delayErr, err error
	reached := false
	within(t, "WithTimeout", func() {
		_, err = timeout.WithTimeout(context.Background(), shortDuration, func(ctx context.Context) (string, error) {
			if delayErr = timeout.Delay(ctx, neverDuration); delayErr != nil {
				return "", delayErr
			}
			reached = true
			return "OK", nil
		})
	})
	te := wantOwnTimeout(t, "WithTimeout(ctx, shortDuration, Delay)", err, shortDuration)
	if want := "timeout: timed out waiting for 10ms"; te.Error() != want {
		t.Errorf("Error() = %q, want %q", te.Error(), want)
	}
	if reached {
		t.Errorf("the body went on after Delay was cancelled")
	}
	// Delay saw the scope's cancellation, whose cause is the timeout.
	if !core.IsCancellation(delayErr) || !errors.Is(delayErr, te) {
		t.Errorf("Delay in the body = %v, want a cancellation caused by %v", delayErr, te)
	}
}

// Kotlin: WithTimeoutTest.testSuppressExceptionWithResult. A body that
// swallows the cancellation and returns a value anyway does not beat the
// timeout: the value is discarded.
func TestWithTimeoutSuppressExceptionWithResult(t *testing.T) {
	t.Parallel()
	var got string
	var err error
	sawCancel := false
	within(t, "WithTimeout", func() {
		got, err = timeout.WithTimeout(context.Background(), shortDuration, func(ctx context.Context) (string, error) {
			if err := timeout.Delay(ctx, neverDuration); core.IsCancellation(err) {
				sawCancel = true
			}
			return "OK", nil
		})
	})
	if !sawCancel {
		t.Errorf("Delay in the body did not return a cancellation")
	}
	if got != "" {
		t.Errorf("WithTimeout returned %q, want the zero value", got)
	}
	wantOwnTimeout(t, "WithTimeout(ctx, shortDuration, body returning a value late)", err, shortDuration)
}

// Kotlin: WithTimeoutTest.testSuppressExceptionWithAnotherException. A
// body that answers the timeout with a failure of its own: the failure
// wins.
func TestWithTimeoutSuppressExceptionWithAnotherException(t *testing.T) {
	t.Parallel()
	boom := testkit.NewErr("boom")
	var err error
	within(t, "WithTimeout", func() {
		_, err = timeout.WithTimeout(context.Background(), shortDuration, func(ctx context.Context) (string, error) {
			if err := timeout.Delay(ctx, neverDuration); err != nil {
				return "", boom
			}
			return "OK", nil
		})
	})
	if !errors.Is(err, boom) {
		t.Errorf("WithTimeout(ctx, shortDuration, failing body) = %v, want %v", err, boom)
	}
	var te *timeout.TimeoutError
	if errors.As(err, &te) {
		t.Errorf("WithTimeout = %v, want the failure without the timeout", err)
	}
}

// Kotlin: WithTimeoutTest.testNegativeTimeout. A non-positive duration
// times out at once, without running the body.
func TestWithTimeoutNegativeTimeout(t *testing.T) {
	t.Parallel()
	for _, d := range []time.Duration{-1, 0, -time.Hour} {
		ran := false
		got, err := timeout.WithTimeout(context.Background(), d, func(context.Context) (string, error) {
			ran = true
			return "OK", nil
		})
		if ran {
			t.Errorf("WithTimeout(ctx, %v, body) ran the body", d)
		}
		if got != "" {
			t.Errorf("WithTimeout(ctx, %v, body) = %q, want the zero value", d, got)
		}
		te := wantOwnTimeout(t, "WithTimeout(ctx, "+d.String()+", body)", err, d)
		if want := "timeout: timed out immediately"; te.Error() != want {
			t.Errorf("Error() = %q, want %q", te.Error(), want)
		}
	}
}

// Kotlin: WithTimeoutTest.testExceptionFromWithinTimeout. The body's
// failure is returned as it is.
func TestWithTimeoutExceptionFromWithinTimeout(t *testing.T) {
	t.Parallel()
	boom := testkit.NewErr("boom")
	var err error
	within(t, "WithTimeout", func() {
		_, err = timeout.WithTimeout(context.Background(), neverDuration, func(context.Context) (int, error) {
			return 0, boom
		})
	})
	if !errors.Is(err, boom) {
		t.Errorf("WithTimeout(ctx, %v, failing body) = %v, want %v", neverDuration, err, boom)
	}
}

// Kotlin: WithTimeoutTest.testIncompleteWithTimeoutState. The scope's job
// ends Completed, not cancelled, when the body completes in time, and a
// handle registered on it inside the body can be disposed afterwards.
func TestWithTimeoutIncompleteWithTimeoutState(t *testing.T) {
	t.Parallel()
	var scope core.Job
	var handle core.DisposableHandle
	var err error
	within(t, "WithTimeout", func() {
		handle, err = timeout.WithTimeout(context.Background(), neverDuration, func(ctx context.Context) (core.DisposableHandle, error) {
			scope = core.JobOf(ctx)
			return scope.InvokeOnCompletion(func(error) {}), nil
		})
	})
	if err != nil {
		t.Fatalf("WithTimeout(ctx, %v, body) = %v, want nil", neverDuration, err)
	}
	handle.Dispose()
	within(t, "Join", func() { err = scope.Join(context.Background()) })
	if err != nil {
		t.Errorf("Join(ctx) = %v, want nil", err)
	}
	if !scope.IsCompleted() || scope.IsActive() || scope.IsCancelled() {
		t.Errorf("scope %v: (IsActive, IsCompleted, IsCancelled) = (%v, %v, %v), want (false, true, false)",
			scope, scope.IsActive(), scope.IsCompleted(), scope.IsCancelled())
	}
}
