package testkit

import (
	"context"
	"fmt"
	"testing"

	"github.com/jobtree/jobtree/core"
)

// CleanupJob cancels j when the test ends and waits for it, so that a test
// that fails early does not leak the goroutines of its job tree.
func CleanupJob(t testing.TB, j core.Job) {
	t.Helper()
	t.Cleanup(func() {
		j.Cancel(nil)
		WaitChan(t, j.Done(), fmt.Sprintf("%v to complete after Cancel (cleanup)", j))
	})
}

// WaitDone waits until j is final, or fails the test with a goroutine dump.
func WaitDone(t testing.TB, j core.Job) {
	t.Helper()
	WaitChan(t, j.Done(), fmt.Sprintf("%v to complete", j))
}

// MustJoin waits until j is final, then checks that Join returns nil.
func MustJoin(t testing.TB, j core.Job) {
	t.Helper()
	WaitDone(t, j)
	if err := j.Join(context.Background()); err != nil {
		t.Fatalf("Join(ctx) on %v = %v, want nil", j, err)
	}
}
