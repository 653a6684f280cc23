// Command tour walks through jobtree one scenario at a time: the lifecycle
// of jobs in package core, cooperative cancellation, typed results, select
// and time limits. Run it with `make demo` (or `go run ./examples/tour`).
//
// Its output is deterministic: the scenarios line their goroutines up with
// channels, Join and completion handlers, never with sleeps, and print no
// timings, job ids or stack traces. main_test.go checks the output against
// testdata/tour.golden.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"

	"github.com/jobtree/jobtree/core"
)

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "tour:", err)
		os.Exit(1)
	}
}

// tour prints the scenarios. Each step uses a fresh context of its own
// derived from ctx, so that failures one step reports never reach another.
type tour struct {
	w   io.Writer
	ctx context.Context
}

// run prints every step to w. It returns an error only if the tour itself
// went wrong (a Join that failed), never because a job failed: failing jobs
// are what it shows.
func run(w io.Writer) error {
	// A failure that no step expects ends up here, printed, so that it
	// cannot hide; without this handler core would log it with log/slog.
	ctx := core.WithExceptionHandler(context.Background(), func(err error) {
		fmt.Fprintf(w, "  !! unexpected report to the root exception handler: %v\n", err)
	})
	t := &tour{w: w, ctx: ctx}
	steps := []func() error{
		t.lifecycle,
		t.parentWaitsForChildren,
		t.cancellationGoesDown,
		t.failureGoesUp,
		t.supervisors,
		t.scopeReturnsFirstFailure,
		t.panics,
		t.lazyStart,
		t.contextInterop,
		t.cooperativeCancellation,
		t.cancelChildrenKeepsParent,
		t.nonCancellableCleanup,
		t.latestRun,
		t.runInterruptible,
		t.deferredResults,
		t.selectFirst,
		t.timeLimits,
	}
	for i, step := range steps {
		if i > 0 {
			fmt.Fprintln(w)
		}
		if err := step(); err != nil {
			return fmt.Errorf("step %d: %w", i+1, err)
		}
	}
	return nil
}

func (t *tour) heading(n int, title string) { fmt.Fprintf(t.w, "== %d. %s ==\n", n, title) }

func (t *tour) say(format string, args ...any) { fmt.Fprintf(t.w, "  "+format+"\n", args...) }

// flags formats the three flags of j, as kotlinx's state table lists them.
func flags(j core.Job) string {
	return fmt.Sprintf("%v (IsActive=%v IsCompleted=%v IsCancelled=%v)",
		j.State(), j.IsActive(), j.IsCompleted(), j.IsCancelled())
}

// waitForState spins until j is in state want. Completing is internal in
// kotlinx — observers see IsActive true — so no event marks the moment a
// body returns; the tour spins only to show that state by name.
func waitForState(j core.Job, want core.State) {
	for j.State() != want {
		runtime.Gosched()
	}
}

// awaitAll receives n values from ch.
func awaitAll(ch chan struct{}, n int) {
	for range n {
		<-ch
	}
}

// collect returns what has been sent on ch so far, without waiting.
func collect[T any](ch chan T) []T {
	var got []T
	for {
		select {
		case v := <-ch:
			got = append(got, v)
		default:
			return got
		}
	}
}

