package timeout_test

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/samber/mo"

	"github.com/jobtree/jobtree/core"
	"github.com/jobtree/jobtree/internal/testkit"
	"github.com/jobtree/jobtree/timeout"
)

// The scenarios of kotlinx.coroutines' WithTimeoutOrNullTest
// (kotlinx-coroutines-core/common/test/WithTimeoutOrNullTest.kt) and
// WithTimeoutOrNullJvmTest (jvm/test), in Go. Left out: testDispatch (the
// resume order of a single-threaded dispatcher), and the JVM tests
// testIgnoredTimeout*, which rely on Kotlin returning the value of a block
// that never suspended even when its timer fired: a Go body has no
// suspension points to tell, so a timeout that fired always wins over a
// value (see TestWithTimeoutOrNullSuppressExceptionWithResult).

// wantSome checks that WithTimeoutOrNull returned mo.Some(want) and no
// error.
func wantSome[T comparable](t testing.TB, what string, got mo.Option[T], err error, want T) {
	t.Helper()
	if v, ok := got.Get(); !ok || v != want || err != nil {
		t.Errorf("%s = %v, %v, want Some(%v), nil", what, got, err, want)
	}
}

// wantNone checks that WithTimeoutOrNull returned mo.None and no error.
func wantNone[T any](t testing.TB, what string, got mo.Option[T], err error) {
	t.Helper()
	if got.IsPresent() || err != nil {
		t.Errorf("%s = %v, %v, want None, nil", what, got, err)
	}
}

// wantNoneErr checks that WithTimeoutOrNull returned mo.None and an error.
func wantNoneErr[T any](t testing.TB, what string, got mo.Option[T], err error) {
	t.Helper()
	if got.IsPresent() || err == nil {
		t.Fatalf("%s = %v, %v, want None and an error", what, got, err)
	}
}

// Kotlin: WithTimeoutOrNullTest.testBasicNoSuspend.
func TestWithTimeoutOrNullBasicNoSuspend(t *testing.T) {
	t.Parallel()
	var got mo.Option[string]
	var err error
	within(t, "WithTimeoutOrNull", func() {
		got, err = timeout.WithTimeoutOrNull(context.Background(), neverDuration, func(context.Context) (string, error) {
			return "OK", nil
		})
	})
	wantSome(t, "WithTimeoutOrNull(ctx, neverDuration, body)", got, err, "OK")
}

// Kotlin: WithTimeoutOrNullTest.testBasicSuspend. The body waits once, for
// a value from a job it launched.
func TestWithTimeoutOrNullBasicSuspend(t *testing.T) {
	t.Parallel()
	var got mo.Option[string]
	var err error
	within(t, "WithTimeoutOrNull", func() {
		got, err = timeout.WithTimeoutOrNull(context.Background(), neverDuration, func(ctx context.Context) (string, error) {
			ch := make(chan string, 1)
			core.Launch(ctx, func(context.Context) error {
				ch <- "OK"
				return nil
			})
			return <-ch, nil
		})
	})
	wantSome(t, "WithTimeoutOrNull(ctx, neverDuration, body)", got, err, "OK")
}

// Kotlin: WithTimeoutOrNullTest.testYieldBlockingWithTimeout.
func TestWithTimeoutOrNullYieldBlocking(t *testing.T) {
	t.Parallel()
	var got mo.Option[int]
	var err error
	within(t, "WithTimeoutOrNull", func() {
		got, err = timeout.WithTimeoutOrNull(context.Background(), shortDuration, func(ctx context.Context) (int, error) {
			for ctx.Err() == nil {
				runtime.Gosched()
			}
			return 0, ctx.Err()
		})
	})
	wantNone(t, "WithTimeoutOrNull(ctx, shortDuration, busy body)", got, err)
}

