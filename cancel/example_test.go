package cancel_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jobtree/jobtree/cancel"
	"github.com/jobtree/jobtree/core"
)

// This example shows the first lesson of cooperative cancellation: a
// CPU-bound loop that never looks at its context runs to its end although
// its job was cancelled half-way; the same loop with EnsureActive at the top
// of each iteration stops at its next check.
func ExampleEnsureActive() {
	ctx := context.Background()
	crunch := func(check bool) {
		processed := 0
		halfway, cancelled := make(chan struct{}), make(chan struct{})
		job := core.Launch(ctx, func(ctx context.Context) error {
			for i := range 10 {
				if check {
					if err := cancel.EnsureActive(ctx); err != nil {
						return err
					}
				}
				if i == 5 { // the job is cancelled while item 5 is processed
					close(halfway)
					<-cancelled
				}
				processed++ // CPU work that looks at nothing
			}
			return nil
		})
		<-halfway
		job.Cancel(nil)
		close(cancelled)
		_ = job.Join(ctx)
		fmt.Printf("check=%-5v processed %2d of 10 items, job %v\n", check, processed, job.State())
	}
	crunch(false)
	crunch(true)
	// Output:
	// check=false processed 10 of 10 items, job Cancelled
	// check=true  processed  6 of 10 items, job Cancelled
}

// This example shows IsActive in a loop that ends on its own terms: it
// returns what it has so far instead of an error.
func ExampleIsActive() {
	ctx := context.Background()
	halfway, cancelled := make(chan struct{}), make(chan struct{})
	var partial []int
	job := core.Launch(ctx, func(ctx context.Context) error {
		for i := 0; cancel.IsActive(ctx); i++ {
			partial = append(partial, i*i)
			if i == 3 {
				close(halfway)
				<-cancelled
			}
		}
		return nil // a cancelled job stays cancelled, whatever its body returns
	})
	<-halfway
	job.Cancel(nil)
	close(cancelled)
	_ = job.Join(ctx)
	fmt.Println("squares computed before the cancellation:", partial)
	// Output:
	// squares computed before the cancellation: [0 1 4 9]
}

// This example shows CancelAndJoin: it returns only once the job's clean-up
// has run.
func ExampleCancelAndJoin() {
	ctx := context.Background()
	started := make(chan struct{})
	job := core.Launch(ctx, func(ctx context.Context) error {
		close(started)
		<-ctx.Done()
		fmt.Println("worker: cleaning up")
		return ctx.Err()
	})
	<-started
	err := cancel.CancelAndJoin(ctx, job)
	fmt.Println("CancelAndJoin =", err, "; job", job.State())
	// Output:
	// worker: cleaning up
	// CancelAndJoin = <nil> ; job Cancelled
}

// This example shows kotlinx's cancelChildren lesson: cancelling the
// children of a job stops the work in progress but keeps the job itself
// alive, ready for more.
func Example_cancelChildren() {
	ctx := context.Background()
	session := core.NewJob(ctx)
	started := make(chan struct{}, 2)
	var downloads []core.Job
	for range 2 {
		downloads = append(downloads, core.Launch(session.Context(), func(ctx context.Context) error {
			started <- struct{}{}
			<-ctx.Done()
			return ctx.Err()
		}))
	}
	<-started
	<-started
	session.CancelChildren(nil)
	_ = core.JoinAll(ctx, downloads...)
	fmt.Println("downloads:", downloads[0].State(), downloads[1].State())
	fmt.Println("session after CancelChildren:", session.State())

	next := core.Launch(session.Context(), func(context.Context) error { return nil })
	_ = next.Join(ctx)
	fmt.Println("a new download in the same session:", next.State())
	session.Complete()
	_ = session.Join(ctx)
	fmt.Println("session:", session.State())
	// Output:
	// downloads: Cancelled Cancelled
	// session after CancelChildren: Active
	// a new download in the same session: Completed
	// session: Completed
}

// This example shows clean-up that must run although the job is cancelled:
// a call that honours its context fails with the job's cancelled context,
// and succeeds with NonCancellable, bounded in time by a deadline of its
// own.
func ExampleNonCancellable() {
	ctx := context.Background()
	// save stands for any call that honours its context (a database
	// write, an RPC): it fails once the context is done.
	save := func(ctx context.Context, what string) error {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("save %s: %w", what, err)
		}
		fmt.Println("saved", what)
		return nil
	}
	started := make(chan struct{})
	job := core.Launch(ctx, func(ctx context.Context) error {
		close(started)
		<-ctx.Done() // cancelled: now clean up

		fmt.Println("with the job's context:", save(ctx, "draft"))

		cleanup, stop := context.WithTimeout(cancel.NonCancellable(ctx), 5*time.Second)
		defer stop()
		fmt.Println("with NonCancellable:", save(cleanup, "draft"))
		fmt.Println("EnsureActive(cleanup) =", cancel.EnsureActive(cleanup))
		return ctx.Err()
	})
	<-started
	_ = cancel.CancelAndJoin(ctx, job)
	fmt.Println("job", job.State())
	// Output:
	// with the job's context: save draft: context canceled
	// saved draft
	// with NonCancellable: <nil>
	// EnsureActive(cleanup) = <nil>
	// job Cancelled
}