// 1. A job's lifecycle, state by state.
func (t *tour) lifecycle() error {
	t.heading(1, "Lifecycle: New -> Active -> Completing -> Completed")
	started := make(chan struct{})
	finishBody := make(chan struct{})
	releaseChild := make(chan struct{})
	job := core.Launch(t.ctx, func(ctx context.Context) error {
		// Launch under the body's ctx: the new job is a child of this one.
		core.Launch(ctx, func(context.Context) error {
			<-releaseChild
			return nil
		})
		close(started)
		<-finishBody
		return nil // the body is done, but the child is not
	}, core.Lazy())
	t.say("Launch(ctx, body, Lazy()):   %s", flags(job))

	// A completion handler runs once, after the state is final, before
	// Done() closes and Join returns; it may run on any goroutine.
	seen := make(chan string, 1)
	job.InvokeOnCompletion(func(cause error) {
		seen <- fmt.Sprintf("InvokeOnCompletion handler: state %v, cause %v", job.State(), cause)
	})
	t.say("InvokeOnCompletion(h):       %s (registering does not start it)", job.State())

	t.say("Start() = %v", job.Start())
	<-started
	t.say("the body runs:               %s", flags(job))
	close(finishBody)
	waitForState(job, core.Completing)
	t.say("body returned, child runs:   %s", flags(job))

	close(releaseChild)
	if err := job.Join(t.ctx); err != nil {
		return err
	}
	t.say("child returned, Join = nil:  %s", flags(job))
	t.say("%s", <-seen)
	t.say("Start() again = %v: a job starts at most once", job.Start())
	t.say("the job's context is done too: Err() = %v", job.Context().Err())
	return nil
}

// 2. A parent waits in Completing until all its children are complete.
func (t *tour) parentWaitsForChildren() error {
	t.heading(2, "A parent waits for its children")
	var kids [3]core.Job
	var release [3]chan struct{}
	for i := range release {
		release[i] = make(chan struct{})
	}
	launched := make(chan struct{})
	parent := core.Launch(t.ctx, func(ctx context.Context) error {
		for i := range kids {
			kids[i] = core.Launch(ctx, func(context.Context) error {
				<-release[i]
				return nil
			})
		}
		close(launched)
		return nil
	})
	<-launched
	waitForState(parent, core.Completing)
	n := 0
	for range parent.Children() {
		n++
	}
	t.say("the parent's body launched %d children and returned: parent %s", n, parent.State())
	for i, kid := range kids[:len(kids)-1] {
		close(release[i])
		if err := kid.Join(t.ctx); err != nil {
			return err
		}
		t.say("child %d completed -> parent still %s", i+1, flags(parent))
	}
	close(release[len(kids)-1])
	if err := parent.Join(t.ctx); err != nil {
		return err
	}
	t.say("child %d completed -> parent %s", len(kids), flags(parent))
	t.say("the parent became Completed only after its last child did")
	return nil
}

// 3. Cancelling a job cancels its whole subtree.
func (t *tour) cancellationGoesDown() error {
	t.heading(3, "Cancellation goes down the tree")
	errShutdown := errors.New("shutting down")
	var kids [2]core.Job
	cleanup := make(chan struct{}) // holds the children in their clean-up
	sawDone := make(chan bool, len(kids))
	running := make(chan struct{}, len(kids))
	launched := make(chan struct{})
	parent := core.Launch(t.ctx, func(ctx context.Context) error {
		for i := range kids {
			kids[i] = core.Launch(ctx, func(ctx context.Context) error {
				running <- struct{}{}
				<-ctx.Done()
				sawDone <- errors.Is(ctx.Err(), context.Canceled)
				<-cleanup
				return ctx.Err() // the echo of its own cancellation: not a failure
			})
		}
		awaitAll(running, len(kids))
		close(launched)
		<-ctx.Done()
		return ctx.Err()
	})
	<-launched

	parent.Cancel(errShutdown)
	t.say("parent.Cancel(errShutdown) returned; Cancel is synchronous:")
	t.say("  parent   %s", flags(parent))
	for i, kid := range kids {
		t.say("  child %d  %s", i+1, flags(kid))
	}
	close(cleanup)
	if err := parent.Join(t.ctx); err != nil {
		return err
	}
	n := 0
	for _, ok := range collect(sawDone) {
		if ok {
			n++
		}
	}
	t.say("%d children saw ctx.Done() closed with ctx.Err() == context.Canceled", n)
	t.say("after they returned: parent %s", parent.State())
	cause := parent.Cause()
	t.say("parent.Cause(): errors.Is(cause, context.Canceled) = %v, errors.Is(cause, errShutdown) = %v",
		errors.Is(cause, context.Canceled), errors.Is(cause, errShutdown))
	var ce *core.CancellationError
	kidCause := kids[0].Cause()
	t.say("child 1 %s: errors.As(cause, *CancellationError) = %v, errors.Is(cause, errShutdown) = %v",
		kids[0].State(), errors.As(kidCause, &ce), errors.Is(kidCause, errShutdown))
	t.say("context.Cause(child's context) says why too: errors.Is = %v",
		errors.Is(context.Cause(kids[0].Context()), errShutdown))
	return nil
}

