// Package timeout bounds the time a piece of structured work may take:
// kotlinx.coroutines' withTimeout, withTimeoutOrNull and delay for jobtree.
//
// [WithTimeout] runs a body as a scope (like core.Scope: a new child job of
// the caller's job that waits for everything the body launched) and cancels
// that scope when the duration passes first. The scope's context then
// reports context.DeadlineExceeded from Err, its context.Cause is the
// cancellation carrying the call's [*TimeoutError], and every job and
// derived context below it is done too; once the body and its children have
// finished, WithTimeout returns that *TimeoutError. [WithTimeoutOrNull]
// returns mo.None instead, but only for its own timeout: the timeout of an
// inner call, a failure and a cancellation of the caller are returned as
// errors. [Run] is WithTimeout for bodies without a result, and [Delay] is a
// sleep that ends early when its context is done.
//
// The scope's context also carries the deadline (Deadline reports the
// earlier of the caller's deadline and the call's), so Go APIs that read
// it, such as net.Dialer or an RPC client passing deadlines on, honour it.
//
// # Rules for callers
//
//   - Pass the context first, and pass the context the body receives to
//     everything it starts: that is what the timeout cancels.
//   - Bodies cooperate: the timeout only cancels the scope, which closes
//     its context's Done channel. A body that never looks at its context
//     runs to its end, and WithTimeout waits for it.
//   - A body that notices the timeout returns ctx.Err() or
//     context.Cause(ctx) (or the error of a call that honoured ctx): that
//     is the echo of the scope's own cancellation, not a failure. Any other
//     error it returns is a failure, and is returned instead of the
//     timeout.
//   - A nil body is a programmer error: the call panics with a message
//     starting "timeout: ". A nil context stands for context.Background().
//
// # Difference from Kotlin
//
// In kotlinx.coroutines the TimeoutCancellationException that withTimeout
// throws is a CancellationException: if it escapes a coroutine, that
// coroutine is merely cancelled and its parent goes on. Here a
// [*TimeoutError] is an ordinary error — errors.Is(err,
// context.DeadlineExceeded) holds for it, errors.Is(err, context.Canceled)
// does not — so a *TimeoutError returned from a job's body fails that job,
// and its parent with it, like any other failure. A timeout is an outcome
// the caller must decide about; returning it unexamined is a failure, not
// a silent cancellation. (Inside the scope that timed out, the echo of the
// scope's own cancellation is still a normal cancellation.)
//
// Kotlin also returns the value of a block that finished without ever
// suspending, even when its timer fired meanwhile. A Go body has no
// suspension points to tell, so here a timeout that fired before the scope
// completed always wins over the body's value.
package timeout
