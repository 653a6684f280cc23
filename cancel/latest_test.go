package cancel_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jobtree/jobtree/cancel"
	"github.com/jobtree/jobtree/core"
	"github.com/jobtree/jobtree/internal/testkit"
)

// result is what a Run call returned.
type result[T any] struct {
	v   T
	err error
}

// runAsync calls l.Run on a new goroutine.
func runAsync[T any](l *cancel.Latest[T], ctx context.Context, body func(ctx context.Context) (T, error)) <-chan result[T] {
	return goAsync(func() result[T] {
		v, err := l.Run(ctx, body)
		return result[T]{v, err}
	})
}

// wantSuperseded checks that err is the cancellation of a superseded run.
func wantSuperseded(t testing.TB, what string, err error) {
	t.Helper()
	wantCancellation(t, what, err)
	if !errors.Is(err, cancel.ErrSuperseded) {
		t.Errorf("%s = %v, want an error wrapping cancel.ErrSuperseded", what, err)
	}
}

func TestLatestZeroValue(t *testing.T) {
	t.Parallel()
	var l cancel.Latest[string]
	for _, want := range []string{"first", "second"} {
		got, err := l.Run(context.Background(), func(context.Context) (string, error) { return want, nil })
		if got != want || err != nil {
			t.Errorf("Run = %q, %v; want %q, nil", got, err, want)
		}
	}
	errBoom := testkit.NewErr("boom")
	if _, err := l.Run(context.Background(), func(context.Context) (string, error) { return "", errBoom }); !errors.Is(err, errBoom) {
		t.Errorf("Run with a failing body = %v, want %v", err, errBoom)
	}
}

// A new Run cancels the running body with ErrSuperseded, waits for it to
// finish, and only then runs its own body.
func TestLatestSupersedesTheRunningBody(t *testing.T) {
	t.Parallel()
	var l cancel.Latest[int]
	started := make(chan struct{})
	firstCause := make(chan error, 1)
	var firstFinished atomic.Bool
	first := runAsync(&l, context.Background(), func(ctx context.Context) (int, error) {
		close(started)
		<-ctx.Done()
		firstCause <- context.Cause(ctx)
		firstFinished.Store(true)
		return 0, ctx.Err()
	})
	testkit.WaitChan(t, started, "the first body")
	secondSawFirstFinished := make(chan bool, 1)
	second := runAsync(&l, context.Background(), func(context.Context) (int, error) {
		secondSawFirstFinished <- firstFinished.Load()
		return 2, nil
	})
	if cause := testkit.WaitChan(t, firstCause, "the first body's cancellation"); !errors.Is(cause, cancel.ErrSuperseded) {
		t.Errorf("context.Cause in the superseded body = %v, want an error wrapping cancel.ErrSuperseded", cause)
	}
	r1 := testkit.WaitChan(t, first, "the first Run")
	wantSuperseded(t, "first Run", r1.err)
	r2 := testkit.WaitChan(t, second, "the second Run")
	if r2.v != 2 || r2.err != nil {
		t.Errorf("second Run = %v, %v; want 2, nil", r2.v, r2.err)
	}
	if !testkit.WaitChan(t, secondSawFirstFinished, "the second body") {
		t.Errorf("the second body started before the first had finished")
	}
}

