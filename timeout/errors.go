package timeout

import (
	"context"
	"time"
)

// TimeoutError is the error of a [WithTimeout] or [Run] call whose duration
// passed before its body and the body's children had finished. Each call
// makes its own TimeoutError, so errors.Is(err, te) tells one call's timeout
// from another's, and errors.As(err, &te) finds it, with the duration, in
// any chain.
//
// errors.Is(err, context.DeadlineExceeded) holds for it, so code written
// for the context package recognises a timeout; errors.Is(err,
// context.Canceled) does not: a TimeoutError that a job's body returns is
// a failure (see the package doc for why this differs from Kotlin).
//
// Unlike the context package's deadline error it has no Timeout() bool
// method: the struct field of that name is fixed by the API.
type TimeoutError struct {
	// Timeout is the duration the call was given; zero or negative when
	// it timed out at once, without running its body.
	Timeout time.Duration
}

// Error says how long the call waited, e.g. "timeout: timed out waiting
// for 10ms", or "timeout: timed out immediately" for a non-positive
// duration.
func (e *TimeoutError) Error() string {
	if e.Timeout <= 0 {
		return "timeout: timed out immediately"
	}
	return "timeout: timed out waiting for " + e.Timeout.String()
}

// Is reports whether target is context.DeadlineExceeded: every timeout is
// one. Another *TimeoutError matches only when it is the same one.
func (e *TimeoutError) Is(target error) bool { return target == context.DeadlineExceeded }
