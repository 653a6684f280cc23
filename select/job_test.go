package selects_test

// OnJoin: the scenarios of kotlinx's SelectJobTest
// (kotlinx-coroutines-core/common/test/selects/SelectJobTest.kt), and the
// start and cycle rules.

import (
	"context"
	"errors"
	"testing"

	"github.com/jobtree/jobtree/async"
	"github.com/jobtree/jobtree/core"
	"github.com/jobtree/jobtree/internal/testkit"
	selects "github.com/jobtree/jobtree/select"
)

// TestOnJoin_Completed: a clause on a job that is complete already (here
// cancelled: OnJoin does not care how) is chosen at once.
// Kotlin: SelectJobTest.testSelectCompleted.
func TestOnJoin_Completed(t *testing.T) {
	t.Parallel()
	job := core.NewJob(nil)
	job.Cancel(nil)
	got, err := selects.Select(testCtx(t), selects.OnJoin(job, result("joined")))
	if got != "joined" || err != nil {
		t.Fatalf("Select = %q, %v; want joined, nil", got, err)
	}
}

// TestOnJoin_Incomplete: a select waiting on a job is woken by its
// completion (here its cancellation). Kotlin:
// SelectJobTest.testSelectIncomplete.
func TestOnJoin_Incomplete(t *testing.T) {
	t.Parallel()
	job := newWatchedJob()
	res := make(chan string, 1)
	go func() { // ends when the select returns
		got, err := selects.Select(testCtx(t), selects.OnJoin[string](job, func() (string, error) {
			if !job.IsCompleted() {
				t.Errorf("OnJoin's function ran before the job was complete: %v", job)
			}
			return "OK", nil
		}))
		if err != nil {
			t.Errorf("Select: %v", err)
		}
		res <- got
	}()
	testkit.WaitChan(t, job.armed, "the select to register on the job")
	job.Cancel(nil)
	if got := testkit.WaitChan(t, res, "the select"); got != "OK" {
		t.Fatalf("Select = %q, want OK", got)
	}
	if n := job.leftover(); n != 0 {
		t.Errorf("%d completion handlers left on the job, want 0", n)
	}
}

// TestOnJoin_Lazy: a select starts a lazy job it waits for. Kotlin:
// SelectJobTest.testSelectLazy.
func TestOnJoin_Lazy(t *testing.T) {
	t.Parallel()
	ran := make(chan struct{})
	job := core.Launch(nil, func(context.Context) error { close(ran); return nil }, core.Lazy())
	got, err := selects.Select(testCtx(t), selects.OnJoin(job, result("OK")))
	if got != "OK" || err != nil {
		t.Fatalf("Select = %q, %v; want OK, nil", got, err)
	}
	select {
	case <-ran:
	default:
		t.Fatal("the lazy job's body did not run before its OnJoin was chosen")
	}
}

// TestOnJoin_FailedJob: OnJoin never fails because the job failed; its
// function sees the job's cause.
func TestOnJoin_FailedJob(t *testing.T) {
	t.Parallel()
	boom := testkit.NewErr("boom")
	job := core.NewJob(nil)
	job.Fail(boom)
	got, err := selects.Select(testCtx(t), selects.OnJoin(job, func() (error, error) { return job.Cause(), nil }))
	if err != nil || !errors.Is(got, boom) {
		t.Fatalf("Select = %v, %v; want the job's cause %v, nil", got, err, boom)
	}
}

// TestOnJoin_LazyStartOrder: a biased select starts the lazy jobs of the
// clauses it looks at, up to the first ready one; the clauses after it are
// not looked at and their jobs stay New (kotlinx registers clauses in
// order and stops at the first ready one).
func TestOnJoin_LazyStartOrder(t *testing.T) {
	t.Parallel()
	body := func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
	before := core.Launch(nil, body, core.Lazy())
	after := core.Launch(nil, body, core.Lazy())
	t.Cleanup(func() {
		for _, j := range []core.Job{before, after} {
			j.Cancel(nil)
			_ = j.Join(context.Background())
		}
	})
	done := core.NewJob(nil)
	done.Complete()
	got, err := selects.Select(testCtx(t),
		selects.OnJoin(before, unreached(t, "before")),
		selects.OnJoin(done, result("done")),
		selects.OnJoin(after, unreached(t, "after")))
	if got != "done" || err != nil {
		t.Fatalf("Select = %q, %v; want done, nil", got, err)
	}
	if s := before.State(); s != core.Active {
		t.Errorf("job before the ready clause: state %v, want Active (started)", s)
	}
	if s := after.State(); s != core.New {
		t.Errorf("job after the ready clause: state %v, want New (not looked at)", s)
	}
}

// TestOnJoin_Cycle: a clause on the caller's own job, or on one of its
// ancestors, could only be ready once the caller is done: Select returns an
// error wrapping core.ErrJoinCycle at once, as Join does, even when another
// clause is ready.
func TestOnJoin_Cycle(t *testing.T) {
	t.Parallel()
	parent := core.NewJob(nil)
	t.Cleanup(func() { parent.Cancel(nil) })
	ready := make(chan int, 1)
	ready <- 1
	errs := make(chan error, 3)
	d := async.Async(parent.Context(), func(ctx context.Context) (int, error) {
		self := core.JobOf(ctx)
		_, err := selects.Select(ctx, selects.OnJoin(self, result("self")))
		errs <- err
		_, err = selects.Select(ctx,
			selects.OnReceive(ready, func(int, bool) (string, error) { return "ready", nil }),
			selects.OnJoin[string](parent, unreached(t, "parent")))
		errs <- err
		return 0, nil
	})
	_, err := d.Await(testCtx(t))
	if err != nil {
		t.Fatalf("Await: %v", err)
	}
	close(errs)
	n := 0
	for err := range errs {
		n++
		if !errors.Is(err, core.ErrJoinCycle) {
			t.Errorf("Select on the caller's own or parent job = %v, want an error wrapping ErrJoinCycle", err)
		}
	}
	if n != 2 {
		t.Fatalf("got %d results, want 2", n)
	}
	if len(ready) != 1 {
		t.Error("the ready channel clause was chosen, want the cycle error without choosing")
	}
}

// TestOnAwait_Cycle: the same for a deferred awaited from inside itself.
func TestOnAwait_Cycle(t *testing.T) {
	t.Parallel()
	self := make(chan async.Deferred[int], 1)
	d := async.Async(nil, func(ctx context.Context) (int, error) {
		_, err := selects.Select(ctx, selects.OnAwait(<-self, func(v int) (int, error) { return v, nil }))
		return 0, err
	})
	self <- d
	_, err := d.Await(testCtx(t))
	if !errors.Is(err, core.ErrJoinCycle) {
		t.Fatalf("Await = %v, want the Select's error wrapping ErrJoinCycle", err)
	}
}
