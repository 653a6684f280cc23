package cancel_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/jobtree/jobtree/cancel"
	"github.com/jobtree/jobtree/core"
	"github.com/jobtree/jobtree/internal/testkit"
)

// steps records the order in which numbered steps happen, as kotlinx's
// TestBase.expect does. Steps on different goroutines are ordered by the
// test's own synchronisation; the recorder only checks the result.
type steps struct {
	mu  sync.Mutex
	got []int
}

func (s *steps) expect(n int) {
	s.mu.Lock()
	s.got = append(s.got, n)
	s.mu.Unlock()
}

// check fails the test unless the steps were 1, 2, …, n in that order.
func (s *steps) check(t testing.TB, n int) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	want := make([]int, n)
	for i := range want {
		want[i] = i + 1
	}
	if !slices.Equal(s.got, want) {
		t.Errorf("steps = %v, want %v", s.got, want)
	}
}

// Port of kotlinx NonCancellableTest.testNonCancellable: clean-up code
// under NonCancellable runs to its end although the job is cancelled
// meanwhile; the body notices the cancellation at its first check after it.
func TestNonCancellable(t *testing.T) {
	t.Parallel()
	var s steps
	s.expect(1)
	inBlock, cancelled := make(chan struct{}), make(chan struct{})
	job := core.Launch(context.Background(), func(ctx context.Context) error {
		nc := cancel.NonCancellable(ctx)
		s.expect(2)
		close(inBlock)
		<-cancelled
		if err := cancel.Yield(nc); err != nil { // does not fail under NonCancellable
			return err
		}
		s.expect(4)
		s.expect(5)
		if err := cancel.Yield(ctx); err != nil {
			return err
		}
		t.Error("the body went on after its job was cancelled")
		return nil
	})
	testkit.WaitChan(t, inBlock, "the body")
	job.Cancel(nil)
	s.expect(3)
	if !job.IsCancelled() {
		t.Errorf("job.IsCancelled() = false after Cancel, want true")
	}
	close(cancelled)
	testkit.MustJoin(t, job)
	ce := wantCancellation(t, "job.Cause()", job.Cause())
	if ce.Cause != nil {
		t.Errorf("job.Cause().Cause = %v, want nil (Cancel(nil))", ce.Cause)
	}
	s.expect(6)
	s.check(t, 6)
}

// Port of kotlinx NonCancellableTest.testNonCancellableWithException: a job
// launched from NonCancellable is a root, cancelled only on its own, and
// keeps the *CancellationError it was cancelled with.
func TestNonCancellableWithException(t *testing.T) {
	t.Parallel()
	var s steps
	s.expect(1)
	outer := core.NewJob(nil)
	testkit.CleanupJob(t, outer)
	inBlock, cancelled := make(chan struct{}), make(chan struct{})
	job := core.Launch(cancel.NonCancellable(outer.Context()), func(ctx context.Context) error {
		nc := cancel.NonCancellable(ctx)
		s.expect(2)
		close(inBlock)
		<-cancelled
		if err := cancel.Yield(nc); err != nil {
			return err
		}
		s.expect(4)
		s.expect(5)
		if err := cancel.Yield(ctx); err != nil {
			return err
		}
		t.Error("the body went on after its job was cancelled")
		return nil
	})
	if p := job.Parent(); p != nil {
		t.Errorf("job launched from NonCancellable: Parent() = %v, want nil (a root)", p)
	}
	testkit.WaitChan(t, inBlock, "the body")
	errTest := &core.CancellationError{Message: "TEST"}
	job.Cancel(errTest)
	s.expect(3)
	if !job.IsCancelled() {
		t.Errorf("job.IsCancelled() = false after Cancel, want true")
	}
	close(cancelled)
	testkit.MustJoin(t, job)
	var got *core.CancellationError
	if !errors.As(job.Cause(), &got) || got != errTest || got.Message != "TEST" {
		t.Errorf("job.Cause() = %v, want the cancellation %v itself", job.Cause(), errTest)
	}
	if !outer.IsActive() {
		t.Errorf("outer job is %v, want Active: a root's cancellation does not reach it", outer.State())
	}
	s.expect(6)
	s.check(t, 6)
}

