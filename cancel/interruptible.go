package cancel

import (
	"bytes"
	"context"
	"errors"
	"runtime/debug"
	"sync/atomic"

	"github.com/jobtree/jobtree/core"
)

// RunInterruptible calls f, a blocking call that takes no context (a
// library call, a cgo call, a read on a file), so that the caller does not
// wait for it once ctx is done: it runs f on a goroutine of its own and
// returns f's result when f returns first, or, when ctx is done first, an
// *AbandonedError at once. It is the Go answer to kotlinx's
// runInterruptible.
//
// # The trade-off
//
// kotlinx interrupts the thread that runs the call; Go cannot stop a
// goroutine from outside, so f is not stopped: it is abandoned. It keeps
// running until it returns on its own, and whatever it holds (a
// connection, a file, memory, the goroutine itself) stays held until then;
// its result is discarded. RunInterruptible frees the caller, not the
// resources. Prefer, in this order: an API that takes a context; a way to
// unblock the call from a context.AfterFunc (closing the connection,
// setting a deadline); RunInterruptible only when neither exists.
//
// Nothing is leaked silently: the goroutine runs f as the body of a root
// job (named "cancel.RunInterruptible"), which the *AbandonedError hands
// back as [AbandonedError.Call]. That job completes when f returns — Join
// it where the call must be over (before closing what f uses, at shutdown,
// in a test that checks for leaked goroutines). It is a root, deliberately:
// as a child it would keep the caller's job, and the scope or timeout the
// caller wanted to leave, from completing until f returns. Its outcome is
// f's: Completed when f returns a nil error; Cancelled when f returns a
// cancellation or an error that matches ctx.Err() (the echo of the
// cancellation that abandoned it); otherwise failed, and the failure —
// which no caller will ever see — is reported to the exception handler of
// ctx (core.WithExceptionHandler; by default logged), as a root
// core.Launch's would be. A caller that expects f to fail once abandoned
// and does not want that reported makes f return nil in that case.
//
// # Details
//
// When ctx is done (or its job not active) before the call, f never runs
// and RunInterruptible returns what [EnsureActive] returns. When f returns
// at about the moment ctx is done, whichever is seen first wins: a result
// already produced is returned rather than discarded. A panic in f (or
// runtime.Goexit) is returned as an error to a caller still waiting — a
// panic as a *core.PanicError with its stack; in an abandoned call it is
// the job's failure. (Goexit cannot be stopped: it also ends the job's
// goroutine, which core counts as the job's failure in either case.) The values of ctx reach f only through the closure: f runs with
// no context of its own.
//
// A nil ctx stands for context.Background(). RunInterruptible panics if f
// is nil.
func RunInterruptible[T any](ctx context.Context, f func() (T, error)) (T, error) {
	if f == nil {
		panic("cancel: RunInterruptible called with a nil f")
	}
	if ctx == nil {
		ctx = context.Background()
	}
	var zero T
	if err := EnsureActive(ctx); err != nil {
		return zero, err
	}
	c := &interruptible[T]{ctx: ctx, done: make(chan struct{})}
	// The job's body runs f on its goroutine; it ends when f returns.
	// It is a root (NonCancellable hides ctx's job) with ctx's values, so
	// that its failure reaches ctx's exception handler.
	call := core.Launch(NonCancellable(ctx), c.run(f), core.Named("cancel.RunInterruptible"))
	select {
	case <-c.done:
		return c.v, c.err
	case <-ctx.Done():
		if c.state.CompareAndSwap(callRunning, callAbandoned) {
			return zero, &AbandonedError{
				Cancellation: cancellationOf(context.Cause(ctx), "wait cancelled"),
				Call:         call,
			}
		}
		// f returned first and its goroutine is handing the result over.
		<-c.done
		return c.v, c.err
	}
}

// AbandonedError is the error RunInterruptible returns when ctx is done
// before f returns. It is a cancellation: it unwraps to Cancellation, so
// errors.Is(err, context.Canceled) and core.IsCancellation hold, and
// errors.As finds the *core.CancellationError. A job body that returns it
// is cancelled, not failed.
type AbandonedError struct {
	// Cancellation is what a waiting call of jobtree returns for the done
	// ctx: a *core.CancellationError carrying context.Cause(ctx).
	Cancellation *core.CancellationError
	// Call is the root job whose body still runs the abandoned call; it
	// completes when the call returns (see RunInterruptible for its
	// outcome). Join it to wait for the call to be over.
	Call core.Job
}

// Error says that the call was abandoned, and why.
func (e *AbandonedError) Error() string {
	return "cancel: blocking call abandoned: " + e.Cancellation.Error()
}

// Unwrap returns the cancellation, so that errors.Is and errors.As see the
// *core.CancellationError and what led to it.
func (e *AbandonedError) Unwrap() error { return e.Cancellation }

// The states of an interruptible call; its state field moves once, from
// callRunning to one of the two others.
const (
	callRunning   int32 = iota // f runs, the caller waits
	callReturned               // f returned first: the caller gets its result
	callAbandoned              // ctx was done first: the caller has gone
)

// errGoexit is the result of an f that called runtime.Goexit.
var errGoexit = errors.New("cancel: RunInterruptible: f called runtime.Goexit")

// interruptible is one RunInterruptible call, shared by the caller and the
// goroutine that runs f.
type interruptible[T any] struct {
	ctx context.Context // the caller's; read by the goroutine once abandoned
	// state is callRunning until the first of the goroutine (f returned)
	// and the caller (ctx done) moves it on by CAS: the winner decides
	// whether the result goes to the caller or to the job.
	state atomic.Int32
	// v and err are f's result, written by the goroutine before it sets
	// callReturned, read by the caller only after done is closed.
	v    T
	err  error
	done chan struct{} // closed by the goroutine after it set callReturned
}

// run returns the body of the job that runs f.
func (c *interruptible[T]) run(f func() (T, error)) func(context.Context) error {
	return func(context.Context) (jobErr error) {
		var v T
		var err error
		returned := false
		// The result is handed over in a deferred call, so that a caller
		// still waiting gets an answer even when f panics or calls
		// runtime.Goexit (which would skip code after the call).
		defer func() {
			if !returned {
				if r := recover(); r != nil {
					err = newPanicError(r)
				} else {
					err = errGoexit // Goexit goes on unwinding after this
				}
			}
			jobErr = c.finish(v, err)
		}()
		v, err = f()
		returned = true
		return nil
	}
}

// finish hands f's result to the caller, if it still waits, and returns the
// job's outcome.
func (c *interruptible[T]) finish(v T, err error) error {
	c.v, c.err = v, err
	if c.state.CompareAndSwap(callRunning, callReturned) {
		close(c.done)
		return nil // the caller got the result, failure included
	}
	// Abandoned: the job's outcome is f's.
	switch {
	case err == nil:
		return nil
	case core.IsCancellation(err) || errors.Is(err, c.ctx.Err()):
		return cancellationOf(err, "abandoned call cancelled")
	default:
		return err
	}
}

// newPanicError makes the *core.PanicError of a panic recovered with value
// r, with the stack of the panicking goroutine (deferred calls run on it),
// first line trimmed as core does.
func newPanicError(r any) *core.PanicError {
	stack := debug.Stack()
	if i := bytes.IndexByte(stack, '\n'); i >= 0 {
		stack = stack[i+1:]
	}
	return &core.PanicError{Value: r, Stack: stack}
}
