package async

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/jobtree/jobtree/core"
	"github.com/jobtree/jobtree/internal/corehook"
	"github.com/samber/mo"
)

// AwaitResult awaits d and returns its outcome as a [mo.Result]: Ok with the
// value, or Err with the cause (or with the wait error when ctx is done
// first, see [Deferred.Await]). A nil d gives an Err wrapping
// ErrNilDeferred; a nil ctx stands for context.Background().
func AwaitResult[T any](ctx context.Context, d Deferred[T]) mo.Result[T] {
	if d == nil {
		return mo.Err[T](fmt.Errorf("async: AwaitResult: %w", ErrNilDeferred))
	}
	return mo.TupleToResult(d.Await(ctx))
}

// ErrNilDeferred is wrapped by the error of [AwaitAll], [AwaitAny] and
// [AwaitResult] when a deferred they were given is nil.
var ErrNilDeferred = errors.New("nil deferred")

// AwaitAll waits for all of ds and returns their values in argument order.
// It fails fast: as soon as one of them ends cancelled or failed, it
// returns that one's cause, without waiting for the others and without
// cancelling them (as kotlinx's awaitAll; they end through the tree). It
// starts lazy deferreds; the same deferred may appear more than once; no
// deferreds return an empty slice.
//
// A ctx that is done at the call or before the values are all there makes
// AwaitAll return as core's Join does (a *core.CancellationError carrying
// context.Cause(ctx)), leaving the deferreds alone. A nil deferred (an error
// wrapping ErrNilDeferred), or one that would be awaited from inside itself
// or one of its descendants (a cycle, core.ErrJoinCycle), returns an error
// at once. The cycle is seen through ctx: pass the context the caller's job
// gave it (or one derived from it), not context.Background(). A nil ctx stands for
// context.Background().
func AwaitAll[T any](ctx context.Context, ds ...Deferred[T]) ([]T, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if err := checkAll(ctx, "AwaitAll", ds); err != nil {
		return nil, err
	}
	if !allComplete(ds) {
		w := newWaiter(len(ds))
		handles := make([]core.DisposableHandle, len(ds))
		for i, d := range ds {
			d.Start()
			handles[i] = d.InvokeOnCompletion(w.onAll)
		}
		err := w.wait(ctx, handles)
		if err != nil {
			return nil, err
		}
	}
	out := make([]T, len(ds))
	for i, d := range ds {
		v, err := d.GetCompleted()
		if err != nil {
			return nil, err // complete already: only in the fast path
		}
		out[i] = v
	}
	return out, nil
}

// AwaitAny waits for the first of ds to complete normally, cancels the
// others, waits for them to end, and returns the winner's value. When none
// succeeds it returns the errors.Join of their causes, in the order they
// ended. It starts lazy deferreds. The validation and ctx rules are those
// of [AwaitAll]; no deferreds return ErrNothingToAwait. When ctx is done
// first, AwaitAny returns at once and leaves the deferreds alone.
func AwaitAny[T any](ctx context.Context, ds ...Deferred[T]) (T, error) {
	var zero T
	if ctx == nil {
		ctx = context.Background()
	}
	if len(ds) == 0 {
		return zero, ErrNothingToAwait
	}
	if err := checkAll(ctx, "AwaitAny", ds); err != nil {
		return zero, err
	}
	w := newWaiter(len(ds))
	w.errs = make([]error, len(ds))
	handles := make([]core.DisposableHandle, len(ds))
	for i, d := range ds {
		d.Start()
		handles[i] = d.InvokeOnCompletion(func(cause error) { w.onAny(i, cause) })
	}
	if err := w.wait(ctx, handles); err != nil {
		return zero, err
	}
	if w.failures.Load() == w.n {
		return zero, errors.Join(w.errs...)
	}
	// The losers are cancelled, then awaited so that none outlives the
	// call. (A duplicate of the winner is the winner: Cancel does nothing
	// to a complete deferred.)
	win := ds[w.winner.Load()]
	for _, d := range ds {
		d.Cancel(errLostRace)
	}
	for _, d := range ds {
		if err := d.Join(ctx); err != nil {
			return zero, err
		}
	}
	return win.GetCompleted()
}