// Kotlin: WithTimeoutOrNullTest.testSmallTimeout. A receive from a channel
// that never gets a value is cut short.
func TestWithTimeoutOrNullSmallTimeout(t *testing.T) {
	t.Parallel()
	ch := make(chan int, 1)
	var got mo.Option[int]
	var err error
	within(t, "WithTimeoutOrNull", func() {
		got, err = timeout.WithTimeoutOrNull(context.Background(), time.Millisecond, func(ctx context.Context) (int, error) {
			select {
			case v := <-ch:
				return v, nil
			case <-ctx.Done():
				return 0, context.Cause(ctx)
			}
		})
	})
	wantNone(t, "WithTimeoutOrNull(ctx, 1ms, receive)", got, err)
}

// Kotlin: WithTimeoutOrNullTest.testThrowException. Kotlin throws an
// AssertionError; the Go counterpart of a thrown error that nobody
// returns is a panic, which comes back as a *core.PanicError.
func TestWithTimeoutOrNullThrowException(t *testing.T) {
	t.Parallel()
	var got mo.Option[struct{}]
	var err error
	within(t, "WithTimeoutOrNull", func() {
		got, err = timeout.WithTimeoutOrNull(context.Background(), neverDuration, func(context.Context) (struct{}, error) {
			panic("assertion failed")
		})
	})
	wantNoneErr(t, "WithTimeoutOrNull(ctx, neverDuration, panicking body)", got, err)
	var pe *core.PanicError
	if !errors.As(err, &pe) || pe.Value != "assertion failed" {
		t.Errorf("WithTimeoutOrNull = %v, want a *core.PanicError with value %q", err, "assertion failed")
	}
}

// Kotlin: WithTimeoutOrNullTest.testInnerTimeout. The timeout of an inner
// WithTimeout is not the outer call's: it comes back as an error.
func TestWithTimeoutOrNullInnerTimeout(t *testing.T) {
	t.Parallel()
	var got mo.Option[int]
	var err error
	reached := false
	within(t, "WithTimeoutOrNull", func() {
		got, err = timeout.WithTimeoutOrNull(context.Background(), neverDuration, func(ctx context.Context) (int, error) {
			if _, err := timeout.WithTimeout(ctx, shortDuration, func(ctx context.Context) (int, error) {
				for ctx.Err() == nil {
					runtime.Gosched()
				}
				return 0, ctx.Err()
			}); err != nil {
				return 0, err
			}
			reached = true
			return 1, nil
		})
	})
	wantNoneErr(t, "WithTimeoutOrNull(ctx, neverDuration, WithTimeout(shortDuration))", got, err)
	wantOwnTimeout(t, "WithTimeoutOrNull's error", err, shortDuration)
	if reached {
		t.Errorf("the outer body went on after the inner timeout")
	}
}

// Kotlin: WithTimeoutOrNullTest.testNestedTimeout. WithTimeoutOrNull(∞,
// WithTimeout(10ms, …)) returns the inner *TimeoutError — the very one the
// inner call returned — not None.
func TestWithTimeoutOrNullNestedTimeout(t *testing.T) {
	t.Parallel()
	var got mo.Option[int]
	var err, inner error
	within(t, "WithTimeoutOrNull", func() {
		got, err = timeout.WithTimeoutOrNull(context.Background(), neverDuration, func(ctx context.Context) (int, error) {
			var v int
			v, inner = timeout.WithTimeout(ctx, shortDuration, untilDone[int])
			return v, inner
		})
	})
	wantNoneErr(t, "WithTimeoutOrNull(ctx, neverDuration, WithTimeout(shortDuration))", got, err)
	wantOwnTimeout(t, "WithTimeoutOrNull's error", err, shortDuration)
	if !errors.Is(err, inner) {
		t.Errorf("WithTimeoutOrNull = %v, want the inner WithTimeout's error %v", err, inner)
	}
}

