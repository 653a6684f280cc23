package timeout_test

import (
	"context"
	"testing"

	"github.com/jobtree/jobtree/core"
	"github.com/jobtree/jobtree/timeout"
)

// allocOne and allocNil are bodies that capture nothing, so that passing
// them allocates nothing: only what the call allocates is counted.
func allocOne(context.Context) (int, error) { return 1, nil }
func allocNil(context.Context) error        { return nil }

// TestAllocs holds the allocation budgets of the calls that complete in
// time (STYLE point 20). Not parallel: AllocsPerRun counts the mallocs of
// the whole process.
//
// A call that completes in time allocates 6 objects: the call itself
// (which also holds the context with the deadline), the two method values
// handed to core.Scope and time.AfterFunc, the timer, and what core.Scope
// allocates for the scope's job (the job, and its extra — needed anyway,
// because the scope is created from a context that is not its parent's;
// the scope is final when core.Scope waits for it, so no Done channel is
// made). context.WithTimeout plus its cancel func allocates 4.
func TestAllocs(t *testing.T) {
	parent := core.NewJob(nil)
	defer parent.Cancel(nil)
	tests := []struct {
		name  string
		limit float64
		f     func()
	}{
		{"WithTimeout/background", 6, func() { _, _ = timeout.WithTimeout(context.Background(), neverDuration, allocOne) }},
		{"WithTimeout/job", 6, func() { _, _ = timeout.WithTimeout(parent.Context(), neverDuration, allocOne) }},
		{"WithTimeoutOrNull", 6, func() { _, _ = timeout.WithTimeoutOrNull(context.Background(), neverDuration, allocOne) }},
		{"Run", 6, func() { _ = timeout.Run(context.Background(), neverDuration, allocNil) }},
		// A non-positive duration makes only the *TimeoutError, or
		// nothing for None.
		{"WithTimeout/immediately", 1, func() { _, _ = timeout.WithTimeout(context.Background(), 0, allocOne) }},
		{"WithTimeoutOrNull/immediately", 0, func() { _, _ = timeout.WithTimeoutOrNull(context.Background(), 0, allocOne) }},
		{"Delay/zero", 0, func() { _ = timeout.Delay(context.Background(), 0) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if n := testing.AllocsPerRun(1000, tt.f); n > tt.limit {
				t.Errorf("%s allocates %v objects, want at most %v", tt.name, n, tt.limit)
			} else if n < tt.limit {
				t.Logf("%s allocates %v objects, below the budget of %v: lower the budget", tt.name, n, tt.limit)
			}
		})
	}
}
