package async_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jobtree/jobtree/async"
	"github.com/jobtree/jobtree/core"
	"github.com/jobtree/jobtree/internal/testkit"
)

// This file tests AwaitAny and Race (issue 3; no kotlinx test to port): the
// first success wins, the others are cancelled and awaited; when all fail,
// the errors.Join of their causes.

// causesOf returns the errors listed by err's Unwrap() []error, or nil.
func causesOf(err error) []error {
	if m, ok := err.(interface{ Unwrap() []error }); ok {
		return m.Unwrap()
	}
	return nil
}

// slowLoser returns a body that, once cancelled, closes cancelled and then
// holds until release is closed before it returns: a loser that takes its
// time to stop. ended is set when it returns.
func slowLoser[T any](t *testing.T, started, cancelled, release chan struct{}, ended *atomic.Bool) func(ctx context.Context) (T, error) {
	return func(ctx context.Context) (T, error) {
		close(started)
		<-ctx.Done()
		close(cancelled)
		testkit.Hold(t, release)
		ended.Store(true)
		var zero T
		return zero, ctx.Err()
	}
}

// TestAwaitAny_FirstSuccessWins checks that AwaitAny returns the value of
// the first deferred to complete normally, cancels the others, and returns
// only after they have all ended; a failed or cancelled deferred does not
// win.
func TestAwaitAny_FirstSuccessWins(t *testing.T) {
	t.Parallel()
	rec := &testkit.Recorder{}
	sup := core.NewSupervisorJob(rec.Ctx()) // failures do not spread
	defer sup.Cancel(nil)
	started, cancelled, release := make(chan struct{}), make(chan struct{}), make(chan struct{})
	var loserEnded atomic.Bool
	loser := async.Async(sup.Context(), slowLoser[string](t, started, cancelled, release, &loserEnded))
	failing := async.Async(sup.Context(), func(context.Context) (string, error) { return "", testkit.NewErr("fails") })
	gone := async.NewCompletableDeferred[string](sup.Context())
	gone.Cancel(nil)
	testkit.WaitChan(t, started, "loser to start")
	testkit.WaitDone(t, failing)
	winner := async.NewCompletableDeferred[string](sup.Context())
	res := goCall(func() (string, error) {
		return async.AwaitAny(context.Background(), loser, failing, gone, winner)
	})
	winner.Complete("won")
	testkit.WaitChan(t, cancelled, "loser to be cancelled")
	if returned(res) {
		t.Fatalf("AwaitAny returned before the cancelled loser ended")
	}
	close(release)
	v, err := recv(t, res, "AwaitAny")
	if v != "won" || err != nil {
		t.Errorf("AwaitAny = %q, %v, want %q, nil", v, err, "won")
	}
	if !loserEnded.Load() {
		t.Errorf("AwaitAny returned before the loser's body ended")
	}
	for _, d := range []async.Deferred[string]{loser, failing, gone, winner} {
		if !d.IsCompleted() {
			t.Errorf("%v not complete when AwaitAny returned", d)
		}
	}
	_, err = loser.GetCompleted()
	testkit.WantCancellation(t, "loser's GetCompleted()", err, nil)
	testkit.CheckState(t, sup, core.Active)
	rec.ExpectNone(t)
}

// TestAwaitAny_AllFail checks that when no deferred completes normally,
// AwaitAny returns the errors.Join of every cause (a cancellation
// included), in which errors.Is finds each.
func TestAwaitAny_AllFail(t *testing.T) {
	t.Parallel()
	f1, f2 := testkit.NewErr("one"), testkit.NewErr("two")
	why := testkit.NewErr("why cancelled")
	d1 := async.NewCompletableDeferred[int](nil)
	d2 := async.Async(context.Background(), func(ctx context.Context) (int, error) {
		<-d1.Done()
		return 0, f2
	})
	d3 := async.NewCompletableDeferred[int](nil)
	res := goCall(func() (int, error) { return async.AwaitAny(context.Background(), d1, d2, d3) })
	d1.Fail(f1)
	testkit.WaitDone(t, d2)
	if returned(res) {
		t.Fatalf("AwaitAny returned while a deferred could still succeed")
	}
	d3.Cancel(why)
	v, err := recv(t, res, "AwaitAny")
	if v != 0 {
		t.Errorf("AwaitAny value = %v, want 0", v)
	}
	for _, want := range []error{f1, f2, why} {
		if !errors.Is(err, want) {
			t.Errorf("AwaitAny = %v, want it to hold %v", err, want)
		}
	}
	if n := len(causesOf(err)); n != 3 {
		t.Errorf("AwaitAny = %v lists %d causes, want 3", err, n)
	}
}

