package core

import "strconv"

// State is the lifecycle state of a [Job]. A job moves only forward:
//
//	                                       wait for children
//	+-----+ start  +--------+ complete  +------------+   finish   +-----------+
//	| New | -----> | Active | --------> | Completing | ---------> | Completed |
//	+-----+        +--------+           +------------+            +-----------+
//	   |            cancel |  fail            | cancel / fail
//	   |                   V                  V
//	   |           +------------+   finish  +-----------+
//	   +---------> | Cancelling | --------> | Cancelled |
//	     cancel    +------------+           +-----------+
//
// A New job that is cancelled goes straight to Cancelled.
type State int

// The six states of a job, as in kotlinx.coroutines. The three flags of a
// [Job] follow from the state:
//
//	State       IsActive IsCompleted IsCancelled
//	New         false    false       false
//	Active      true     false       false
//	Completing  true     false       false
//	Cancelling  false    false       true
//	Cancelled   false    true        true
//	Completed   false    true        false
const (
	// New is a lazy job that has not been started.
	New State = iota
	// Active is a job whose body runs (or a body-less job not yet completed).
	Active
	// Completing is a job whose own work is done and that waits for its
	// children. Observers cannot tell it from Active: IsActive is true.
	Completing
	// Cancelling is a job that was cancelled or failed and waits for its body
	// and children to finish.
	Cancelling
	// Cancelled is the final state of a cancelled or failed job.
	Cancelled
	// Completed is the final state of a job that completed normally.
	Completed
)

var stateNames = [...]string{"New", "Active", "Completing", "Cancelling", "Cancelled", "Completed"}

// String returns the state's name, e.g. "Active".
func (s State) String() string {
	if s >= 0 && int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}