// 4. A failing child cancels its parent, and so all its siblings.
func (t *tour) failureGoesUp() error {
	t.heading(4, "Failure goes up the tree")
	errDisk := errors.New("write cache: disk full")
	errNet := errors.New("upload: network down")
	reported := make(chan error, 4)
	ctx := core.WithExceptionHandler(t.ctx, func(err error) { reported <- err })

	failNow := make(chan struct{})
	running := make(chan struct{}, 2)
	launched := make(chan struct{})
	var writer, sibling, late core.Job
	parent := core.Launch(ctx, func(ctx context.Context) error {
		writer = core.Launch(ctx, func(context.Context) error {
			<-failNow
			return errDisk
		})
		sibling = core.Launch(ctx, func(ctx context.Context) error {
			running <- struct{}{}
			<-ctx.Done()
			return ctx.Err()
		})
		late = core.Launch(ctx, func(ctx context.Context) error {
			running <- struct{}{}
			<-ctx.Done()
			return errNet // fails while already cancelled
		})
		// A job cancelled before its body started never runs it: let the
		// bodies start, so that they can show what they do on cancellation.
		awaitAll(running, 2)
		close(launched)
		<-ctx.Done()
		return ctx.Err()
	})
	<-launched
	close(failNow)
	if err := parent.Join(t.ctx); err != nil {
		return err
	}
	t.say("the writer child failed:  %s, cause %q", writer.State(), writer.Cause())
	t.say("its sibling was cancelled: %s, IsCancellation(cause) = %v, errors.Is(cause, errDisk) = %v",
		sibling.State(), core.IsCancellation(sibling.Cause()), errors.Is(sibling.Cause(), errDisk))
	t.say("a child that failed later: %s, cause %q", late.State(), late.Cause())
	cause := parent.Cause()
	t.say("the parent was cancelled: %s, errors.Is(cause, errDisk) = %v, errors.Is(cause, errNet) = %v",
		parent.State(), errors.Is(cause, errDisk), errors.Is(cause, errNet))
	var multi interface{ Unwrap() []error }
	if errors.As(cause, &multi) {
		errs := multi.Unwrap()
		t.say("the first failure wins: Unwrap() []error lists %q first, then %q", errs[0], errs[1:])
	} else {
		t.say("the first failure wins: cause = %q", cause)
	}
	got := collect(reported)
	t.say("the parent (a root Launch) reported its failure %d time(s) to the exception handler; errors.Is(err, errDisk) = %v",
		len(got), len(got) == 1 && errors.Is(got[0], errDisk))
	return nil
}