// This example shows Latest de-duplicating rapid requests, as in
// search-as-you-type: each keystroke supersedes the search in progress;
// a search superseded before it started never runs, and only the newest
// one completes.
func ExampleLatest_Run() {
	ctx := context.Background()
	var searches cancel.Latest[string]
	var ran []string // appended by bodies, which never overlap
	search := func(query string, beforeReturn <-chan struct{}) func(context.Context) (string, error) {
		return func(ctx context.Context) (string, error) {
			ran = append(ran, query)
			if beforeReturn != nil {
				<-beforeReturn
			}
			if err := ctx.Err(); err != nil {
				return "", err
			}
			return fmt.Sprintf("3 results for %q", query), nil
		}
	}
	results := make([]chan string, 3)
	for i := range results {
		results[i] = make(chan string, 1)
	}
	show := func(i int, v string, err error) {
		switch {
		case errors.Is(err, cancel.ErrSuperseded):
			results[i] <- "superseded"
		case err != nil:
			results[i] <- err.Error()
		default:
			results[i] <- v
		}
	}

	// "g": a slow search, that notices its cancellation only when told.
	slow := make(chan struct{})
	firstStarted, firstCancelled := make(chan struct{}), make(chan struct{})
	go func() { // ends when the search returns
		v, err := searches.Run(ctx, func(ctx context.Context) (string, error) {
			context.AfterFunc(ctx, func() { close(firstCancelled) })
			close(firstStarted)
			return search("g", slow)(ctx)
		})
		show(0, v, err)
	}()
	<-firstStarted
	// "go" and then "gop", typed while "g" is still being cancelled.
	go func() { // ends when the search returns
		v, err := searches.Run(ctx, search("go", nil))
		show(1, v, err)
	}()
	// Once "go" has superseded "g", "gop" is typed.
	<-firstCancelled
	go func() { // ends when the search returns
		v, err := searches.Run(ctx, search("gop", nil))
		show(2, v, err)
	}()
	fmt.Println(`"go": `, <-results[1]) // superseded by "gop" before it started
	close(slow)
	fmt.Println(`"g":  `, <-results[0])
	fmt.Println(`"gop":`, <-results[2])
	fmt.Println("bodies that ran:", ran)
	// Output:
	// "go":  superseded
	// "g":   superseded
	// "gop": 3 results for "gop"
	// bodies that ran: [g gop]
}

// This example shows RunInterruptible freeing a job from a call that
// ignores contexts: the job is cancelled and completes at once; the call,
// abandoned, goes on until it returns, tracked by a job of its own.
func ExampleRunInterruptible() {
	ctx := context.Background()
	lines := make(chan string)
	reading := make(chan struct{})
	readLine := func() (string, error) { // a legacy API without a context
		close(reading)
		return <-lines, nil
	}
	abandoned := make(chan *cancel.AbandonedError, 1)
	job := core.Launch(ctx, func(ctx context.Context) error {
		line, err := cancel.RunInterruptible(ctx, readLine)
		var ab *cancel.AbandonedError
		if errors.As(err, &ab) {
			abandoned <- ab
			return err
		}
		fmt.Println("read", line)
		return err
	})
	<-reading
	_ = cancel.CancelAndJoin(ctx, job)
	ab := <-abandoned
	fmt.Println("job:", job.State(), "- RunInterruptible returned a cancellation:", core.IsCancellation(ab))
	fmt.Println("the abandoned call:", ab.Call.State())

	lines <- "too late" // the call returns at last; its result is discarded
	_ = ab.Call.Join(ctx)
	fmt.Println("the abandoned call:", ab.Call.State())
	// Output:
	// job: Cancelled - RunInterruptible returned a cancellation: true
	// the abandoned call: Active
	// the abandoned call: Completed
}

// This example shows LaunchOnCancellation as Ktor's server engine uses it:
// the server is stopped when the application's job is cancelled, and the
// application completes only once the server has stopped.
func ExampleLaunchOnCancellation() {
	ctx := context.Background()
	app := core.NewJob(ctx)
	stopServer := cancel.LaunchOnCancellation(app, func(ctx context.Context, cause error) error {
		fmt.Println("stopping the server:", cause)
		fmt.Println("  the clean-up context is active:", cancel.IsActive(ctx))
		return nil
	})
	// If the server stopped on its own, stopServer.Complete(struct{}{})
	// would release the application without running the block.
	app.Cancel(errors.New("SIGTERM"))
	_ = app.Join(ctx)
	fmt.Println("application:", app.State(), "- stopServer:", stopServer.State())
	// Output:
	// stopping the server: job was cancelled: SIGTERM
	//   the clean-up context is active: true
	// application: Cancelled - stopServer: Cancelled
}
