package bench

import (
	"context"
	"runtime"
	"runtime/debug"
	"sync/atomic"
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
				{"context", benchTree(&ctxTree{cancels: make([]context.CancelFunc, 0, treeNodes)})},
				{"jobtree", jobtree.cancelTree},
				{"floor", benchTree(&nodeTree[floorNode, *floorNode]{})},
				{"lockfree", benchTree(&nodeTree[lockFreeNode, *lockFreeNode]{})},
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

// tree is one alternative of CancelTree.
type tree interface {
	// grow builds the tree, appending every leaf's Done channel to leaves.
	grow(leaves []<-chan struct{}) []<-chan struct{}
	// cancel cancels the root.
	cancel()
	// drop lets go of the tree, once the op is timed.
	drop()
}

// benchTree runs the CancelTree op of t: grow, cancel, wait for the leaves,
// timing the two phases. The leaves slice is allocated once and reused by
// every op, so only the tree itself is measured.
func benchTree(t tree) func(b *testing.B) {
	return func(b *testing.B) {
		leaves := make([]<-chan struct{}, 0, treeLeaves)
		var phases treePhases
		b.ReportAllocs()
		for b.Loop() {
			settleGC(b)
			var build, cancel time.Duration
			leaves, build, cancel = treeOp(t, leaves)
			phases.add(build, cancel)
		}
		phases.report(b)
	}
}

// treeOp is one op of benchTree; it returns leaves emptied for the next.
func treeOp(t tree, leaves []<-chan struct{}) (_ []<-chan struct{}, build, cancel time.Duration) {
	start := time.Now()
	leaves = t.grow(leaves)
	built := time.Now()
	t.cancel()
	waitLeaves(leaves)
	end := time.Now()
	t.drop()
	clear(leaves)
	return leaves[:0], built.Sub(start), end.Sub(built)
}

// waitLeaves blocks until every channel in leaves is closed.
func waitLeaves(leaves []<-chan struct{}) {
	for _, done := range leaves {
		<-done
	}
}

// ctxTree is the context.WithCancel tree. Its cancels slice is allocated
// once and reused by every op.
type ctxTree struct {
	cancelRoot context.CancelFunc
	// The children's cancel funcs are no-ops once the root is cancelled;
	// they are kept only so that nothing is discarded.
	cancels []context.CancelFunc
}

func (t *ctxTree) grow(leaves []<-chan struct{}) []<-chan struct{} {
	var root context.Context
	root, t.cancelRoot = context.WithCancel(context.Background())
	return t.build(root, treeDepth, leaves)
}

func (t *ctxTree) build(parent context.Context, depth int, leaves []<-chan struct{}) []<-chan struct{} {
	for range treeFanOut {
		ctx, cancel := context.WithCancel(parent)
		t.cancels = append(t.cancels, cancel)
		if depth == 1 {
			leaves = append(leaves, ctx.Done())
			continue
		}
		leaves = t.build(ctx, depth-1, leaves)
	}
	return leaves
}

func (t *ctxTree) cancel() { t.cancelRoot() }

func (t *ctxTree) drop() {
	t.cancelRoot = nil
	clear(t.cancels)
	t.cancels = t.cancels[:0]
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

func (n *floorNode) adopt(c *floorNode) {
	if n.children == nil {
		n.children = make([]*floorNode, 0, treeFanOut)
	}
	n.children = append(n.children, c)
}

func (n *floorNode) setDone(c chan struct{}) { n.done = c }

func (n *floorNode) cancel() {
	if n.done != nil {
		close(n.done)
	}
	for _, c := range n.children {
		c.cancel()
	}
}

// The lock-free floor of CancelTree: the floor tree with the least that a
// lock-free job tree (one atomic state word per job, changed by CAS, and a
// count of live children in the parent) adds to it. Cancelling takes every
// node's word from active to cancelled with one CAS, closes a leaf's
// channel, and releases a parent's children with one atomic add. No
// causes, handlers, lists or final states: impl=lockfree measures what is
// left of a bound on jobtree ÷ context once every node must be a job.
type lockFreeNode struct {
	state    atomic.Uint64
	holds    atomic.Int64 // children not yet cancelled
	children []*lockFreeNode
	done     chan struct{}
}

func (n *lockFreeNode) adopt(c *lockFreeNode) {
	if n.children == nil {
		n.children = make([]*lockFreeNode, 0, treeFanOut)
	}
	n.holds.Add(1)
	n.children = append(n.children, c)
}

func (n *lockFreeNode) setDone(c chan struct{}) { n.done = c }

func (n *lockFreeNode) cancel() {
	for {
		s := n.state.Load()
		// CAS: set the cancelled flag; retry if the word changed.
		if n.state.CompareAndSwap(s, s|1) {
			break
		}
	}
	if n.done != nil {
		close(n.done)
	}
	for _, c := range n.children {
		c.cancel()
	}
	n.holds.Add(-int64(len(n.children)))
}

// treeNode is a node type of the floor trees (P is *N).
type treeNode[N any] interface {
	*N
	adopt(child *N)
	setDone(c chan struct{})
	cancel()
}

// nodeTree is a CancelTree alternative made of nodes of type *N.
type nodeTree[N any, P treeNode[N]] struct{ root P }

func (t *nodeTree[N, P]) grow(leaves []<-chan struct{}) []<-chan struct{} {
	t.root = new(N)
	return buildNodes[N, P](t.root, treeDepth, leaves)
}

func (t *nodeTree[N, P]) cancel() { t.root.cancel() }
func (t *nodeTree[N, P]) drop()   { t.root = nil }

// buildNodes gives n treeFanOut children, and each of them its own, depth
// levels down; a leaf gets a channel, appended to leaves.
func buildNodes[N any, P treeNode[N]](n P, depth int, leaves []<-chan struct{}) []<-chan struct{} {
	for range treeFanOut {
		c := P(new(N))
		n.adopt(c)
		if depth == 1 {
			done := make(chan struct{})
			c.setDone(done)
			leaves = append(leaves, done)
			continue
		}
		leaves = buildNodes[N, P](c, depth-1, leaves)
	}
	return leaves
}
