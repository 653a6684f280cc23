// Package bench compares jobtree with the Go libraries people use for the same
// jobs (sync.WaitGroup, errgroup, conc, tomb, context). It is a module of its
// own so that the root module never requires them.
//
// Run the suite with `make bench` (bash bench/run.sh) from the repository
// root; docs/benchmarks.md explains the method and holds the latest table.
package bench
