package async

import (
	"context"
	"iter"
	"sync/atomic"

	"github.com/jobtree/jobtree/core"
)

// Map calls f on every item of in, concurrently (at most the [Limit] at once,
// by default runtime.GOMAXPROCS(0)), and returns the results in the order
// of in. It is a structured scope, like core.Scope: the calls run in child
// jobs of core.JobOf(ctx); when Map returns, every call has returned; the
// first failure (an error or a panic, recovered into a *core.PanicError)
// cancels the context of the other calls, no new call starts, and Map
// returns that failure (later ones attached, see core's rule 7). A
// cancellation of ctx stops it the same way and returns the cause.
//
// Items are handed out in order to a fixed set of workers (the caller's
// goroutine is one of them), so a call that blocks holds up one worker
// only. An empty in returns an empty slice at once. A nil ctx stands for
// context.Background(). Map panics if f is nil.
func Map[T, R any](ctx context.Context, in []T, f func(ctx context.Context, item T) (R, error), opts ...MapOption) ([]R, error) {
	if f == nil {
		panic("async: Map called with a nil function")
	}
	out := make([]R, len(in))
	if len(in) == 0 {
		return out, nil
	}
	workers := buildMapConfig(opts).limit
	if workers <= 0 || workers > len(in) {
		workers = len(in)
	}
	var next atomic.Int64 // the index of the next item to hand out; grows past len(in) at the end
	var scope core.Job    // the job of Map's scope; set before any worker runs
	work := func(ctx context.Context) error {
		for {
			i := next.Add(1) - 1
			if i >= int64(len(in)) {
				return nil
			}
			if err := ctx.Err(); err != nil {
				return err // the echo of the scope's cancellation
			}
			r, err := f(ctx, in[i])
			if err != nil {
				endScope(ctx, scope, err)
				return err
			}
			out[i] = r
		}
	}
	err := core.Scope(ctx, func(ctx context.Context) error {
		scope = core.JobOf(ctx)
		for range workers - 1 {
			core.Launch(ctx, work)
		}
		return work(ctx)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// endScope cancels scope with err when a call returned a cancellation of
// its own, its ctx not being done. The call's job then ends cancelled,
// which leaves its parent, the scope, alone (core's rule 7): without this
// the scope would complete, the item's result would be missing without an
// error, and MapSeq would wait forever for the token the call never gave
// back. The caller gets the cancellation, as from kotlinx's awaitAll.
func endScope(ctx context.Context, scope core.Job, err error) {
	if core.IsCancellation(err) && ctx.Err() == nil {
		scope.Cancel(err)
	}
}

// ForEach calls f on every item of in as [Map] does, for the errors only.
func ForEach[T any](ctx context.Context, in []T, f func(ctx context.Context, item T) error, opts ...MapOption) error {
	if f == nil {
		panic("async: ForEach called with a nil function")
	}
	_, err := Map(ctx, in, func(ctx context.Context, item T) (struct{}, error) {
		return struct{}{}, f(ctx, item)
	}, opts...)
	return err
}

// MapSeq is [Map] over the items of seq, which is read on the caller's
// goroutine, one item at a time, as calls become free: a slow or endless
// seq starts being processed before it ends. seq is no longer read once a
// call failed or ctx is done. The results are in the order of seq. MapSeq
// panics if f or seq is nil.
func MapSeq[T, R any](ctx context.Context, seq iter.Seq[T], f func(ctx context.Context, item T) (R, error), opts ...MapOption) ([]R, error) {
	if f == nil {
		panic("async: MapSeq called with a nil function")
	}
	if seq == nil {
		panic("async: MapSeq called with a nil sequence")
	}
	limit := buildMapConfig(opts).limit
	var slots []*R // one per item, in order; each written by its call
	err := core.Scope(ctx, func(ctx context.Context) error {
		scope := core.JobOf(ctx)
		var free chan struct{} // a token per call that may start; nil: no limit
		if limit > 0 {
			free = make(chan struct{}, limit)
			for range limit {
				free <- struct{}{}
			}
		}
		for item := range seq {
			// Check ctx first: when a token is free too, the select
			// below picks either case, and seq would be read on.
			if err := ctx.Err(); err != nil {
				return err
			}
			if free != nil {
				select {
				case <-free:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			slot := new(R)
			slots = append(slots, slot)
			core.Launch(ctx, func(ctx context.Context) error {
				r, err := f(ctx, item)
				if err != nil {
					endScope(ctx, scope, err)
					return err
				}
				*slot = r
				if free != nil {
					free <- struct{}{}
				}
				return nil
			})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]R, len(slots))
	for i, s := range slots {
		out[i] = *s
	}
	return out, nil
}

// ForEachSeq calls f on every item of seq as [MapSeq] does, for the errors
// only.
func ForEachSeq[T any](ctx context.Context, seq iter.Seq[T], f func(ctx context.Context, item T) error, opts ...MapOption) error {
	if f == nil {
		panic("async: ForEachSeq called with a nil function")
	}
	if seq == nil {
		panic("async: ForEachSeq called with a nil sequence")
	}
	_, err := MapSeq(ctx, seq, func(ctx context.Context, item T) (struct{}, error) {
		return struct{}{}, f(ctx, item)
	}, opts...)
	return err
}