// Kotlin: WithTimeoutOrNullTest.testOuterTimeout. Inner calls with a short
// timeout run one after another until the outer timeout fires; each inner
// call either times out itself (None) or passes the outer timeout on as an
// error, and the outer call returns None.
func TestWithTimeoutOrNullOuterTimeout(t *testing.T) {
	t.Parallel()
	const outerD = 2 * shortDuration
	var got mo.Option[int]
	var err error
	var innerNones int
	var innerErr error
	within(t, "WithTimeoutOrNull", func() {
		got, err = timeout.WithTimeoutOrNull(context.Background(), outerD, func(ctx context.Context) (int, error) {
			for {
				r, err := timeout.WithTimeoutOrNull(ctx, time.Millisecond, untilDone[int])
				if err != nil {
					innerErr = err
					return 0, err
				}
				if r.IsPresent() {
					return 0, errors.New("inner call returned a value")
				}
				innerNones++
			}
		})
	})
	wantNone(t, "WithTimeoutOrNull(ctx, outerD, loop of inner calls)", got, err)
	// The inner call that ended the loop passed the outer timeout on, as
	// a cancellation.
	if !core.IsCancellation(innerErr) {
		t.Errorf("inner WithTimeoutOrNull = %v, want a cancellation", innerErr)
	}
	if te := testkit.As[*timeout.TimeoutError](t, "inner WithTimeoutOrNull", innerErr); te.Timeout != outerD {
		t.Errorf("inner WithTimeoutOrNull = %v, want the outer timeout of %v", innerErr, outerD)
	}
	t.Logf("inner calls that timed out themselves: %d", innerNones)
}

// The brief's second nesting: an outer timeout that fires while an inner
// WithTimeoutOrNull (which would never time out itself) is running makes
// the inner call return the outer cancellation as an error, and the outer
// call return None.
func TestWithTimeoutOrNullOuterFiresDuringInner(t *testing.T) {
	t.Parallel()
	var got mo.Option[int]
	var err error
	var inner mo.Option[int]
	var innerErr error
	within(t, "WithTimeoutOrNull", func() {
		got, err = timeout.WithTimeoutOrNull(context.Background(), shortDuration, func(ctx context.Context) (int, error) {
			inner, innerErr = timeout.WithTimeoutOrNull(ctx, neverDuration, untilDone[int])
			return 0, innerErr
		})
	})
	wantNone(t, "WithTimeoutOrNull(ctx, shortDuration, WithTimeoutOrNull(neverDuration))", got, err)
	wantNoneErr(t, "inner WithTimeoutOrNull", inner, innerErr)
	if !core.IsCancellation(innerErr) {
		t.Errorf("inner WithTimeoutOrNull = %v, want a cancellation", innerErr)
	}
	if te := testkit.As[*timeout.TimeoutError](t, "inner WithTimeoutOrNull", innerErr); te.Timeout != shortDuration {
		t.Errorf("inner WithTimeoutOrNull = %v, want the outer timeout of %v", innerErr, shortDuration)
	}
}

// Kotlin: WithTimeoutOrNullJvmTest.testOuterTimeoutFiredBeforeInner. An
// inner call made after the outer timeout fired never runs its body.
func TestWithTimeoutOrNullOuterTimeoutFiredBeforeInner(t *testing.T) {
	t.Parallel()
	var got mo.Option[int]
	var err, innerErr error
	innerRan := false
	within(t, "WithTimeoutOrNull", func() {
		got, err = timeout.WithTimeoutOrNull(context.Background(), shortDuration, func(ctx context.Context) (int, error) {
			<-ctx.Done() // the outer timeout fired
			_, innerErr = timeout.WithTimeoutOrNull(ctx, neverDuration, func(context.Context) (int, error) {
				innerRan = true
				return 1, nil
			})
			return 0, innerErr
		})
	})
	wantNone(t, "WithTimeoutOrNull(ctx, shortDuration, body)", got, err)
	if innerRan {
		t.Errorf("the inner body ran in a scope that had timed out")
	}
	if !core.IsCancellation(innerErr) {
		t.Errorf("inner WithTimeoutOrNull = %v, want a cancellation", innerErr)
	}
}

// Kotlin: WithTimeoutOrNullTest.testBadClass.
func TestWithTimeoutOrNullBadClass(t *testing.T) {
	t.Parallel()
	bad := &badValue{mark: func() string { return "bad" }}
	var got mo.Option[*badValue]
	var err error
	within(t, "WithTimeoutOrNull", func() {
		got, err = timeout.WithTimeoutOrNull(context.Background(), neverDuration, func(context.Context) (*badValue, error) {
			return bad, nil
		})
	})
	wantSome(t, "WithTimeoutOrNull(ctx, neverDuration, body)", got, err, bad)
}