// Calls that are superseded while they wait for the running body return a
// cancellation at once, without running their body; only the newest runs.
func TestLatestSupersededWhileWaiting(t *testing.T) {
	t.Parallel()
	var l cancel.Latest[int]
	started, release := make(chan struct{}), make(chan struct{})
	firstCancelled := make(chan struct{})
	first := runAsync(&l, context.Background(), func(ctx context.Context) (int, error) {
		context.AfterFunc(ctx, func() { close(firstCancelled) })
		close(started)
		testkit.Hold(t, release) // ignores its cancellation until released
		return 1, nil
	})
	testkit.WaitChan(t, started, "the first body")

	const waiting = 20
	var ran [waiting + 1]atomic.Bool
	var pending <-chan result[int]
	for i := 1; i <= waiting; i++ {
		call := runAsync(&l, context.Background(), func(context.Context) (int, error) {
			ran[i].Store(true)
			return i + 100, nil
		})
		if pending == nil {
			// Call 1 has registered once it cancelled the first run;
			// each later call is made only after that.
			testkit.WaitChan(t, firstCancelled, "call 1 to supersede the first run")
		} else {
			// Call i superseded call i-1, which returns while the first
			// body is still held: it did not wait for it.
			r := testkit.WaitChan(t, pending, fmt.Sprintf("call %d", i-1))
			wantSuperseded(t, fmt.Sprintf("call %d", i-1), r.err)
		}
		pending = call
	}
	close(release)
	r := testkit.WaitChan(t, first, "the first Run")
	wantSuperseded(t, "first Run (its body ignored the cancellation and returned a value)", r.err)
	if r.v != 0 {
		t.Errorf("first Run returned the value %d of a superseded body, want the zero value", r.v)
	}
	last := testkit.WaitChan(t, pending, "the newest call")
	if last.v != waiting+100 || last.err != nil {
		t.Errorf("newest call = %v, %v; want %d, nil", last.v, last.err, waiting+100)
	}
	for i := 1; i < waiting; i++ {
		if ran[i].Load() {
			t.Errorf("the body of superseded call %d ran", i)
		}
	}
}

// The next body starts only once everything the previous body launched has
// finished: a run is a scope.
func TestLatestWaitsForTheChildrenOfThePreviousBody(t *testing.T) {
	t.Parallel()
	var l cancel.Latest[int]
	started, releaseChild := make(chan struct{}), make(chan struct{})
	childStarted, bodyReturned := make(chan struct{}), make(chan struct{})
	var child core.Job
	first := runAsync(&l, context.Background(), func(ctx context.Context) (int, error) {
		child = core.Launch(ctx, func(context.Context) error {
			close(childStarted)
			testkit.Hold(t, releaseChild) // ignores its cancellation
			return nil
		})
		// A child cancelled before its body started would never run it:
		// let it start before anything can cancel it.
		<-childStarted
		close(started)
		<-ctx.Done()
		defer close(bodyReturned)
		return 0, ctx.Err()
	})
	testkit.WaitChan(t, started, "the first body")
	var secondStarted atomic.Bool
	childDone := make(chan bool, 1)
	second := runAsync(&l, context.Background(), func(context.Context) (int, error) {
		secondStarted.Store(true)
		childDone <- child.IsCompleted()
		return 2, nil
	})
	testkit.WaitChan(t, bodyReturned, "the first body to return")
	if secondStarted.Load() {
		t.Errorf("the second body started while a child of the first still ran")
	}
	close(releaseChild)
	if !testkit.WaitChan(t, childDone, "the second body") {
		t.Errorf("the second body started before the first body's child was complete")
	}
	wantSuperseded(t, "first Run", testkit.WaitChan(t, first, "the first Run").err)
	if r := testkit.WaitChan(t, second, "the second Run"); r.v != 2 || r.err != nil {
		t.Errorf("second Run = %v, %v; want 2, nil", r.v, r.err)
	}
}

// The body runs as a child job of the caller's job, so the caller's
// cancellation reaches it, and its context carries the caller's values.
func TestLatestBodyIsAChildOfTheCaller(t *testing.T) {
	t.Parallel()
	var l cancel.Latest[int]
	rec := testkit.NewRecorder()
	parent := core.NewJob(context.WithValue(rec.Ctx(), valueKey{}, "v"))
	testkit.CleanupJob(t, parent)
	started := make(chan struct{})
	type seen struct {
		parent core.Job
		value  any
	}
	inside := make(chan seen, 1)
	res := runAsync(&l, parent.Context(), func(ctx context.Context) (int, error) {
		inside <- seen{core.JobOf(ctx).Parent(), ctx.Value(valueKey{})}
		close(started)
		<-ctx.Done()
		return 0, ctx.Err()
	})
	testkit.WaitChan(t, started, "the body")
	if s := testkit.WaitChan(t, inside, "the body"); s.parent != parent || s.value != "v" {
		t.Errorf("inside the body: JobOf(ctx).Parent() = %v, Value = %v; want %v, %q", s.parent, s.value, parent, "v")
	}
	errQuit := testkit.NewErr("quit")
	parent.Cancel(errQuit)
	r := testkit.WaitChan(t, res, "Run")
	wantCancellation(t, "Run after the caller's job was cancelled", r.err)
	if !errors.Is(r.err, errQuit) || errors.Is(r.err, cancel.ErrSuperseded) {
		t.Errorf("Run = %v, want the caller's cancellation (wrapping %v), not a supersession", r.err, errQuit)
	}
}