// ErrNothingToAwait is returned by [AwaitAny] and [Race] when they are given
// nothing to wait for.
var ErrNothingToAwait = errors.New("async: nothing to await")

// errLostRace cancels the deferreds that lost an [AwaitAny] or a [Race].
var errLostRace = &core.CancellationError{Message: "another deferred completed first"}

// checkAll returns the error for a done ctx, a nil deferred, or a deferred
// that the caller's own job would wait for from inside.
func checkAll[T any](ctx context.Context, fn string, ds []Deferred[T]) error {
	if err := corehook.WaitError(ctx); err != nil {
		return err
	}
	self := core.JobOf(ctx)
	for i, d := range ds {
		if d == nil {
			return fmt.Errorf("async: %s: deferred %d is nil: %w", fn, i, ErrNilDeferred)
		}
		if self == nil || d.IsCompleted() {
			continue
		}
		dj := core.JobOf(d.Context())
		for x := self; x != nil; x = x.Parent() {
			if x == dj {
				return fmt.Errorf("async: %s: %v waits for itself from %v: %w", fn, d, self, core.ErrJoinCycle)
			}
		}
	}
	return nil
}

// allComplete reports whether every deferred of ds completed normally.
func allComplete[T any](ds []Deferred[T]) bool {
	for _, d := range ds {
		if !d.IsCompleted() || d.Cause() != nil {
			return false
		}
	}
	return true
}

// waiter counts the completions of a set of deferreds (duplicates counted
// each time) and wakes its caller once, through done.
type waiter struct {
	// left counts the deferreds not yet complete normally; the completion
	// that brings it to zero closes done.
	left atomic.Int64
	// slots counts the causes of AwaitAny's deferreds: the handler that
	// increments it to k owns errs[k-1].
	slots atomic.Int64
	// failures counts the deferreds that ended with a cause, each counted
	// after its cause is written: errs is complete once it reaches n.
	failures atomic.Int64
	// fired is false until done is closed; only the CAS that sets it
	// closes done.
	fired atomic.Bool
	// errs holds the causes in the order they arrived (AwaitAny only),
	// read once failures reached n.
	errs []error
	// winner is the index of the deferred that woke AwaitAny by completing
	// normally; written once, before done is closed.
	winner atomic.Int64
	// cause is the first cause to arrive (AwaitAll only); set once.
	cause atomic.Pointer[error]
	done  chan struct{}
	n     int64
}

func newWaiter(n int) *waiter {
	w := &waiter{done: make(chan struct{}), n: int64(n)}
	w.left.Store(int64(n))
	return w
}

// fire closes done, once.
func (w *waiter) fire() {
	if w.fired.CompareAndSwap(false, true) {
		close(w.done)
	}
}

// onAll is the completion handler of AwaitAll: the first cause, or the last
// normal completion, wakes the caller.
func (w *waiter) onAll(cause error) {
	if cause != nil {
		if w.cause.CompareAndSwap(nil, &cause) {
			w.fire()
		}
		return
	}
	if w.left.Add(-1) == 0 {
		w.fire()
	}
}

// onAny is the completion handler of AwaitAny: the first normal
// completion, or the last failure, wakes the caller.
func (w *waiter) onAny(i int, cause error) {
	if cause == nil {
		if w.fired.CompareAndSwap(false, true) {
			w.winner.Store(int64(i))
			close(w.done)
		}
		return
	}
	w.errs[w.slots.Add(1)-1] = cause
	if w.failures.Add(1) == w.n {
		w.fire()
	}

}

// wait blocks until the waiter fires or ctx is done, then disposes the
// handlers that did not run. For AwaitAll, it returns the first cause.
func (w *waiter) wait(ctx context.Context, handles []core.DisposableHandle) error {
	var err error
	select {
	case <-w.done:
	case <-ctx.Done():
		select {
		case <-w.done: // both: the deferreds' outcome, which may be what cancelled ctx
		default:
			err = corehook.WaitError(ctx)
		}
	}
	for _, h := range handles {
		h.Dispose()
	}
	if err != nil {
		return err
	}
	if c := w.cause.Load(); c != nil {
		return *c
	}
	return nil
}
