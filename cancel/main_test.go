package cancel_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/jobtree/jobtree/core"
	"github.com/jobtree/jobtree/internal/testkit"
)

// TestMain checks that no test of the package leaves a goroutine behind.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// deadlineInThePast makes contexts that are done from the start.
var deadlineInThePast = time.Unix(1, 0)

// goAsync runs f on a new goroutine and returns a channel that receives its
// result: for calls that block (Run, RunInterruptible, CancelAndJoin), so
// that a bug fails the test instead of hanging it.
func goAsync[T any](f func() T) <-chan T {
	res := make(chan T, 1)
	go func() { res <- f() }() // ends when f returns
	return res
}

// wantCancellation checks that err is a *core.CancellationError (through
// errors.As) and returns it.
func wantCancellation(t testing.TB, what string, err error) *core.CancellationError {
	t.Helper()
	ce := testkit.CancellationOf(t, what, err)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("%s = %v: errors.Is(err, context.Canceled) = false, want true", what, err)
	}
	return ce
}

// expectPanic checks that f panics with a message starting with "cancel: ".
func expectPanic(t testing.TB, what string, f func()) {
	t.Helper()
	testkit.ExpectPanic(t, what, "cancel: ", f)
}
