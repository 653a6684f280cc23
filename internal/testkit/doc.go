// Package testkit holds the helpers that the test packages of jobtree
// (core, async, selects, timeout, cancel and the tour) share: bounded waits
// that fail the test with a dump of every goroutine instead of hanging it
// (wait.go), waiting for and cleaning up jobs (job.go), rule 1's table of
// states and flags (state.go), plain test failures and checks of
// cancellations (errors.go), checks of panics (panic.go), an exception
// handler that records its calls (recorder.go), and the misuse catalogues:
// the runner of a bad call (misuse.go) and of a package's table, checked
// against docs/reliability.md (catalogue.go).
//
// It is imported only by tests. It imports package core for
// *core.CancellationError, core.ErrJoinCycle, core.Job, core.State and
// core.WithExceptionHandler; core's tests are in package core_test, so
// they can import it without a cycle.
package testkit
