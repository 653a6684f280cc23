// Package async adds typed results to jobtree's job tree: kotlinx's async,
// Deferred and CompletableDeferred, for Go, with generics.
//
// [Async] starts a body on a new goroutine as a child job, like core.Launch,
// and returns a [Deferred]: a core.Job (same tree, states, handlers and
// context) whose [Deferred.Await] returns the body's value or the job's
// final cause. A deferred's failure cancels its parent like any child's, and
// is returned by Await rather than reported to an exception handler. Await
// waits without a goroutine per waiter, and never harms the deferred: a
// caller that gives up (its ctx is done) leaves the deferred running for
// the next Await.
//
// [NewCompletableDeferred] makes a deferred without a body, completed from
// outside: the bridge from callback APIs into the tree. [AwaitAll] waits for
// many and fails fast; [AwaitAny] and [Race] take the first success and
// cancel the rest; [AwaitResult] gives a [mo.Result].
//
// [Map], [ForEach], [MapSeq] and [ForEachSeq] are structured parallel
// loops: each is a scope (every call has returned when it returns), the
// first failure cancels the other calls, panics become errors, and [Limit]
// bounds the calls running at once.
//
// Kotlin to Go: async { } → [Async]; Deferred.await() → [Deferred.Await];
// getCompleted() → [Deferred.GetCompleted]; CompletableDeferred<T>() →
// [NewCompletableDeferred]; awaitAll(...) → [AwaitAll].
package async
