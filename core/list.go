package core

import (
	"sync/atomic"
	"unsafe"
)

// The handler list.
//
// Every job keeps one lock-free list of nodes: completion handlers,
// cancelling handlers (InvokeOnCancelling, and the AfterFunc callbacks of
// contexts derived from the job's context), and its children. The list is a
// Treiber stack: nodes are pushed at the head with one CAS, so a walk sees
// them newest first and reverses what it collected to run them in
// registration order.
//
// Three mechanisms keep it correct without a lock:
//
//   - Exactly once. A handler node leaves nodePending once, by CAS, either
//     to nodeFired (whoever wins runs it) or to nodeDisposed (it never
//     runs). Registration and the job's transitions can therefore race
//     freely: a registrant that might have been missed by a walk fires the
//     node itself, and the CAS decides who runs it. (Child nodes are not
//     claimed: cancelling a child twice with the same cause is harmless.)
//   - Closing. When the job becomes final, its finalizer swaps the head for
//     closedList and walks what it took. A push that finds closedList fails,
//     and the registrant runs the handler itself at once. An empty list is
//     left open; a registrant that pushes onto it sees the job complete and
//     claims its node. No handler can be missed by the last walk: this is
//     what prevents lost wake-ups.
//   - Bounded memory. A disposed handler, and the node of a final child, are
//     dead. Dead nodes (counted in the job's state word) are unlinked by a
//     cleaning pass that runs once they are at least as many as the live
//     ones (so its cost is amortised O(1) per disposal). Only one pass runs
//     at a time (cleaning is a try-flag: a disposer that finds it set leaves
//     the work to the running pass, it never waits), and pushers only ever
//     write the head, so the pass is the only writer of interior next
//     pointers and unlinking needs no marked pointers.

// Node kinds.
const (
	nodeCompletion uint8 = iota // InvokeOnCompletion: runs once the job is final
	nodeCancelling              // InvokeOnCancelling: runs when the job starts cancelling, or at completion
	nodeAfterFunc               // context AfterFunc: runs when the job's context is done
	nodeChild                   // a child job: cancelled when the job starts cancelling
)

// Node states. A node leaves nodePending once and for all.
const (
	nodePending  uint32 = iota // in the list, not yet run
	nodeFired                  // claimed by whoever runs it
	nodeDisposed               // will never run; dead, to be unlinked
)

// node is an element of a job's handler list: the first field of a
// handler (see handler) or of a child job (its asChild), so that the list
// holds one pointer type and each kind converts back to its container.
type node struct {
	// next is the node pushed before this one. Written before the node is
	// published, then only by the owner's cleaning pass (which unlinks dead
	// nodes) — never by pushers, who write only the list head.
	next atomic.Pointer[node]
	// state is nodePending until the node is fired or disposed (by CAS).
	state atomic.Uint32
	kind  uint8 // immutable
	// flags are the flags of the job a child node is embedded in (see
	// job.asChild); kept here, in what would be padding, to keep a job
	// within one cache line. Immutable.
	flags uint8
}

// handler is a node that runs a function: a completion or cancelling
// handler, or an AfterFunc callback. It is the [DisposableHandle] that
// registration returns.
type handler struct {
	node
	owner *job // the job whose list holds the handler; immutable
	// fn is the function. Written before publication; cleared by the
	// goroutine that won the CAS to nodeDisposed, so that a disposed
	// handler holds no memory. Only the CAS winner touches it afterwards.
	fn func(cause error)
}

// newHandler makes a handler node of kind for j.
func newHandler(j *job, kind uint8, fn func(error)) *handler {
	return &handler{node: node{kind: kind}, owner: j, fn: fn}
}

// handlerOf returns the handler whose node n is (n.kind != nodeChild).
func handlerOf(n *node) *handler { return (*handler)(unsafe.Pointer(n)) }

// closedList is the head of a list that no longer accepts nodes: the job is
// final and its handlers have been (or are being) run. (The list of a job
// that had no node when it became final stays nil: see afterFinal.)
var closedList = new(node)

// Dispose removes the handler: it will not run. It is idempotent, may be
// called from inside the handler, and does nothing once the handler ran.
func (n *handler) Dispose() { n.dispose() }

// dispose moves n to nodeDisposed and reports whether it did so, i.e.
// whether n was stopped before it ran.
func (n *handler) dispose() bool {
	if !n.state.CompareAndSwap(nodePending, nodeDisposed) {
		return false
	}
	n.fn = nil
	n.owner.noteDead()
	return true
}

