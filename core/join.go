package core

import (
	"context"
	"fmt"
)

// Join implements [Job].
func (j *job) Join(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if err := ctxError(ctx); err != nil {
		return err
	}
	if s := j.state.Load(); s&stNotified != 0 {
		j.awaitCtxClosed(s) // its closer may be a step behind
		j.closeJobDone()    // a channel made a moment ago may still be open
		return nil          // complete, and its completion handlers have run
	}
	if err := j.checkCycle(ctx); err != nil {
		return err
	}
	j.Start()
	select {
	case <-j.Done():
		// Both may be ready at once, and select picks at random: a ctx
		// done by now wins, so that a cancelled caller never goes on as
		// if it had not been (kotlinx's prompt cancellation).
		return ctxError(ctx)
	case <-ctx.Done():
		return ctxError(ctx)
	}
}

// checkCycle returns an error wrapping ErrJoinCycle when ctx belongs to j or
// to one of its descendants: waiting for j there would never end.
func (j *job) checkCycle(ctx context.Context) error {
	for x := jobOf(ctx); x != nil; x = x.parent {
		if x == j {
			return fmt.Errorf("core: %v waits for itself from %v: %w", j, jobOf(ctx), ErrJoinCycle)
		}
	}
	return nil
}

// JoinAll joins the jobs one after another, in argument order (so lazy jobs
// start one after another), and returns nil once all are complete, whatever
// their outcomes. It returns early only when ctx is done (as [Job.Join]),
// for a join cycle, or for a nil job. Duplicates are allowed; no jobs
// returns nil at once.
func JoinAll(ctx context.Context, jobs ...Job) error {
	for i, jb := range jobs {
		if jb == nil {
			return fmt.Errorf("core: JoinAll: job %d is nil", i)
		}
		if err := jb.Join(ctx); err != nil {
			return err
		}
	}
	return nil
}
