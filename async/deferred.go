package async

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/jobtree/jobtree/core"
	"github.com/jobtree/jobtree/internal/corehook"
)

// Deferred is a job with a result: kotlinx's Deferred. It is a [core.Job]
// of the same tree, with the same states, handlers and context; its failure
// cancels its parent like any child's (unless the parent is a supervisor)
// and is also what Await returns. A Deferred never reports its failure to
// an exception handler: whoever awaits it gets the failure.
type Deferred[T any] interface {
	core.Job

	// Await waits for the deferred to complete and returns its value, or
	// its final cause when it was cancelled or failed. It starts a lazy
	// deferred. A deferred that is complete already answers at once,
	// whatever ctx. Otherwise, if ctx is done first, Await returns as
	// core's Join does (a *core.CancellationError carrying
	// context.Cause(ctx)) and leaves the deferred alone: a later Await
	// still gets its value. Awaiting from inside the deferred itself or one
	// of its descendants returns an error wrapping core.ErrJoinCycle at
	// once — seen through ctx, so pass the context the job gave the caller
	// (or one derived from it): with context.Background() such a wait
	// never ends. A nil ctx stands for context.Background().
	Await(ctx context.Context) (T, error)

	// GetCompleted returns the value or final cause of a complete
	// deferred without waiting, and ErrNotCompleted while it is not.
	GetCompleted() (T, error)
}

// CompletableDeferred is a [Deferred] without a body, completed from outside:
// kotlinx's CompletableDeferred. It bridges callback APIs into the job tree.
type CompletableDeferred[T any] interface {
	Deferred[T]

	// Complete sets the value and moves the deferred towards completion
	// (it then waits for its children, like any job). It returns true only
	// for the call that did so: false once the deferred was completed,
	// failed or cancelled, and the value is then discarded.
	Complete(value T) bool

	// Fail completes the deferred with err as its failure: its parent is
	// cancelled, as by a failing child, and Await returns err. It returns
	// true only for the call that moved the deferred out of Active. A
	// cancellation error (core.IsCancellation) cancels it instead, without
	// failing the parent. Fail panics on a nil err, as core's Fail does.
	Fail(err error) bool
}

// ErrNotCompleted is returned by [Deferred.GetCompleted] while the deferred
// is not complete.
var ErrNotCompleted = errors.New("async: deferred is not completed")

// deferred implements [Deferred] over the job that runs its body.
type deferred[T any] struct {
	core.Job
	// value is written at most once, before the job can read as
	// completed (by the body's goroutine, or by the call that won
	// completable.claimed), and read only once it does.
	value T
}

// Async starts body on a new goroutine, as a new child job of
// core.JobOf(ctx), and returns its [Deferred] at once. It is core.Launch with
// a result: the same options (core.Lazy, core.Named), the same start and
// cancellation rules, panics recovered into a *core.PanicError. The value
// body returns with a nil error is the deferred's value; a value returned
// after the deferred was cancelled is discarded. A failure cancels the
// parent (unless it is a supervisor) and is returned by Await; it is never
// reported to an exception handler.
//
// A nil ctx stands for context.Background(). Async panics if body is nil.
func Async[T any](ctx context.Context, body func(ctx context.Context) (T, error), opts ...core.Option) Deferred[T] {
	if body == nil {
		panic("async: Async called with a nil body")
	}
	d := new(deferred[T])
	d.Job = corehook.Launch(ctx, func(ctx context.Context) error {
		v, err := body(ctx)
		if err == nil {
			d.value = v
		}
		return err
	}, opts).(core.Job)
	return d
}

// Await implements [Deferred].
func (d *deferred[T]) Await(ctx context.Context) (T, error) {
	if !d.IsCompleted() {
		// A done ctx loses to a deferred complete by then: its failure
		// may be what cancelled ctx.
		if err := d.Join(ctx); err != nil && !d.IsCompleted() {
			var zero T
			return zero, err
		}
	}
	return d.GetCompleted()
}

// GetCompleted implements [Deferred].
func (d *deferred[T]) GetCompleted() (T, error) {
	var zero T
	if !d.IsCompleted() {
		return zero, ErrNotCompleted
	}
	if err := d.Cause(); err != nil {
		return zero, err
	}
	return d.value, nil
}

// completable implements [CompletableDeferred] over a body-less job.
type completable[T any] struct {
	deferred[T]
	job core.CompletableJob // the same job as deferred.Job
	// claimed is false until the first Complete call sets it; only that
	// call writes value. It never goes back to false.
	claimed atomic.Bool
}

// NewCompletableDeferred returns an Active [CompletableDeferred] without a
// body, a child of core.JobOf(ctx) (a nil ctx, or one without a job, makes
// a root), as core.NewJob does: under a parent that is cancelling or
// complete it starts cancelled.
func NewCompletableDeferred[T any](ctx context.Context) CompletableDeferred[T] {
	c := new(completable[T])
	c.job = corehook.NewJob(ctx).(core.CompletableJob)
	c.Job = c.job
	return c
}

// Complete implements [CompletableDeferred].
func (c *completable[T]) Complete(value T) bool {
	if !c.job.IsActive() || !c.claimed.CompareAndSwap(false, true) {
		return false
	}
	c.value = value
	return c.job.Complete()
}

// Fail implements [CompletableDeferred].
func (c *completable[T]) Fail(err error) bool {
	if err == nil {
		panic("async: Fail called with a nil error")
	}
	return c.job.Fail(err)
}
