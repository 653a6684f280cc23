package timeout

import (
	"context"
	"time"

	"github.com/jobtree/jobtree/internal/corehook"
)

// Delay waits for d, or until ctx is done, whichever comes first: a sleep
// that honours cancellation (kotlinx's delay). It returns nil after d. If
// ctx is done first — or already done when Delay is called, or done by the
// time the wait ends — it returns at once a *core.CancellationError whose
// Cause is context.Cause(ctx), or that cause itself when it already is a
// *core.CancellationError, as every waiting call of jobtree does (see
// core's Job.Join).
//
// A non-positive d returns nil at once, without looking at ctx. A nil ctx
// stands for context.Background(). Delay starts no goroutine and leaves no
// timer behind; it is safe for concurrent use.
func Delay(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	if ctx == nil {
		ctx = context.Background()
	}
	if err := corehook.WaitError(ctx); err != nil {
		return err
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		// Prompt cancellation: a ctx that became done while the timer
		// fired still wins, so a nil error means ctx was not done.
		return corehook.WaitError(ctx)
	case <-ctx.Done():
		return corehook.WaitError(ctx)
	}
}
