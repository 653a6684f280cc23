package timeout

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/samber/mo"

	"github.com/jobtree/jobtree/core"
)

// WithTimeout runs body as a scope — on the caller's goroutine, as a new
// child job of [core.JobOf](ctx), waiting for body and every job it
// launched, like [core.Scope] — and returns body's value, or the scope's
// error.
//
// If d passes before the scope is complete, WithTimeout cancels the scope
// with a cancellation whose cause is a new [*TimeoutError]: body's context
// is then done, its Err is context.DeadlineExceeded and context.Cause
// returns that cancellation. WithTimeout waits until body and the scope's
// children have returned (it never abandons a running body) and returns
// the *TimeoutError, discarding whatever value body returned. A real
// failure beats the timeout: if body or one of its children failed (an
// error that is not a cancellation, nor the echo of the scope's own done
// context, or a panic, recovered into a [*core.PanicError]), WithTimeout
// returns that failure instead, as core.Scope does. If the scope is
// cancelled for another reason first — the caller's job or ctx is
// cancelled, or an outer timeout fires — WithTimeout returns that
// cancellation. It never passes its error up the job tree: the caller
// decides what a timeout means.
//
// A non-positive d times out at once: body never runs and WithTimeout
// returns a *TimeoutError. A ctx that is already done (or whose job is
// cancelling or complete) makes it return the cancellation without
// running body. A nil ctx stands for context.Background(); WithTimeout
// panics if body is nil.
//
// The context body receives also reports the deadline from Deadline: now
// plus d, or the caller's deadline when that comes first. The timer behind
// the timeout is stopped when WithTimeout returns.
//
// WithTimeout is safe for concurrent use. It blocks until the scope is
// complete: the completion of body and of every job it launched
// synchronizes before WithTimeout returns (in the terms of
// https://go.dev/ref/mem).
func WithTimeout[T any](ctx context.Context, d time.Duration, body func(ctx context.Context) (T, error)) (T, error) {
	if body == nil {
		panic("timeout: WithTimeout called with a nil body")
	}
	if d <= 0 {
		var zero T
		return zero, &TimeoutError{Timeout: d}
	}
	c := &call[T]{body: body}
	_, err := c.run(ctx, d)
	return c.v, err
}

// WithTimeoutOrNull behaves like [WithTimeout] but reports its own timeout
// as mo.None with a nil error instead of a *TimeoutError. Only its own:
// the *TimeoutError of a WithTimeout inside body that body returns, a
// failure, and a cancellation of the caller (including the timeout of an
// enclosing WithTimeoutOrNull, which then returns None itself) are
// returned as errors, with mo.None. When body completes in time, the result
// is mo.Some of its value.
//
// A non-positive d returns mo.None and a nil error at once, without running
// body. WithTimeoutOrNull panics if body is nil.
func WithTimeoutOrNull[T any](ctx context.Context, d time.Duration, body func(ctx context.Context) (T, error)) (mo.Option[T], error) {
	if body == nil {
		panic("timeout: WithTimeoutOrNull called with a nil body")
	}
	if d <= 0 {
		return mo.None[T](), nil
	}
	c := &call[T]{body: body}
	switch timedOut, err := c.run(ctx, d); {
	case timedOut:
		return mo.None[T](), nil
	case err != nil:
		return mo.None[T](), err
	}
	return mo.Some(c.v), nil
}

// Run behaves like [WithTimeout] for a body that returns no value: it
// returns nil when body and its children completed in time, else the
// *TimeoutError, the failure or the cancellation, exactly as WithTimeout
// does. Run panics if body is nil.
func Run(ctx context.Context, d time.Duration, body func(ctx context.Context) error) error {
	if body == nil {
		panic("timeout: Run called with a nil body")
	}
	if d <= 0 {
		return &TimeoutError{Timeout: d}
	}
	c := &call[struct{}]{plain: body}
	_, err := c.run(ctx, d)
	return err
}

