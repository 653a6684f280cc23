package async

import (
	"context"
	"fmt"

	"github.com/jobtree/jobtree/core"
)

// Race runs every body concurrently, each in its own child job of
// core.JobOf(ctx), and returns the value of the first to succeed; the
// others are then cancelled, and Race returns once all of them have ended.
// A body's failure (error or panic) does not cancel the others: when none
// succeeds, Race returns the errors.Join of their causes in the order they
// ended. A cancellation of ctx cancels all of them and returns the wait
// error of core's rule 11 once they ended. No bodies return
// ErrNothingToAwait; Race panics if a body is nil. A nil ctx stands for
// context.Background().
func Race[T any](ctx context.Context, bodies ...func(ctx context.Context) (T, error)) (T, error) {
	for i, b := range bodies {
		if b == nil {
			panic(fmt.Sprintf("async: Race called with a nil body (%d)", i))
		}
	}
	if len(bodies) == 0 {
		var zero T
		return zero, ErrNothingToAwait
	}
	// Under a supervisor the bodies fail independently, and a failing
	// Async reports nothing: its cause reaches AwaitAny only.
	sup := core.NewSupervisorJob(ctx)
	ds := make([]Deferred[T], len(bodies))
	for i, b := range bodies {
		ds[i] = Async(sup.Context(), b)
	}
	v, err := AwaitAny(ctx, ds...)
	sup.Cancel(errLostRace) // after AwaitAny: only when ctx was done first
	<-sup.Done()
	return v, err
}