// TestAwaitAny_NothingToAwait checks that no deferreds is ErrNothingToAwait.
func TestAwaitAny_NothingToAwait(t *testing.T) {
	t.Parallel()
	if v, err := async.AwaitAny[int](context.Background()); v != 0 || !errors.Is(err, async.ErrNothingToAwait) {
		t.Errorf("AwaitAny(ctx) = %v, %v, want 0, %v", v, err, async.ErrNothingToAwait)
	}
}

// TestAwaitAny_CtxDone checks that a ctx done at the call, or while
// AwaitAny waits, makes it return the wait error with the ctx's cause and
// leaves the deferreds alone (neither started, nor cancelled).
func TestAwaitAny_CtxDone(t *testing.T) {
	t.Parallel()
	why := testkit.NewErr("gave up")
	ctx, stop := context.WithCancelCause(context.Background())
	lazy, runs := lazyCounter(context.Background())
	defer lazy.Cancel(nil)
	pending := async.NewCompletableDeferred[int](nil)
	defer pending.Cancel(nil)
	res := goCall(func() (int, error) { return async.AwaitAny(ctx, pending) })
	stop(why)
	_, err := recv(t, res, "AwaitAny")
	testkit.WantCancellation(t, "AwaitAny(cancelled ctx)", err, why)
	testkit.CheckState(t, pending, core.Active)

	_, err = async.AwaitAny(ctx, lazy, pending)
	testkit.WantCancellation(t, "AwaitAny(done ctx)", err, why)
	testkit.CheckState(t, lazy, core.New)
	testkit.CheckState(t, pending, core.Active)
	if n := runs.Load(); n != 0 {
		t.Errorf("lazy body ran %d times, want 0", n)
	}
}

// TestAwaitAny_LazyAndDuplicates checks that AwaitAny starts lazy deferreds
// and accepts the same deferred twice.
func TestAwaitAny_LazyAndDuplicates(t *testing.T) {
	t.Parallel()
	lazy, runs := lazyCounter(context.Background())
	v, err := call(t, "AwaitAny", func() (int, error) { return async.AwaitAny(context.Background(), lazy, lazy) })
	if v != 42 || err != nil || runs.Load() != 1 {
		t.Errorf("AwaitAny(lazy, lazy) = %v, %v with %d runs, want 42, nil with 1 run", v, err, runs.Load())
	}
}

// TestAwaitAny_BadArguments checks that a nil deferred, or one awaited from
// inside itself, is an error returned at once.
func TestAwaitAny_BadArguments(t *testing.T) {
	t.Parallel()
	other := async.NewCompletableDeferred[int](nil)
	defer other.Cancel(nil)
	if _, err := async.AwaitAny(context.Background(), other, nil); err == nil || !strings.Contains(err.Error(), "nil") {
		t.Errorf("AwaitAny(d, nil) = %v, want an error about the nil deferred", err)
	}
	self := make(chan async.Deferred[int], 1)
	d := async.Async(context.Background(), func(ctx context.Context) (int, error) {
		if _, err := async.AwaitAny(ctx, other, <-self); !errors.Is(err, core.ErrJoinCycle) {
			return 0, errors.New("AwaitAny from the body: " + errString(err))
		}
		return 1, nil
	})
	self <- d
	if v, err := call(t, "Await", func() (int, error) { return d.Await(context.Background()) }); v != 1 || err != nil {
		t.Errorf("Await = %v, %v, want 1, nil (AwaitAny reported ErrJoinCycle)", v, err)
	}
	testkit.CheckState(t, other, core.Active)
}

