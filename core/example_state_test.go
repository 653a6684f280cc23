package core_test

import (
	"context"
	"fmt"

	"github.com/jobtree/jobtree/core"
)

// This example walks jobs through all six states, printing the state and
// the three flags IsActive, IsCompleted and IsCancelled at each step.
func ExampleState() {
	ctx := context.Background()
	show := func(what string, job core.Job) {
		fmt.Printf("%-26s %-10v active=%-5v completed=%-5v cancelled=%v\n",
			what, job.State(), job.IsActive(), job.IsCompleted(), job.IsCancelled())
	}

	// A lazy job is New until it is started; cancelled then, it is
	// Cancelled at once.
	lazy := core.Launch(ctx, func(ctx context.Context) error { return nil }, core.Lazy())
	show("lazy job:", lazy)
	lazy.Cancel(nil)
	show("lazy job, cancelled:", lazy)

	// A completed job waits for its children in Completing.
	parent := core.NewJob(ctx)
	show("parent:", parent)
	release := make(chan struct{})
	core.Launch(parent.Context(), func(ctx context.Context) error {
		<-release
		return nil
	})
	parent.Complete()
	show("parent, child running:", parent)
	close(release)
	_ = parent.Join(ctx)
	show("parent, child done:", parent)

	// A cancelled job is Cancelling until its body has returned.
	started := make(chan struct{})
	cleanup := make(chan struct{})
	job := core.Launch(ctx, func(ctx context.Context) error {
		close(started)
		<-ctx.Done()
		<-cleanup
		return ctx.Err()
	})
	<-started
	job.Cancel(nil)
	show("job, cleaning up:", job)
	close(cleanup)
	_ = job.Join(ctx)
	show("job, body returned:", job)
	// Output:
	// lazy job:                  New        active=false completed=false cancelled=false
	// lazy job, cancelled:       Cancelled  active=false completed=true  cancelled=true
	// parent:                    Active     active=true  completed=false cancelled=false
	// parent, child running:     Completing active=true  completed=false cancelled=false
	// parent, child done:        Completed  active=false completed=true  cancelled=false
	// job, cleaning up:          Cancelling active=false completed=false cancelled=true
	// job, body returned:        Cancelled  active=false completed=true  cancelled=true
}

// This example prints the name of every state.
func ExampleState_String() {
	for s := core.New; s <= core.Completed; s++ {
		fmt.Println(int(s), s.String())
	}
	// Output:
	// 0 New
	// 1 Active
	// 2 Completing
	// 3 Cancelling
	// 4 Cancelled
	// 5 Completed
}
