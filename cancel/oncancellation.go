package cancel

import (
	"context"
	"sync"

	"github.com/jobtree/jobtree/async"
	"github.com/jobtree/jobtree/core"
)

// LaunchOnCancellation arranges for block to run when job is cancelled,
// and keeps job from completing until block is done: Ktor's
// launchOnCancellation (its server engine uses it to stop the server when
// the application's job is cancelled).
//
// It returns a deferred that is a child of job. block runs once, when job
// is cancelled (or fails) or when the returned deferred is cancelled (by
// Cancel, or Fail), with a context that keeps job's values but is never
// cancelled and carries no job (see [NonCancellable]), and with the
// deferred's cancellation cause — which, when job was cancelled, carries
// job's cause (errors.Is finds it). The deferred completes when block
// returns; being a child, it holds job in Cancelling until then. An error
// or a panic from block does not fail the deferred nor job: it goes to the
// exception handler of job's context (core.WithExceptionHandler; by
// default it is logged), as a root core.Launch's failure would.
//
// The caller must complete or cancel the deferred when it is no longer
// needed: until then, being a child, it keeps job from completing. Once
// Complete has returned true, block never runs, even if job is cancelled
// before the deferred has finished completing. (Completing takes a moment —
// the watcher below is the deferred's child — and a cancellation that comes
// in that moment still ends the deferred Cancelled, as for any job in
// Completing, without running block.)
//
// Cost: one goroutine, parked until the deferred is done, tracked as a job
// of the deferred's subtree (named "cancel.LaunchOnCancellation");
// LaunchOnCancellation returns once that goroutine runs. If job is already
// cancelling or complete — even completed normally — the deferred is born
// cancelled, as any child would be, and block runs at once on a goroutine
// of its own, as a root job that nothing waits for. Like any child, the
// deferred starts a lazy job.
//
// LaunchOnCancellation panics if job or block is nil.
func LaunchOnCancellation(job core.Job, block func(ctx context.Context, cause error) error) async.CompletableDeferred[struct{}] {
	if job == nil {
		panic("cancel: LaunchOnCancellation called with a nil job")
	}
	if block == nil {
		panic("cancel: LaunchOnCancellation called with a nil block")
	}
	d := &onCancellation{
		CompletableDeferred: async.NewCompletableDeferred[struct{}](job.Context()),
		released:            make(chan struct{}),
	}
	// The watcher is the job that runs block. It is a child of the
	// deferred, so that the deferred, once cancelled, completes only when
	// block has returned; a cancellation of the deferred (its own, or
	// job's coming down) cancels the watcher's context, which is what it
	// waits for. Between them, a supervisor: the watcher's failure (block's
	// error or panic) then goes to the exception handler instead of failing
	// the deferred and job. The supervisor is completed at once: it only
	// waits for the watcher.
	sup := core.NewSupervisorJob(d.Context())
	started := make(chan struct{})
	watcher := core.Launch(sup.Context(), func(ctx context.Context) error {
		close(started)
		select {
		case <-d.released: // completed: nothing to do
			return nil
		case <-ctx.Done():
		}
		if d.completedNormally() {
			return nil
		}
		return block(NonCancellable(ctx), d.Cause())
	}, core.Named("cancel.LaunchOnCancellation"))
	sup.Complete()

	// A job cancelled before its body started never runs it (see
	// core.Launch): wait until the watcher runs, or learn that it never
	// will.
	select {
	case <-started:
	case <-watcher.Done():
		if !isClosed(started) {
			// The deferred was born cancelled (job cancelling or
			// complete), or job was cancelled a moment ago: nothing can
			// hold the deferred open any more; run block anyway.
			core.Launch(NonCancellable(job.Context()), func(ctx context.Context) error {
				return block(ctx, d.Cause())
			}, core.Named("cancel.LaunchOnCancellation"))
		}
	}
	return d
}

// onCancellation is the deferred LaunchOnCancellation returns: the
// CompletableDeferred made for job, whose Complete also lets the watcher
// go without running block.
type onCancellation struct {
	async.CompletableDeferred[struct{}]

	// mu makes "Complete succeeded" and the watcher's decision to run
	// block mutually exclusive: Complete holds it across the inner
	// Complete and the write of completed; the watcher reads completed
	// under it once its context is done.
	mu        sync.Mutex
	completed bool          // guarded by mu; set once, by the Complete call that won
	released  chan struct{} // closed by the Complete call that won
}

// Complete completes the deferred, as the CompletableDeferred's Complete
// does, and releases the goroutine waiting to run block: after a Complete
// that returned true, block never runs.
func (d *onCancellation) Complete(v struct{}) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	// The inner Complete cannot finalize the deferred here (its watcher
	// is still a live child), so no completion handler runs under mu.
	if !d.CompletableDeferred.Complete(v) {
		return false
	}
	d.completed = true
	close(d.released)
	return true
}

// completedNormally reports whether a Complete call won. Called by the
// watcher once its context is done: the deferred is cancelling by then,
// so a Complete that has not yet won never will.
func (d *onCancellation) completedNormally() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.completed
}

// isClosed reports whether ch is closed.
func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
