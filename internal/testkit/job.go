package testkit

import (
	"testing"
	"time"

	"github.com/jobtree/jobtree/core"
)

// CleanupJob cancels j when the test ends and waits for it, so that a test
// that fails early does not leak the goroutines of its job tree.
func CleanupJob(t testing.TB, j core.Job) {
	t.Helper()
	t.Cleanup(func() {
		j.Cancel(nil)
		select {
		case <-j.Done():
		case <-time.After(VeryLongDuration):
			t.Errorf("cleanup: %v did not complete after Cancel\n%s", j, GoroutineDump())
		}
	})
}
