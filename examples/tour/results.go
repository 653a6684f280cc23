package main

import (
	"context"
	"errors"
	"time"

	"github.com/jobtree/jobtree/async"
	"github.com/jobtree/jobtree/core"
	selects "github.com/jobtree/jobtree/select"
	"github.com/jobtree/jobtree/timeout"
)

// The steps of this file show typed results (package async), select
// (package selects) and time limits (package timeout).

// 15. A Deferred is a job with a value; its failure still goes up.
func (t *tour) deferredResults() error {
	t.heading(15, "Deferred: a job with a typed result")
	err := core.Scope(t.ctx, func(ctx context.Context) error {
		a := async.Async(ctx, func(context.Context) (int, error) { return 20, nil })
		b := async.Async(ctx, func(context.Context) (int, error) { return 22, nil })
		sum, err := async.AwaitAll(ctx, a, b)
		if err != nil {
			return err
		}
		t.say("two Async jobs awaited with AwaitAll: %v, sum %d", sum, sum[0]+sum[1])
		t.say("a deferred is a job too: %s", flags(a))
		return nil
	})
	if err != nil {
		return err
	}
	errQuota := errors.New("quota exceeded")
	err = core.Scope(t.ctx, func(ctx context.Context) error {
		slow := async.Async(ctx, func(ctx context.Context) (int, error) {
			<-ctx.Done() // cancelled by its failing sibling
			return 0, ctx.Err()
		})
		_, err := async.Async(ctx, func(context.Context) (int, error) { return 0, errQuota }).Await(ctx)
		// Await returns the failure itself, or, if it sees first the
		// cancellation of this scope that the failure caused, a
		// cancellation carrying it: errors.Is finds it either way.
		t.say("Await of the failing deferred: errors.Is(err, errQuota) = %v", errors.Is(err, errQuota))
		if jerr := slow.Join(context.Background()); jerr != nil {
			return jerr
		}
		t.say("its sibling ended %s, as with Launch: failure goes up, cancellation comes down", slow.State())
		return nil
	})
	t.say("the scope returns the failure: %v", err)
	squares, err := async.Map(t.ctx, []int{1, 2, 3, 4}, func(_ context.Context, x int) (int, error) { return x * x, nil }, async.Limit(2))
	t.say("async.Map with Limit(2), in input order: %v, err %v", squares, err)
	return nil
}

// 16. Select waits for the first of several things.
func (t *tour) selectFirst() error {
	t.heading(16, "Select: the first of several deferreds, or a timeout")
	release := make(chan struct{})
	fast := async.Async(t.ctx, func(context.Context) (string, error) { return "fast replica", nil })
	slow := async.Async(t.ctx, func(ctx context.Context) (string, error) {
		select {
		case <-release:
		case <-ctx.Done():
		}
		return "slow replica", nil
	})
	if err := fast.Join(t.ctx); err != nil {
		return err
	}
	got, err := selects.Select(t.ctx,
		selects.OnAwait(slow, func(v string) (string, error) { return v, nil }),
		selects.OnAwait(fast, func(v string) (string, error) { return v, nil }),
	)
	t.say("Select over two deferreds: %q wins (err %v)", got, err)
	got, err = selects.Select(t.ctx,
		selects.OnAwait(slow, func(v string) (string, error) { return v, nil }),
		selects.OnTimeout(time.Millisecond, func() (string, error) { return "gave up waiting", nil }),
	)
	t.say("the slow one against OnTimeout: %q (err %v); the losing clause left no handler behind", got, err)
	close(release)
	return slow.Join(t.ctx)
}

// 17. Time limits as scopes.
func (t *tour) timeLimits() error {
	t.heading(17, "WithTimeout and WithTimeoutOrNull: time limits as scopes")
	v, err := timeout.WithTimeoutOrNull(t.ctx, time.Millisecond, func(ctx context.Context) (int, error) {
		<-ctx.Done() // a call that honours its context
		return 0, ctx.Err()
	})
	t.say("WithTimeoutOrNull, its own timeout: None = %v, err %v", v.IsAbsent(), err)
	_, err = timeout.WithTimeout(t.ctx, time.Millisecond, func(ctx context.Context) (int, error) {
		<-ctx.Done()
		return 0, context.Cause(ctx)
	})
	var te *timeout.TimeoutError
	t.say("WithTimeout returns *TimeoutError: %v; errors.Is(err, context.DeadlineExceeded) = %v",
		errors.As(err, &te), errors.Is(err, context.DeadlineExceeded))
	v, err = timeout.WithTimeoutOrNull(t.ctx, time.Hour, func(ctx context.Context) (int, error) {
		return timeout.WithTimeout(ctx, time.Millisecond, func(ctx context.Context) (int, error) {
			<-ctx.Done()
			return 0, ctx.Err()
		})
	})
	t.say("an inner timeout is not the outer's: the inner *TimeoutError comes out = %v (not None with a nil error: %v)",
		errors.As(err, &te), v.IsAbsent() && err == nil)
	return nil
}
