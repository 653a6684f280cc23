package cancel

import (
	"context"
	"runtime"

	"github.com/jobtree/jobtree/core"
)

// CancelAndJoin cancels job (as job.Cancel(nil) does) and waits until it is
// complete, as [core.Job.Join] does: it returns nil once the job is
// complete, whatever its outcome. If ctx is done first (or already done
// when CancelAndJoin is called) it returns a *core.CancellationError
// carrying context.Cause(ctx), and the job stays cancelled. Called with
// the context of job itself or of one of its descendants, it cancels job
// and returns at once: that ctx is done by then, so Join reports it. It is
// kotlinx's cancelAndJoin.
//
// A nil ctx stands for context.Background(). CancelAndJoin panics if job is
// nil.
func CancelAndJoin(ctx context.Context, job core.Job) error {
	if job == nil {
		panic("cancel: CancelAndJoin called with a nil job")
	}
	job.Cancel(nil)
	return job.Join(ctx)
}

// EnsureActive returns nil while ctx is live: not done, and its job (see
// core.JobOf), if it has one, is active. Otherwise it returns a
// *core.CancellationError saying why:
//
//   - when ctx is done, context.Cause(ctx) when that is a
//     *core.CancellationError already, else a *core.CancellationError whose
//     Cause is context.Cause(ctx) — as core.Job.Join and every other
//     waiting call of jobtree report a done ctx. For a job's own context
//     that cause is the job's: a *core.CancellationError for a cancelled
//     job (or one saying it completed), the failure itself for a failed
//     one;
//   - when ctx's job is no longer active but ctx is not done yet (a context
//     derived from the job's, a moment before the job's cancellation
//     reaches it), the job's cause in the same way; for a lazy job that has
//     not started, an error saying so.
//
// EnsureActive is how a loop that never waits on anything makes itself
// cancellable: call it at the top of every iteration and return its error.
// It is kotlinx's ensureActive; like it, it never blocks and is a no-op for
// a ctx without job that can never be cancelled (context.Background(),
// [NonCancellable]). A nil ctx stands for context.Background().
func EnsureActive(ctx context.Context) error {
	if ctx == nil {
		return nil
	}
	if ctx.Err() != nil {
		return cancellationOf(context.Cause(ctx), "context is done")
	}
	if j := core.JobOf(ctx); j != nil && !j.IsActive() {
		return inactiveJobError(j)
	}
	return nil
}

// IsActive reports whether ctx is live: EnsureActive(ctx) would return nil.
// It is kotlinx's isActive, for loops that want to end on their own terms
// (return a partial result, say) rather than with an error. A ctx without
// job that can never be cancelled is always active; so is a nil ctx.
func IsActive(ctx context.Context) bool {
	if ctx == nil {
		return true
	}
	if ctx.Err() != nil {
		return false
	}
	j := core.JobOf(ctx)
	return j == nil || j.IsActive()
}

// Yield gives up the processor (runtime.Gosched), so that other goroutines
// get to run, and then returns EnsureActive(ctx). It is kotlinx's yield,
// for long CPU-bound loops that should both share the processor and notice
// their cancellation.
func Yield(ctx context.Context) error {
	runtime.Gosched()
	return EnsureActive(ctx)
}

// inactiveJobError is the error of EnsureActive for a job that is not
// active while the context asked about is not done yet.
func inactiveJobError(j core.Job) error {
	if cause := j.Cause(); cause != nil {
		return cancellationOf(cause, "job is not active")
	}
	if j.IsCompleted() {
		// Completed normally: its context is (about to be) done with
		// core's "job completed" cause; say the same.
		return &core.CancellationError{Message: "job completed"}
	}
	return &core.CancellationError{Message: "job has not started"}
}

// cancellationOf returns cause when it is a *core.CancellationError, else a
// *core.CancellationError with message msg wrapping it: how jobtree turns
// the reason a context or job stopped into the error a caller gets.
func cancellationOf(cause error, msg string) *core.CancellationError {
	if ce, ok := cause.(*core.CancellationError); ok {
		return ce
	}
	return &core.CancellationError{Message: msg, Cause: cause}
}
