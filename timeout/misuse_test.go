package timeout_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/samber/mo"

	"github.com/jobtree/jobtree/core"
	"github.com/jobtree/jobtree/timeout"
)

// outcome is what a call under test did: it returned v and err, or it
// panicked with p.
type outcome[T any] struct {
	v        T
	err      error
	panicked bool
	p        any
}

// try calls f on a new goroutine and returns what it did, a panic
// included; if f does not return in time the test fails with a goroutine
// dump. Every call of the misuse catalogue goes through it: a bad input
// must never hang, and a panic is checked, not a crash.
func try[T any](t *testing.T, what string, f func() (T, error)) outcome[T] {
	t.Helper()
	res := make(chan outcome[T], 1)
	go func() { // ends when f returns or panics
		o := outcome[T]{panicked: true}
		defer func() {
			if o.panicked {
				o.p = recover()
			}
			res <- o
		}()
		o.v, o.err = f()
		o.panicked = false
	}()
	timer := time.NewTimer(waitTimeout(t))
	defer timer.Stop()
	select {
	case o := <-res:
		return o
	case <-timer.C:
		t.Fatalf("%s did not return in time\n%s", what, goroutineDump())
		panic("unreachable")
	}
}

// returned returns what the call returned, failing the test if it
// panicked.
func (o outcome[T]) returned(t *testing.T, what string) (T, error) {
	t.Helper()
	if o.panicked {
		t.Fatalf("%s panicked with %v, want it to return", what, o.p)
	}
	return o.v, o.err
}

// wantPanic checks that the call panicked with a string starting with
// prefix.
func (o outcome[T]) wantPanic(t *testing.T, what, prefix string) {
	t.Helper()
	if !o.panicked {
		t.Errorf("%s = %v, %v; want a panic starting with %q", what, o.v, o.err, prefix)
		return
	}
	if msg, ok := o.p.(string); !ok || !strings.HasPrefix(msg, prefix) {
		t.Errorf("%s panicked with %#v, want a message starting with %q", what, o.p, prefix)
	}
}

// doneCtx returns a context that is done, with cause as its cause.
func doneCtx(cause error) context.Context {
	ctx, stop := context.WithCancelCause(context.Background())
	stop(cause)
	return ctx
}

