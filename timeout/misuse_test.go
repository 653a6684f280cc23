package timeout_test

import (
	"context"
	"errors"
	"math"
	"sync/atomic"
	"testing"
	"time"

	"github.com/samber/mo"

	"github.com/jobtree/jobtree/core"
	"github.com/jobtree/jobtree/internal/testkit"
	"github.com/jobtree/jobtree/timeout"
)

// nonPositive are the durations that time out at once.
var nonPositive = []time.Duration{0, -1, math.MinInt64}

// TestMisuse is timeout's part of the misuse catalogue
// (docs/reliability.md): every bad input the package's API can get, with
// its documented result — an error that errors.Is or errors.As
// recognises, or a panic whose message starts with "timeout: ", at the
// call that got the bad input. No row may hang (every call is bounded, and
// fails the test with a goroutine dump), crash inside the library (a
// panic is caught and checked) or lose anything (a body run that should
// not, a failure hidden by a timeout).
func TestMisuse(t *testing.T) {
	t.Parallel()
	value := func(context.Context) (int, error) { return 42, nil }
	tests := []testkit.MisuseCase{
		{Name: "nil body", Want: `panic "timeout: …" (WithTimeout, WithTimeoutOrNull, Run; whatever d and ctx)`, Run: func(t *testing.T) {
			for _, ctx := range []context.Context{context.Background(), nil, testkit.DoneCtx(nil)} {
				for _, d := range []time.Duration{time.Hour, 0, -1} {
					testkit.Try(t, "WithTimeout", func() (int, error) {
						return timeout.WithTimeout[int](ctx, d, nil)
					}).WantPanic(t, "WithTimeout(ctx, d, nil)", "timeout: ")
					testkit.Try(t, "WithTimeoutOrNull", func() (mo.Option[int], error) {
						return timeout.WithTimeoutOrNull[int](ctx, d, nil)
					}).WantPanic(t, "WithTimeoutOrNull(ctx, d, nil)", "timeout: ")
					testkit.Try(t, "Run", func() (int, error) {
						return 0, timeout.Run(ctx, d, nil)
					}).WantPanic(t, "Run(ctx, d, nil)", "timeout: ")
				}
			}
		}},
		{Name: "WithTimeout/zero or negative d", Want: "a *TimeoutError at once (errors.Is context.DeadlineExceeded, not a cancellation); body never runs", Run: func(t *testing.T) {
			for _, d := range nonPositive {
				var ran atomic.Bool
				_, err := testkit.Try(t, "WithTimeout", func() (int, error) {
					return timeout.WithTimeout(context.Background(), d, func(context.Context) (int, error) { ran.Store(true); return 1, nil })
				}).Returned(t, "WithTimeout(ctx, d, body)")
				wantOwnTimeout(t, "WithTimeout(ctx, non-positive d, body)", err, d)
				if msg := err.Error(); msg != "timeout: timed out immediately" {
					t.Errorf("WithTimeout(ctx, %v, body).Error() = %q, want %q", d, msg, "timeout: timed out immediately")
				}
				if ran.Load() {
					t.Errorf("WithTimeout(ctx, %v, body) ran the body, want it never to run", d)
				}
			}
		}},
		{Name: "WithTimeoutOrNull/zero or negative d", Want: "None and a nil error at once; body never runs", Run: func(t *testing.T) {
			for _, d := range nonPositive {
				var ran atomic.Bool
				got, err := testkit.Try(t, "WithTimeoutOrNull", func() (mo.Option[int], error) {
					return timeout.WithTimeoutOrNull(context.Background(), d, func(context.Context) (int, error) { ran.Store(true); return 1, nil })
				}).Returned(t, "WithTimeoutOrNull(ctx, d, body)")
				if got.IsPresent() || err != nil {
					t.Errorf("WithTimeoutOrNull(ctx, %v, body) = %v, %v; want None, nil", d, got, err)
				}
				if ran.Load() {
					t.Errorf("WithTimeoutOrNull(ctx, %v, body) ran the body, want it never to run", d)
				}
			}
		}},
		{Name: "Run/zero or negative d", Want: "a *TimeoutError at once; body never runs", Run: func(t *testing.T) {
			for _, d := range nonPositive {
				var ran atomic.Bool
				_, err := testkit.Try(t, "Run", func() (int, error) {
					return 0, timeout.Run(context.Background(), d, func(context.Context) error { ran.Store(true); return nil })
				}).Returned(t, "Run(ctx, d, body)")
				wantOwnTimeout(t, "Run(ctx, non-positive d, body)", err, d)
				if ran.Load() {
					t.Errorf("Run(ctx, %v, body) ran the body, want it never to run", d)
				}
			}
		}},
		{Name: "WithTimeout/longest d", Want: "no overflow: body runs with a deadline in the future, its value is returned", Run: func(t *testing.T) {
			var deadline time.Time
			var hasDeadline bool
			v, err := testkit.Try(t, "WithTimeout(ctx, MaxInt64, body)", func() (int, error) {
				return timeout.WithTimeout(context.Background(), math.MaxInt64, func(ctx context.Context) (int, error) {
					deadline, hasDeadline = ctx.Deadline()
					return 42, ctx.Err()
				})
			}).Returned(t, "WithTimeout(ctx, MaxInt64, body)")
			if v != 42 || err != nil {
				t.Errorf("WithTimeout(ctx, MaxInt64, body) = %v, %v; want 42, nil", v, err)
			}
			if !hasDeadline || !deadline.After(time.Now()) {
				t.Errorf("the body's ctx.Deadline() = %v, %v; want a time in the future", deadline, hasDeadline)
			}
		}},
		{Name: "nil ctx", Want: "as context.Background() (WithTimeout, WithTimeoutOrNull, Run)", Run: func(t *testing.T) {
			v, err := testkit.Try(t, "WithTimeout(nil, d, body)", func() (int, error) {
				return timeout.WithTimeout(nil, neverDuration, value)
			}).Returned(t, "WithTimeout(nil, d, body)")
			if v != 42 || err != nil {
				t.Errorf("WithTimeout(nil, d, body) = %v, %v; want 42, nil", v, err)
			}
			got, err := testkit.Try(t, "WithTimeoutOrNull(nil, d, body)", func() (mo.Option[int], error) {
				return timeout.WithTimeoutOrNull(nil, neverDuration, value)
			}).Returned(t, "WithTimeoutOrNull(nil, d, body)")
			if v, ok := got.Get(); !ok || v != 42 || err != nil {
				t.Errorf("WithTimeoutOrNull(nil, d, body) = %v, %v; want Some(42), nil", got, err)
			}
			_, err = testkit.Try(t, "Run(nil, d, body)", func() (int, error) {
				return 0, timeout.Run(nil, neverDuration, func(context.Context) error { return nil })
			}).Returned(t, "Run(nil, d, body)")
			if err != nil {
				t.Errorf("Run(nil, d, body) = %v, want nil", err)
			}
		}},
		{Name: "done ctx", Want: "the cancellation, carrying context.Cause(ctx); body never runs (WithTimeout, WithTimeoutOrNull, Run)", Run: func(t *testing.T) {
			var ran atomic.Bool
			body := func(context.Context) (int, error) { ran.Store(true); return 1, nil }
			cause := testkit.NewErr("gave up")
			_, err := testkit.Try(t, "WithTimeout(done ctx, d, body)", func() (int, error) {
				return timeout.WithTimeout(testkit.DoneCtx(cause), neverDuration, body)
			}).Returned(t, "WithTimeout(done ctx, d, body)")
			testkit.WantCancellation(t, "WithTimeout(done ctx, d, body)", err, cause)
			got, err := testkit.Try(t, "WithTimeoutOrNull(done ctx, d, body)", func() (mo.Option[int], error) {
				return timeout.WithTimeoutOrNull(testkit.DoneCtx(cause), neverDuration, body)
			}).Returned(t, "WithTimeoutOrNull(done ctx, d, body)")
			testkit.WantCancellation(t, "WithTimeoutOrNull(done ctx, d, body)", err, cause)
			if got.IsPresent() {
				t.Errorf("WithTimeoutOrNull(done ctx, d, body) = %v, want None", got)
			}
			_, err = testkit.Try(t, "Run(done ctx, d, body)", func() (int, error) {
				return 0, timeout.Run(testkit.DoneCtx(cause), neverDuration, func(ctx context.Context) error { _, err := body(ctx); return err })
			}).Returned(t, "Run(done ctx, d, body)")
			testkit.WantCancellation(t, "Run(done ctx, d, body)", err, cause)
			if ran.Load() {
				t.Error("a body ran with a done ctx, want none")
			}
		}},
		{Name: "body panics", Want: "a *core.PanicError, not a timeout; the process goes on", Run: func(t *testing.T) {
			_, err := testkit.Try(t, "WithTimeout(ctx, d, panicking body)", func() (int, error) {
				return timeout.WithTimeout(context.Background(), neverDuration, func(context.Context) (int, error) { panic("boom") })
			}).Returned(t, "WithTimeout(ctx, d, panicking body)")
			var pe *core.PanicError
			if !errors.As(err, &pe) || pe.Value != "boom" {
				t.Errorf("WithTimeout(ctx, d, panicking body) = %v, want a *core.PanicError with value boom", err)
			}
			if errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("WithTimeout(ctx, d, panicking body) = %v, want no timeout", err)
			}
		}},
		{Name: "body ignores the timeout", Want: "WithTimeout waits for it, then returns the *TimeoutError; the value is discarded", Run: func(t *testing.T) {
			v, err := testkit.Try(t, "WithTimeout(ctx, short, body)", func() (int, error) {
				return timeout.WithTimeout(context.Background(), shortDuration, func(ctx context.Context) (int, error) {
					<-ctx.Done()
					return 42, nil // as if it had not noticed
				})
			}).Returned(t, "WithTimeout(ctx, short, body)")
			wantOwnTimeout(t, "WithTimeout(ctx, short, body ignoring ctx)", err, shortDuration)
			if v != 0 {
				t.Errorf("WithTimeout(ctx, short, body ignoring ctx) = %v, want the zero value", v)
			}
		}},
		{Name: "Delay/zero or negative d", Want: "nil at once, without looking at ctx (also a nil or a done ctx)", Run: func(t *testing.T) {
			for _, ctx := range []context.Context{context.Background(), nil, testkit.DoneCtx(nil)} {
				for _, d := range nonPositive {
					_, err := testkit.Try(t, "Delay(ctx, d)", func() (int, error) { return 0, timeout.Delay(ctx, d) }).Returned(t, "Delay(ctx, d)")
					if err != nil {
						t.Errorf("Delay(%v, %v) = %v, want nil", ctx, d, err)
					}
				}
			}
		}},
		{Name: "Delay/nil ctx", Want: "as context.Background(): nil after d", Run: func(t *testing.T) {
			_, err := testkit.Try(t, "Delay(nil, d)", func() (int, error) { return 0, timeout.Delay(nil, shortDuration) }).Returned(t, "Delay(nil, d)")
			if err != nil {
				t.Errorf("Delay(nil, %v) = %v, want nil", shortDuration, err)
			}
		}},
		{Name: "Delay/done ctx", Want: "*core.CancellationError carrying context.Cause(ctx), at once", Run: func(t *testing.T) {
			cause := testkit.NewErr("gave up")
			_, err := testkit.Try(t, "Delay(done ctx, d)", func() (int, error) { return 0, timeout.Delay(testkit.DoneCtx(cause), math.MaxInt64) }).Returned(t, "Delay(done ctx, d)")
			testkit.WantCancellation(t, "Delay(done ctx, MaxInt64)", err, cause)
		}},
		{Name: "Delay/longest d, cancelled", Want: "*core.CancellationError carrying context.Cause(ctx): no overflow, no hang", Run: func(t *testing.T) {
			ctx, stop := context.WithCancelCause(context.Background())
			cause := testkit.NewErr("gave up")
			go stop(cause) // ends at once; before or while Delay waits, the outcome is the same
			_, err := testkit.Try(t, "Delay(ctx, MaxInt64)", func() (int, error) { return 0, timeout.Delay(ctx, math.MaxInt64) }).Returned(t, "Delay(ctx, MaxInt64)")
			testkit.WantCancellation(t, "Delay(ctx, MaxInt64)", err, cause)
		}},
		{Name: "TimeoutError/zero value", Want: `Error() "timeout: timed out immediately"; errors.Is context.DeadlineExceeded; not a cancellation`, Run: func(t *testing.T) {
			var te timeout.TimeoutError
			if msg := te.Error(); msg != "timeout: timed out immediately" {
				t.Errorf("TimeoutError{}.Error() = %q, want %q", msg, "timeout: timed out immediately")
			}
			if !errors.Is(&te, context.DeadlineExceeded) || core.IsCancellation(&te) {
				t.Errorf("TimeoutError{}: errors.Is(DeadlineExceeded) = %v, IsCancellation = %v; want true, false",
					errors.Is(&te, context.DeadlineExceeded), core.IsCancellation(&te))
			}
		}},
	}
	testkit.RunCatalogue(t, testkit.CatalogueDoc, tests)
}
