package bench

import (
	"context"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

// BenchmarkCancelTree builds a tree of fan-out treeFanOut and depth treeDepth
// (11,111 nodes, 10,000 leaves), calling Done() on every leaf's context as a
// waiting task would, then cancels the root and waits until every leaf's
// Done() channel is closed (W2 of the perf anchors).
//
// Besides ns/op (build + cancel), each alternative reports the two phases,
// timed with time.Now inside the op, per node of the tree:
//
//	build-ns/node   creating the nodes and calling Done() on the leaves
//	cancel-ns/node  from the cancel call until the last leaf's Done() is closed
//
// It runs twice. With gc=running the garbage collector runs wherever the
// allocations put it, as in the perf anchors: each op allocates 1.5–3 MiB
// of a 4 MiB heap goal, so about one collection a op, and where its mark
// phase falls settles into the same spot op after op — a spot that depends
// on how much each alternative allocates. A cancel walk that overlaps a
// mark phase costs about 2.5× (the marking core reads the very nodes the
// walk writes), so this mode compares alternatives partly by where their
// GC happens to land. With gc=settled the collector is off
// (debug.SetGCPercent(-1)) and a collection runs before each op, outside
// the timer, so that no collection overlaps either phase of any
// alternative: it measures the work itself (and leaves out the GC cost of
// the allocations, which B/op and allocs/op show).
func BenchmarkCancelTree(b *testing.B) {
	for _, settled := range []bool{false, true} {
		mode := "gc=running"
		if settled {
			mode = "gc=settled"
		}
		b.Run(mode, func(b *testing.B) {
			treeSettled = settled
			if settled {
				// Only settleGC collects; restored when the mode ends.
				defer debug.SetGCPercent(debug.SetGCPercent(-1))
			}
			runImpls(b, []impl{
				{"context", benchCancelTreeContext},
				{"jobtree", jobtree.cancelTree},
				{"floor", benchCancelTreeFloor},
			})
		})
	}
}

// treeSettled tells the CancelTree alternatives to collect garbage before
// each op (gc=settled). Sub-benchmarks run one at a time.
var treeSettled bool

// settleGC runs a collection, off the timer, before a gc=settled op.
func settleGC(b *testing.B) {
	if treeSettled {
		b.StopTimer()
		runtime.GC()
		b.StartTimer()
	}
}

// treePhases accumulates the phase timings of a CancelTree benchmark.
type treePhases struct {
	build, cancel time.Duration
	ops           int
}

func (p *treePhases) add(build, cancel time.Duration) {
	p.build += build
	p.cancel += cancel
	p.ops++
}

func (p *treePhases) report(b *testing.B) {
	if p.ops == 0 {
		return
	}
	per := float64(p.ops) * float64(treeNodes)
	b.ReportMetric(float64(p.build.Nanoseconds())/per, "build-ns/node")
	b.ReportMetric(float64(p.cancel.Nanoseconds())/per, "cancel-ns/node")
}

// waitLeaves blocks until every channel in leaves is closed.
func waitLeaves(leaves []<-chan struct{}) {
	for _, done := range leaves {
		<-done
	}
}

// ctxTree is the context.WithCancel tree. Its slices are allocated once and
// reused by every op, so only the tree itself is measured.
type ctxTree struct {
	cancels []context.CancelFunc
	leaves  []<-chan struct{}
}

func benchCancelTreeContext(b *testing.B) {
	t := &ctxTree{
		cancels: make([]context.CancelFunc, 0, treeNodes),
		leaves:  make([]<-chan struct{}, 0, treeLeaves),
	}
	var phases treePhases
	b.ReportAllocs()
	for b.Loop() {
		settleGC(b)
		phases.add(t.op())
	}
	phases.report(b)
}

func (t *ctxTree) op() (build, cancel time.Duration) {
	start := time.Now()
	root, cancelRoot := context.WithCancel(context.Background())
	t.build(root, treeDepth)
	built := time.Now()
	cancelRoot()
	waitLeaves(t.leaves)
	end := time.Now()
	// The children's cancel funcs are no-ops by now; they are kept only so
	// that nothing is discarded.
	clear(t.cancels)
	t.cancels = t.cancels[:0]
	clear(t.leaves)
	t.leaves = t.leaves[:0]
	return built.Sub(start), end.Sub(built)
}

func (t *ctxTree) build(parent context.Context, depth int) {
	for range treeFanOut {
		ctx, cancel := context.WithCancel(parent)
		t.cancels = append(t.cancels, cancel)
		if depth == 1 {
			t.leaves = append(t.leaves, ctx.Done())
			continue
		}
		t.build(ctx, depth-1)
	}
}

// The floor of CancelTree: the least any tree of cancellable nodes whose
// leaves expose a Done channel must do. Each node is a struct with its
// children and a channel made on the leaves; cancelling walks the tree
// depth-first and closes every leaf's channel, without any synchronisation
// beyond the close itself. No real implementation can be faster than this
// on the same tree (it is not safe for concurrent use, and has no states,
// causes or handlers); impl=floor measures how much of context's time is
// this irreducible part.
type floorNode struct {
	children []*floorNode
	done     chan struct{}
}

type floorTree struct {
	leaves []<-chan struct{}
}

func benchCancelTreeFloor(b *testing.B) {
	t := &floorTree{leaves: make([]<-chan struct{}, 0, treeLeaves)}
	var phases treePhases
	b.ReportAllocs()
	for b.Loop() {
		settleGC(b)
		phases.add(t.op())
	}
	phases.report(b)
}

func (t *floorTree) op() (build, cancel time.Duration) {
	start := time.Now()
	root := &floorNode{}
	t.build(root, treeDepth)
	built := time.Now()
	root.cancel()
	waitLeaves(t.leaves)
	end := time.Now()
	clear(t.leaves)
	t.leaves = t.leaves[:0]
	return built.Sub(start), end.Sub(built)
}

func (t *floorTree) build(parent *floorNode, depth int) {
	parent.children = make([]*floorNode, 0, treeFanOut)
	for range treeFanOut {
		n := &floorNode{}
		parent.children = append(parent.children, n)
		if depth == 1 {
			n.done = make(chan struct{})
			t.leaves = append(t.leaves, n.done)
			continue
		}
		t.build(n, depth-1)
	}
}

func (n *floorNode) cancel() {
	if n.done != nil {
		close(n.done)
	}
	for _, c := range n.children {
		c.cancel()
	}
}
