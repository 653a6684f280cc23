package core_test

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/jobtree/jobtree/core"
	"github.com/jobtree/jobtree/internal/testkit"
)

// TestMain checks that no test of the package leaves a goroutine behind.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// call runs f on a new goroutine and returns its result, failing the test
// with a goroutine dump if f does not return in time. Use it for calls that
// block until a job tree is done (Scope, Join, JoinAll), so that a bug
// makes the test fail instead of hang.
func call(t testing.TB, what string, f func() error) error {
	t.Helper()
	res := make(chan error, 1)
	go func() { res <- f() }() // ends when f returns
	return testkit.WaitChan(t, res, what+" to return")
}

// launchHeld launches a job under ctx whose body holds (ignoring its
// cancellation) until the returned channel is closed, and returns once the
// body runs.
func launchHeld(t testing.TB, ctx context.Context) (core.Job, chan struct{}) {
	t.Helper()
	started, release := make(chan struct{}), make(chan struct{})
	job := core.Launch(ctx, func(context.Context) error {
		close(started)
		testkit.Hold(t, release)
		return nil
	})
	testkit.WaitChan(t, started, "body to start")
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

// waitLeaves waits until j.State() is no longer from, spinning with
// runtime.Gosched (no sleeping): used only to observe a transition that
// happens on a body's goroutine after the body returned, which nothing else
// can signal.
func waitLeaves(t testing.TB, j core.Job, from core.State) core.State {
	t.Helper()
	deadline := time.Now().Add(testkit.WaitTimeout(t))
	for {
		if s := j.State(); s != from {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %v to leave %v\n%s", j, from, testkit.GoroutineDump())
		}
		runtime.Gosched()
	}
}

// expectPanic checks that f panics with a message starting with "core: ".
func expectPanic(t testing.TB, what string, f func()) {
	t.Helper()
	testkit.ExpectPanic(t, what, "core: ", f)
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

// multiErrors returns the errors listed by err's Unwrap() []error, or nil.
func multiErrors(err error) []error {
	if m, ok := err.(interface{ Unwrap() []error }); ok {
		return m.Unwrap()
	}
	return nil
}
