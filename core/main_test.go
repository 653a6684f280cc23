package core_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
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

// isClosed reports whether ch is closed (or has a value ready) right now.
func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// waitDone waits until j is final.
func waitDone(t testing.TB, j core.Job) {
	t.Helper()
	waitChan(t, j.Done(), fmt.Sprintf("%v to complete", j))
}

// mustJoin waits until j is final, then checks that Join returns nil.
func mustJoin(t testing.TB, j core.Job) {
	t.Helper()
	waitDone(t, j)
	if err := j.Join(context.Background()); err != nil {
		t.Fatalf("Join(ctx) on %v = %v, want nil", j, err)
	}
}

// call runs f on a new goroutine and returns its result, failing the test
// with a goroutine dump if f does not return in time. Use it for calls that
// block until a job tree is done (Scope, Join, JoinAll), so that a bug
// makes the test fail instead of hang.
func call(t testing.TB, what string, f func() error) error {
	t.Helper()
	res := make(chan error, 1)
	go func() { res <- f() }() // ends when f returns
	timer := time.NewTimer(waitTimeout(t))
	defer timer.Stop()
	select {
	case err := <-res:
		return err
	case <-timer.C:
		t.Fatalf("timed out waiting for %s to return\n%s", what, goroutineDump())
		return nil
	}
}

// recvErr receives from res, failing the test with a goroutine dump if
// nothing arrives in time.
func recvErr(t testing.TB, res <-chan error, what string) error {
	t.Helper()
	timer := time.NewTimer(waitTimeout(t))
	defer timer.Stop()
	select {
	case err := <-res:
		return err
	case <-timer.C:
		t.Fatalf("timed out waiting for %s to return\n%s", what, goroutineDump())
		return nil
	}
}

// cleanupJob cancels j when the test ends and waits for it, so that a
// failing test does not leak the goroutines of its job tree.
func cleanupJob(t testing.TB, j core.Job) {
	t.Helper()
	t.Cleanup(func() {
		j.Cancel(nil)
		select {
		case <-j.Done():
		case <-time.After(veryLongDuration):
			t.Errorf("cleanup: %v did not complete after Cancel\n%s", j, goroutineDump())
		}
	})
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

// launchHeld launches a job under ctx whose body holds (ignoring its
// cancellation) until the returned channel is closed, and returns once the
// body runs.
func launchHeld(t testing.TB, ctx context.Context) (core.Job, chan struct{}) {
	t.Helper()
	started, release := make(chan struct{}), make(chan struct{})
	job := core.Launch(ctx, func(context.Context) error {
		close(started)
		hold(t, release)
		return nil
	})
	waitChan(t, started, "body to start")
	return job, release
}

// blockUntilDone is a body that closes started and then waits until its
// job's context is done, returning the echo of the cancellation.
func blockUntilDone(started chan<- struct{}) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		if started != nil {
			close(started)
		}
		<-ctx.Done()
		return ctx.Err()
	}
}

// recorder collects the errors passed to an exception handler.
type recorder struct {
	mu     sync.Mutex
	errs   []error
	notify chan struct{} // receives one value per call, never blocks the handler
}

func newRecorder() *recorder { return &recorder{notify: make(chan struct{}, 1024)} }

func (r *recorder) handle(err error) {
	r.mu.Lock()
	r.errs = append(r.errs, err)
	r.mu.Unlock()
	select {
	case r.notify <- struct{}{}:
	default:
	}
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
// (errors.Is), and returns it.
func (r *recorder) expectOne(t testing.TB, want error) error {
	t.Helper()
	errs := r.get()
	if len(errs) != 1 {
		t.Fatalf("exception handler got %d calls %v, want exactly one with %v", len(errs), errs, want)
	}
	if !errors.Is(errs[0], want) {
		t.Errorf("exception handler got %v, want %v", errs[0], want)
	}
	return errs[0]
}

// children collects j.Children().
func children(j core.Job) []core.Job {
	var out []core.Job
	for c := range j.Children() {
		out = append(out, c)
	}
	return out
}

// hasChild reports whether c is among j's children.
func hasChild(j, c core.Job) bool {
	for x := range j.Children() {
		if x == c {
			return true
		}
	}
	return false
}

// flags is the (IsActive, IsCompleted, IsCancelled) triple of a job.
type flags struct{ active, completed, cancelled bool }

func flagsOf(j core.Job) flags { return flags{j.IsActive(), j.IsCompleted(), j.IsCancelled()} }

// stateFlags is rule 1's table.
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
	if got, want := flagsOf(j), stateFlags[want]; got != want {
		t.Errorf("%v: (IsActive, IsCompleted, IsCancelled) = %v, want %v", j, got, want)
	}
}

// waitLeaves waits until j.State() is no longer from, spinning with
// runtime.Gosched (no sleeping): used only to observe a transition that
// happens on a body's goroutine after the body returned, which nothing else
// can signal.
func waitLeaves(t testing.TB, j core.Job, from core.State) core.State {
	t.Helper()
	deadline := time.Now().Add(waitTimeout(t))
	for {
		if s := j.State(); s != from {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %v to leave %v\n%s", j, from, goroutineDump())
		}
		runtime.Gosched()
	}
}

// expectPanic checks that f panics with a message starting with "core: ".
func expectPanic(t testing.TB, what string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		r := recover()
		if r == nil {
			t.Errorf("%s did not panic, want a panic starting with %q", what, "core: ")
			return
		}
		if msg := fmt.Sprint(r); !strings.HasPrefix(msg, "core: ") {
			t.Errorf("%s panicked with %q, want a message starting with %q", what, msg, "core: ")
		}
	}()
	f()
}

// goWG runs f on a new goroutine tracked by wg (sync.WaitGroup.Go needs
// go1.25; the module says go1.24).
func goWG(wg *sync.WaitGroup, f func()) {
	wg.Add(1)
	go func() { // ends when f returns
		defer wg.Done()
		f()
	}()
}

// counter is a goroutine-safe counter for handler calls.
type counter struct{ n atomic.Int32 }

func (c *counter) inc()       { c.n.Add(1) }
func (c *counter) get() int32 { return c.n.Load() }

// cancellationOf returns the *core.CancellationError in err's chain.
func cancellationOf(t testing.TB, what string, err error) *core.CancellationError {
	t.Helper()
	var ce *core.CancellationError
	if !errors.As(err, &ce) {
		t.Fatalf("%s = %v (%T), want a *core.CancellationError", what, err, err)
	}
	return ce
}

// multiErrors returns the errors listed by err's Unwrap() []error, or nil.
func multiErrors(err error) []error {
	if m, ok := err.(interface{ Unwrap() []error }); ok {
		return m.Unwrap()
	}
	return nil
}
