// Package testkit holds the helpers that the test packages of jobtree
// (core, async, selects, timeout, cancel and the tour) share: bounded waits
// that fail the test with a dump of every goroutine instead of hanging it
// (wait.go), plain test failures and checks of cancellations (errors.go),
// the runner of the misuse catalogues (misuse.go), checks of panics
// (panic.go), an exception handler that records its calls (recorder.go) and
// the cleanup of a job tree (job.go).
//
// It is imported only by tests. It imports package core for
// *core.CancellationError, core.ErrJoinCycle, core.Job and
// core.WithExceptionHandler; core's tests are in package core_test, so
// they can import it without a cycle.
package testkit
