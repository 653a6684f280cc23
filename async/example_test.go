package async_test

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jobtree/jobtree/async"
	"github.com/jobtree/jobtree/core"
)

// Two lookups run concurrently under one scope; the scope returns once both
// are done.
func ExampleAsync() {
	err := core.Scope(context.Background(), func(ctx context.Context) error {
		price := async.Async(ctx, func(ctx context.Context) (int, error) { return 40, nil })
		tax := async.Async(ctx, func(ctx context.Context) (int, error) { return 2, nil })
		p, err := price.Await(ctx)
		if err != nil {
			return err
		}
		t, err := tax.Await(ctx)
		if err != nil {
			return err
		}
		fmt.Println("total:", p+t)
		return nil
	})
	fmt.Println("err:", err)
	// Output:
	// total: 42
	// err: <nil>
}

// AwaitAll returns the values in argument order; the first failure ends the
// wait, and, through the tree, cancels the scope and the other deferreds.
func ExampleAwaitAll() {
	ctx := context.Background()
	words := []string{"structured", "concurrency", "in", "go"}
	_ = core.Scope(ctx, func(ctx context.Context) error {
		ds := make([]async.Deferred[int], len(words))
		for i, w := range words {
			ds[i] = async.Async(ctx, func(context.Context) (int, error) { return len(w), nil })
		}
		lengths, err := async.AwaitAll(ctx, ds...)
		fmt.Println(lengths, err)
		return nil
	})

	errDiskFull := errors.New("disk full")
	err := core.Scope(ctx, func(ctx context.Context) error {
		ok := async.Async(ctx, func(ctx context.Context) (int, error) {
			<-ctx.Done() // waits until the failure below cancels it
			return 0, ctx.Err()
		})
		bad := async.Async(ctx, func(context.Context) (int, error) { return 0, errDiskFull })
		_, err := async.AwaitAll(ctx, ok, bad)
		// The failure, or the cancellation of this scope that it caused,
		// whichever AwaitAll sees first: both carry it.
		fmt.Println("AwaitAll failed with disk full:", errors.Is(err, errDiskFull))
		return nil
	})
	fmt.Println("Scope:", err)
	// Output:
	// [10 11 2 2] <nil>
	// AwaitAll failed with disk full: true
	// Scope: disk full
}

// A CompletableDeferred turns a callback API into a value that can be
// awaited, cancelled, and that belongs to the job tree.
func ExampleNewCompletableDeferred() {
	// fetch is a callback-style API, as found in many client libraries.
	fetch := func(key string, callback func(value string, err error)) {
		go callback(strings.ToUpper(key), nil)
	}

	ctx := context.Background()
	d := async.NewCompletableDeferred[string](ctx)
	fetch("jobtree", func(value string, err error) {
		if err != nil {
			d.Fail(err)
			return
		}
		d.Complete(value)
	})
	v, err := d.Await(ctx)
	fmt.Println(v, err)
	// Output: JOBTREE <nil>
}

// Map runs the calls concurrently, at most Limit at once, and keeps the
// order of the input.
func ExampleMap() {
	squares, err := async.Map(context.Background(), []int{1, 2, 3, 4, 5},
		func(ctx context.Context, x int) (int, error) { return x * x, nil },
		async.Limit(2))
	fmt.Println(squares, err)

	_, err = async.Map(context.Background(), []string{"1", "2", "x", "4"},
		func(ctx context.Context, s string) (int, error) {
			if s == "x" {
				return 0, fmt.Errorf("not a number: %q", s)
			}
			return len(s), nil
		})
	fmt.Println(err)
	// Output:
	// [1 4 9 16 25] <nil>
	// not a number: "x"
}

// Race returns the first success and cancels the slower bodies.
func ExampleRace() {
	v, err := async.Race(context.Background(),
		func(ctx context.Context) (string, error) {
			<-ctx.Done() // a slow mirror: cancelled once another wins
			return "", ctx.Err()
		},
		func(ctx context.Context) (string, error) { return "fast mirror", nil },
	)
	fmt.Println(v, err)
	// Output: fast mirror <nil>
}

// AwaitResult gives the outcome as a mo.Result, for pipelines written with
// samber/mo.
func ExampleAwaitResult() {
	ctx := context.Background()
	d := async.Async(ctx, func(context.Context) (int, error) { return 7, nil })
	r := async.AwaitResult(ctx, d)
	fmt.Println(r.IsOk(), r.MustGet())
	// Output: true 7
}
