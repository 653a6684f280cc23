package core

import (
	"context"
	"iter"
	"strconv"
	"sync/atomic"
	"unsafe"
)

// Job is a unit of work with a lifecycle: a node of the job tree. It is
// created by [Launch], [NewJob], [NewSupervisorJob] or a scope, and lives in
// one of six [State]s. Cancellation travels down the tree, failure travels
// up, and a job completes only after all its children have.
//
// All methods are safe for concurrent use.
type Job interface {
	// State returns the job's current state.
	State() State
	// IsActive reports whether the job is Active or Completing.
	IsActive() bool
	// IsCompleted reports whether the job is final: Cancelled or Completed.
	IsCompleted() bool
	// IsCancelled reports whether the job was cancelled or failed:
	// Cancelling or Cancelled.
	IsCancelled() bool
	// Parent returns the job's parent: nil for a root job, and once the
	// job is complete.
	Parent() Job
	// Children returns the children that are not yet complete, in the
	// order they were attached.
	Children() iter.Seq[Job]
	// Start starts a lazy job. It returns true only if this call started
	// it; false if the job was already started, cancelled or complete.
	Start() bool
	// Cancel cancels the job and, synchronously, all its descendants. A
	// nil cause is replaced by a default *CancellationError; any other
	// cause is wrapped in one, unless it already is one. Cancel never
	// cancels the parent. Cancelling a complete job does nothing.
	Cancel(cause error)
	// CancelChildren cancels every current child with cause (as Cancel
	// does) and leaves the job itself alone.
	CancelChildren(cause error)
	// Join waits until the job is complete and returns nil, whatever the
	// outcome (as Done: its handlers have run and its Context is done);
	// it starts a lazy job. If ctx is done first (or already
	// done when Join is called) it returns a *CancellationError carrying
	// context.Cause(ctx). Join from inside the job itself or one of its
	// descendants returns an error wrapping [ErrJoinCycle] at once.
	Join(ctx context.Context) error
	// Done returns a channel that is closed once the job is complete
	// (Cancelled or Completed) and its completion handlers have run; by
	// then the job's Context is done too.
	Done() <-chan struct{}
	// Cause returns nil while the job is New, Active or Completing, or
	// after it completed normally; else the cancellation or failure
	// cause (the final, aggregated cause once the job is Cancelled).
	Cause() error
	// Context returns the job's own context: it carries the job (see
	// [JobOf]), the values and deadline of the context the job was created
	// from, and is done as soon as the job is cancelled, fails or
	// completes.
	Context() context.Context
	// InvokeOnCompletion registers h to run once, when the job is final,
	// with its final cause (nil on normal completion). Handlers run in
	// registration order, synchronously, on the goroutine that completes
	// the job, before Done is closed. On a job that is already complete h
	// runs at once, on the caller's goroutine. Registering does not start
	// a lazy job. It panics if h is nil.
	InvokeOnCompletion(h func(cause error)) DisposableHandle
	// InvokeOnCancelling registers h to run once, when the job starts
	// cancelling, with the root cause; or at completion with nil if it
	// never cancelled. On a job already cancelling or complete h runs at
	// once, on the caller's goroutine. It panics if h is nil.
	InvokeOnCancelling(h func(cause error)) DisposableHandle
	// String describes the job, e.g. "Job(fetch)#17{Active}".
	String() string
}

// CompletableJob is a [Job] without a body, completed from outside: it is
// what [NewJob] and [NewSupervisorJob] return.
type CompletableJob interface {
	Job
	// Complete moves the job towards completion: it is Completed once all
	// its children are. It returns true only for the call that moved the
	// job out of Active; false if it was already completing, cancelled or
	// complete.
	Complete() bool
	// Fail completes the job with err as failure cause (or as cancellation
	// cause when IsCancellation(err)): its children are cancelled, and a
	// failure cancels its parent. It returns true only for the call that
	// moved the job out of Active. It panics if err is nil.
	Fail(err error) bool
}

// DisposableHandle removes a registration: Dispose is idempotent and safe
// for concurrent use.
type DisposableHandle interface{ Dispose() }