// 5. Under a supervisor, children fail on their own.
func (t *tour) supervisors() error {
	t.heading(5, "SupervisorJob and SupervisorScope: children fail independently")
	reported := make(chan error, 4)
	ctx := core.WithExceptionHandler(t.ctx, func(err error) { reported <- err })

	errDeclined := errors.New("charge card: declined")
	sup := core.NewSupervisorJob(ctx)
	release := make(chan struct{})
	other := core.Launch(sup.Context(), func(context.Context) error {
		<-release
		return nil
	})
	failing := core.Launch(sup.Context(), func(context.Context) error { return errDeclined })
	if err := failing.Join(t.ctx); err != nil {
		return err
	}
	t.say("NewSupervisorJob: one child failed: %s, cause %q", failing.State(), failing.Cause())
	t.say("  the supervisor is untouched: %s", flags(sup))
	t.say("  its sibling still runs:      %s", flags(other))
	for _, err := range collect(reported) {
		t.say("  the failure went to the exception handler: %q", err)
	}
	close(release)
	if err := other.Join(t.ctx); err != nil {
		return err
	}
	t.say("  the sibling completed: %s", other.State())
	t.say("  Complete() = %v", sup.Complete())
	if err := sup.Join(t.ctx); err != nil {
		return err
	}
	t.say("  the supervisor: %s", sup.State())

	errEmail := errors.New("send email: mailbox full")
	sent := make(chan string, 1)
	err := core.SupervisorScope(ctx, func(ctx context.Context) error {
		core.Launch(ctx, func(context.Context) error { return errEmail })
		core.Launch(ctx, func(context.Context) error {
			sent <- "SMS sent"
			return nil
		})
		return nil
	})
	t.say("SupervisorScope: one child failed, the other reported %q", <-sent)
	t.say("  SupervisorScope(...) = %v (only the body's own error is returned)", err)
	// The failing child reports before its own Join returns, which is not
	// necessarily before the scope returns: wait for the report.
	t.say("  the failure went to the exception handler: %q", <-reported)
	return nil
}

// 6. Scope waits for its children and returns the first failure.
func (t *tour) scopeReturnsFirstFailure() error {
	t.heading(6, "Scope returns the first failure")
	reported := make(chan error, 4)
	ctx := core.WithExceptionHandler(t.ctx, func(err error) { reported <- err })
	errFetch := errors.New("fetch profile: 404 not found")
	siblingCause := make(chan error, 1)
	running := make(chan struct{})
	err := core.Scope(ctx, func(ctx context.Context) error {
		core.Launch(ctx, func(context.Context) error {
			<-running // fail once the sibling's body runs
			return errFetch
		})
		core.Launch(ctx, func(ctx context.Context) error {
			close(running)
			<-ctx.Done()
			siblingCause <- context.Cause(ctx)
			return ctx.Err()
		})
		<-ctx.Done() // the body, too, is cancelled by the failure
		return ctx.Err()
	})
	t.say("Scope(...) = %q, errors.Is(err, errFetch) = %v", err, errors.Is(err, errFetch))
	sc := <-siblingCause
	t.say("the sibling was cancelled first: IsCancellation(cause) = %v, errors.Is(cause, errFetch) = %v",
		core.IsCancellation(sc), errors.Is(sc, errFetch))
	t.say("Scope returned only after every child was complete, and did not pass the failure up:")
	t.say("  calls to the exception handler: %d (the caller decides what to do with err)", len(collect(reported)))
	return nil
}

// 7. A panic in a body is a failure like any other.
func (t *tour) panics() error {
	t.heading(7, "A panic becomes a *core.PanicError")
	reported := make(chan error, 4)
	ctx := core.WithExceptionHandler(t.ctx, func(err error) { reported <- err })
	job := core.Launch(ctx, func(context.Context) error {
		panic("invariant broken: negative balance")
	})
	if err := job.Join(t.ctx); err != nil {
		return err
	}
	var pe *core.PanicError
	t.say("the job: %s, errors.As(cause, *PanicError) = %v", job.State(), errors.As(job.Cause(), &pe))
	if pe != nil {
		t.say("  Value = %v", pe.Value)
		t.say("  stack captured where it panicked: %v (not printed: it is machine-dependent)", len(pe.Stack) > 0)
	}
	for _, err := range collect(reported) {
		t.say("  the exception handler got it: errors.As(err, *PanicError) = %v", errors.As(err, new(*core.PanicError)))
	}

	errInner := errors.New("decode: unexpected EOF")
	err := core.Scope(t.ctx, func(ctx context.Context) error {
		core.Launch(ctx, func(context.Context) error { panic(errInner) })
		return nil
	})
	t.say("a panic with an error value, inside Scope: errors.As(err, *PanicError) = %v, errors.Is(err, errInner) = %v",
		errors.As(err, new(*core.PanicError)), errors.Is(err, errInner))
	t.say("the program is still running")
	return nil
}

