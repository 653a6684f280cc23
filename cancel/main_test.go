package cancel_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/jobtree/jobtree/core"
)

// TestMain checks that no test of the package leaves a goroutine behind.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// veryLongDuration bounds every wait of the tests: a wait that takes longer
// means a hang, and the test fails with a dump of all goroutines. It is
// never used to let goroutines run.
const veryLongDuration = 10 * time.Second

// deadlineInThePast makes contexts that are done from the start.
var deadlineInThePast = time.Unix(1, 0)

// testError is a plain failure (not a cancellation); errors.Is matches
// instances by identity.
type testError struct{ name string }

func (e *testError) Error() string { return "test error " + e.name }

func newErr(name string) *testError { return &testError{name: name} }

// stacks returns the stacks of all goroutines.
func stacks() string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return string(buf[:n])
		}
		buf = make([]byte, 2*len(buf))
	}
}

// waitTimeout is veryLongDuration, shortened so that a hanging test fails
// with a dump before the test binary's own deadline kills it.
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

// wait waits until ch is closed (or receives), or fails the test with a
// goroutine dump.
func wait(t testing.TB, ch <-chan struct{}, what string) {
	t.Helper()
	timer := time.NewTimer(waitTimeout(t))
	defer timer.Stop()
	select {
	case <-ch:
	case <-timer.C:
		t.Fatalf("timed out waiting for %s\n%s", what, stacks())
	}
}

// isClosed reports whether ch is closed right now.
func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// recv receives from ch, or fails the test with a goroutine dump.
func recv[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	timer := time.NewTimer(waitTimeout(t))
	defer timer.Stop()
	select {
	case v := <-ch:
		return v
	case <-timer.C:
		t.Fatalf("timed out waiting for %s\n%s", what, stacks())
		panic("unreachable")
	}
}

// join waits until j is complete, failing the test with a dump if it does
// not complete in time.
func join(t testing.TB, j core.Job) {
	t.Helper()
	wait(t, j.Done(), fmt.Sprintf("%v to complete", j))
	if err := j.Join(context.Background()); err != nil {
		t.Fatalf("Join(ctx) on %v = %v, want nil", j, err)
	}
}

// goAsync runs f on a new goroutine and returns a channel that receives its
// result: for calls that block (Run, RunInterruptible, CancelAndJoin), so
// that a bug fails the test instead of hanging it.
func goAsync[T any](f func() T) <-chan T {
	res := make(chan T, 1)
	go func() { res <- f() }() // ends when f returns
	return res
}

// cleanupJob cancels j when the test ends and waits for it, so that a test
// that fails early does not leak the goroutines of its job tree.
func cleanupJob(t testing.TB, j core.Job) {
	t.Helper()
	t.Cleanup(func() {
		j.Cancel(nil)
		select {
		case <-j.Done():
		case <-time.After(veryLongDuration):
			t.Errorf("cleanup: %v did not complete after Cancel\n%s", j, stacks())
		}
	})
}

// hold blocks until ch is closed or the test is over (t.Context is
// cancelled just before the cleanups run), for bodies that must ignore
// their own cancellation but still end when a test fails early.
func hold(t testing.TB, ch <-chan struct{}) {
	select {
	case <-ch:
	case <-t.Context().Done():
	}
}

// wantCancellation checks that err is a *core.CancellationError (through
// errors.As) and returns it.
func wantCancellation(t testing.TB, what string, err error) *core.CancellationError {
	t.Helper()
	var ce *core.CancellationError
	if !errors.As(err, &ce) {
		t.Fatalf("%s = %v (%T), want a *core.CancellationError", what, err, err)
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("%s = %v: errors.Is(err, context.Canceled) = false, want true", what, err)
	}
	return ce
}

// expectPanic checks that f panics with a message starting with "cancel: ".
func expectPanic(t testing.TB, what string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		r := recover()
		if r == nil {
			t.Errorf("%s did not panic, want a panic starting with %q", what, "cancel: ")
			return
		}
		if msg := fmt.Sprint(r); !strings.HasPrefix(msg, "cancel: ") {
			t.Errorf("%s panicked with %q, want a message starting with %q", what, msg, "cancel: ")
		}
	}()
	f()
}

// recorder collects what an exception handler is given.
type recorder struct {
	mu   sync.Mutex
	errs []error
	got  chan struct{} // receives one value per call, never blocks
}

func newRecorder() *recorder { return &recorder{got: make(chan struct{}, 1024)} }

func (r *recorder) handle(err error) {
	r.mu.Lock()
	r.errs = append(r.errs, err)
	r.mu.Unlock()
	select {
	case r.got <- struct{}{}:
	default:
	}
}

func (r *recorder) get() []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]error(nil), r.errs...)
}

// ctx returns a background context with r as exception handler.
func (r *recorder) ctx() context.Context {
	return core.WithExceptionHandler(context.Background(), r.handle)
}
