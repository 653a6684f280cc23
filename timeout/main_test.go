package timeout_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/jobtree/jobtree/core"
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
	// veryLongDuration bounds every wait of the tests: a wait that takes
	// longer means a hang, and the test fails with a dump of all
	// goroutines.
	veryLongDuration = 10 * time.Second
)

// testError is a plain failure (not a cancellation). Each test makes its own
// instances, so that errors.Is matches by identity.
type testError struct{ name string }

func (e *testError) Error() string { return "test error " + e.name }

func newErr(name string) *testError { return &testError{name: name} }

// goroutineDump returns the stacks of all goroutines.
func goroutineDump() string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return string(buf[:n])
		}
		buf = make([]byte, 2*len(buf))
	}
}

// waitTimeout is veryLongDuration, shortened so that the test fails with a
// dump before the test binary's own deadline kills it.
func waitTimeout(t testing.TB) time.Duration {
	d := veryLongDuration
	if tt, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		if dl, ok := tt.Deadline(); ok {
			if left := time.Until(dl) - time.Second; left < d {
				d = max(left, time.Second)
			}
		}
	}
	return d
}

// waitChan waits until ch is closed, or fails the test with a goroutine
// dump.
func waitChan(t testing.TB, ch <-chan struct{}, what string) {
	t.Helper()
	timer := time.NewTimer(waitTimeout(t))
	defer timer.Stop()
	select {
	case <-ch:
	case <-timer.C:
		t.Fatalf("timed out waiting for %s\n%s", what, goroutineDump())
	}
}

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
	waitChan(t, done, what+" to return")
}

// hold blocks until ch is closed or the test is over (t.Context is
// cancelled just before the cleanups run), so that bodies that ignore their
// own cancellation still end when a test fails early.
func hold(t testing.TB, ch <-chan struct{}) {
	select {
	case <-ch:
	case <-t.Context().Done():
	}
}

// untilDone is a body that waits until its context is done and returns the
// echo of that cancellation, as well-behaved Go code does.
func untilDone[T any](ctx context.Context) (T, error) {
	<-ctx.Done()
	var zero T
	return zero, ctx.Err()
}

// timeoutOf returns the *timeout.TimeoutError in err's chain, failing the
// test if there is none.
func timeoutOf(t testing.TB, what string, err error) *timeout.TimeoutError {
	t.Helper()
	var te *timeout.TimeoutError
	if !errors.As(err, &te) {
		t.Fatalf("%s = %v (%T), want a *timeout.TimeoutError in its chain", what, err, err)
	}
	return te
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

// cancellationOf returns err as a *core.CancellationError, failing the test
// if its chain holds none.
func cancellationOf(t testing.TB, what string, err error) *core.CancellationError {
	t.Helper()
	var ce *core.CancellationError
	if !errors.As(err, &ce) {
		t.Fatalf("%s = %v (%T), want a *core.CancellationError", what, err, err)
	}
	return ce
}

// expectPanic checks that f panics with a message starting with
// "timeout: ".
func expectPanic(t testing.TB, what string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		r := recover()
		if r == nil {
			t.Errorf("%s did not panic, want a panic starting with %q", what, "timeout: ")
			return
		}
		if msg := fmt.Sprint(r); !strings.HasPrefix(msg, "timeout: ") {
			t.Errorf("%s panicked with %q, want a message starting with %q", what, msg, "timeout: ")
		}
	}()
	f()
}