// call is one WithTimeout, WithTimeoutOrNull or Run call. What the call
// needs lives in this one allocation, the scope's creation context
// included; only the method values handed to core.Scope and
// time.AfterFunc, the timer, what core allocates for the scope's job, and
// the *TimeoutError (made only when the timer fires) are allocated apart.
// That is 7 allocations for a call that completes in time, against 4 for
// context.WithTimeout and its cancel func.
type call[T any] struct {
	// Set before the scope starts, immutable afterwards.
	body  func(context.Context) (T, error) // WithTimeout's body; nil for Run
	plain func(context.Context) error      // Run's body; nil otherwise
	d     time.Duration
	dl    deadlineCtx // the scope's creation context, when the call's deadline comes first

	// Written by runBody on the caller's goroutine (core.Scope runs the
	// body there) and read there after core.Scope returns; scope is
	// written before the timer starts, which orders it before fire.
	scope core.Job
	timer *time.Timer // nil until runBody starts it
	v     T           // body's value; the zero value unless the call completed in time

	// te is nil until the timer fires; fire stores it once, before it
	// cancels the scope with it. An atomic, because fire may run (and
	// find the scope complete) while run reads it.
	te atomic.Pointer[TimeoutError]
}

// run runs the body as a scope that is cancelled with a new *TimeoutError
// when d (positive) passes first. It returns the scope's outcome, and whether that
// outcome is this call's own timeout (err is then the *TimeoutError).
//
// The timeout is this call's own when the scope ended cancelled (not
// failed) and the cancellation's chain holds this call's *TimeoutError: its
// pointer is the identity, since TimeoutError.Is matches no other
// *TimeoutError. A scope cancelled by its parent first keeps the parent's
// cause (a job's root cause never changes; a later Cancel is ignored), so
// an outer timeout or cancellation is never mistaken for this one, even
// when this call's timer fired too.
func (c *call[T]) run(ctx context.Context, d time.Duration) (timedOut bool, err error) {
	if ctx == nil {
		ctx = context.Background()
	}
	c.d = d
	// Also on runtime.Goexit in the body, which unwinds through here.
	defer c.stopTimer()
	err = core.Scope(c.scopeContext(ctx), c.runBody)
	if err == nil {
		return false, nil
	}
	var zero T
	c.v = zero // the value of a scope that did not complete is discarded
	if te := c.te.Load(); te != nil && core.IsCancellation(err) && errors.Is(err, te) {
		return true, te
	}
	return false, err
}

// scopeContext returns the context the scope is created from: ctx with the
// call's deadline, or ctx itself when its own deadline comes first.
func (c *call[T]) scopeContext(ctx context.Context) context.Context {
	dl := time.Now().Add(c.d)
	if cur, ok := ctx.Deadline(); ok && !dl.Before(cur) {
		return ctx
	}
	c.dl = deadlineCtx{Context: ctx, deadline: dl}
	return &c.dl
}

// runBody is the scope's body: it starts the timer, then runs the caller's
// body. The scope's job exists only once its body runs, so the timer
// starts here rather than before core.Scope.
func (c *call[T]) runBody(ctx context.Context) error {
	c.scope = core.JobOf(ctx)
	// time.AfterFunc runs fire on a goroutine of its own, which ends
	// when Cancel returns; stopTimer stops it when the call returns
	// before d.
	c.timer = time.AfterFunc(c.d, c.fire)
	if c.plain != nil {
		return c.plain(ctx)
	}
	var err error
	c.v, err = c.body(ctx)
	return err
}

// fire cancels the scope with a new *TimeoutError. On a scope that is
// already complete, or cancelling for another reason, Cancel changes
// nothing, and run does not find te in the scope's cause.
func (c *call[T]) fire() {
	te := &TimeoutError{Timeout: c.d}
	c.te.Store(te)
	c.scope.Cancel(te)
}

// stopTimer stops the timer, if runBody started it.
func (c *call[T]) stopTimer() {
	if c.timer != nil {
		c.timer.Stop()
	}
}

// deadlineCtx is the context a timeout's scope is created from: the
// caller's context, with the call's deadline, which comes before the
// caller's own. It only reports the deadline; the call's timer enforces
// it. The scope's own context reads Deadline and Value from it and shares
// its Done channel, so core attaches the scope to the caller's job without
// watching this context.
type deadlineCtx struct {
	context.Context
	deadline time.Time // immutable
}

// Deadline returns the call's deadline.
func (c *deadlineCtx) Deadline() (time.Time, bool) { return c.deadline, true }

// AfterFunc forwards to the parent context, so that a context derived from
// this one (or a job created from it with a Done channel of its own to
// watch) finds the parent's cheap registration instead of starting a
// watcher goroutine. As the context package requires, f never runs inside
// the call: context.AfterFunc runs it on a goroutine of its own.
func (c *deadlineCtx) AfterFunc(f func()) (stop func() bool) {
	return context.AfterFunc(c.Context, f)
}
