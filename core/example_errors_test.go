package core_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/jobtree/jobtree/core"
)

// This example recovers a panic. A panicking body does not crash the
// process: the panic becomes a *core.PanicError, which travels the failure
// path like a returned error — here Scope returns it. Its Stack field holds
// the stack of the panicking goroutine, for logs.
func ExamplePanicError() {
	ctx := context.Background()

	err := core.Scope(ctx, func(ctx context.Context) error {
		panic("negative balance")
	})
	var pe *core.PanicError
	if errors.As(err, &pe) {
		fmt.Println("panic value:", pe.Value)
	}

	// When the panic value is an error, errors.Is and errors.As see it.
	errCorrupt := errors.New("corrupt index")
	err = core.Scope(ctx, func(ctx context.Context) error {
		panic(errCorrupt)
	})
	if errors.As(err, &pe) {
		fmt.Println("panic value:", pe.Value)
	}
	fmt.Println("errors.Is finds the value:", errors.Is(err, errCorrupt))
	// Output:
	// panic value: negative balance
	// panic value: corrupt index
	// errors.Is finds the value: true
}

// This example looks at cancellation errors: a *core.CancellationError is a
// context.Canceled, and unwraps to what led to the cancellation. A Join
// whose own context is done returns one, carrying context.Cause of that
// context, and leaves the job alone.
func ExampleCancellationError() {
	err := &core.CancellationError{
		Message: "request aborted",
		Cause:   errors.New("client went away"),
	}
	fmt.Println(err)
	fmt.Println("is context.Canceled:", errors.Is(err, context.Canceled))
	fmt.Println("unwraps to:", errors.Unwrap(err))

	job := core.Launch(context.Background(), func(ctx context.Context) error {
		<-ctx.Done()
		return ctx.Err()
	})

	errGaveUp := errors.New("caller gave up")
	waitCtx, stop := context.WithCancelCause(context.Background())
	stop(errGaveUp)
	joinErr := job.Join(waitCtx)

	var ce *core.CancellationError
	fmt.Println("Join returned a *CancellationError:", errors.As(joinErr, &ce))
	fmt.Println("its Cause is context.Cause(waitCtx):", ce.Cause == errGaveUp)
	fmt.Println("job left alone:", job.IsActive())

	job.Cancel(nil)
	_ = job.Join(context.Background())
	fmt.Println("Cancel(nil) gives a *CancellationError:", errors.As(job.Cause(), &ce))
	// Output:
	// request aborted: client went away
	// is context.Canceled: true
	// unwraps to: client went away
	// Join returned a *CancellationError: true
	// its Cause is context.Cause(waitCtx): true
	// job left alone: true
	// Cancel(nil) gives a *CancellationError: true
}

// This example tells cancellations from failures with IsCancellation. A
// cancellation, wrapped or not, is a normal end; any other error is a
// failure.
func ExampleIsCancellation() {
	errDiskFull := errors.New("disk full")
	for _, err := range []error{
		context.Canceled,
		&core.CancellationError{Message: "job was cancelled", Cause: errDiskFull},
		fmt.Errorf("fetch: %w", context.Canceled),
		context.DeadlineExceeded,
		errDiskFull,
		nil,
	} {
		fmt.Printf("%v: %v\n", err, core.IsCancellation(err))
	}
	// Output:
	// context canceled: true
	// job was cancelled: disk full: true
	// fetch: context canceled: true
	// context deadline exceeded: false
	// disk full: false
	// <nil>: false
}
