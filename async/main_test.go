package async_test

import (
	"errors"
	"testing"

	"go.uber.org/goleak"

	"github.com/jobtree/jobtree/core"
	"github.com/jobtree/jobtree/internal/testkit"
)

// TestMain checks that no test of the package leaves a goroutine behind.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

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
	r := testkit.WaitChan(t, res, what+" to return")
	return r.v, r.err
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

// expectPanic checks that f panics with a message starting with "async: ".
func expectPanic(t testing.TB, what string, f func()) {
	t.Helper()
	testkit.ExpectPanic(t, what, "async: ", f)
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
