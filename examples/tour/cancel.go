package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jobtree/jobtree/cancel"
	"github.com/jobtree/jobtree/core"
)

// The steps of this file show package cancel: the classic lessons of
// cooperative cancellation.

// 10. Cancelling a job only asks its body to stop.
func (t *tour) cooperativeCancellation() error {
	t.heading(10, "Cancellation is cooperative: a loop must check")
	crunch := func(check bool) (int, core.Job, error) {
		processed := 0
		halfway, cancelled := make(chan struct{}), make(chan struct{})
		job := core.Launch(t.ctx, func(ctx context.Context) error {
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
		err := job.Join(t.ctx)
		return processed, job, err
	}
	processed, job, err := crunch(false)
	if err != nil {
		return err
	}
	t.say("a loop that never checks, cancelled half-way: processed %d of 10 items; job %s", processed, job.State())
	processed, job, err = crunch(true)
	if err != nil {
		return err
	}
	t.say("the same loop with cancel.EnsureActive(ctx): processed %d of 10 items; job %s", processed, job.State())
	t.say("  its body returned EnsureActive's error: IsCancellation(Cause()) = %v (a cancellation, not a failure)",
		core.IsCancellation(job.Cause()))
	t.say("what checks: ctx.Done()/ctx.Err(), EnsureActive, IsActive, Yield, and every call that takes ctx")
	return nil
}

// 11. CancelChildren stops the work in progress and keeps the parent.
func (t *tour) cancelChildrenKeepsParent() error {
	t.heading(11, "CancelChildren keeps the parent alive")
	session := core.NewJob(t.ctx)
	started := make(chan struct{}, 2)
	var downloads []core.Job
	for range 2 {
		downloads = append(downloads, core.Launch(session.Context(), func(ctx context.Context) error {
			started <- struct{}{}
			<-ctx.Done()
			return ctx.Err()
		}))
	}
	awaitAll(started, 2)
	session.CancelChildren(nil)
	if err := core.JoinAll(t.ctx, downloads...); err != nil {
		return err
	}
	t.say("session.CancelChildren(nil): the downloads are %s and %s", downloads[0].State(), downloads[1].State())
	t.say("  the session itself: %s", flags(session))
	next := core.Launch(session.Context(), func(context.Context) error { return nil })
	if err := next.Join(t.ctx); err != nil {
		return err
	}
	t.say("  a new download in the same session: %s", next.State())
	session.Complete()
	if err := session.Join(t.ctx); err != nil {
		return err
	}
	t.say("  session.Complete(): %s", session.State())
	return nil
}

// 12. Clean-up that must run although the job is cancelled.
func (t *tour) nonCancellableCleanup() error {
	t.heading(12, "Clean-up under cancel.NonCancellable")
	// save stands for any call that honours its context (a database
	// write, an RPC): it fails once the context is done.
	save := func(ctx context.Context) error {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("save draft: %w", err)
		}
		return nil
	}
	started := make(chan struct{})
	lines := make(chan string, 4)
	job := core.Launch(t.ctx, func(ctx context.Context) error {
		close(started)
		<-ctx.Done() // cancelled: now clean up
		lines <- fmt.Sprintf("with the job's context:   save = %v", save(ctx))
		cleanup, stop := context.WithTimeout(cancel.NonCancellable(ctx), time.Minute)
		defer stop()
		lines <- fmt.Sprintf("with NonCancellable(ctx), bounded by its own WithTimeout: save = %v", save(cleanup))
		lines <- fmt.Sprintf("  it keeps the values of ctx but carries no job: JobOf = %v, EnsureActive = %v",
			core.JobOf(cleanup), cancel.EnsureActive(cleanup))
		return ctx.Err()
	})
	<-started
	if err := cancel.CancelAndJoin(t.ctx, job); err != nil {
		return err
	}
	for _, line := range collect(lines) {
		t.say("%s", line)
	}
	t.say("cancel.CancelAndJoin returned once the clean-up was done: job %s", job.State())
	return nil
}

// 13. Latest: each new request cancels the one in progress.
func (t *tour) latestRun() error {
	t.heading(13, "cancel.Latest: cancel the previous run, then run")
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
	type outcome struct {
		v   string
		err error
	}
	results := make([]chan outcome, 3)
	for i := range results {
		results[i] = make(chan outcome, 1)
	}
	runSearch := func(i int, body func(context.Context) (string, error)) {
		go func() { // ends when the search returns
			v, err := searches.Run(t.ctx, body)
			results[i] <- outcome{v, err}
		}()
	}
	// "g" is slow to notice its cancellation; "go" and "gop" are typed
	// while it is still being cancelled.
	slow := make(chan struct{})
	firstStarted, firstCancelled := make(chan struct{}), make(chan struct{})
	runSearch(0, func(ctx context.Context) (string, error) {
		context.AfterFunc(ctx, func() { close(firstCancelled) })
		close(firstStarted)
		return search("g", slow)(ctx)
	})
	<-firstStarted
	runSearch(1, search("go", nil))
	<-firstCancelled // "go" has superseded "g"
	runSearch(2, search("gop", nil))
	describe := func(o outcome) string {
		if o.err != nil {
			return fmt.Sprintf("error, errors.Is(err, cancel.ErrSuperseded) = %v", errors.Is(o.err, cancel.ErrSuperseded))
		}
		return o.v
	}
	t.say(`search "go":  %s (superseded while it waited: it returned at once)`, describe(<-results[1]))
	close(slow)
	t.say(`search "g":   %s (cancelled while it ran)`, describe(<-results[0]))
	t.say(`search "gop": %s`, describe(<-results[2]))
	t.say("bodies that ran, one at a time: %q", ran)
	return nil
}

// 14. A call that ignores contexts: stop waiting for it, keep track of it.
func (t *tour) runInterruptible() error {
	t.heading(14, "cancel.RunInterruptible: a blocking call that takes no context")
	lines := make(chan string)
	reading := make(chan struct{})
	readLine := func() (string, error) { // a legacy API without a context
		close(reading)
		return <-lines, nil
	}
	abandoned := make(chan *cancel.AbandonedError, 1)
	job := core.Launch(t.ctx, func(ctx context.Context) error {
		_, err := cancel.RunInterruptible(ctx, readLine)
		var ab *cancel.AbandonedError
		if errors.As(err, &ab) {
			abandoned <- ab
		}
		return err
	})
	<-reading
	if err := cancel.CancelAndJoin(t.ctx, job); err != nil {
		return err
	}
	ab := <-abandoned
	t.say("the job was cancelled and completed at once: %s; RunInterruptible returned a cancellation: %v",
		job.State(), core.IsCancellation(ab))
	t.say("  the abandoned call goes on, tracked by a root job: %s", ab.Call.State())
	lines <- "too late"
	if err := ab.Call.Join(t.ctx); err != nil {
		return err
	}
	t.say("  once the call returned (its result discarded): %s", ab.Call.State())
	return nil
}
