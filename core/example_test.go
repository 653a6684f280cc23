package core_test

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jobtree/jobtree/core"
)

// This example launches a job that launches three children of its own, and
// waits for the whole tree with Join: a job completes only once all its
// children have, so the results are all there when Join returns.
func ExampleLaunch() {
	ctx := context.Background()

	squares := make([]int, 3)
	job := core.Launch(ctx, func(ctx context.Context) error {
		for i := range squares {
			// Each child is a job of its own, with this job as parent.
			core.Launch(ctx, func(ctx context.Context) error {
				squares[i] = (i + 1) * (i + 1)
				return nil
			})
		}
		return nil // the job now waits for its children in Completing
	})

	// Join returns nil whatever the outcome; State and Cause tell it.
	if err := job.Join(ctx); err != nil {
		fmt.Println("join:", err)
		return
	}
	fmt.Println(squares)
	fmt.Println(job.State(), job.Cause())
	// Output:
	// [1 4 9]
	// Completed <nil>
}

// This example creates a job with core.Lazy: it waits in state New, its body
// not running, until Start (or Join) starts it.
func ExampleLaunch_lazy() {
	ctx := context.Background()

	running := make(chan struct{})
	release := make(chan struct{})
	job := core.Launch(ctx, func(ctx context.Context) error {
		close(running)
		<-release
		return nil
	}, core.Lazy())
	fmt.Println("created:", job.State())

	started := job.Start()
	<-running // the body runs now
	fmt.Println("Start:", started, job.State())
	fmt.Println("Start again:", job.Start()) // only the first call starts it

	close(release)
	_ = job.Join(ctx)
	fmt.Println("joined:", job.State())

	// Join starts a lazy job too.
	ran := false
	other := core.Launch(ctx, func(ctx context.Context) error {
		ran = true
		return nil
	}, core.Lazy())
	_ = other.Join(ctx)
	fmt.Println("Join ran the body:", ran)
	// Output:
	// created: New
	// Start: true Active
	// Start again: false
	// joined: Completed
	// Join ran the body: true
}

// This example runs two jobs in a Scope. The first failure cancels the rest
// of the scope — here the sibling that would otherwise wait forever — and
// Scope returns it.
func ExampleScope() {
	errFetch := errors.New("fetch failed")

	err := core.Scope(context.Background(), func(ctx context.Context) error {
		started := make(chan struct{})
		core.Launch(ctx, func(ctx context.Context) error {
			close(started)
			<-ctx.Done() // cancelled by its sibling's failure
			fmt.Println("sibling cancelled because of the fetch:", errors.Is(context.Cause(ctx), errFetch))
			return ctx.Err()
		})
		<-started // make sure the sibling's body runs before the failure

		core.Launch(ctx, func(ctx context.Context) error {
			return errFetch
		})
		return nil
	})
	fmt.Println("Scope:", err)
	// Output:
	// sibling cancelled because of the fetch: true
	// Scope: fetch failed
}

// This example runs two children in a SupervisorScope. The failing child
// neither cancels its sibling nor the scope: its failure goes to the
// exception handler installed with core.WithExceptionHandler.
func ExampleSupervisorScope() {
	ctx := core.WithExceptionHandler(context.Background(), func(err error) {
		fmt.Println("exception handler:", err)
	})

	err := core.SupervisorScope(ctx, func(ctx context.Context) error {
		release := make(chan struct{})
		sibling := core.Launch(ctx, func(ctx context.Context) error {
			<-release
			return nil
		})

		failing := core.Launch(ctx, func(ctx context.Context) error {
			return errors.New("worker failed")
		})
		// The failure is reported before Join on the failing job returns.
		_ = failing.Join(ctx)

		fmt.Println("sibling still active:", sibling.IsActive())
		fmt.Println("scope still active:", core.JobOf(ctx).IsActive())
		close(release)
		return nil
	})
	fmt.Println("SupervisorScope:", err)
	// Output:
	// exception handler: worker failed
	// sibling still active: true
	// scope still active: true
	// SupervisorScope: <nil>
}

// This example uses NewJob as a body-less parent: it is Active at once, and
// after Complete it waits in Completing until its children are complete.
func ExampleNewJob() {
	parent := core.NewJob(context.Background())
	fmt.Println("new:", parent.State())

	release := make(chan struct{})
	child := core.Launch(parent.Context(), func(ctx context.Context) error {
		<-release
		return nil
	})

	fmt.Println("Complete:", parent.Complete())
	fmt.Println("waiting for the child:", parent.State(), parent.IsActive())
	fmt.Println("Complete again:", parent.Complete())

	close(release)
	_ = parent.Join(context.Background())
	fmt.Println("parent:", parent.State(), "child:", child.State())
	// Output:
	// new: Active
	// Complete: true
	// waiting for the child: Completing true
	// Complete again: false
	// parent: Completed child: Completed
}

// This example uses NewSupervisorJob as the parent of independent workers:
// a worker's failure goes to the exception handler and leaves the
// supervisor and the other workers alone.
func ExampleNewSupervisorJob() {
	ctx := core.WithExceptionHandler(context.Background(), func(err error) {
		fmt.Println("exception handler:", err)
	})
	supervisor := core.NewSupervisorJob(ctx)

	failing := core.Launch(supervisor.Context(), func(ctx context.Context) error {
		return errors.New("worker 1 failed")
	})
	_ = failing.Join(ctx)
	fmt.Println("worker 1:", failing.State())
	fmt.Println("supervisor:", supervisor.State())

	worker := core.Launch(supervisor.Context(), func(ctx context.Context) error {
		return nil
	})
	_ = worker.Join(ctx)
	fmt.Println("worker 2:", worker.State())

	supervisor.Complete()
	_ = supervisor.Join(ctx)
	fmt.Println("supervisor:", supervisor.State(), supervisor.Cause())
	// Output:
	// exception handler: worker 1 failed
	// worker 1: Cancelled
	// supervisor: Active
	// worker 2: Completed
	// supervisor: Completed <nil>
}

