package async_test

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
// means a hang, and the test fails with a dump of all goroutines.
const veryLongDuration = 10 * time.Second

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

// waitChan waits until ch is closed (or receives), or fails the test with a
// goroutine dump.
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

// waitDone waits until j is final.
func waitDone(t testing.TB, j core.Job) {
	t.Helper()
	waitChan(t, j.Done(), fmt.Sprintf("%v to complete", j))
}

// result is what a blocking call returned.
type result[T any] struct {
	v   T
	err error
}

// goCall runs f on a new goroutine and returns a channel that receives its
// result, so that the test can check that the call has not returned yet
// before it lets it return.
func goCall[T any](f func() (T, error)) <-chan result[T] {
	res := make(chan result[T], 1)
	go func() { // ends when f returns
		v, err := f()
		res <- result[T]{v, err}
	}()
	return res
}

// recv receives the result of a goCall, failing the test with a goroutine
// dump if it does not arrive in time.
func recv[T any](t testing.TB, res <-chan result[T], what string) (T, error) {
	t.Helper()
	timer := time.NewTimer(waitTimeout(t))
	defer timer.Stop()
	select {
	case r := <-res:
		return r.v, r.err
	case <-timer.C:
		t.Fatalf("timed out waiting for %s to return\n%s", what, goroutineDump())
		var zero T
		return zero, nil
	}
}

// returned reports whether the goCall has returned already; if it has, the
// result is lost, so use it only where returning is a failure.
func returned[T any](res <-chan result[T]) bool {
	select {
	case r := <-res:
		_ = r
		return true
	default:
		return false
	}
}

// call runs f on a new goroutine and returns its result, failing the test
// with a goroutine dump if f does not return in time. Use it for calls that
// block until a job tree is done (Await, AwaitAll, Map, Race), so that a bug
// makes the test fail instead of hang.
func call[T any](t testing.TB, what string, f func() (T, error)) (T, error) {
	t.Helper()
	return recv(t, goCall(f), what)
}

// hold blocks until ch is closed or the test is over (t.Context is cancelled
// just before the cleanups run), so that bodies that ignore their own
// cancellation still end when a test fails early.
func hold(t testing.TB, ch <-chan struct{}) {
	select {
	case <-ch:
	case <-t.Context().Done():
	}
}

// recorder collects the errors passed to an exception handler.
type recorder struct {
	mu   sync.Mutex
	errs []error
}

func (r *recorder) handle(err error) {
	r.mu.Lock()
	r.errs = append(r.errs, err)
	r.mu.Unlock()
}

func (r *recorder) get() []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]error(nil), r.errs...)
}

// ctx returns a background context with r installed as exception handler.
func (r *recorder) ctx() context.Context {
	return core.WithExceptionHandler(context.Background(), r.handle)
}

// expectNone checks that nothing was reported.
func (r *recorder) expectNone(t testing.TB) {
	t.Helper()
	if errs := r.get(); len(errs) != 0 {
		t.Errorf("exception handler got %v, want no calls", errs)
	}
}

// expectOne checks that exactly one error was reported and that it is want
// (errors.Is).
func (r *recorder) expectOne(t testing.TB, want error) {
	t.Helper()
	errs := r.get()
	if len(errs) != 1 {
		t.Fatalf("exception handler got %d calls %v, want exactly one with %v", len(errs), errs, want)
	}
	if !errors.Is(errs[0], want) {
		t.Errorf("exception handler got %v, want %v", errs[0], want)
	}
}

// flags is the (IsActive, IsCompleted, IsCancelled) triple of a job.
type flags struct{ active, completed, cancelled bool }

// stateFlags is core's rule 1 table.
var stateFlags = map[core.State]flags{
	core.New:        {false, false, false},
	core.Active:     {true, false, false},
	core.Completing: {true, false, false},
	core.Cancelling: {false, false, true},
	core.Cancelled:  {false, true, true},
	core.Completed:  {false, true, false},
}

// checkState checks that j is in state want and that its flags match.
func checkState(t testing.TB, j core.Job, want core.State) {
	t.Helper()
	if got := j.State(); got != want {
		t.Errorf("%v: State() = %v, want %v", j, got, want)
	}
	got := flags{j.IsActive(), j.IsCompleted(), j.IsCancelled()}
	if got != stateFlags[want] {
		t.Errorf("%v: (IsActive, IsCompleted, IsCancelled) = %v, want %v", j, got, stateFlags[want])
	}
}

// expectPanic checks that f panics with a message starting with "async: ".
func expectPanic(t testing.TB, what string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		r := recover()
		if r == nil {
			t.Errorf("%s did not panic, want a panic starting with %q", what, "async: ")
			return
		}
		if msg := fmt.Sprint(r); !strings.HasPrefix(msg, "async: ") {
			t.Errorf("%s panicked with %q, want a message starting with %q", what, msg, "async: ")
		}
	}()
	f()
}

// wantCancellation checks that err is a cancellation (a
// *core.CancellationError, for which errors.Is(err, context.Canceled)
// holds) and, when cause is not nil, that it carries cause.
func wantCancellation(t testing.TB, what string, err, cause error) {
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

// wantFailure checks that err is the failure want (errors.Is) and not a
// cancellation.
func wantFailure(t testing.TB, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) || core.IsCancellation(err) {
		t.Errorf("%s = %v (%T), want the failure %v", what, err, err, want)
	}
}

// jobOf is core.JobOf(d.Context()): the job in the tree behind a deferred,
// the one that Parent and Children report.
func jobOf(j core.Job) core.Job { return core.JobOf(j.Context()) }