// dead reports whether n is dead: a disposed handler, or the node of a
// child that is final. Dead nodes are skipped by walks and unlinked by
// cleaning passes.
func (n *node) dead() bool {
	if n.kind == nodeChild {
		return childOf(n).state.Load()&stFinal != 0
	}
	return n.state.Load() == nodeDisposed
}

// setNext sets the next link of a node that is not yet published: a plain
// write, ordered before every atomic read of the link by the CAS that
// publishes the node (an atomic store would cost a full fence per push).
func (n *node) setNext(h *node) {
	*(**node)(unsafe.Pointer(&n.next)) = h
}

// claim moves n from pending to fired; true if the caller must run it.
func (n *node) claim() bool { return n.state.CompareAndSwap(nodePending, nodeFired) }

// noopHandle is returned for a handler that already ran, or never will.
type noopHandle struct{}

// Dispose does nothing.
func (noopHandle) Dispose() {}

// push adds n at the head of j's list. It fails, returning false, once the
// list is closed (the job is final).
func (j *job) push(n *node) bool {
	for {
		h := j.head.Load()
		if h == closedList {
			return false
		}
		n.setNext(h)
		// CAS head: h → n. A retry is safe: n is not yet visible.
		if j.head.CompareAndSwap(h, n) {
			return true
		}
	}
}

// collect appends to buf the nodes of list h (as taken from the head) for
// which keep is true, in registration order (oldest first).
func collect(h *node, buf []*node, keep func(*node) bool) []*node {
	start := len(buf)
	for n := h; n != nil && n != closedList; n = n.next.Load() {
		if !n.dead() && keep(n) {
			buf = append(buf, n)
		}
	}
	// The walk saw the newest first: reverse to registration order.
	for i, k := start, len(buf)-1; i < k; i, k = i+1, k-1 {
		buf[i], buf[k] = buf[k], buf[i]
	}
	return buf
}

// noteDead counts a disposed node dead and cleans the list if it is time.
func (j *job) noteDead() { j.maybeClean(j.state.Add(oneDead)) }

// maybeClean starts a cleaning pass when the dead nodes counted in the
// state word s are at least as many as the live ones: the children (holds
// in s) or the live nodes the last pass left, and at least minCleanup. A
// pass walks live and dead nodes, and there are at least as many dead as
// live ones, so its cost is paid for by the disposals that led to it:
// amortised O(1) per disposal, and never much more than half of the list
// is dead — a long-lived parent holds memory only for what is alive.
func (j *job) maybeClean(s uint64) {
	if j.cleanDue(s) {
		j.clean()
	}
}

// cleanDue reports whether the dead nodes counted in s call for a pass.
func (j *job) cleanDue(s uint64) bool {
	dead := deadOf(s)
	if dead < minCleanup || dead < holdsOf(s) {
		return false
	}
	x := j.extra.Load()
	return x == nil || dead >= uint64(x.cleanAt.Load())
}

// minCleanup is the number of dead nodes below which no cleaning pass runs:
// a few dead nodes cost less than a walk.
const minCleanup = 32

// clean unlinks the dead nodes of j's list. Only one pass runs at a time;
// a caller that finds one running returns at once (the running pass, or
// the next disposal, does the work).
func (j *job) clean() {
	x := j.extras()
again:
	if !x.cleaning.CompareAndSwap(false, true) {
		return
	}
	removed, live := uint64(0), uint32(0)
	var pred *node // nil while cur is the head
	cur := j.head.Load()
	for cur != nil && cur != closedList {
		next := cur.next.Load()
		if !cur.dead() {
			live++
			pred, cur = cur, next
			continue
		}
		if pred == nil {
			// cur is the head: unlink it by CAS, racing with pushers.
			if !j.head.CompareAndSwap(cur, next) {
				// A push got in front (or the list was closed):
				// start again from the new head.
				live, cur = 0, j.head.Load()
				continue
			}
		} else {
			// Interior: only this pass writes interior links.
			pred.next.Store(next)
		}
		removed++
		cur = next
	}
	// Uncount what was removed. A node disposed but not yet counted can
	// make the count dip below zero for a moment: the field is the top of
	// the word, so it wraps without touching the other fields.
	s := j.state.Add(-(removed << deadShift))
	x.cleanAt.Store(live)
	x.cleaning.Store(false)
	// Disposals that found this pass running left their nodes to it, but
	// it may have walked past them: look again while passes find work. (A
	// pass that removed nothing means the count is ahead of the list —
	// nodes counted before they were disposed, or a closed list — and
	// the next disposal looks again.)
	if removed > 0 && j.cleanDue(s) {
		goto again
	}
}
