package selects_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/jobtree/jobtree/async"
	"github.com/jobtree/jobtree/core"
	"github.com/jobtree/jobtree/internal/testkit"
)

// TestMain checks that no test of the package leaves a goroutine behind.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// veryLongDuration is the timeout that must never fire; it is also
// testkit's bound of every wait of the tests.
const veryLongDuration = testkit.VeryLongDuration

// shortDuration is a timeout that must fire (the tests assert which clause
// wins, never how long it took).
const shortDuration = time.Millisecond

// testCtx returns a context that is cancelled when the test ends, so that a
// Select that wrongly blocks forever ends with the test (and leaks nothing).
func testCtx(t testing.TB) context.Context {
	ctx, stop := context.WithCancel(context.Background())
	t.Cleanup(stop)
	return ctx
}

// result is what the selects of the tests return: the name of the chosen
// clause.
func result(name string) func() (string, error) {
	return func() (string, error) { return name, nil }
}

// unreached is the function of a clause that must not be chosen.
func unreached(t testing.TB, name string) func() (string, error) {
	return func() (string, error) {
		t.Errorf("clause %s was chosen, want another", name)
		return name, nil
	}
}

// watchedJob is a job whose completion handlers are counted: how many were
// registered, and how many of the returned handles were disposed of.
// armed, when not nil, gets a value after each registration: a select
// that registers on the job is about to wait.
type watchedJob struct {
	core.CompletableJob
	registered, disposed atomic.Int64
	armed                chan struct{}
}

func newWatchedJob() *watchedJob {
	return &watchedJob{CompletableJob: core.NewJob(nil), armed: make(chan struct{}, 100)}
}

func (j *watchedJob) InvokeOnCompletion(h func(cause error)) core.DisposableHandle {
	d := j.CompletableJob.InvokeOnCompletion(h)
	j.registered.Add(1)
	if j.armed != nil {
		j.armed <- struct{}{}
	}
	return &countedHandle{d: d, n: &j.disposed}
}

// leftover returns the registrations not disposed of.
func (j *watchedJob) leftover() int64 { return j.registered.Load() - j.disposed.Load() }

// countedHandle counts its first Dispose.
type countedHandle struct {
	d    core.DisposableHandle
	n    *atomic.Int64
	once atomic.Bool
}

func (h *countedHandle) Dispose() {
	if h.once.CompareAndSwap(false, true) {
		h.n.Add(1)
	}
	h.d.Dispose()
}

// watchedDeferred is watchedJob for a deferred.
type watchedDeferred[T any] struct {
	async.Deferred[T]
	armed chan struct{}
}

func watchDeferred[T any](d async.Deferred[T]) *watchedDeferred[T] {
	return &watchedDeferred[T]{Deferred: d, armed: make(chan struct{}, 100)}
}

func (d *watchedDeferred[T]) InvokeOnCompletion(h func(cause error)) core.DisposableHandle {
	hd := d.Deferred.InvokeOnCompletion(h)
	d.armed <- struct{}{}
	return hd
}

// hookedJob is a job that calls onRegister (when not nil) each time a
// completion handler is registered on it: on the goroutine of the select
// that registers, right before it waits.
type hookedJob struct {
	core.CompletableJob
	onRegister func()
}

func (j *hookedJob) InvokeOnCompletion(h func(cause error)) core.DisposableHandle {
	d := j.CompletableJob.InvokeOnCompletion(h)
	if j.onRegister != nil {
		j.onRegister()
	}
	return d
}

// newTrigger returns a job that completes as soon as a handler is
// registered on it: a select that waits on it (among other clauses) is
// woken right after it registered, without another goroutine.
func newTrigger() *hookedJob {
	j := &hookedJob{CompletableJob: core.NewJob(nil)}
	j.onRegister = func() { j.Complete() }
	return j
}
