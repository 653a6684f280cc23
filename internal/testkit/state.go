package testkit

import (
	"testing"

	"github.com/jobtree/jobtree/core"
)

// Flags is the (IsActive, IsCompleted, IsCancelled) triple of a job.
type Flags struct{ Active, Completed, Cancelled bool }

// FlagsOf returns the flags j reports now.
func FlagsOf(j core.Job) Flags { return Flags{j.IsActive(), j.IsCompleted(), j.IsCancelled()} }

// StateFlags is the table of core's rule 1: the flags of each state.
var StateFlags = map[core.State]Flags{
	core.New:        {false, false, false},
	core.Active:     {true, false, false},
	core.Completing: {true, false, false},
	core.Cancelling: {false, false, true},
	core.Cancelled:  {false, true, true},
	core.Completed:  {false, true, false},
}

// CheckState checks that j is in state want and that its flags follow
// rule 1's table for want.
func CheckState(t testing.TB, j core.Job, want core.State) {
	t.Helper()
	if got := j.State(); got != want {
		t.Errorf("%v: State() = %v, want %v", j, got, want)
	}
	if got, want := FlagsOf(j), StateFlags[want]; got != want {
		t.Errorf("%v: (IsActive, IsCompleted, IsCancelled) = %v, want %v", j, got, want)
	}
}
