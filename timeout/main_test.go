package timeout_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/jobtree/jobtree/core"
	"github.com/jobtree/jobtree/internal/testkit"
	"github.com/jobtree/jobtree/timeout"
)

// TestMain checks that no test of the package leaves a goroutine behind.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	// shortDuration is the timeout of calls whose timeout must fire. Their
	// bodies block until their context is done, so the tests never depend
	// on how long anything takes.
	shortDuration = 10 * time.Millisecond
	// neverDuration is the timeout of calls whose timeout must not fire.
	neverDuration = time.Hour
)

// within runs f on a new goroutine and waits until it returns, failing the
// test with a goroutine dump if it does not in time. Blocking calls under
// test run inside it, so that a bug makes the test fail instead of hang.
// f must not call t.Fatal; it hands its results back through variables
// that the caller reads after within returns.
func within(t testing.TB, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { // ends when f returns
		defer close(done)
		f()
	}()
	testkit.WaitChan(t, done, what+" to return")
}

// untilDone is a body that waits until its context is done and returns the
// echo of that cancellation, as well-behaved Go code does.
func untilDone[T any](ctx context.Context) (T, error) {
	<-ctx.Done()
	var zero T
	return zero, ctx.Err()
}

// wantOwnTimeout checks that err is a *timeout.TimeoutError (not merely one
// in a chain) for duration d, a deadline error and no cancellation.
func wantOwnTimeout(t testing.TB, what string, err error, d time.Duration) *timeout.TimeoutError {
	t.Helper()
	te, ok := err.(*timeout.TimeoutError)
	if !ok {
		t.Fatalf("%s = %v (%T), want a *timeout.TimeoutError", what, err, err)
	}
	if te.Timeout != d {
		t.Errorf("%s = %v, want the timeout of %v", what, te, d)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("errors.Is(%s, context.DeadlineExceeded) = false, want true", what)
	}
	if core.IsCancellation(err) {
		t.Errorf("core.IsCancellation(%s) = true, want false: a timeout is not a cancellation", what)
	}
	return te
}

// expectPanic checks that f panics with a message starting with
// "timeout: ".
func expectPanic(t testing.TB, what string, f func()) {
	t.Helper()
	testkit.ExpectPanic(t, what, "timeout: ", f)
}