// Port of kotlinx NonCancellableTest.testNonCancellableFinally: the body
// is cancelled while it waits; its clean-up under NonCancellable runs to
// its end.
func TestNonCancellableFinally(t *testing.T) {
	t.Parallel()
	var s steps
	s.expect(1)
	waiting := make(chan struct{})
	job := core.Launch(context.Background(), func(ctx context.Context) error {
		s.expect(2)
		close(waiting)
		<-ctx.Done() // kotlinx's yield() that throws
		// The clean-up, kotlinx's finally { withContext(NonCancellable) }.
		nc := cancel.NonCancellable(ctx)
		s.expect(4)
		if err := cancel.Yield(nc); err != nil {
			t.Errorf("Yield(NonCancellable(ctx)) in the clean-up = %v, want nil", err)
		}
		s.expect(5)
		return ctx.Err()
	})
	testkit.WaitChan(t, waiting, "the body")
	job.Cancel(nil)
	s.expect(3)
	if !job.IsCancelled() {
		t.Errorf("job.IsCancelled() = false after Cancel, want true")
	}
	testkit.MustJoin(t, job)
	wantCancellation(t, "job.Cause()", job.Cause())
	s.expect(6)
	s.check(t, 6)
}

// Port of kotlinx NonCancellableTest.testNonCancellableTwice: two clean-up
// blocks in a row both run to their end.
func TestNonCancellableTwice(t *testing.T) {
	t.Parallel()
	var s steps
	s.expect(1)
	inBlock, cancelled := make(chan struct{}), make(chan struct{})
	job := core.Launch(context.Background(), func(ctx context.Context) error {
		nc := cancel.NonCancellable(ctx)
		s.expect(2)
		close(inBlock)
		<-cancelled
		if err := cancel.Yield(nc); err != nil {
			return err
		}
		s.expect(4)

		nc = cancel.NonCancellable(ctx)
		s.expect(5)
		if err := cancel.Yield(nc); err != nil {
			return err
		}
		s.expect(6)
		return nil // the job is cancelled anyway: returning nil cannot complete it
	})
	testkit.WaitChan(t, inBlock, "the body")
	job.Cancel(nil)
	s.expect(3)
	if !job.IsCancelled() {
		t.Errorf("job.IsCancelled() = false after Cancel, want true")
	}
	close(cancelled)
	testkit.MustJoin(t, job)
	ce := wantCancellation(t, "job.Cause()", job.Cause())
	if ce.Cause != nil {
		t.Errorf("job.Cause().Cause = %v, want nil (Cancel(nil))", ce.Cause)
	}
	s.expect(7)
	s.check(t, 7)
}

type valueKey struct{}

// NonCancellable keeps values, is never done, has no deadline and no job.
func TestNonCancellableContext(t *testing.T) {
	t.Parallel()
	errQuit := testkit.NewErr("quit")
	base := context.WithValue(context.Background(), valueKey{}, "kept")
	base, stopDeadline := context.WithDeadline(base, deadlineInThePast.AddDate(100, 0, 0))
	defer stopDeadline()
	job := core.NewJob(base)
	job.Cancel(errQuit)
	nc := cancel.NonCancellable(job.Context())

	if got := nc.Value(valueKey{}); got != "kept" {
		t.Errorf("Value(key) = %v, want %q", got, "kept")
	}
	if nc.Done() != nil {
		t.Errorf("Done() != nil, want nil: the context can never be done")
	}
	if err := nc.Err(); err != nil {
		t.Errorf("Err() = %v, want nil", err)
	}
	if err := context.Cause(nc); err != nil {
		t.Errorf("context.Cause = %v, want nil", err)
	}
	if d, ok := nc.Deadline(); ok {
		t.Errorf("Deadline() = %v, true; want no deadline", d)
	}
	if j := core.JobOf(nc); j != nil {
		t.Errorf("core.JobOf(NonCancellable(job.Context())) = %v, want nil", j)
	}
	if j := core.JobOf(context.WithoutCancel(job.Context())); j != nil {
		t.Errorf("core.JobOf(context.WithoutCancel(job.Context())) = %v, want nil", j)
	}
	if err := cancel.EnsureActive(nc); err != nil {
		t.Errorf("EnsureActive = %v, want nil", err)
	}
	if !cancel.IsActive(nc) {
		t.Errorf("IsActive = false, want true")
	}
	if again := cancel.NonCancellable(nc); again != nc {
		t.Errorf("NonCancellable(NonCancellable(ctx)) = %v, want the same context", again)
	}
	nilCtx := cancel.NonCancellable(nil)
	if nilCtx.Done() != nil || nilCtx.Err() != nil || core.JobOf(nilCtx) != nil {
		t.Errorf("NonCancellable(nil) = %v: want a context that is never done, without job", nilCtx)
	}
}