// The state word of a job packs four flags and a count:
//
//	bit 0      stNew        not started: a Lazy job in New (zero for others,
//	                        so that a new job's word needs no initial store)
//	bit 1      stCancelled  a root cause is published in fin: Cancelling or Cancelled
//	bit 2      stCompleting the job's own work is done (body returned,
//	                        Complete/Fail called, body-less job cancelled,
//	                        or a New job cancelled: its body will never run)
//	bit 3      stFinal      Cancelled or Completed
//	bit 4      stNotified   final and the completion handlers have run:
//	                        Done is (being) closed, Join returns
//	bit 5      stCtxChan    a channel for Context().Done is in ctxDone,
//	                        set by its maker before the job is cancelled
//	                        or final: the transition that first sets
//	                        stCancelled or stFinal closes it (see ctxChan)
//	bit 6      stInherited  set with stCancelled|stFinal by a parent that
//	                        ended the job at once (cancelAtOnce): its
//	                        record is the one the parent gave its
//	                        children, not fin (see record)
//	bits 7..33  holds       attached children not yet final, plus short
//	                        holds taken by cancellation while it publishes
//	                        its cause (Fail) or a child's failure climbs
//	                        through it (offer)
//	bits 34..63 dead        disposed nodes still linked in the handler
//	                        list (see list.go); kept in this word so that a
//	                        finishing child touches its parent with a
//	                        single atomic add (release its hold, count its
//	                        node dead)
//
// A job is finalizing when stCompleting is set, holds is zero and stFinal is
// not: the single goroutine whose atomic operation produced that word is the
// finalizer. From then on no other state flag changes (attaching, starting
// and cancelling are refused; only the dead count and stCtxChan move), so
// the finalizer sets its flags with an atomic OR.
const (
	stNew        uint64 = 1 << 0
	stCancelled  uint64 = 1 << 1
	stCompleting uint64 = 1 << 2
	stFinal      uint64 = 1 << 3
	stNotified   uint64 = 1 << 4
	stCtxChan    uint64 = 1 << 5
	stInherited  uint64 = 1 << 6
	holdShift           = 7
	oneHold      uint64 = 1 << holdShift
	releaseHold         = ^(oneHold - 1) // added to the word, subtracts oneHold
	holdMask     uint64 = (1<<27 - 1) << holdShift
	deadShift           = 34
	oneDead      uint64 = 1 << deadShift
	childDone           = oneDead - oneHold // added to a parent's word when a child is final
)

// holdsOf and deadOf decode the counts of a state word.
func holdsOf(s uint64) uint64 { return (s & holdMask) >> holdShift }
func deadOf(s uint64) uint64  { return s >> deadShift }

// finalizing reports whether the word s is that of a finalizing job.
func finalizing(s uint64) bool {
	return s&(stCompleting|stFinal) == stCompleting && s&holdMask == 0
}

// closed reports whether a job in word s refuses new children and new
// causes: it is final or finalizing.
func closed(s uint64) bool { return s&stFinal != 0 || finalizing(s) }

// Job flags, fixed at creation.
const (
	fReports    uint8 = 1 << iota // a Launch job: reports an unhandled failure to the exception handler
	fHandles                      // handles its children's failures (rule 9)
	fSupervisor                   // children fail independently
	fScoped                       // a scope: returns its failure to the caller, never passes it up
	fBodyless                     // no body: cancelling it completes its own work
	fDeferred                     // the job of a Deferred (package async): String says so
)

// job is the implementation of [Job] and [CompletableJob]. It is 64 bytes,
// one cache line, because one is allocated per Launch and its memory moves
// between the launching goroutine's core and the body's: what only some
// jobs need (a context of its own, the Job.Done channel, a name, a lazy
// job's body, cleaning state) lives in a lazily made [extra].
type job struct {
	// asChild is this job's node in its parent's list. It is the first
	// field, so that a child node converts back to its job (childOf). It
	// also carries the job's flags.
	asChild node

	// state is the packed state word described above. Every transition is
	// a CAS loop on it (or an atomic add), retried when another transition
	// got in first.
	state atomic.Uint64

	// head is the top of the handler list (see list.go): nil when empty,
	// closedList once the job is final.
	head atomic.Pointer[node]

	// fin holds the causes; nil until the first cancellation publishes its
	// root cause (always before stCancelled is set), then fixed — except
	// in a job ended at once by its parent (stInherited), whose record is
	// its parent's and whose fin is nil, or holds the cause of a Cancel
	// that lost the race and is never read (see record).
	fin atomic.Pointer[finishing]
	// extra is nil until the job needs one; set once by CAS (see extras),
	// or before the job is published.
	extra atomic.Pointer[extra]
	// ctxDone is the channel of Context().Done: nil until made (by
	// ctxChan), then that channel for good; closed once, when the job
	// starts cancelling or is final — by the transition that does it if
	// stCtxChan was set, else by the maker. It lives here rather than in
	// extra because cancelling a tree closes one per waiting job: a
	// second cache line per job would double the walk's misses.
	ctxDone chanSlot

	// parent is nil for a root; immutable. (The body is not kept: it is
	// handed to the goroutine that runs it, or, for a lazy job, kept in
	// extra until Start.)
	parent *job
}

