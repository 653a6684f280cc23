// Package cancel is the toolbox of cooperative cancellation in jobtree:
// checking for cancellation, cleaning up after it, bridging calls that
// ignore it, and "cancel the previous run, then run".
//
// Cancelling a job (core.Job.Cancel) does not stop its body: it closes the
// Done channel of the job's context, and the body stops when it next looks.
// Everything that takes a context looks — every waiting call of jobtree
// (Join, Await, Select, Delay, …), and every Go API that honours a
// context. Code that looks at nothing (a CPU-bound loop, a blocking call
// without a context) runs to its end. This package fills the gaps:
//
//   - [EnsureActive], [IsActive] and [Yield] are the checks a loop makes:
//     EnsureActive returns the cancellation as a *core.CancellationError,
//     IsActive reports it, Yield also lets other goroutines run;
//   - [CancelAndJoin] cancels a job and waits until it has finished;
//   - [NonCancellable] gives clean-up code a context that keeps the
//     values of the job's context but is never cancelled and carries no
//     job;
//   - [RunInterruptible] lets a caller stop waiting for a blocking call
//     that takes no context, and hands back the job that tracks the
//     abandoned call;
//   - [Latest] runs one body at a time and lets the newest request win;
//   - [LaunchOnCancellation] runs a block when a job is cancelled, and
//     holds the job open until the block is done.
//
// docs/cancellation.md in the repository is the guide: what checks for
// cancellation and what does not, how to make a blocking call cancellable,
// and the trade-offs.
//
// # Rules for callers
//
//   - Pass the job's context — the one the body received — to every
//     check; a nil ctx stands for context.Background() (never cancelled).
//   - Return the error a check gives you, unchanged or wrapped: a returned
//     cancellation cancels the job normally, it is not a failure.
//   - Nil functions and nil jobs are programmer errors: the call panics
//     with a message starting "cancel: ".
//
// Kotlin to Go: ensureActive() → [EnsureActive]; isActive → [IsActive];
// yield() → [Yield]; cancelAndJoin() → [CancelAndJoin];
// withContext(NonCancellable) → [NonCancellable]; runInterruptible →
// [RunInterruptible]; the cancelPreviousThenRun snippet → [Latest]; Ktor's
// launchOnCancellation → [LaunchOnCancellation].
package cancel