// 8. A lazy job runs only when something asks for it.
func (t *tour) lazyStart() error {
	t.heading(8, "Lazy start")
	ran := make(chan string, 2)
	report := core.Launch(t.ctx, func(context.Context) error {
		ran <- "report"
		return nil
	}, core.Lazy(), core.Named("report"))
	report.InvokeOnCompletion(func(error) {})
	t.say("Launch(..., Lazy(), Named(\"report\")) and a completion handler: %s, body runs: %d", report.State(), len(ran))
	if err := report.Join(t.ctx); err != nil {
		return err
	}
	t.say("Join(ctx) started it and waited: %s, bodies run: %v", report.State(), collect(ran))

	never := core.Launch(t.ctx, func(context.Context) error {
		ran <- "never"
		return nil
	}, core.Lazy())
	never.Cancel(nil)
	t.say("a lazy job cancelled before it started: %s at once", flags(never))
	t.say("  Start() = %v, Join(ctx) = %v", never.Start(), never.Join(t.ctx))
	t.say("  its body never ran: bodies run since: %d", len(collect(ran)))
	return nil
}

// 9. A job's context is a context.Context like any other.
func (t *tour) contextInterop() error {
	t.heading(9, "The job's context works with any Go API")
	errUserQuit := errors.New("user quit")
	started := make(chan struct{})
	inside := make(chan string, 3)
	self := make(chan core.Job, 1)
	job := core.Launch(t.ctx, func(ctx context.Context) error {
		self <- core.JobOf(ctx)
		// Any API that takes a context honours the job's cancellation;
		// here, a context derived with the context package.
		tctx, stop := context.WithTimeout(ctx, time.Hour)
		defer stop()
		close(started)
		<-tctx.Done()
		inside <- fmt.Sprintf("derived WithTimeout context: Err() = %v", tctx.Err())
		inside <- fmt.Sprintf("context.Cause(derived): errors.Is(cause, errUserQuit) = %v",
			errors.Is(context.Cause(tctx), errUserQuit))
		return tctx.Err() // a cancellation, not a failure
	})
	afterFunc := make(chan string, 1)
	context.AfterFunc(job.Context(), func() { afterFunc <- "context.AfterFunc(job.Context(), f) ran f" })
	<-started
	t.say("inside the body, JobOf(ctx) is the job: %v", <-self == job)
	job.Cancel(errUserQuit)
	if err := job.Join(t.ctx); err != nil {
		return err
	}
	for _, line := range collect(inside) {
		t.say("%s", line)
	}
	t.say("%s", <-afterFunc)
	t.say("the job: %s; context.Cause(job.Context()) wraps errUserQuit: %v",
		job.State(), errors.Is(context.Cause(job.Context()), errUserQuit))

	// A job created from a context with a deadline inherits it, and is
	// cancelled when it passes. (Whether its body got to run before then
	// depends on the scheduler, so the tour looks only from outside.)
	dctx, stop := context.WithTimeout(t.ctx, 10*time.Millisecond)
	defer stop()
	deadline := core.Launch(dctx, func(ctx context.Context) error {
		<-ctx.Done()
		return ctx.Err()
	})
	_, ok := deadline.Context().Deadline()
	t.say("a job launched from a WithTimeout context has its deadline: %v", ok)
	if err := deadline.Join(t.ctx); err != nil {
		return err
	}
	t.say("once it passed: job %s, Context().Err() = %v, IsCancellation(Cause()) = %v",
		deadline.State(), deadline.Context().Err(), core.IsCancellation(deadline.Cause()))
	return nil
}
