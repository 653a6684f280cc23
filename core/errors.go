package core

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
)

// CancellationError is the cause of a job that was cancelled rather than
// failed: by [Job.Cancel], by its parent's cancellation, or by the context it
// was created from. errors.Is(err, context.Canceled) holds for it, so code
// written for the context package recognises it.
type CancellationError struct {
	// Message says what was cancelled and why, e.g. "job was cancelled".
	Message string
	// Cause is what led to the cancellation; it may be nil.
	Cause error
}

// Error returns the message, followed by the cause when there is one.
func (e *CancellationError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = "job was cancelled"
	}
	if e.Cause != nil {
		return msg + ": " + e.Cause.Error()
	}
	return msg
}

// Unwrap returns the cause, so that errors.Is and errors.As see through the
// cancellation to what led to it.
func (e *CancellationError) Unwrap() error { return e.Cause }

// Is reports whether target is context.Canceled: every cancellation is one.
func (e *CancellationError) Is(target error) bool { return target == context.Canceled }

// PanicError is the failure of a job whose body, or a handler of which,
// panicked. The panic is recovered where it happened, with its stack, and
// travels the failure path like a returned error.
type PanicError struct {
	// Value is the value passed to panic.
	Value any
	// Stack is the stack of the goroutine that panicked, taken in the
	// recovering defer (its first line, which names the recovering
	// goroutine, is trimmed).
	Stack []byte
}

// Error returns "core: panic: " and the panic value. The stack is left out
// so that the message stays one line; it is in the Stack field.
func (e *PanicError) Error() string { return fmt.Sprintf("core: panic: %v", e.Value) }

// Unwrap returns the panic value when it is an error, else nil.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// newPanicError captures the current stack for a recovered panic value v.
func newPanicError(v any) *PanicError {
	stack := debug.Stack()
	// The first line is "goroutine N [running]:", which says nothing
	// about where the panic happened; drop it.
	if i := bytes.IndexByte(stack, '\n'); i >= 0 {
		stack = stack[i+1:]
	}
	return &PanicError{Value: v, Stack: stack}
}

// IsCancellation reports whether err is a cancellation rather than a
// failure: errors.Is(err, context.Canceled).
func IsCancellation(err error) bool { return errors.Is(err, context.Canceled) }

// ErrJoinCycle is wrapped by the error that Join (and every other waiting
// call of jobtree) returns at once when the caller runs inside the job it
// waits for, or inside one of that job's descendants: such a wait could
// never end, because the job waits for the caller.
var ErrJoinCycle = errors.New("core: job waits for itself")

// errGoexit is the failure of a job whose body called runtime.Goexit.
var errGoexit = errors.New("core: job body called runtime.Goexit")

// MultiError is the final cause of a job that recorded more than one failure.
// The first failure is the cause; the others arrived later and are kept so
// that nothing is lost. Cancellation errors are never part of it.
//
// Only core makes them. The zero value, which holds no failure, is safe to
// use: its Error is "core: empty MultiError", First returns nil and Unwrap
// an empty list.
type MultiError struct {
	errs []error // the first failure, then the others in arrival order; len ≥ 2 when made by core
}

// Error returns the first failure's text, followed by the others'.
func (e *MultiError) Error() string {
	if len(e.errs) == 0 {
		return "core: empty MultiError"
	}
	var b strings.Builder
	b.WriteString(e.errs[0].Error())
	b.WriteString(" (and ")
	for i, err := range e.errs[1:] {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(err.Error())
	}
	b.WriteString(")")
	return b.String()
}

// Unwrap returns every failure, the first one first, so that errors.Is and
// errors.As find each of them.
func (e *MultiError) Unwrap() []error { return e.errs }

// First returns the failure that came first: the one that cancelled the job.
// It is nil for the zero MultiError.
func (e *MultiError) First() error {
	if len(e.errs) == 0 {
		return nil
	}
	return e.errs[0]
}
