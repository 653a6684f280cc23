package testkit

import (
	"context"
	"strings"
	"testing"
)

// Outcome is what a call run by Try did: it returned V and Err, or it
// panicked (Panicked) with the value Panic.
type Outcome[T any] struct {
	V        T
	Err      error
	Panicked bool
	Panic    any
}

// Try calls f on a new goroutine and returns what it did, a panic included;
// if f does not return within WaitTimeout the test fails with a goroutine
// dump. Every call of the misuse catalogues goes through it: a bad input
// must never hang, and a panic is caught and checked, never a crash.
func Try[T any](t testing.TB, what string, f func() (T, error)) Outcome[T] {
	t.Helper()
	res := make(chan Outcome[T], 1)
	go func() { // ends when f returns or panics
		o := Outcome[T]{Panicked: true}
		defer func() {
			if o.Panicked {
				o.Panic = recover()
			}
			res <- o
		}()
		o.V, o.Err = f()
		o.Panicked = false
	}()
	return WaitChan(t, res, what+" to return")
}

// Returned returns what the call returned, failing the test at once if it
// panicked.
func (o Outcome[T]) Returned(t testing.TB, what string) (T, error) {
	t.Helper()
	if o.Panicked {
		t.Fatalf("%s panicked with %v, want it to return", what, o.Panic)
	}
	return o.V, o.Err
}

// WantPanic checks that the call panicked with a string starting with
// prefix.
func (o Outcome[T]) WantPanic(t testing.TB, what, prefix string) {
	t.Helper()
	if !o.Panicked {
		t.Errorf("%s = %v, %v; want a panic starting with %q", what, o.V, o.Err, prefix)
		return
	}
	if msg, ok := o.Panic.(string); !ok || !strings.HasPrefix(msg, prefix) {
		t.Errorf("%s panicked with %#v, want a message starting with %q", what, o.Panic, prefix)
	}
}

// DoneCtx returns a context that is done, with cause as its cause.
func DoneCtx(cause error) context.Context {
	ctx, stop := context.WithCancelCause(context.Background())
	stop(cause)
	return ctx
}
