package core_test

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/jobtree/jobtree/core"
	"github.com/jobtree/jobtree/internal/testkit"
)

// TestRule14_ContextCarriesJobValuesDeadline checks that a job's context
// carries the job, the parent context's values and its deadline (API rule 14).
func TestRule14_ContextCarriesJobValuesDeadline(t *testing.T) {
	t.Parallel()
	type key struct{}
	deadline := time.Now().Add(time.Hour)
	base, stop := context.WithDeadline(context.WithValue(context.Background(), key{}, "v"), deadline)
	defer stop()
	bodyCtx := make(chan context.Context, 1)
	launched := core.Launch(base, func(ctx context.Context) error { bodyCtx <- ctx; return nil })
	bodyless := core.NewJob(base)
	defer bodyless.Cancel(nil)
	testkit.MustJoin(t, launched)
	for _, c := range []struct {
		name string
		job  core.Job
		ctx  context.Context
	}{
		{"Launch Context()", launched, launched.Context()},
		{"Launch body ctx", launched, <-bodyCtx},
		{"NewJob Context()", bodyless, bodyless.Context()},
	} {
		if got := core.JobOf(c.ctx); got != c.job {
			t.Errorf("%s: JobOf(ctx) = %v, want %v", c.name, got, c.job)
		}
		if got := c.ctx.Value(key{}); got != "v" {
			t.Errorf("%s: Value(key) = %v, want %q", c.name, got, "v")
		}
		if got, ok := c.ctx.Deadline(); !ok || !got.Equal(deadline) {
			t.Errorf("%s: Deadline() = %v, %v, want %v, true", c.name, got, ok, deadline)
		}
	}
}