// A caller whose ctx is done while it waits gives up without running its
// body; the run it superseded stays cancelled.
func TestLatestCallerGivesUpWhileWaiting(t *testing.T) {
	t.Parallel()
	var l cancel.Latest[int]
	started, release := make(chan struct{}), make(chan struct{})
	firstCancelled := make(chan struct{})
	first := runAsync(&l, context.Background(), func(ctx context.Context) (int, error) {
		context.AfterFunc(ctx, func() { close(firstCancelled) })
		close(started)
		testkit.Hold(t, release)
		return 1, nil
	})
	testkit.WaitChan(t, started, "the first body")
	errGiveUp := testkit.NewErr("give up")
	ctx, stop := context.WithCancelCause(context.Background())
	ran := false
	second := runAsync(&l, ctx, func(context.Context) (int, error) {
		ran = true
		return 2, nil
	})
	testkit.WaitChan(t, firstCancelled, "the second call to supersede the first")
	stop(errGiveUp)
	r := testkit.WaitChan(t, second, "the second Run")
	wantCancellation(t, "Run with a ctx done while waiting", r.err)
	if !errors.Is(r.err, errGiveUp) {
		t.Errorf("Run with a ctx done while waiting = %v, want it to carry %v", r.err, errGiveUp)
	}
	close(release)
	wantSuperseded(t, "first Run", testkit.WaitChan(t, first, "the first Run").err)
	if ran {
		t.Errorf("the body of a call that gave up ran")
	}
	// The Latest is idle again.
	if v, err := l.Run(context.Background(), func(context.Context) (int, error) { return 3, nil }); v != 3 || err != nil {
		t.Errorf("Run after all that = %v, %v; want 3, nil", v, err)
	}
}

// A call with a ctx that is already done returns at once and supersedes
// nothing.
func TestLatestDoneContext(t *testing.T) {
	t.Parallel()
	var l cancel.Latest[int]
	started, release := make(chan struct{}), make(chan struct{})
	var runCtx context.Context
	first := runAsync(&l, context.Background(), func(ctx context.Context) (int, error) {
		runCtx = ctx
		close(started)
		testkit.Hold(t, release)
		return 1, nil
	})
	testkit.WaitChan(t, started, "the first body")
	done, stop := context.WithCancel(context.Background())
	stop()
	ran := false
	_, err := l.Run(done, func(context.Context) (int, error) {
		ran = true
		return 2, nil
	})
	wantCancellation(t, "Run(done ctx)", err)
	if ran {
		t.Errorf("Run(done ctx) ran its body")
	}
	if err := runCtx.Err(); err != nil {
		t.Errorf("the running body's ctx.Err() = %v, want nil: a done call supersedes nothing", err)
	}
	close(release)
	if r := testkit.WaitChan(t, first, "the first Run"); r.v != 1 || r.err != nil {
		t.Errorf("first Run = %v, %v; want 1, nil", r.v, r.err)
	}
}