// bodyJobs records the job of each body of a Race.
type bodyJobs struct {
	mu   sync.Mutex
	jobs []core.Job
}

func (b *bodyJobs) add(ctx context.Context) {
	b.mu.Lock()
	b.jobs = append(b.jobs, core.JobOf(ctx))
	b.mu.Unlock()
}

// allComplete checks that every recorded job is complete.
func (b *bodyJobs) allComplete(t *testing.T, n int) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.jobs) != n {
		t.Errorf("%d bodies ran, want %d", len(b.jobs), n)
	}
	for _, j := range b.jobs {
		if j == nil || !j.IsCompleted() {
			t.Errorf("body job %v not complete when Race returned", j)
		}
	}
}

// TestRace_FirstSuccessWins checks that Race returns the value of the first
// body to succeed, that a failing body changes nothing, and that the others
// are cancelled and have ended when Race returns. The bodies run under the
// caller's job, which they neither cancel nor report to.
func TestRace_FirstSuccessWins(t *testing.T) {
	t.Parallel()
	rec := &testkit.Recorder{}
	outer := core.NewJob(rec.Ctx())
	defer outer.Cancel(nil)
	started, cancelled, release := make(chan struct{}), make(chan struct{}), make(chan struct{})
	var loserEnded atomic.Bool
	var jobs bodyJobs
	loser := slowLoser[string](t, started, cancelled, release, &loserEnded)
	failed := make(chan struct{})
	res := goCall(func() (string, error) {
		return async.Race(outer.Context(),
			func(ctx context.Context) (string, error) {
				jobs.add(ctx)
				return loser(ctx)
			},
			func(ctx context.Context) (string, error) {
				jobs.add(ctx)
				close(failed)
				return "", testkit.NewErr("fails")
			},
			func(ctx context.Context) (string, error) {
				jobs.add(ctx)
				testkit.Hold(t, started) // win once the others run
				testkit.Hold(t, failed)
				return "won", nil
			},
		)
	})
	testkit.WaitChan(t, cancelled, "loser to be cancelled")
	if returned(res) {
		t.Fatalf("Race returned before the cancelled loser ended")
	}
	close(release)
	v, err := recv(t, res, "Race")
	if v != "won" || err != nil {
		t.Errorf("Race = %q, %v, want %q, nil", v, err, "won")
	}
	if !loserEnded.Load() {
		t.Errorf("Race returned before the loser's body ended")
	}
	jobs.allComplete(t, 3)
	testkit.CheckState(t, outer, core.Active)
	rec.ExpectNone(t)
}

// TestRace_FailureDoesNotCancelOthers checks that a failing body leaves the
// others running: the winner here is still active once the failed body's
// job is complete.
func TestRace_FailureDoesNotCancelOthers(t *testing.T) {
	t.Parallel()
	failedJob := make(chan core.Job, 1)
	v, err := call(t, "Race", func() (int, error) {
		return async.Race(context.Background(),
			func(ctx context.Context) (int, error) {
				failedJob <- core.JobOf(ctx)
				return 0, testkit.NewErr("fails")
			},
			func(ctx context.Context) (int, error) {
				<-(<-failedJob).Done()
				if err := ctx.Err(); err != nil {
					return 0, errors.New("cancelled by the failure of another body")
				}
				return 7, nil
			},
		)
	})
	if v != 7 || err != nil {
		t.Errorf("Race = %v, %v, want 7, nil", v, err)
	}
}