// TestRule14_JobOf checks JobOf on contexts with and without a job (API:
// JobOf).
func TestRule14_JobOf(t *testing.T) {
	t.Parallel()
	job := core.NewJob(nil)
	defer job.Cancel(nil)
	type key struct{}
	derived, stop := context.WithCancel(context.WithValue(job.Context(), key{}, 1))
	defer stop()
	tests := []struct {
		name string
		ctx  context.Context
		want core.Job
	}{
		{"Background", context.Background(), nil},
		{"job context", job.Context(), job},
		{"derived", derived, job},
		{"WithoutCancel", context.WithoutCancel(job.Context()), nil},
		{"handler only", core.WithExceptionHandler(context.Background(), func(error) {}), nil},
	}
	for _, tt := range tests {
		if got := core.JobOf(tt.ctx); got != tt.want {
			t.Errorf("JobOf(%s) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestRule14_DoneOnEveryEnd checks that the job's context is done (and its
// Err/Cause tell why) once the job is cancelled, failed or completed
// (API rule 14; STYLE 8).
func TestRule14_DoneOnEveryEnd(t *testing.T) {
	t.Parallel()
	why, failure := testkit.NewErr("why"), testkit.NewErr("failure")
	tests := []struct {
		name  string
		end   func(j core.CompletableJob)
		check func(t *testing.T, cause error)
	}{
		{"completed", func(j core.CompletableJob) { j.Complete() }, func(t *testing.T, cause error) {
			testkit.CancellationOf(t, "context.Cause(ctx)", cause)
		}},
		{"cancelled", func(j core.CompletableJob) { j.Cancel(why) }, func(t *testing.T, cause error) {
			if !core.IsCancellation(cause) || !errors.Is(cause, why) {
				t.Errorf("context.Cause(ctx) = %v, want a cancellation caused by %v", cause, why)
			}
		}},
		{"failed", func(j core.CompletableJob) { j.Fail(failure) }, func(t *testing.T, cause error) {
			if !errors.Is(cause, failure) {
				t.Errorf("context.Cause(ctx) = %v, want %v", cause, failure)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			job := core.NewJob(nil)
			ctx := job.Context()
			derived, stop := context.WithCancel(ctx)
			defer stop()
			derivedCause, stopCause := context.WithCancelCause(ctx)
			defer stopCause(nil)
			timed, stopTimed := context.WithTimeout(ctx, time.Hour)
			defer stopTimed()
			if testkit.IsClosed(ctx.Done()) || ctx.Err() != nil {
				t.Fatalf("context of an active job is done: Err() = %v", ctx.Err())
			}
			tt.end(job)
			testkit.WaitChan(t, ctx.Done(), "job context to be done")
			if !job.IsCompleted() && !job.IsCancelled() {
				t.Errorf("job state %v when its context is done", job.State())
			}
			for _, c := range []struct {
				name string
				ctx  context.Context
			}{{"job ctx", ctx}, {"WithCancel", derived}, {"WithCancelCause", derivedCause}, {"WithTimeout", timed}} {
				testkit.WaitChan(t, c.ctx.Done(), c.name+" to be done")
				if err := c.ctx.Err(); !errors.Is(err, context.Canceled) {
					t.Errorf("%s: Err() = %v, want %v", c.name, err, context.Canceled)
				}
				tt.check(t, context.Cause(c.ctx))
			}
			if got, want := context.Cause(ctx), job.Cause(); job.Cause() != nil && !errors.Is(got, want) {
				t.Errorf("context.Cause(ctx) = %v, want the job's cause %v", got, want)
			}
		})
	}
}

// TestRule14_DoneOnlyAfterStateChanged checks that code woken by the job's
// context being done sees the new state: a body sees IsActive() false, and
// so does an AfterFunc callback (API rule 14).
func TestRule14_DoneOnlyAfterStateChanged(t *testing.T) {
	t.Parallel()
	for i := range 100 {
		seen := make(chan bool, 2)
		started := make(chan struct{})
		job := core.Launch(context.Background(), func(ctx context.Context) error {
			close(started)
			<-ctx.Done()
			seen <- core.JobOf(ctx).IsActive()
			return ctx.Err()
		})
		testkit.WaitChan(t, started, "body to start")
		stop := context.AfterFunc(job.Context(), func() { seen <- job.IsActive() })
		job.Cancel(nil)
		testkit.MustJoin(t, job)
		for range 2 {
			select {
			case active := <-seen:
				if active {
					t.Fatalf("iteration %d: IsActive() = true after the job's context was done", i)
				}
			case <-time.After(testkit.WaitTimeout(t)):
				t.Fatalf("iteration %d: AfterFunc did not run\n%s", i, testkit.GoroutineDump())
			}
		}
		stop()
	}
	for i := range 100 {
		job := core.NewJob(nil)
		seen := make(chan core.State, 1)
		stop := context.AfterFunc(job.Context(), func() { seen <- job.State() })
		job.Complete()
		select {
		case s := <-seen:
			if s != core.Completed {
				t.Fatalf("iteration %d: State() = %v in AfterFunc after Complete, want %v", i, s, core.Completed)
			}
		case <-time.After(testkit.WaitTimeout(t)):
			t.Fatalf("iteration %d: AfterFunc did not run\n%s", i, testkit.GoroutineDump())
		}
		stop()
	}
}

// TestRule14_DeadlineCause checks that a job cancelled by its deadline reports
// context.DeadlineExceeded from Err(), as does a context derived from it
// (API rule 14).
func TestRule14_DeadlineCause(t *testing.T) {
	t.Parallel()
	base, stop := context.WithTimeout(context.Background(), time.Millisecond)
	defer stop()
	errs := make(chan error, 1)
	job := core.Launch(base, func(ctx context.Context) error {
		<-ctx.Done()
		errs <- ctx.Err()
		return ctx.Err()
	})
	testkit.MustJoin(t, job)
	select {
	case err := <-errs:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("body ctx Err() = %v, want %v", err, context.DeadlineExceeded)
		}
	default: // the deadline passed before the body started: it never ran
	}
	if err := job.Context().Err(); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Context().Err() = %v, want %v", err, context.DeadlineExceeded)
	}
	wantCancellation(t, job.Cause())
}

// TestRule14_LazyJobContext checks that a lazy job's
// context is not done while New and is done once the job is cancelled
// (API rules 3, 14).
func TestRule14_LazyJobContext(t *testing.T) {
	t.Parallel()
	job := core.Launch(context.Background(), func(context.Context) error { return nil }, core.Lazy())
	ctx := job.Context()
	if ctx.Err() != nil || testkit.IsClosed(ctx.Done()) {
		t.Fatalf("context of a New job is done: Err() = %v", ctx.Err())
	}
	job.Cancel(nil)
	if !testkit.IsClosed(ctx.Done()) {
		t.Errorf("context of a cancelled New job not done when Cancel returned")
	}
	if err := ctx.Err(); !errors.Is(err, context.Canceled) {
		t.Errorf("Err() = %v, want %v", err, context.Canceled)
	}
}

// TestRule14_DerivingStartsNoGoroutine checks that contexts derived from a
// job's context with the context package start no goroutine (API rule 14).
// It counts goroutines, so it does not run in parallel.
func TestRule14_DerivingStartsNoGoroutine(t *testing.T) {
	job := core.NewJob(nil)
	defer job.Cancel(nil)
	launched := core.Launch(context.Background(), blockUntilDone(nil))
	defer func() { launched.Cancel(nil); testkit.MustJoin(t, launched) }()
	const n = 50
	var stops []func()
	defer func() {
		for _, s := range stops {
			s()
		}
	}()
	before := runtime.NumGoroutine()
	for _, parent := range []context.Context{job.Context(), launched.Context()} {
		for range n {
			c1, s1 := context.WithCancel(parent)
			c2, s2 := context.WithCancelCause(c1)
			_, s3 := context.WithTimeout(parent, time.Hour)
			_, s4 := context.WithDeadline(c2, time.Now().Add(time.Hour))
			s5 := context.AfterFunc(parent, func() {})
			stops = append(stops, s1, func() { s2(nil) }, s3, s4, func() { s5() })
		}
	}
	if delta := runtime.NumGoroutine() - before; delta >= n/2 {
		t.Errorf("deriving %d contexts from job contexts started %d goroutines, want none", 2*n*5, delta)
	}
}

// TestRule14_DerivedContextsFollowJob checks that contexts derived before
// the job ends report the job's Err and cause afterwards, and AfterFunc
// callbacks run (API rule 14).
func TestRule14_DerivedContextsFollowJob(t *testing.T) {
	t.Parallel()
	why := testkit.NewErr("why")
	job := core.NewJob(nil)
	derived, stop := context.WithCancel(job.Context())
	defer stop()
	fired := make(chan struct{})
	context.AfterFunc(job.Context(), func() { close(fired) })
	job.Cancel(why)
	testkit.WaitChan(t, fired, "AfterFunc on the job's context")
	testkit.WaitChan(t, derived.Done(), "derived context to be done")
	if err := derived.Err(); !errors.Is(err, context.Canceled) {
		t.Errorf("derived Err() = %v, want %v", err, context.Canceled)
	}
	if cause := context.Cause(derived); !errors.Is(cause, why) || !errors.Is(cause, job.Cause()) {
		t.Errorf("context.Cause(derived) = %v, want the job's cause %v", cause, job.Cause())
	}
	// Derived after the end: done at once.
	late, stopLate := context.WithCancel(job.Context())
	defer stopLate()
	if !testkit.IsClosed(late.Done()) {
		t.Errorf("context derived from a finished job's context is not done")
	}
	if cause := context.Cause(late); !errors.Is(cause, why) {
		t.Errorf("context.Cause(late) = %v, want %v", cause, why)
	}
}

// TestRule14_NotDoneWhileCompleting checks that the context of a job that
// waits in Completing for its children is not done: the job is still
// active (API rules 5, 14).
func TestRule14_NotDoneWhileCompleting(t *testing.T) {
	t.Parallel()
	job := core.NewJob(nil)
	child := core.NewJob(job.Context())
	job.Complete()
	testkit.CheckState(t, job, core.Completing)
	for _, j := range []core.Job{job, child} {
		if err := j.Context().Err(); err != nil || testkit.IsClosed(j.Context().Done()) {
			t.Errorf("%v: Context().Err() = %v while Completing, want nil", j, err)
		}
	}
	child.Complete()
	testkit.MustJoin(t, job)
	if err := job.Context().Err(); !errors.Is(err, context.Canceled) {
		t.Errorf("Context().Err() = %v after completion, want %v", err, context.Canceled)
	}
}
