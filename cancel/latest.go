package cancel

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/jobtree/jobtree/core"
)

// Latest runs one body at a time and lets the newest request win: "cancel
// the previous run, then run". [Latest.Run] cancels the run in progress (if
// any), waits until it has finished, and then runs its own body; a run that
// a newer one superseded returns a cancellation error. Bodies of one Latest
// never overlap, and of many calls made at once, only the newest runs to
// its end. It is the cancelPreviousThenRun pattern of kotlinx users (e.g.
// search-as-you-type: each keystroke cancels the previous query).
//
// The zero value is ready to use. A Latest must not be copied after first
// use (go vet's copylocks check reports copies). Run is safe for
// concurrent use.
type Latest[T any] struct {
	_ noCopy

	// mu guards running and waiting. It is held only for a few field
	// reads and writes, never while user code runs (cancelling a run, which
	// calls context AfterFuncs and job handlers, happens after Unlock).
	mu sync.Mutex
	// running is the run allowed to execute its body: nil until the
	// first run starts, then the last run that started (possibly
	// finished already; it is cleared when it finishes, if no newer run
	// has started).
	running *latestRun
	// waiting is the newest call, waiting for running to finish; nil when
	// there is none. A newer call replaces it and closes its superseded
	// channel: at most one call waits at any time.
	waiting *latestRun
}

// latestRun is one call of Run.
type latestRun struct {
	// stop cancels the run's context with a cause; set before the run is
	// published as Latest.running, immutable after.
	stop context.CancelCauseFunc
	// superseded is closed (under Latest.mu) when a newer call replaced
	// this one while it was waiting: it must not start.
	superseded chan struct{}
	// done is closed when the run is over: its body and everything the
	// body launched have finished (or it never started).
	done chan struct{}
	// job is the job that runs the body; nil until the body's scope has
	// started. Guarded by Latest.mu.
	job core.Job
}

// ErrSuperseded is the cause of the cancellation error that [Latest.Run]
// returns, and that the context of its body reports (context.Cause), when
// a newer call superseded the run: errors.Is(err, ErrSuperseded) tells this
// case apart from the caller's own cancellation.
var ErrSuperseded = errors.New("cancel: superseded by a newer Latest.Run")

// supersededError is the cancellation of a superseded run. One value serves
// every run: it is never modified.
var supersededError = &core.CancellationError{Message: "run superseded", Cause: ErrSuperseded}

// Run cancels the run of l in progress, if any, waits until it has
// finished, and then runs body as a scope (see core.Scope): on the caller's
// goroutine, as a new child job of core.JobOf(ctx), with a context that is
// also cancelled when a newer Run supersedes this one. Run returns once
// body and every job it launched have finished, with body's result.
//
// When a newer call supersedes this one — before its body started, or while
// it runs — Run returns the zero T and a *core.CancellationError whose
// cause is ErrSuperseded: at once when the body had not started (it never
// does), else once the body and its children have finished. A body that
// ignores the cancellation and returns a value has it discarded; a body
// that fails with a real error has that error returned (a failure beats a
// cancellation, as in core). When ctx is done before the body starts, Run
// returns as [EnsureActive] does, and body never runs; a ctx that is
// already done when Run is called supersedes nothing.
//
// Run from inside the body of a run of the same Latest would wait for
// itself: it returns an error wrapping core.ErrJoinCycle at once, and
// supersedes nothing. A panic in body is recovered and returned as a
// *core.PanicError, as core.Scope does.
//
// The finish of one run synchronizes before the start of the next (in the
// sense of the Go memory model): the next body sees everything the previous
// body and its children wrote.
//
// A nil ctx stands for context.Background(). Run panics if body is nil.
func (l *Latest[T]) Run(ctx context.Context, body func(ctx context.Context) (T, error)) (T, error) {
	if body == nil {
		panic("cancel: Latest.Run called with a nil body")
	}
	if ctx == nil {
		ctx = context.Background()
	}
	var zero T
	if err := EnsureActive(ctx); err != nil {
		return zero, err
	}
	me := &latestRun{superseded: make(chan struct{}), done: make(chan struct{})}
	defer close(me.done)

	// Become the newest call: supersede the waiting one, then cancel the
	// running one (outside the lock: cancelling runs user code).
	l.mu.Lock()
	prev := l.running
	if prev != nil && prev.job != nil && isWithin(ctx, prev.job) {
		l.mu.Unlock()
		return zero, fmt.Errorf("cancel: Latest.Run called from inside the body of a run of the same Latest: %w", core.ErrJoinCycle)
	}
	if w := l.waiting; w != nil {
		close(w.superseded)
	}
	l.waiting = me
	l.mu.Unlock()
	if prev != nil {
		prev.stop(supersededError)
	}

	// Wait for the previous run to finish. Only the waiting call may
	// start, so l.running is still prev unless we are superseded.
	if prev != nil {
		select {
		case <-prev.done:
		case <-me.superseded:
			return zero, supersededError
		case <-ctx.Done():
		}
	}
	// The run's own context, cancelled by the next call; made only now,
	// so that calls superseded while waiting never make one.
	rctx, stop := context.WithCancelCause(ctx)
	defer stop(nil) // releases rctx; a no-op on a run already stopped
	me.stop = stop  // before me is published as running, below
	l.mu.Lock()
	if l.waiting != me {
		l.mu.Unlock()
		return zero, supersededError
	}
	l.waiting = nil
	if err := EnsureActive(ctx); err != nil {
		l.mu.Unlock()
		return zero, err
	}
	l.running = me
	l.mu.Unlock()
	defer l.finished(me)

	var v T
	err := core.Scope(rctx, func(sctx context.Context) error {
		l.mu.Lock()
		me.job = core.JobOf(sctx)
		l.mu.Unlock()
		var err error
		v, err = body(sctx)
		return err
	})
	if err != nil {
		return zero, err
	}
	return v, nil
}

// finished clears l.running once its run is over, unless a newer run has
// started since, so that a finished run and the contexts it holds do not
// stay reachable from l.
func (l *Latest[T]) finished(me *latestRun) {
	l.mu.Lock()
	if l.running == me {
		l.running = nil
	}
	l.mu.Unlock()
}

// isWithin reports whether ctx belongs to job j or to one of its
// descendants.
func isWithin(ctx context.Context, j core.Job) bool {
	for x := core.JobOf(ctx); x != nil; x = x.Parent() {
		if x == j {
			return true
		}
	}
	return false
}

// noCopy makes go vet's copylocks check report copies of the struct that
// holds it, as sync.noCopy does. It has no size.
type noCopy struct{}

// Lock is a no-op used by go vet's copylocks check.
func (*noCopy) Lock() {}

// Unlock is a no-op used by go vet's copylocks check.
func (*noCopy) Unlock() {}