// TestRace_AllFail checks that when no body succeeds Race returns the
// errors.Join of their causes (a panic and a cancellation included), in
// which errors.Is and errors.As find each; the caller's job is not
// cancelled and nothing is reported.
func TestRace_AllFail(t *testing.T) {
	t.Parallel()
	rec := &testkit.Recorder{}
	outer := core.NewJob(rec.Ctx())
	defer outer.Cancel(nil)
	f1 := testkit.NewErr("one")
	why := testkit.NewErr("gave up")
	var jobs bodyJobs
	v, err := call(t, "Race", func() (int, error) {
		return async.Race(outer.Context(),
			func(ctx context.Context) (int, error) { jobs.add(ctx); return 0, f1 },
			func(ctx context.Context) (int, error) { jobs.add(ctx); panic("raced") },
			func(ctx context.Context) (int, error) {
				jobs.add(ctx)
				return 0, &core.CancellationError{Message: "body gave up", Cause: why}
			},
		)
	})
	if v != 0 {
		t.Errorf("Race value = %v, want 0", v)
	}
	if !errors.Is(err, f1) || !errors.Is(err, why) {
		t.Errorf("Race = %v, want it to hold %v and %v", err, f1, why)
	}
	var pe *core.PanicError
	if !errors.As(err, &pe) || pe.Value != "raced" {
		t.Errorf("Race = %v, want it to hold a *core.PanicError of %q", err, "raced")
	}
	if n := len(causesOf(err)); n != 3 {
		t.Errorf("Race = %v lists %d causes, want 3", err, n)
	}
	jobs.allComplete(t, 3)
	testkit.CheckState(t, outer, core.Active)
	rec.ExpectNone(t)
}

// TestRace_NoBodies checks that Race without bodies is ErrNothingToAwait.
func TestRace_NoBodies(t *testing.T) {
	t.Parallel()
	if v, err := async.Race[int](context.Background()); v != 0 || !errors.Is(err, async.ErrNothingToAwait) {
		t.Errorf("Race(ctx) = %v, %v, want 0, %v", v, err, async.ErrNothingToAwait)
	}
}

// TestRace_NilBody checks that Race rejects a nil body.
func TestRace_NilBody(t *testing.T) {
	t.Parallel()
	ok := func(context.Context) (int, error) { return 1, nil }
	expectPanic(t, "Race(ctx, ok, nil)", func() { _, _ = async.Race(context.Background(), ok, nil) })
}

// TestRace_CtxDone checks that a ctx done at the call runs no body, and that
// a ctx cancelled (or a job cancelled) while the bodies run cancels them
// all: Race returns the cancellation, with the ctx's cause, once every body
// has ended.
func TestRace_CtxDone(t *testing.T) {
	t.Parallel()
	t.Run("at the call", func(t *testing.T) {
		t.Parallel()
		why := testkit.NewErr("gave up")
		ctx, stop := context.WithCancelCause(context.Background())
		stop(why)
		var ran atomic.Bool
		_, err := call(t, "Race", func() (int, error) {
			return async.Race(ctx, func(context.Context) (int, error) { ran.Store(true); return 1, nil })
		})
		testkit.WantCancellation(t, "Race(done ctx)", err, why)
		if ran.Load() {
			t.Errorf("a body ran with a done ctx")
		}
	})
	cancellers := []struct {
		name   string
		cancel func(stop context.CancelCauseFunc, parent core.Job, why error)
	}{
		{"ctx cancelled", func(stop context.CancelCauseFunc, _ core.Job, why error) { stop(why) }},
		{"job cancelled", func(_ context.CancelCauseFunc, parent core.Job, why error) { parent.Cancel(why) }},
	}
	for _, c := range cancellers {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			why := testkit.NewErr("gave up")
			parent := core.NewJob(nil)
			defer parent.Cancel(nil)
			ctx, stop := context.WithCancelCause(parent.Context())
			defer stop(nil)
			var running sync.WaitGroup
			running.Add(2)
			allRunning := make(chan struct{})
			go func() { running.Wait(); close(allRunning) }() // ends once both bodies run
			var jobs bodyJobs
			body := func(ctx context.Context) (int, error) {
				jobs.add(ctx)
				running.Done()
				<-ctx.Done()
				return 0, ctx.Err()
			}
			res := goCall(func() (int, error) { return async.Race(ctx, body, body) })
			testkit.WaitChan(t, allRunning, "both bodies to run")
			c.cancel(stop, parent, why)
			_, err := recv(t, res, "Race")
			testkit.WantCancellation(t, "Race", err, why)
			jobs.allComplete(t, 2)
		})
	}
}
