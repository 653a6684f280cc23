// Package corehook gives jobtree's other packages what they need from
// package core's internals without widening core's exported API (fixed by
// the spec): making the jobs behind a Deferred, and the error every wait
// returns for a done context.
//
// core fills the variables in its init function; every package that uses
// them imports core, so they are set before first use. They are assigned
// once and never changed afterwards.
package corehook

import "context"

// Launch starts body as a job of kind "Deferred": a child of JobOf(ctx)
// that, like a Launch job, handles its children's failures, but never
// reports its own failure to an exception handler (its Await returns it).
// opts is a []core.Option. The result is a core.Job.
var Launch func(ctx context.Context, body func(context.Context) error, opts any) any

// NewJob makes a body-less job of kind "Deferred", as core.NewJob does
// otherwise. The result is a core.CompletableJob.
var NewJob func(ctx context.Context) any

// WaitError returns nil while ctx is not done, else the error with which a
// blocking call reports it (the spec's rule 11): a *core.CancellationError
// carrying context.Cause(ctx), or that cause itself when it already is one.
var WaitError func(ctx context.Context) error