// extra holds what only some jobs need.
type extra struct {
	// ctx is the context the job was created from, unless it was its
	// parent's own context (then nil: see job.context). Immutable.
	ctx  context.Context
	name string // from Named; immutable
	// body is the body of a lazy job, run by the call that starts it;
	// nil for others. Immutable.
	body func(context.Context) error
	// done is the channel of Job.Done, made lazily and closed by the
	// finalizer after the completion handlers ran.
	done chanSlot
	// shadow is a cancelled context.Context made on demand once the job's
	// context is done, so that context.Cause finds the job's cause.
	shadow atomic.Pointer[shadowCtx]
	// id is assigned from a global counter by the first String call.
	id atomic.Uint64
	// cleaning is set while a cleaning pass of the list runs (at most one
	// at a time); cleanAt is the number of live nodes the last pass left,
	// below which dead nodes are not worth a pass. Both only steer
	// cleaning.
	cleaning atomic.Bool
	cleanAt  atomic.Uint32
}

// extras returns j's extra, making it on first use.
func (j *job) extras() *extra {
	if x := j.extra.Load(); x != nil {
		return x
	}
	x := new(extra)
	if j.extra.CompareAndSwap(nil, x) {
		return x
	}
	return j.extra.Load()
}

// name returns the job's name, "" if none.
func (j *job) name() string {
	if x := j.extra.Load(); x != nil {
		return x.name
	}
	return ""
}

// childOf returns the job whose asChild node n is.
func childOf(n *node) *job { return (*job)(unsafe.Pointer(n)) }

// finishing records the causes of a cancelled job.
//
// A parent cancelling its children publishes one shared record in all of
// them (they have the same root cause), which saves an allocation per
// child. A shared record is never written: a child that later records a
// failure of its own replaces it with a private copy first (addLater).
type finishing struct {
	root    error                   // the first cause recorded; immutable
	shared  bool                    // published in several jobs: read-only; immutable
	failure bool                    // root is a failure, not a cancellation; immutable
	others  atomic.Pointer[errNode] // failures recorded later, newest first (private records only)
	// offered is set by whoever hands a failure root to the parent: the
	// cancelling call (offerUp) or, if the job finalizes first, the
	// finalizer (passFailure). The CAS makes it exactly once.
	offered atomic.Bool
	final   error // the final cause if not root: written by the finalizer before stFinal
	// kids is the shared record that a job whose record this is gave its
	// children, when it is not this record itself: written once, before
	// any child is ended with it, by the job's cancelling call
	// (recordForChildren), or when a shared record is privatised
	// (addLater); nil in a shared record.
	kids *finishing
}

// forChildren returns the record that the job whose record is f gave its
// children: f.kids, or f itself when f is shared (a cancellation passed
// down unchanged).
func (f *finishing) forChildren() *finishing {
	if f.kids != nil {
		return f.kids
	}
	return f
}

// record returns the cancellation record of j, whose word s has
// stCancelled: fin, or, when j's parent ended it at once (stInherited), the
// record the parent gave its children — saving the leaf a CAS of its own.
func (j *job) record(s uint64) *finishing {
	if s&stInherited != 0 {
		return j.parent.fin.Load().forChildren()
	}
	return j.fin.Load()
}

// errNode is an element of a Treiber stack of errors.
type errNode struct {
	err  error
	next *errNode
}

// add records a later failure.
func (f *finishing) add(err error) {
	n := &errNode{err: err}
	for {
		h := f.others.Load()
		n.next = h
		if f.others.CompareAndSwap(h, n) {
			return
		}
	}
}

// State implements [Job].
func (j *job) State() State { return stateOf(j.state.Load()) }

// stateOf decodes the public state from a state word.
func stateOf(s uint64) State {
	switch {
	case completedWord(s):
		if s&stCancelled != 0 {
			return Cancelled
		}
		return Completed
	case s&stCancelled != 0:
		return Cancelling
	case s&stNew != 0:
		return New
	case s&stCompleting != 0:
		return Completing
	default:
		return Active
	}
}