// This example joins lazy jobs with JoinAll. It joins them one after
// another, in argument order, so each lazy job starts only once the one
// before it is complete; and it returns nil whatever their outcomes.
func ExampleJoinAll() {
	ctx := core.WithExceptionHandler(context.Background(), func(err error) {
		fmt.Println("exception handler:", err)
	})

	var jobs []core.Job
	for i := 1; i <= 3; i++ {
		jobs = append(jobs, core.Launch(ctx, func(ctx context.Context) error {
			fmt.Println("job", i, "runs")
			if i == 2 {
				return fmt.Errorf("job %d failed", i)
			}
			return nil
		}, core.Lazy()))
	}

	err := core.JoinAll(ctx, jobs...)
	fmt.Println("JoinAll:", err)
	for i, job := range jobs {
		fmt.Println("job", i+1, job.State())
	}
	// Output:
	// job 1 runs
	// job 2 runs
	// exception handler: job 2 failed
	// job 3 runs
	// JoinAll: <nil>
	// job 1 Completed
	// job 2 Cancelled
	// job 3 Completed
}

// This example finds the current job with JobOf. A job's body gets the
// job's own context; JobOf finds the job in it and in every context derived
// from it, except one that can never be cancelled.
func ExampleJobOf() {
	ctx := context.Background()
	fmt.Println("no job in Background:", core.JobOf(ctx) == nil)

	job := core.Launch(ctx, func(ctx context.Context) error {
		self := core.JobOf(ctx)
		fmt.Println("inside the body:", self.State())

		derived, stop := context.WithCancel(ctx)
		defer stop()
		fmt.Println("in a derived context:", core.JobOf(derived) == self)
		fmt.Println("in context.WithoutCancel:", core.JobOf(context.WithoutCancel(ctx)) == nil)

		// A job launched with ctx is a child of self.
		release := make(chan struct{})
		child := core.Launch(ctx, func(ctx context.Context) error {
			<-release
			return nil
		})
		fmt.Println("child's parent:", child.Parent() == self)
		close(release)
		return nil
	})
	_ = job.Join(ctx)
	fmt.Println("in job.Context():", core.JobOf(job.Context()) == job)
	// Output:
	// no job in Background: true
	// inside the body: Active
	// in a derived context: true
	// in context.WithoutCancel: true
	// child's parent: true
	// in job.Context(): true
}

// This example installs an exception handler. A failure that no parent
// handles is reported to it once — here by the top job, which the failure
// of its child cancelled — with the final cause, before Join returns.
// Cancellations are never reported.
func ExampleWithExceptionHandler() {
	ctx := core.WithExceptionHandler(context.Background(), func(err error) {
		fmt.Println("exception handler:", err)
	})

	job := core.Launch(ctx, func(ctx context.Context) error {
		core.Launch(ctx, func(ctx context.Context) error {
			return errors.New("disk full")
		})
		<-ctx.Done() // the child's failure cancels this job
		return ctx.Err()
	})
	_ = job.Join(ctx)
	fmt.Println("failed job:", job.State())

	cancelled := core.Launch(ctx, func(ctx context.Context) error {
		<-ctx.Done()
		return ctx.Err()
	})
	cancelled.Cancel(nil)
	_ = cancelled.Join(ctx)
	fmt.Println("cancelled job:", cancelled.State())
	// Output:
	// exception handler: disk full
	// failed job: Cancelled
	// cancelled job: Cancelled
}

// This example names a job with core.Named. The name shows in String and in
// the messages of the cancellation errors the job creates. (String also
// holds a number that depends on the jobs created before, so the example
// only looks for the name.)
func ExampleNamed() {
	job := core.Launch(context.Background(), func(ctx context.Context) error {
		return nil
	}, core.Named("fetch"), core.Lazy())

	fmt.Println("String names it:", strings.Contains(job.String(), "fetch"))
	fmt.Println("String shows the state:", strings.Contains(job.String(), job.State().String()))

	job.Cancel(nil) // a New job is Cancelled at once; its body never runs
	fmt.Println("cause names it:", strings.Contains(job.Cause().Error(), "fetch"))
	// Output:
	// String names it: true
	// String shows the state: true
	// cause names it: true
}

// This example joins a job from inside itself and from inside its child.
// Such a wait could never end, so Join returns an error wrapping
// core.ErrJoinCycle at once.
func ExampleLaunch_joinCycle() {
	ctx := context.Background()
	job := core.Launch(ctx, func(ctx context.Context) error {
		self := core.JobOf(ctx)
		err := self.Join(ctx)
		fmt.Println("from its own body:", errors.Is(err, core.ErrJoinCycle))

		child := core.Launch(ctx, func(ctx context.Context) error {
			err := self.Join(ctx)
			fmt.Println("from its child:", errors.Is(err, core.ErrJoinCycle))
			return nil
		})
		return child.Join(ctx) // joining a child is fine
	})
	_ = job.Join(ctx)
	fmt.Println(job.State())
	// Output:
	// from its own body: true
	// from its child: true
	// Completed
}
