// Package selects waits for the first of several events — a job completing,
// a deferred getting its value, a channel operation becoming possible, a
// duration passing — and runs the code of the one that happened:
// kotlinx.coroutines' select for jobtree. (The directory is select/; the
// package is selects because select is a Go keyword.)
//
// A [Clause] pairs an event with a function that makes the select's result:
// [OnJoin] (a job is complete), [OnAwait] (a deferred has its value),
// [OnReceive] and [OnSend] (a channel operation), [OnTimeout] (a duration
// has passed). [Select] waits until a clause is ready, chooses it, and
// returns the result of its function. Exactly one clause is chosen, and only
// its channel operation happens. Select is biased: of the clauses ready when
// it looks, the first in argument order wins, so the order states
// priorities and OnTimeout(0, …) is a default case. [SelectUnbiased] chooses
// at random among the ready clauses, for fairness.
//
//	reply, err := selects.Select(ctx,
//		selects.OnAwait(primary, func(r Reply) (Reply, error) { return r, nil }),
//		selects.OnAwait(replica, func(r Reply) (Reply, error) { return r, nil }),
//		selects.OnTimeout(time.Second, func() (Reply, error) { return Reply{}, errSlow }))
//
// # Rules for callers
//
//   - Pass the context first. A ctx that is done when Select is called, or
//     becomes done while it waits, ends the select without choosing a
//     clause, with the error every waiting call of jobtree returns for it
//     (core's rule 11: a *core.CancellationError carrying
//     context.Cause(ctx)). A nil ctx stands for context.Background().
//   - Select never cancels the losers: a deferred that lost a race keeps
//     running. Cancel it, or let its scope end it, when it is no longer
//     wanted.
//   - The chosen clause's function runs on the caller's goroutine, after
//     the select has removed everything it registered; its error is
//     Select's error, and its panic is not recovered.
//   - A failed or cancelled deferred makes its OnAwait clause return the
//     deferred's cause from Select; OnJoin is ready whatever the job's
//     outcome.
//   - Nil jobs, deferreds and functions, and the zero Clause, are
//     programmer errors: a panic with a message starting "selects: ". A nil
//     channel is valid and never ready, as in a select statement; choosing a
//     send on a closed channel panics, as in Go.
//   - A job clause that waits for the caller's own job, or one of its
//     ancestors, could only be ready after the caller is done: Select
//     returns an error wrapping core.ErrJoinCycle at once, as Join does.
//
// # Cost
//
// Select starts no goroutine. A select that finds a ready clause at its
// first look allocates nothing and costs a few nanoseconds per job clause
// (making an OnJoin or OnTimeout clause allocates nothing; OnAwait,
// OnReceive and OnSend allocate one small object each). A select that waits
// registers one completion handler per job clause (removed when it
// returns), arms one timer for all its timeouts, and waits with a select
// statement, or with reflect.Select when it has two or more channel clauses.
// docs/design.md §8 in the repository gives the measurements.
//
// # Differences from Kotlin
//
//   - A done ctx wins even over a clause that is ready (kotlinx's select
//     checks cancellation only when it suspends); every waiting call of
//     jobtree checks its ctx first, as core.Job.Join does.
//   - A job or a channel may appear in several clauses of one select
//     (kotlinx throws): as in a select statement, each is one more
//     alternative.
//   - OnReceive gets the value and an ok flag, as `v, ok := <-ch` does
//     (kotlinx's onReceiveCatching): a closed channel makes the clause
//     ready.
//   - While a select waits, Go's runtime decides among its channel clauses:
//     of channel operations that become possible at the same instant, it
//     picks one at random, also in a biased Select. The bias applies to what
//     is ready when Select looks: when it is called, and each time a job
//     clause's job completes or its timer fires.
//   - Waiting for one's own job is an error (core.ErrJoinCycle), not a
//     select that can only end by cancellation.
package selects