// Run from inside a body of the same Latest would wait for itself.
func TestLatestNestedRun(t *testing.T) {
	t.Parallel()
	var l cancel.Latest[int]
	v, err := l.Run(context.Background(), func(ctx context.Context) (int, error) {
		_, err := l.Run(ctx, func(context.Context) (int, error) { return 2, nil })
		if !errors.Is(err, core.ErrJoinCycle) {
			t.Errorf("nested Run = %v, want an error wrapping core.ErrJoinCycle", err)
		}
		// Also from a job the body launched.
		inner := make(chan error, 1)
		child := core.Launch(ctx, func(ctx context.Context) error {
			_, err := l.Run(ctx, func(context.Context) (int, error) { return 3, nil })
			inner <- err
			return nil
		})
		if err := testkit.WaitChan(t, inner, "nested Run in a child"); !errors.Is(err, core.ErrJoinCycle) {
			t.Errorf("nested Run in a child = %v, want an error wrapping core.ErrJoinCycle", err)
		}
		testkit.MustJoin(t, child)
		return 1, cancel.EnsureActive(ctx) // the outer run was not superseded
	})
	if v != 1 || err != nil {
		t.Errorf("outer Run = %v, %v; want 1, nil", v, err)
	}
}

func TestLatestPanicAndNil(t *testing.T) {
	t.Parallel()
	var l cancel.Latest[int]
	_, err := l.Run(context.Background(), func(context.Context) (int, error) { panic("boom") })
	var pe *core.PanicError
	if !errors.As(err, &pe) || pe.Value != "boom" {
		t.Errorf("Run with a panicking body = %v, want a *core.PanicError with value %q", err, "boom")
	}
	expectPanic(t, "Run(ctx, nil)", func() { _, _ = l.Run(context.Background(), nil) })
	// The Latest still works.
	if v, err := l.Run(context.Background(), func(context.Context) (int, error) { return 1, nil }); v != 1 || err != nil {
		t.Errorf("Run after a panic = %v, %v; want 1, nil", v, err)
	}
}

// Hammer: many concurrent calls. At no instant do two bodies run; every
// call returns its own body's result or a cancellation; the body that
// started last was never superseded.
func TestLatestHammer(t *testing.T) {
	t.Parallel()
	const calls = 1000
	var l cancel.Latest[int]
	var (
		inside   atomic.Int32 // bodies running right now
		overlaps atomic.Int32 // times a body saw another one running
		seq      atomic.Int64 // start order of bodies
		starts   [calls]atomic.Int64
	)
	results := make([]result[int], calls)
	gate := make(chan struct{})
	var wg sync.WaitGroup
	for i := range calls {
		wg.Add(1)
		go func() { // ends when its Run returns
			defer wg.Done()
			<-gate
			v, err := l.Run(context.Background(), func(ctx context.Context) (int, error) {
				if inside.Add(1) != 1 {
					overlaps.Add(1)
				}
				defer inside.Add(-1)
				starts[i].Store(seq.Add(1))
				for range 3 {
					runtime.Gosched()
				}
				if err := cancel.EnsureActive(ctx); err != nil {
					return 0, err
				}
				return i, nil
			})
			results[i] = result[int]{v, err}
		}()
	}
	close(gate)
	wg.Wait()

	if n := overlaps.Load(); n != 0 {
		t.Errorf("bodies overlapped %d times, want never", n)
	}
	succeeded, lastStarted, lastIndex := 0, int64(0), -1
	for i, r := range results {
		started := starts[i].Load()
		if started > lastStarted {
			lastStarted, lastIndex = started, i
		}
		switch {
		case r.err == nil:
			succeeded++
			if r.v != i {
				t.Errorf("call %d returned %d, want its own body's result", i, r.v)
			}
			if started == 0 {
				t.Errorf("call %d returned a result without running its body", i)
			}
		case core.IsCancellation(r.err):
			if r.v != 0 {
				t.Errorf("call %d returned %d with a cancellation, want the zero value", i, r.v)
			}
		default:
			t.Errorf("call %d returned %v, want its result or a cancellation", i, r.err)
		}
	}
	if lastIndex < 0 {
		t.Fatal("no body ran")
	}
	if r := results[lastIndex]; r.err != nil {
		t.Errorf("the body that started last (call %d) returned %v, want its result: nothing superseded it", lastIndex, r.err)
	}
	t.Logf("%d calls: %d bodies ran, %d returned their result", calls, seq.Load(), succeeded)
}