// A context derived from NonCancellable with its own cancellation (the way
// to bound a clean-up in time) is still job-free: EnsureActive passes
// while the derived context is live, and jobs launched from it are roots
// that run, although the original job is cancelled.
func TestNonCancellableDerivedContext(t *testing.T) {
	t.Parallel()
	job := core.NewJob(nil)
	job.Cancel(nil)
	cleanup, stop := context.WithTimeout(cancel.NonCancellable(job.Context()), testkit.VeryLongDuration)
	defer stop()
	if j := core.JobOf(cleanup); j != nil {
		t.Errorf("core.JobOf(WithTimeout(NonCancellable(ctx))) = %v, want nil", j)
	}
	if err := cancel.EnsureActive(cleanup); err != nil {
		t.Errorf("EnsureActive(WithTimeout(NonCancellable(ctx))) = %v, want nil", err)
	}
	ran := make(chan struct{})
	child := core.Launch(cleanup, func(context.Context) error {
		close(ran)
		return nil
	})
	testkit.MustJoin(t, child)
	if !testkit.IsClosed(ran) || child.State() != core.Completed {
		t.Errorf("job launched from the clean-up context: ran = %v, state %v; want true, Completed", testkit.IsClosed(ran), child.State())
	}
	if p := child.Parent(); p != nil {
		t.Errorf("job launched from the clean-up context: Parent() = %v, want nil", p)
	}
	stop()
	wantCancellation(t, "EnsureActive(clean-up context after its stop)", cancel.EnsureActive(cleanup))
}

// A job launched from NonCancellable is a root: the original job neither
// cancels it nor waits for it; it reports its failure to the exception
// handler that NonCancellable kept.
func TestNonCancellableLaunchesRoots(t *testing.T) {
	t.Parallel()
	rec := testkit.NewRecorder()
	outer := core.NewJob(rec.Ctx())
	release := make(chan struct{})
	started := make(chan struct{})
	errLate := testkit.NewErr("late")
	root := core.Launch(cancel.NonCancellable(outer.Context()), func(ctx context.Context) error {
		close(started)
		testkit.Hold(t, release)
		return errLate
	})
	testkit.CleanupJob(t, root)
	testkit.WaitChan(t, started, "the root's body")
	if err := cancel.CancelAndJoin(context.Background(), outer); err != nil {
		t.Fatalf("CancelAndJoin(outer) = %v, want nil", err)
	}
	if !root.IsActive() {
		t.Errorf("after the outer job completed the root is %v, want Active", root.State())
	}
	close(release)
	testkit.MustJoin(t, root)
	testkit.WaitChan(t, rec.Notify, "the root's report")
	if errs := rec.Errors(); len(errs) != 1 || !errors.Is(errs[0], errLate) {
		t.Errorf("exception handler got %v, want exactly %v", errs, errLate)
	}
	if errors.Is(outer.Cause(), errLate) {
		t.Errorf("outer job's cause = %v: the root's failure reached it", outer.Cause())
	}
}
