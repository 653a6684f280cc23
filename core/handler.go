package core

import (
	"context"
	"log/slog"
)

// ctxKey is the type of the context keys of this package.
type ctxKey int

const (
	jobKey     ctxKey = iota // the *job a context belongs to
	handlerKey               // the exception handler, a func(error)
)

// WithExceptionHandler returns a copy of ctx that carries h as exception
// handler: the function to which jobs created from it (and their
// descendants, unless they install another) report the failures that no
// parent handles (rule 9 of the package doc), and the panics of their
// completion handlers. h is called once per failure, from the goroutine
// that completes the failing job, with the final (aggregated) cause; it is
// never called for cancellations. A panic in h is recovered and logged.
//
// Without a handler, failures are logged with log/slog at level Error.
// It panics if h is nil; a nil ctx stands for context.Background().
func WithExceptionHandler(ctx context.Context, h func(err error)) context.Context {
	if h == nil {
		panic("core: WithExceptionHandler called with a nil handler")
	}
	if ctx == nil {
		ctx = context.Background()
	}
	return context.WithValue(ctx, handlerKey, h)
}

// reportException delivers err to the exception handler of ctx, or logs it.
func reportException(ctx context.Context, err error) {
	h, _ := ctx.Value(handlerKey).(func(error))
	if h == nil {
		logException("jobtree: uncaught failure", err)
		return
	}
	defer func() {
		if r := recover(); r != nil {
			logException("jobtree: exception handler panicked", newPanicError(r))
			logException("jobtree: uncaught failure", err)
		}
	}()
	h(err)
}

// logException logs err with log/slog, with the stack of a panic.
func logException(msg string, err error) {
	if p, ok := err.(*PanicError); ok {
		slog.Error(msg, "error", err, "stack", string(p.Stack))
		return
	}
	slog.Error(msg, "error", err)
}
