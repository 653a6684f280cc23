package timeout_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jobtree/jobtree/timeout"
)

// This example asks a slow service for a price and settles for "no answer"
// when it does not come in time. The service here never answers; it only
// returns when its context is cancelled, as well-behaved Go code does.
func ExampleWithTimeoutOrNull() {
	askSlowService := func(ctx context.Context) (int, error) {
		<-ctx.Done()
		return 0, ctx.Err()
	}

	price, err := timeout.WithTimeoutOrNull(context.Background(), 10*time.Millisecond, askSlowService)
	if err != nil {
		fmt.Println("error:", err) // a failure, or the caller was cancelled
		return
	}
	if p, ok := price.Get(); ok {
		fmt.Println("price:", p)
	} else {
		fmt.Println("no answer in time")
	}

	price, _ = timeout.WithTimeoutOrNull(context.Background(), time.Hour, func(context.Context) (int, error) {
		return 42, nil
	})
	fmt.Println("price:", price.OrElse(-1))
	// Output:
	// no answer in time
	// price: 42
}

// This example shows what a timeout looks like to the body and to the
// caller: the body's context reports context.DeadlineExceeded, and
// WithTimeout returns a *TimeoutError, which errors.Is also recognises as
// context.DeadlineExceeded.
func ExampleWithTimeout() {
	_, err := timeout.WithTimeout(context.Background(), 10*time.Millisecond, func(ctx context.Context) (string, error) {
		<-ctx.Done()
		fmt.Println("body:", ctx.Err())
		return "", ctx.Err()
	})
	fmt.Println("caller:", err)
	fmt.Println("deadline exceeded:", errors.Is(err, context.DeadlineExceeded))
	var te *timeout.TimeoutError
	if errors.As(err, &te) {
		fmt.Println("after:", te.Timeout)
	}
	// Output:
	// body: context deadline exceeded
	// caller: timeout: timed out waiting for 10ms
	// deadline exceeded: true
	// after: 10ms
}

// This example runs a body without a result under a timeout. A failure of
// the body wins over the timeout.
func ExampleRun() {
	err := timeout.Run(context.Background(), time.Hour, func(context.Context) error {
		return errors.New("disk full")
	})
	fmt.Println(err)
	// Output:
	// disk full
}

// This example waits between retries with Delay, which ends early, with a
// cancellation, once its context is done.
func ExampleDelay() {
	if err := timeout.Delay(context.Background(), time.Millisecond); err == nil {
		fmt.Println("waited")
	}

	ctx, stop := context.WithCancel(context.Background())
	stop()
	err := timeout.Delay(ctx, time.Hour)
	fmt.Println(err)
	fmt.Println("cancelled:", errors.Is(err, context.Canceled))
	// Output:
	// waited
	// wait cancelled: context canceled
	// cancelled: true
}