// IsActive implements [Job].
func (j *job) IsActive() bool {
	s := j.state.Load()
	return s&(stNew|stCancelled|stFinal) == 0 && !finalizing(s)
}

// IsCompleted implements [Job].
func (j *job) IsCompleted() bool { return completedWord(j.state.Load()) }

// completedWord reports whether a job in word s is complete for observers:
// final, or finalizing without having been cancelled. Such a job has
// nothing left to decide — no cause, no failure to pass on — so it reads as
// Completed at once (a concurrent Cancel, refused, sees it complete), while
// its finalizer runs the handlers (Done and Join still wait for them).
func completedWord(s uint64) bool {
	return s&stFinal != 0 || (finalizing(s) && s&stCancelled == 0)
}

// IsCancelled implements [Job].
func (j *job) IsCancelled() bool { return j.state.Load()&stCancelled != 0 }

// Parent implements [Job].
func (j *job) Parent() Job {
	if j.parent == nil || j.IsCompleted() {
		return nil
	}
	return j.parent
}

// Children implements [Job].
func (j *job) Children() iter.Seq[Job] {
	return func(yield func(Job) bool) {
		for _, n := range collect(j.head.Load(), nil, isLiveChild) {
			if !yield(childOf(n)) {
				return
			}
		}
	}
}

// isLiveChild keeps the nodes of children that are not final.
func isLiveChild(n *node) bool { return n.kind == nodeChild && !childOf(n).IsCompleted() }

// Cause implements [Job].
func (j *job) Cause() error {
	s := j.state.Load()
	if s&stCancelled == 0 {
		return nil
	}
	f := j.record(s)
	if s&stFinal != 0 && f.final != nil {
		return f.final
	}
	return f.root
}

// rootCause returns the root cause of a cancelled job, nil otherwise.
func (j *job) rootCause() error {
	s := j.state.Load()
	if s&stCancelled == 0 {
		return nil
	}
	return j.record(s).root
}

// Done implements [Job]. The channel is made on first use, and its make
// races with its close: the maker installs it by CAS and then reads the
// state word; the closer (the finalizer, closeJobDone) sets stNotified,
// then swaps the channel out. One of them sees the other, and the swap
// makes the close happen once.
func (j *job) Done() <-chan struct{} {
	if s := j.state.Load(); s&stNotified != 0 && j.extra.Load() == nil {
		return j.notifiedChan(s) // no channel was ever made
	}
	v := &j.extras().done
	if c := v.load(); c != nil {
		if s := j.state.Load(); c != closedChan && s&stNotified != 0 {
			// Made while the closer was between its two looks: make
			// sure it is closed, and answer with a channel that
			// certainly is (another closer may be about to close c).
			v.close()
			return j.notifiedChan(s)
		}
		return c
	}
	if s := j.state.Load(); s&stNotified != 0 {
		return j.notifiedChan(s) // no channel was made before the state changed
	}
	c := make(chan struct{})
	if !v.p.CompareAndSwap(nil, chanPtr(c)) {
		return v.load()
	}
	if s := j.state.Load(); s&stNotified != 0 {
		v.close() // the closer may have looked before c was there
		return j.notifiedChan(s)
	}
	return c
}

// notifiedChan is Done's answer for a job found notified in word s: a
// closed channel, once the context's channel is closed too (see
// awaitCtxClosed).
func (j *job) notifiedChan(s uint64) chan struct{} {
	j.awaitCtxClosed(s)
	return closedChan
}

// Context implements [Job].
func (j *job) Context() context.Context { return (*jobContext)(j) }

// String implements [Job].
func (j *job) String() string {
	x := j.extras()
	id := x.id.Load()
	if id == 0 {
		x.id.CompareAndSwap(0, nextID.Add(1))
		id = x.id.Load()
	}
	s := "Job"
	if j.asChild.flags&fDeferred != 0 {
		s = "Deferred"
	}
	if x.name != "" {
		s += "(" + x.name + ")"
	}
	return s + "#" + strconv.FormatUint(id, 10) + "{" + j.State().String() + "}"
}

// nextID numbers jobs in the order String is first called on them.
var nextID atomic.Uint64

