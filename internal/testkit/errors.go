package testkit

import (
	"errors"
	"testing"

	"github.com/jobtree/jobtree/core"
)

// TestError is a plain failure (not a cancellation). Each test makes its
// own instances, so that errors.Is matches by identity.
type TestError struct{ Name string }

// Error returns "test error " followed by the name.
func (e *TestError) Error() string { return "test error " + e.Name }

// NewErr returns a new *TestError called name.
func NewErr(name string) *TestError { return &TestError{Name: name} }

// As returns the error of type E in err's chain (errors.As), failing the
// test at once, naming what was checked, if there is none.
func As[E error](t testing.TB, what string, err error) E {
	t.Helper()
	var target E
	if !errors.As(err, &target) {
		t.Fatalf("%s = %v (%T), want a %T in its chain", what, err, err, target)
	}
	return target
}

// CancellationOf returns the *core.CancellationError in err's chain,
// failing the test at once if there is none.
func CancellationOf(t testing.TB, what string, err error) *core.CancellationError {
	t.Helper()
	return As[*core.CancellationError](t, what, err)
}

// WantCancellation checks that err is a cancellation (a
// *core.CancellationError in its chain, for which errors.Is(err,
// context.Canceled) holds) and, when cause is not nil, that it carries
// cause (errors.Is). It is what every waiting call of jobtree returns for a
// done ctx whose cause is cause.
func WantCancellation(t testing.TB, what string, err, cause error) {
	t.Helper()
	var ce *core.CancellationError
	if !errors.As(err, &ce) || !core.IsCancellation(err) {
		t.Errorf("%s = %v (%T), want a *core.CancellationError", what, err, err)
		return
	}
	if cause != nil && !errors.Is(err, cause) {
		t.Errorf("%s = %v, want a cancellation carrying %v", what, err, cause)
	}
}

// WantCycle checks that err wraps core.ErrJoinCycle.
func WantCycle(t testing.TB, what string, err error) {
	t.Helper()
	if !errors.Is(err, core.ErrJoinCycle) {
		t.Errorf("%s = %v, want an error wrapping core.ErrJoinCycle", what, err)
	}
}
