package testkit

import (
	"runtime"
	"testing"
	"time"
)

// VeryLongDuration bounds every wait of the tests: a wait that takes longer
// means a hang, and the test fails with a dump of all goroutines. It is
// never used to let goroutines run.
const VeryLongDuration = 10 * time.Second

// WaitTimeout is VeryLongDuration, shortened so that a hanging test fails
// with a dump before the test binary's own deadline kills it.
func WaitTimeout(t testing.TB) time.Duration { return WaitLimit(t, VeryLongDuration, time.Second) }

// WaitLimit returns d, shortened when t has a deadline (go test -timeout)
// to end margin before it, but never below one second: the bound of a wait
// that must fail the test with a dump before the test binary's own deadline
// kills it.
func WaitLimit(t testing.TB, d, margin time.Duration) time.Duration {
	if tt, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		if dl, ok := tt.Deadline(); ok {
			if left := time.Until(dl) - margin; left < d {
				d = max(left, time.Second)
			}
		}
	}
	return d
}

// WaitChan receives from ch (a close counts), or fails the test with a
// goroutine dump if nothing arrives within WaitTimeout. what names what is
// awaited, for the message.
func WaitChan[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	return WaitWithin(t, ch, what, WaitTimeout(t))
}

// WaitWithin is WaitChan with the bound d: for the tests whose waits are
// longer by design (stress, memory).
func WaitWithin[T any](t testing.TB, ch <-chan T, what string, d time.Duration) T {
	t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case v := <-ch:
		return v
	case <-timer.C:
		t.Fatalf("timed out after %v waiting for %s\n%s", d, what, GoroutineDump())
		panic("unreachable")
	}
}

// IsClosed reports whether ch is closed (or has a value ready) right now.
func IsClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// Hold blocks until ch is closed or the test is over (t.Context is
// cancelled just before the cleanups run), so that bodies that ignore their
// own cancellation still end when a test fails early.
func Hold(t testing.TB, ch <-chan struct{}) {
	select {
	case <-ch:
	case <-t.Context().Done():
	}
}

// GoroutineDump returns the stacks of all goroutines.
func GoroutineDump() string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return string(buf[:n])
		}
		buf = make([]byte, 2*len(buf))
	}
}