// closedChan is a closed channel, returned by Done once the job is final
// when no channel was made before.
var closedChan = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// ctxChan returns the channel of Context().Done, making it on first use.
//
// Its close is claimed through the state word rather than by a swap of the
// slot, so that cancelling a job whose channel was made costs no atomic
// operation beyond the one that flips its state. The maker installs the
// channel (a CAS, against other makers), then sets stCtxChan by CAS while
// the job is neither cancelled nor final. Exactly one transition sets the
// first of stCancelled and stFinal, and it knows the word it replaced: if
// stCtxChan was in it, that transition closes the channel (closeCtxChan);
// if not, the maker's CAS cannot succeed any more, it sees the flag, and
// closes the channel itself.
func (j *job) ctxChan() chan struct{} {
	if c := j.ctxDone.load(); c != nil {
		if j.state.Load()&(stCancelled|stFinal) != 0 {
			awaitClosed(c) // done: its closer may be a step behind
		}
		return c
	}
	if j.state.Load()&(stCancelled|stFinal) != 0 {
		return closedChan // done before any channel was made
	}
	c := make(chan struct{})
	if !j.ctxDone.p.CompareAndSwap(nil, chanPtr(c)) {
		return j.ctxDone.load() // another maker's, closed by its protocol
	}
	for {
		s := j.state.Load()
		if s&(stCancelled|stFinal) != 0 {
			close(c) // the transition saw no stCtxChan: the close is ours
			return c
		}
		// CAS: announce the channel; retry if the word changed.
		if j.state.CompareAndSwap(s, s|stCtxChan) {
			return c
		}
	}
}

// closeCtxChan closes the context's channel when old, the word that a
// transition just replaced, obliges that transition to: the transition set
// the first of stCancelled and stFinal, and a maker had announced a
// channel (stCtxChan).
func (j *job) closeCtxChan(old uint64) {
	if old&(stCancelled|stFinal) == 0 && old&stCtxChan != 0 {
		close(j.ctxDone.load())
	}
}

// The context's channel is closed just after the transition that owes the
// close, so the job can read cancelled, and even complete and notified,
// a moment before it is closed: the transition that ends a job in one CAS
// sets stNotified in it, and a cancelling call may still be between its
// CAS and the close when another goroutine finalizes the job. Whoever
// answers "done" from the state word therefore waits for that close when
// a channel was announced: Join and Done when they find the job notified,
// the finalizer of a job that another call cancelled, and ctxChan when it
// hands out a channel of a done job (also one whose maker is about to
// close it). The close is at most a few instructions away on the
// goroutine that owes it, which holds no lock and runs no user code in
// between, so the wait is short and cannot deadlock; a job without a
// channel, or whose channel is closed already, does not wait.

// awaitCtxClosed waits until the context's channel, announced in word s
// (stCtxChan) of a job that is done, is closed.
func (j *job) awaitCtxClosed(s uint64) {
	if s&stCtxChan != 0 {
		awaitClosed(j.ctxDone.load())
	}
}

// awaitClosed waits until c, which its closer is about to close, is
// closed; a closed channel costs a non-blocking receive.
func awaitClosed(c chan struct{}) {
	select {
	case <-c:
	default:
		<-c
	}
}

// closeJobDone closes the job's Done channel, if one was made; Done closes
// one made later.
func (j *job) closeJobDone() {
	if x := j.extra.Load(); x != nil {
		x.done.close()
	}
}

// chanSlot holds a lazily made channel. A channel is one pointer, so it is
// kept in an atomic pointer (unlike atomic.Value, whose first store takes a
// slow path, this costs one CAS).
type chanSlot struct {
	p atomic.Pointer[hchan] // nil until made; closedPtr once closed
}

// hchan stands for the runtime's channel type: only pointers to it are
// stored, converted from and to chan struct{}.
type hchan struct{}

// chanPtr returns the pointer that the channel c is.
func chanPtr(c chan struct{}) *hchan { return *(**hchan)(unsafe.Pointer(&c)) }

// closedPtr is closedChan as a pointer.
var closedPtr = chanPtr(closedChan)

// load returns the channel in v, nil if none was made.
func (v *chanSlot) load() chan struct{} {
	p := v.p.Load()
	return *(*chan struct{})(unsafe.Pointer(&p))
}

// close closes the channel in v, if one was made and is open, and leaves
// closedChan in its place for later callers.
func (v *chanSlot) close() {
	if p := v.p.Load(); p == nil || p == closedPtr {
		// No channel yet (a later Done sees the state and closes
		// the one it makes), or closed already: this saves a swap.
		return
	}
	if old := v.p.Swap(closedPtr); old != nil && old != closedPtr {
		close(*(*chan struct{})(unsafe.Pointer(&old)))
	}
}
