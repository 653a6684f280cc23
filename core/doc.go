// Package core is the job tree of jobtree: kotlinx.coroutines' Job machinery
// (structured concurrency) for Go.
//
// A [Job] is a unit of work with an observable lifecycle ([State]: New,
// Active, Completing, Cancelling, Cancelled, Completed). Jobs form a tree:
// [Launch] runs a body on a new goroutine as a child of the job that its
// context belongs to ([JobOf]); [NewJob] and [NewSupervisorJob] make
// body-less jobs that are completed from outside; [Scope] and
// [SupervisorScope] run a body in place and wait for everything it
// launched. A parent completes only after all its children have.
// Cancellation travels down the tree, synchronously; failure travels up: a
// failing child cancels its parent and so its siblings, unless the parent is
// a supervisor. A failure that no parent handles goes to the exception
// handler of the failing job's context ([WithExceptionHandler]). Panics in
// bodies and handlers are recovered into failures ([PanicError]): user code
// never crashes the process through jobtree.
//
// The context is the scope. Every job has its own [context.Context]
// ([Job.Context]), which a body receives: it carries the job and the values
// and deadline of the context the job was created from, and it is done as
// soon as the job is cancelled, fails or completes. Any Go API that takes a
// context therefore honours job cancellation; contexts derived from it
// start no goroutine, and context.Cause reports the job's cause.
//
// Kotlin to Go, in short: CoroutineScope → context.Context; launch →
// [Launch]; Job()/SupervisorJob() → [NewJob]/[NewSupervisorJob];
// coroutineScope/supervisorScope → [Scope]/[SupervisorScope];
// coroutineContext[Job] → [JobOf]; CancellationException →
// [*CancellationError]; a thrown exception → a returned error or a
// recovered panic; CoroutineExceptionHandler → [WithExceptionHandler];
// CoroutineStart.LAZY → [Lazy]; CoroutineName → [Named]. docs/kotlin-mapping.md
// in the repository lists every name and every deliberate difference.
//
// # Rules for callers
//
//   - Pass the context first, and pass the job's context (the one the body
//     received) to everything the body starts: that is what makes the
//     started work a child. A nil context stands for context.Background():
//     the job is a root.
//   - Every job has an owner that joins or cancels it: its parent (which
//     waits for it), a scope, or the code that created a root job.
//   - Bodies cooperate: cancellation only closes the context's Done channel.
//     A body that never looks at its context runs to its end.
//   - Return errors; do not log and swallow them. A returned cancellation
//     (or the echo of the job's own done context) is a normal cancellation;
//     anything else is a failure that cancels the parent.
//   - Nil bodies and nil handlers are programmer errors: the call panics
//     with a message starting "core: ".
//   - Waiting for yourself (Join from inside the job or one of its
//     descendants) returns an error wrapping [ErrJoinCycle] at once.
//
// # Concurrency
//
// Every method is safe for concurrent use. The state of a job is one atomic
// word and its handlers and children one lock-free list: no transition,
// registration or disposal takes a lock, handlers run synchronously on the
// goroutine that makes the transition, and disposed handlers and finished
// children are unlinked, so a long-lived parent holds memory only for what
// is still alive. docs/design.md in the repository explains why this is
// correct.
package core