// wantWaitError checks that err is a *core.CancellationError carrying
// cause, as every waiting call of jobtree returns for a done ctx.
func wantWaitError(t *testing.T, what string, err, cause error) {
	t.Helper()
	cancellationOf(t, what, err)
	if !errors.Is(err, context.Canceled) || !errors.Is(err, cause) {
		t.Errorf("%s = %v, want a cancellation carrying %v", what, err, cause)
	}
}

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
	tests := []struct {
		name string // the bad input
		want string // the documented result
		run  func(t *testing.T)
	}{
		{"nil body", `panic "timeout: …" (WithTimeout, WithTimeoutOrNull, Run; whatever d and ctx)`, func(t *testing.T) {
			for _, ctx := range []context.Context{context.Background(), nil, doneCtx(nil)} {
				for _, d := range []time.Duration{time.Hour, 0, -1} {
					try(t, "WithTimeout", func() (int, error) {
						return timeout.WithTimeout[int](ctx, d, nil)
					}).wantPanic(t, "WithTimeout(ctx, d, nil)", "timeout: ")
					try(t, "WithTimeoutOrNull", func() (mo.Option[int], error) {
						return timeout.WithTimeoutOrNull[int](ctx, d, nil)
					}).wantPanic(t, "WithTimeoutOrNull(ctx, d, nil)", "timeout: ")
					try(t, "Run", func() (int, error) {
						return 0, timeout.Run(ctx, d, nil)
					}).wantPanic(t, "Run(ctx, d, nil)", "timeout: ")
				}
			}
		}},
		{"WithTimeout/zero or negative d", "a *TimeoutError at once (errors.Is context.DeadlineExceeded, not a cancellation); body never runs", func(t *testing.T) {
			for _, d := range nonPositive {
				var ran atomic.Bool
				_, err := try(t, "WithTimeout", func() (int, error) {
					return timeout.WithTimeout(context.Background(), d, func(context.Context) (int, error) { ran.Store(true); return 1, nil })
				}).returned(t, "WithTimeout(ctx, d, body)")
				wantOwnTimeout(t, "WithTimeout(ctx, non-positive d, body)", err, d)
				if msg := err.Error(); msg != "timeout: timed out immediately" {
					t.Errorf("WithTimeout(ctx, %v, body).Error() = %q, want %q", d, msg, "timeout: timed out immediately")
				}
				if ran.Load() {
					t.Errorf("WithTimeout(ctx, %v, body) ran the body, want it never to run", d)
				}
			}
		}},
		{"WithTimeoutOrNull/zero or negative d", "None and a nil error at once; body never runs", func(t *testing.T) {
			for _, d := range nonPositive {
				var ran atomic.Bool
				got, err := try(t, "WithTimeoutOrNull", func() (mo.Option[int], error) {
					return timeout.WithTimeoutOrNull(context.Background(), d, func(context.Context) (int, error) { ran.Store(true); return 1, nil })
				}).returned(t, "WithTimeoutOrNull(ctx, d, body)")
				if got.IsPresent() || err != nil {
					t.Errorf("WithTimeoutOrNull(ctx, %v, body) = %v, %v; want None, nil", d, got, err)
				}
				if ran.Load() {
					t.Errorf("WithTimeoutOrNull(ctx, %v, body) ran the body, want it never to run", d)
				}
			}
		}},
		{"Run/zero or negative d", "a *TimeoutError at once; body never runs", func(t *testing.T) {
			for _, d := range nonPositive {
				var ran atomic.Bool
				_, err := try(t, "Run", func() (int, error) {
					return 0, timeout.Run(context.Background(), d, func(context.Context) error { ran.Store(true); return nil })
				}).returned(t, "Run(ctx, d, body)")
				wantOwnTimeout(t, "Run(ctx, non-positive d, body)", err, d)
				if ran.Load() {
					t.Errorf("Run(ctx, %v, body) ran the body, want it never to run", d)
				}
			}
		}},
		{"WithTimeout/longest d", "no overflow: body runs with a deadline in the future, its value is returned", func(t *testing.T) {
			var deadline time.Time
			var hasDeadline bool
			v, err := try(t, "WithTimeout(ctx, MaxInt64, body)", func() (int, error) {
				return timeout.WithTimeout(context.Background(), math.MaxInt64, func(ctx context.Context) (int, error) {
					deadline, hasDeadline = ctx.Deadline()
					return 42, ctx.Err()
				})
			}).returned(t, "WithTimeout(ctx, MaxInt64, body)")
			if v != 42 || err != nil {
				t.Errorf("WithTimeout(ctx, MaxInt64, body) = %v, %v; want 42, nil", v, err)
			}
			if !hasDeadline || !deadline.After(time.Now()) {
				t.Errorf("the body's ctx.Deadline() = %v, %v; want a time in the future", deadline, hasDeadline)
			}
		}},
		{"nil ctx", "as context.Background() (WithTimeout, WithTimeoutOrNull, Run)", func(t *testing.T) {
			v, err := try(t, "WithTimeout(nil, d, body)", func() (int, error) {
				return timeout.WithTimeout(nil, neverDuration, value)
			}).returned(t, "WithTimeout(nil, d, body)")
			if v != 42 || err != nil {
				t.Errorf("WithTimeout(nil, d, body) = %v, %v; want 42, nil", v, err)
			}
			got, err := try(t, "WithTimeoutOrNull(nil, d, body)", func() (mo.Option[int], error) {
				return timeout.WithTimeoutOrNull(nil, neverDuration, value)
			}).returned(t, "WithTimeoutOrNull(nil, d, body)")
			if v, ok := got.Get(); !ok || v != 42 || err != nil {
				t.Errorf("WithTimeoutOrNull(nil, d, body) = %v, %v; want Some(42), nil", got, err)
			}
			_, err = try(t, "Run(nil, d, body)", func() (int, error) {
				return 0, timeout.Run(nil, neverDuration, func(context.Context) error { return nil })
			}).returned(t, "Run(nil, d, body)")
			if err != nil {
				t.Errorf("Run(nil, d, body) = %v, want nil", err)
			}
		}},
		{"done ctx", "the cancellation, carrying context.Cause(ctx); body never runs (WithTimeout, WithTimeoutOrNull, Run)", func(t *testing.T) {
			var ran atomic.Bool
			body := func(context.Context) (int, error) { ran.Store(true); return 1, nil }
			cause := newErr("gave up")
			_, err := try(t, "WithTimeout(done ctx, d, body)", func() (int, error) {
				return timeout.WithTimeout(doneCtx(cause), neverDuration, body)
			}).returned(t, "WithTimeout(done ctx, d, body)")
			wantWaitError(t, "WithTimeout(done ctx, d, body)", err, cause)
			got, err := try(t, "WithTimeoutOrNull(done ctx, d, body)", func() (mo.Option[int], error) {
				return timeout.WithTimeoutOrNull(doneCtx(cause), neverDuration, body)
			}).returned(t, "WithTimeoutOrNull(done ctx, d, body)")
			wantWaitError(t, "WithTimeoutOrNull(done ctx, d, body)", err, cause)
			if got.IsPresent() {
				t.Errorf("WithTimeoutOrNull(done ctx, d, body) = %v, want None", got)
			}
			_, err = try(t, "Run(done ctx, d, body)", func() (int, error) {
				return 0, timeout.Run(doneCtx(cause), neverDuration, func(ctx context.Context) error { _, err := body(ctx); return err })
			}).returned(t, "Run(done ctx, d, body)")
			wantWaitError(t, "Run(done ctx, d, body)", err, cause)
			if ran.Load() {
				t.Error("a body ran with a done ctx, want none")
			}
		}},
		{"body panics", "a *core.PanicError, not a timeout; the process goes on", func(t *testing.T) {
			_, err := try(t, "WithTimeout(ctx, d, panicking body)", func() (int, error) {
				return timeout.WithTimeout(context.Background(), neverDuration, func(context.Context) (int, error) { panic("boom") })
			}).returned(t, "WithTimeout(ctx, d, panicking body)")
			var pe *core.PanicError
			if !errors.As(err, &pe) || pe.Value != "boom" {
				t.Errorf("WithTimeout(ctx, d, panicking body) = %v, want a *core.PanicError with value boom", err)
			}
			if errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("WithTimeout(ctx, d, panicking body) = %v, want no timeout", err)
			}
		}},
		{"body ignores the timeout", "WithTimeout waits for it, then returns the *TimeoutError; the value is discarded", func(t *testing.T) {
			v, err := try(t, "WithTimeout(ctx, short, body)", func() (int, error) {
				return timeout.WithTimeout(context.Background(), shortDuration, func(ctx context.Context) (int, error) {
					<-ctx.Done()
					return 42, nil // as if it had not noticed
				})
			}).returned(t, "WithTimeout(ctx, short, body)")
			wantOwnTimeout(t, "WithTimeout(ctx, short, body ignoring ctx)", err, shortDuration)
			if v != 0 {
				t.Errorf("WithTimeout(ctx, short, body ignoring ctx) = %v, want the zero value", v)
			}
		}},
		{"Delay/zero or negative d", "nil at once, without looking at ctx (also a nil or a done ctx)", func(t *testing.T) {
			for _, ctx := range []context.Context{context.Background(), nil, doneCtx(nil)} {
				for _, d := range nonPositive {
					_, err := try(t, "Delay(ctx, d)", func() (int, error) { return 0, timeout.Delay(ctx, d) }).returned(t, "Delay(ctx, d)")
					if err != nil {
						t.Errorf("Delay(%v, %v) = %v, want nil", ctx, d, err)
					}
				}
			}
		}},
		{"Delay/nil ctx", "as context.Background(): nil after d", func(t *testing.T) {
			_, err := try(t, "Delay(nil, d)", func() (int, error) { return 0, timeout.Delay(nil, shortDuration) }).returned(t, "Delay(nil, d)")
			if err != nil {
				t.Errorf("Delay(nil, %v) = %v, want nil", shortDuration, err)
			}
		}},
		{"Delay/done ctx", "*core.CancellationError carrying context.Cause(ctx), at once", func(t *testing.T) {
			cause := newErr("gave up")
			_, err := try(t, "Delay(done ctx, d)", func() (int, error) { return 0, timeout.Delay(doneCtx(cause), math.MaxInt64) }).returned(t, "Delay(done ctx, d)")
			wantWaitError(t, "Delay(done ctx, MaxInt64)", err, cause)
		}},
		{"Delay/longest d, cancelled", "*core.CancellationError carrying context.Cause(ctx): no overflow, no hang", func(t *testing.T) {
			ctx, stop := context.WithCancelCause(context.Background())
			cause := newErr("gave up")
			go stop(cause) // ends at once; before or while Delay waits, the outcome is the same
			_, err := try(t, "Delay(ctx, MaxInt64)", func() (int, error) { return 0, timeout.Delay(ctx, math.MaxInt64) }).returned(t, "Delay(ctx, MaxInt64)")
			wantWaitError(t, "Delay(ctx, MaxInt64)", err, cause)
		}},
		{"TimeoutError/zero value", `Error() "timeout: timed out immediately"; errors.Is context.DeadlineExceeded; not a cancellation`, func(t *testing.T) {
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
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("documented result: %s", tc.want)
				}
			})
			tc.run(t)
		})
	}
}
