package core_test

// Allocation budgets (STYLE point 20): testing.AllocsPerRun tables for the
// hot paths, in the manner of context's TestAllocs. A budget is a measured
// count, each with the reason it is what it is; a change that adds an
// allocation to a hot path fails here first.
//
// These tests are not parallel: AllocsPerRun counts the mallocs of the whole
// process.

import (
	"context"
	"testing"

	"github.com/jobtree/jobtree/core"
)

// allocRuns is the number of runs AllocsPerRun averages over.
const allocRuns = 1000

// allocNoop is a handler that captures nothing: registering it allocates
// only the registration.
func allocNoop(error) {}

// allocPool hands out a fresh job per run, made before the measurement, so
// that a run measures only the operation on it.
type allocPool struct {
	jobs []core.CompletableJob
	next int
}

func newAllocPool(n int, mk func() core.CompletableJob) *allocPool {
	p := &allocPool{jobs: make([]core.CompletableJob, n)}
	for i := range p.jobs {
		p.jobs[i] = mk()
	}
	return p
}

func (p *allocPool) take() core.CompletableJob {
	j := p.jobs[p.next]
	p.next++
	return j
}

// TestAllocs_HotPaths checks the allocations of the hot paths against their
// budgets. The race detector does not change these counts (checked with
// go1.26.8), so they are checked under -race too.
func TestAllocs_HotPaths(t *testing.T) {
	live := core.NewJob(nil)
	completed := core.NewJob(nil)
	completed.Complete()
	cancelled := core.NewJob(nil)
	cancelled.Cancel(nil)
	parent := core.NewJob(nil)
	ctx := live.Context()

	// One more job than runs: AllocsPerRun calls f once to warm up.
	cancelPool := newAllocPool(allocRuns+1, func() core.CompletableJob { return core.NewJob(nil) })
	completePool := newAllocPool(allocRuns+1, func() core.CompletableJob { return core.NewJob(nil) })
	failPool := newAllocPool(allocRuns+1, func() core.CompletableJob { return core.NewJob(nil) })
	failure := &allocError{}

	var sink core.Job
	var sinkState core.State
	var sinkBool bool
	var sinkCtx context.Context
	tests := []struct {
		name   string
		budget float64
		why    string
		f      func()
	}{
		{"InvokeOnCompletion+Dispose/live job", 1,
			"the handler's node; Dispose only flips its state and counts it dead",
			func() { live.InvokeOnCompletion(allocNoop).Dispose() }},
		{"InvokeOnCancelling+Dispose/live job", 1,
			"the handler's node, as for InvokeOnCompletion",
			func() { live.InvokeOnCancelling(allocNoop).Dispose() }},
		{"InvokeOnCompletion/completed job", 1,
			"the node made before the push finds the list closed, then run at once",
			func() { completed.InvokeOnCompletion(allocNoop) }},
		// Both are inherent: the default *CancellationError and the
		// cancellation record that publishes it. A job without
		// children allocates no work list.
		{"Cancel(nil)/body-less job without children", 2,
			"the default *CancellationError and its cancellation record",
			func() { cancelPool.take().Cancel(nil) }},
		{"Cancel(nil)/cancelled job", 0,
			"nothing to cancel: the fast path allocates no error",
			func() { cancelled.Cancel(nil) }},
		{"Complete/body-less job without children", 0,
			"one CAS to Completed; nothing to record",
			func() { completePool.take().Complete() }},
		// As for Cancel, less the error, which is the caller's.
		{"Fail/body-less job without children", 1,
			"the cancellation record holding the failure",
			func() { failPool.take().Fail(failure) }},
		{"NewJob(parent.Context())+Complete", 1,
			"the job (its node in the parent's list is part of it)",
			func() { core.NewJob(parent.Context()).Complete() }},
		{"Launch+Join", 4,
			"the job, the go statement's closure, the extra record that holds the Done channel, and the channel Join waits on",
			func() { _ = core.Launch(ctx, allocBody).Join(context.Background()) }},
		{"NewJob(nil)", 1,
			"the job",
			func() { sink = core.NewJob(nil) }},
		{"Join(context.Background())/completed job", 0,
			"a state load on the fast path",
			func() { _ = completed.Join(context.Background()) }},
		{"Join(job ctx)/completed job", 0,
			"the ctx check reads the job's state; no cycle walk once complete",
			func() { _ = completed.Join(ctx) }},
		{"Done/completed job", 0,
			"the shared closed channel, or the one made before",
			func() { <-completed.Done() }},
		{"Context", 0,
			"the job itself, seen as a context",
			func() { sinkCtx = live.Context() }},
		{"JobOf(job.Context())", 0,
			"a type assertion",
			func() { sink = core.JobOf(ctx) }},
		{"State", 0, "a load", func() { sinkState = live.State() }},
		{"IsActive", 0, "a load", func() { sinkBool = live.IsActive() }},
		{"IsCompleted+IsCancelled", 0, "two loads", func() { sinkBool = live.IsCompleted() || live.IsCancelled() }},
		{"Cause/cancelled job", 0, "two loads", func() { _ = cancelled.Cause() }},
		{"Err/live job context", 0, "a load", func() { _ = ctx.Err() }},
	}
	for _, tc := range tests {
		// Not parallel: AllocsPerRun sets GOMAXPROCS and counts the
		// mallocs of the whole process.
		t.Run(tc.name, func(t *testing.T) {
			got := testing.AllocsPerRun(allocRuns, tc.f)
			t.Logf("%.2f allocs/op (budget %v: %s)", got, tc.budget, tc.why)
			if got > tc.budget {
				t.Errorf("%s: %v allocs/op, want at most %v (%s)", tc.name, got, tc.budget, tc.why)
			}
		})
	}
	_, _, _, _ = sink, sinkState, sinkBool, sinkCtx
	for _, j := range []core.CompletableJob{live, parent} {
		j.Complete()
	}
}

// allocBody is a body that returns at once.
func allocBody(context.Context) error { return nil }

// allocError is a failure whose pointer the test makes once.
type allocError struct{}

func (*allocError) Error() string { return "alloc test failure" }
