package core_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jobtree/jobtree/core"
)

// This example registers completion handlers. They run once, in
// registration order, when the job is final, with its final cause; a
// disposed handler never runs, and one registered on a complete job runs at
// once.
func ExampleJob_InvokeOnCompletion() {
	reported := make(chan error, 1)
	ctx := core.WithExceptionHandler(context.Background(), func(err error) {
		reported <- err
	})

	release := make(chan struct{})
	job := core.Launch(ctx, func(ctx context.Context) error {
		<-release
		return errors.New("disk full")
	})

	job.InvokeOnCompletion(func(cause error) {
		fmt.Println("first handler:", cause, "final:", job.IsCompleted())
	})
	h := job.InvokeOnCompletion(func(cause error) {
		fmt.Println("disposed handler: never runs")
	})
	job.InvokeOnCompletion(func(cause error) {
		fmt.Println("second handler:", cause, job.State())
	})
	h.Dispose()

	close(release)
	_ = job.Join(ctx) // the handlers have run when Join returns
	fmt.Println("joined; exception handler got:", <-reported)

	job.InvokeOnCompletion(func(cause error) {
		fmt.Println("late handler:", cause)
	})
	// Output:
	// first handler: disk full final: true
	// second handler: disk full Cancelled
	// joined; exception handler got: disk full
	// late handler: disk full
}

// This example registers a cancelling handler. It runs as soon as the job
// starts cancelling, with the cause, while the body still cleans up; Cancel
// returns only after it ran. The completion handler runs later, once the body
// is done.
func ExampleJob_InvokeOnCancelling() {
	ctx := context.Background()

	started := make(chan struct{})
	cleanup := make(chan struct{})
	job := core.Launch(ctx, func(ctx context.Context) error {
		close(started)
		<-ctx.Done()
		<-cleanup
		fmt.Println("body: cleaned up")
		return ctx.Err()
	})
	<-started

	errStop := errors.New("user pressed stop")
	job.InvokeOnCancelling(func(cause error) {
		fmt.Println("cancelling handler:", errors.Is(cause, errStop), job.State())
	})
	job.InvokeOnCompletion(func(cause error) {
		fmt.Println("completion handler:", job.State())
	})

	job.Cancel(errStop)
	fmt.Println("Cancel returned:", job.State())

	close(cleanup)
	_ = job.Join(ctx)

	// On a job that never cancelled, the handler runs at completion with
	// a nil cause.
	other := core.Launch(ctx, func(ctx context.Context) error { return nil })
	other.InvokeOnCancelling(func(cause error) {
		fmt.Println("never cancelled:", cause)
	})
	_ = other.Join(ctx)
	// Output:
	// cancelling handler: true Cancelling
	// Cancel returned: Cancelling
	// body: cleaned up
	// completion handler: Cancelled
	// never cancelled: <nil>
}

// This example cancels a job that has a child. Cancellation goes down the
// tree: when Cancel returns, the child is cancelling too, and its cause
// carries the parent's. Every cancellation cause is a context.Canceled.
func ExampleJob_Cancel() {
	ctx := context.Background()

	children := make(chan core.Job, 1)
	parent := core.Launch(ctx, func(ctx context.Context) error {
		children <- core.Launch(ctx, func(ctx context.Context) error {
			<-ctx.Done()
			return ctx.Err()
		})
		<-ctx.Done()
		return ctx.Err()
	})
	child := <-children

	errShutdown := errors.New("shutting down")
	parent.Cancel(errShutdown)
	fmt.Println("parent cancelled:", parent.IsCancelled())
	fmt.Println("child cancelled:", child.IsCancelled())

	_ = parent.Join(ctx)
	fmt.Println("parent:", parent.State(), "child:", child.State())

	cause := parent.Cause()
	fmt.Println("cause is context.Canceled:", errors.Is(cause, context.Canceled))
	fmt.Println("cause carries shutdown:", errors.Is(cause, errShutdown))
	var ce *core.CancellationError
	fmt.Println("cause is a *CancellationError:", errors.As(cause, &ce))

	fmt.Println("child's cause carries the parent's:", errors.Is(child.Cause(), cause))
	fmt.Println("child's cause carries shutdown:", errors.Is(child.Cause(), errShutdown))

	// Cancelling a complete job does nothing.
	parent.Cancel(errors.New("too late"))
	fmt.Println("cause unchanged:", errors.Is(parent.Cause(), errShutdown))
	// Output:
	// parent cancelled: true
	// child cancelled: true
	// parent: Cancelled child: Cancelled
	// cause is context.Canceled: true
	// cause carries shutdown: true
	// cause is a *CancellationError: true
	// child's cause carries the parent's: true
	// child's cause carries shutdown: true
	// cause unchanged: true
}

// This example passes the job's context to code written for the context
// package. A context derived from it — here with a timeout that would not
// expire for an hour — is cancelled with the job, and context.Cause reports
// the job's cause.
func ExampleJob_Context() {
	errNotNeeded := errors.New("result no longer needed")

	started := make(chan struct{})
	job := core.Launch(context.Background(), func(ctx context.Context) error {
		ctx, stop := context.WithTimeout(ctx, time.Hour)
		defer stop()
		close(started)

		<-ctx.Done() // cancelled with the job, long before the hour
		fmt.Println("Err:", ctx.Err())
		fmt.Println("Cause is the job's:", context.Cause(ctx) == core.JobOf(ctx).Cause())
		fmt.Println("Cause carries ours:", errors.Is(context.Cause(ctx), errNotNeeded))
		return ctx.Err()
	})
	<-started

	job.Cancel(errNotNeeded)
	_ = job.Join(context.Background())
	fmt.Println("job's context:", job.Context().Err())
	// Output:
	// Err: context canceled
	// Cause is the job's: true
	// Cause carries ours: true
	// job's context: context canceled
}
