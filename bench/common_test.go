package bench

import (
	"context"
	"testing"
)

// Shared shapes of the workloads, so that every alternative does the same
// amount of work. They follow shared/research/perf-anchors.md (W1, W2, W4b,
// W6).
const (
	tasksPerOp   = 1000   // LaunchJoin: tasks spawned and joined per op
	treeFanOut   = 10     // CancelTree: children per inner node
	treeDepth    = 4      // CancelTree: levels below the root
	retainedObjs = 100000 // JobMemory retained: idle objects kept alive per sample
)

// treeNodes and treeLeaves are the node and leaf counts of the CancelTree
// tree: 11,111 nodes and 10,000 leaves for fan-out 10 and depth 4.
var treeNodes, treeLeaves = func() (nodes, leaves int) {
	level := 1
	nodes = 1
	for range treeDepth {
		level *= treeFanOut
		nodes += level
	}
	return nodes, level
}()

// Task bodies are package-level functions so that passing them allocates
// nothing: only what each library allocates per task is measured.
func emptyBody(context.Context) error { return nil }
func emptyTask() error                { return nil }
func emptyFunc()                      {}
func emptyHandler(error)              {}

// impl is one alternative of a benchmark, run as the sub-benchmark impl=name.
// A nil fn (the jobtree alternative built with -tags nojobtree) is left out.
type impl struct {
	name string
	fn   func(b *testing.B)
}

func runImpls(b *testing.B, impls []impl) {
	b.Helper()
	for _, im := range impls {
		if im.fn == nil {
			continue
		}
		b.Run("impl="+im.name, im.fn)
	}
}

// jobtreeBenches holds the jobtree alternative of each benchmark. It is
// filled in jobtree_test.go; built with -tags nojobtree (for measuring the
// peers while package core does not compile) it stays empty and only the
// peers run.
type jobtreeBenches struct {
	launchJoin      func(b *testing.B)
	cancelTree      func(b *testing.B)
	handlerSerial   func(b *testing.B)
	handlerParallel func(b *testing.B)
	memLaunch       func(b *testing.B)
	memChild        func(b *testing.B)
	memChildDone    func(b *testing.B)
	memRetained     func(b *testing.B)
	memRetainedDone func(b *testing.B)
}