// Kotlin: WithTimeoutOrNullTest.testNullOnTimeout.
func TestWithTimeoutOrNullNullOnTimeout(t *testing.T) {
	t.Parallel()
	var got mo.Option[string]
	var err error
	reached := false
	within(t, "WithTimeoutOrNull", func() {
		got, err = timeout.WithTimeoutOrNull(context.Background(), shortDuration, func(ctx context.Context) (string, error) {
			if err := timeout.Delay(ctx, neverDuration); err != nil {
				return "", err
			}
			reached = true
			return "OK", nil
		})
	})
	wantNone(t, "WithTimeoutOrNull(ctx, shortDuration, Delay)", got, err)
	if reached {
		t.Errorf("the body went on after Delay was cancelled")
	}
}

// Kotlin: WithTimeoutOrNullTest.testSuppressExceptionWithResult. The value
// of a body that swallowed the cancellation is discarded.
func TestWithTimeoutOrNullSuppressExceptionWithResult(t *testing.T) {
	t.Parallel()
	var got mo.Option[string]
	var err error
	sawCancel := false
	within(t, "WithTimeoutOrNull", func() {
		got, err = timeout.WithTimeoutOrNull(context.Background(), shortDuration, func(ctx context.Context) (string, error) {
			if err := timeout.Delay(ctx, neverDuration); core.IsCancellation(err) {
				sawCancel = true
			}
			return "OK", nil
		})
	})
	if !sawCancel {
		t.Errorf("Delay in the body did not return a cancellation")
	}
	wantNone(t, "WithTimeoutOrNull(ctx, shortDuration, body returning a value late)", got, err)
}

// Kotlin: WithTimeoutOrNullTest.testSuppressExceptionWithAnotherException.
func TestWithTimeoutOrNullSuppressExceptionWithAnotherException(t *testing.T) {
	t.Parallel()
	boom := testkit.NewErr("boom")
	var got mo.Option[string]
	var err error
	within(t, "WithTimeoutOrNull", func() {
		got, err = timeout.WithTimeoutOrNull(context.Background(), shortDuration, func(ctx context.Context) (string, error) {
			if err := timeout.Delay(ctx, neverDuration); err != nil {
				return "", boom
			}
			return "OK", nil
		})
	})
	wantNoneErr(t, "WithTimeoutOrNull(ctx, shortDuration, failing body)", got, err)
	if !errors.Is(err, boom) {
		t.Errorf("WithTimeoutOrNull = %v, want %v", err, boom)
	}
}

// Kotlin: WithTimeoutOrNullTest.testNegativeTimeout.
func TestWithTimeoutOrNullNegativeTimeout(t *testing.T) {
	t.Parallel()
	for _, d := range []time.Duration{-1, 0} {
		ran := false
		got, err := timeout.WithTimeoutOrNull(context.Background(), d, func(context.Context) (string, error) {
			ran = true
			return "OK", nil
		})
		if ran {
			t.Errorf("WithTimeoutOrNull(ctx, %v, body) ran the body", d)
		}
		wantNone(t, "WithTimeoutOrNull(ctx, "+d.String()+", body)", got, err)
	}
}

// Kotlin: WithTimeoutOrNullTest.testExceptionFromWithinTimeout.
func TestWithTimeoutOrNullExceptionFromWithinTimeout(t *testing.T) {
	t.Parallel()
	boom := testkit.NewErr("boom")
	var got mo.Option[int]
	var err error
	within(t, "WithTimeoutOrNull", func() {
		got, err = timeout.WithTimeoutOrNull(context.Background(), neverDuration, func(context.Context) (int, error) {
			return 0, boom
		})
	})
	wantNoneErr(t, "WithTimeoutOrNull(ctx, neverDuration, failing body)", got, err)
	if !errors.Is(err, boom) {
		t.Errorf("WithTimeoutOrNull = %v, want %v", err, boom)
	}
}
