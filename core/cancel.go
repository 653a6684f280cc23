package core

import "errors"

// Cancellation and failure.
//
// A cancellation of job j with cause c publishes, then flips:
//
//  1. publish: CAS fin from nil to a record whose root is c; if another
//     cancellation got there first, c is added to its later failures
//     (cancellations are never added). Refused, leaving fin alone, when j
//     is final or finalizing: the cause is too late.
//  2. flip: CAS the word to set stCancelled (and stCompleting where
//     cancelling ends j's own work). The caller that flips the flag
//     notifies: it closes the context's Done channel, runs the cancelling
//     handlers and queues the children. Because fin is published before the
//     flag, whoever sees the flag sees the root cause. If the flip leaves j
//     finalizing, the caller finalizes it.
//
// Fail alone takes a hold around the two steps (failStep): it may lose to
// a concurrent Complete while j stays open to a later Cancel, and must not
// leave its cause behind as a root. docs/design.md explains why the other
// callers need no hold on j. A failure that climbs is different: it holds
// the parent while it climbs (offer).
//
// Descendants are cancelled from a work list rather than by recursion, so a
// chain of any depth cancels in constant stack; failures climb to the
// ancestors by a loop for the same reason. A parent ends the children that
// have nothing to notify or wait for (a body-less leaf, say) at once, as it
// walks them (cancelAtOnce), and releases all their holds on itself with
// one atomic add: only the others go on the work list.

// Modes of cancel.
const (
	cmFailure uint8 = 1 << iota // c is a failure: offered to the parent
	cmFail                      // CompletableJob.Fail: must be the call that ends Active
	cmOwnWork                   // the job's own work is done with this cause (its body returned it)
)

// cancelItem is a pending cancellation in a work list: job j, to be
// cancelled with the (shared) record rec.
type cancelItem struct {
	j   *job
	rec *finishing
}

// cancel cancels j and its descendants with cause (already normalised: a
// failure, or a *CancellationError) and, for a failure, offers it to the
// ancestors. It returns whether j accepted the cause.
func (j *job) cancel(cause error, mode uint8) bool {
	// The work list starts nil: a job without children allocates none. (A
	// stack array would move to the heap anyway: cancel, finalization and
	// failure passing call each other, which escape analysis cannot see
	// through.)
	ok, rooted, last, work := j.cancelStep(&finishing{root: cause, failure: mode&cmFailure != 0}, mode, nil)
	drain(work)
	if rooted && mode&cmFailure != 0 {
		j.offer(cause, last)
	}
	if last {
		j.finalize()
	}
	return ok
}

// offer hands the failure err, which this call made j's root cause, to the
// ancestors, unless j's finalizer does it (whichever claims the record's
// offered flag first). last tells that the caller is j's finalizer.
//
// Otherwise j may be finalizing on another goroutine right now (a child
// cancelled by the drain ended it): its finalizer, finding offered claimed,
// passes nothing up and releases its parent. So the parent is held first:
// it cannot complete before offerUp has reached it. If it cannot be held
// (final or finalizing), j is final already, and its finalizer, which
// found offered unclaimed, passed the failure up.
func (j *job) offer(err error, last bool) {
	p := j.failureParent()
	if p == nil {
		return
	}
	if !last && !p.tryHold() {
		return
	}
	if j.fin.Load().offered.CompareAndSwap(false, true) {
		j.offerUp(err)
	}
	if !last && finalizing(p.state.Add(releaseHold)) {
		p.finalize()
	}
}

// failureParent returns the parent to which j's failures go, nil when
// there is none: j is a root or a scope, or its parent is a supervisor.
func (j *job) failureParent() *job {
	p := j.parent
	if p == nil || j.asChild.flags&fScoped != 0 || p.asChild.flags&fSupervisor != 0 {
		return nil
	}
	return p
}

// tryHold takes a hold on j, which keeps it from finalizing, unless j is
// final or finalizing already. It reports whether it took one.
func (j *job) tryHold() bool {
	for {
		s := j.state.Load()
		if closed(s) {
			return false
		}
		// CAS: add the hold; retry if the word changed.
		if j.state.CompareAndSwap(s, s+oneHold) {
			return true
		}
	}
}

// drain cancels the items of a work list, and the children they queue.
func drain(work []cancelItem) {
	for len(work) > 0 {
		it := work[len(work)-1]
		work = work[:len(work)-1]
		var last bool
		if _, _, last, work = it.j.cancelStep(it.rec, 0, work); last {
			it.j.finalize()
		}
	}
}

// offerUp hands the failure err, which just became j's root cause, to the
// ancestors: each parent that is not a supervisor is cancelled with it, and
// so on up, until a scope, a supervisor, the root, or a parent that already
// had a root cause (it passes its failures up itself when it finalizes).
func (j *job) offerUp(err error) {
	for x, rooted := j, true; rooted; {
		p := x.failureParent()
		if p == nil {
			return
		}
		var work []cancelItem
		// The record is marked offered before it is published: if err
		// becomes p's root, this loop hands it to p's parent next, so
		// p's finalizer must not hand it over again (an error of an
		// uncomparable type could not be recognised as a duplicate).
		rec := &finishing{root: err, failure: true}
		rec.offered.Store(true)
		// p cannot be left finalizing: it still counts x.
		_, rooted, _, work = p.cancelStep(rec, 0, nil)
		drain(work)
		x = p
	}
}

// cancelStep cancels j alone with the cause rec.root, publishing rec itself
// if the cause becomes j's root, and appends j's children to the work list
// when j starts cancelling. It returns whether j accepted the cause, whether
// it became j's root cause, and whether this call left j finalizing — then
// the caller must finalize it, after it has offered a failure to the
// ancestors.
func (j *job) cancelStep(rec *finishing, mode uint8, work []cancelItem) (ok, rooted, last bool, _ []cancelItem) {
	if mode&cmFail != 0 {
		return j.failStep(rec, work)
	}
	if j.fin.Load() == nil && closed(j.state.Load()) {
		return false, false, false, work // too late; and fin stays unwritten
	}
	rooted = j.publish(rec)
	var s, ns uint64
	for {
		s = j.state.Load()
		if closed(s) {
			return false, false, false, work
		}
		ns = j.cancelledWord(s, mode)
		if ns == s {
			return true, rooted, false, work // already cancelling: nothing to flip
		}
		if j.endsAtOnce(s, ns, mode) {
			// Fast path: nothing to notify, nothing to decide. One CAS
			// takes the job from Active to Cancelled.
			if j.endAtOnce(s, ns) {
				j.finalizeFrom(j.detach())
				return true, rooted, false, work
			}
			continue
		}
		// CAS: set the flags; retry if a child or hold changed the count.
		if j.state.CompareAndSwap(s, ns) {
			break
		}
	}
	if s&stCancelled == 0 {
		work = j.notifyCancelling(s, j.fin.Load().root, work)
	}
	// If this CAS made the job finalizing, the caller finalizes it, after
	// the notification above, so the cancelling handlers run first.
	return true, rooted, finalizing(ns), work
}

// failStep is cancelStep for Fail, which alone needs a hold. Fail must be
// the call that ends Active: it claims stCompleting in the same CAS that
// takes the hold, and is refused if the job was completing or cancelled
// already. Were its cause published without the hold, a Fail that then
// lost to a Complete would leave it behind as a root, and a later, legal
// Cancel (kotlinx rule 65) would end the job with Fail's error. With the
// hold, the job cannot finalize before the flag is set; the hold is
// released in the flipping CAS when it is the last one.
func (j *job) failStep(rec *finishing, work []cancelItem) (ok, rooted, last bool, _ []cancelItem) {
	for {
		s := j.state.Load()
		if closed(s) || s&(stCompleting|stCancelled) != 0 {
			return false, false, false, work
		}
		// CAS: take a hold and end the own work; retry if the word changed.
		if j.state.CompareAndSwap(s, (s+oneHold)|stCompleting) {
			break
		}
	}
	rooted = j.publish(rec)
	var s, ns uint64
	for {
		s = j.state.Load()
		ns = s | stCancelled
		if holdsOf(ns) == 1 {
			ns -= oneHold // the last hold: release it in this CAS
		}
		// CAS: set the flag (and release); retry if the count changed.
		if j.state.CompareAndSwap(s, ns) {
			break
		}
	}
	if s&stCancelled == 0 {
		work = j.notifyCancelling(s, j.fin.Load().root, work)
	}
	if holdsOf(s) == 1 {
		return true, rooted, true, work // released above: this call finalizes
	}
	return true, rooted, finalizing(j.state.Add(releaseHold)), work
}

// publish makes rec j's cancellation record if j has none yet, and reports
// whether it did; else it records rec's cause as a later failure. The
// caller then sets stCancelled: whoever sees the flag sees the root.
func (j *job) publish(rec *finishing) (rooted bool) {
	if j.fin.Load() == nil {
		rooted = j.fin.CompareAndSwap(nil, rec)
	}
	if !rooted {
		j.addLater(rec.root)
	}
	return rooted
}

// cancelledWord returns the word of j cancelled from word s (with mode):
// stCancelled set, and stCompleting too when cancelling ends j's own work —
// a body-less job has no other, a New job's body will never run (Start
// refuses a cancelled job), and a body that returned the cause is done.
func (j *job) cancelledWord(s uint64, mode uint8) uint64 {
	ns := s | stCancelled
	if mode&cmOwnWork != 0 || j.asChild.flags&fBodyless != 0 || s&stNew != 0 {
		ns |= stCompleting
	}
	return ns
}

// endsAtOnce reports whether the flip from s to ns may also make the job
// final: it starts cancelling (s not cancelled) and is left finalizing, its
// list is empty (no handler to run, no child), and its only cause is a
// cancellation (no final cause to compute, no failure to pass on; no
// record counts as one: cancelAtOnce publishes none). A handler pushed
// after this look finds the job final and runs itself.
func (j *job) endsAtOnce(s, ns uint64, mode uint8) bool {
	if s&stCancelled != 0 || !finalizing(ns) || mode&cmFailure != 0 || j.head.Load() != nil {
		return false
	}
	f := j.fin.Load()
	return f == nil || (f.others.Load() == nil && !f.failure)
}

// endAtOnce takes j, which endsAtOnce cleared to go from word s to ns,
// straight to final in one CAS (and to notified when nothing waits for
// it), then does what the new final state owes: close the context's
// channel, run any handler pushed since the look, close Done. It leaves
// detaching from the parent to the caller. It reports false, changing
// nothing, if the word was no longer s.
func (j *job) endAtOnce(s, ns uint64) bool {
	fs := ns | stFinal | j.notifiedAtOnce()
	if !j.state.CompareAndSwap(s, fs) {
		return false
	}
	j.closeCtxChan(s)
	j.runFinal(fs, j.record(fs).root)
	return true
}

// addLater records on j a cause that arrived after the root: failures are
// kept, cancellations dropped (they never become the final cause nor are
// they attached to it). A shared record is replaced by a private copy
// first. The caller holds a hold, so j cannot finalize meanwhile.
func (j *job) addLater(cause error) {
	if IsCancellation(cause) {
		return
	}
	for {
		f := j.fin.Load()
		if sameError(cause, f.root) {
			return
		}
		if !f.shared {
			f.add(cause)
			return
		}
		// The children j ended at once read their record through j's:
		// the copy points them to the shared one they were given.
		own := &finishing{root: f.root, failure: f.failure, kids: f}
		own.add(cause)
		// CAS: privatise the record; retry if someone else did.
		if j.fin.CompareAndSwap(f, own) {
			return
		}
	}
}

// notifyCancelling runs when j has just started cancelling (its word was
// old) with root cause root: it closes the context's Done channel, if one
// was made, runs the cancelling handlers
// in registration order, then cancels the children: at once those that
// cancelAtOnce can end, the others by queueing them on the work list.
//
// If releasing the children it ended leaves j finalizing, it finalizes j
// there and then — where the last of them would have, had each detached
// itself — so that j's finalizer, not its cancelling call, hands a failure
// root to the parent (passFailure), as when any other child is j's last.
func (j *job) notifyCancelling(old uint64, root error, work []cancelItem) []cancelItem {
	j.closeCtxChan(old)
	var buf [16]*node
	nodes := collect(j.head.Load(), buf[:0], isCancelKind)
	for _, n := range nodes {
		if n.kind != nodeChild && n.claim() {
			j.run(n, root)
		}
	}
	var rec *finishing // one record for all the children, made for the first
	var ended uint64
	for _, n := range nodes {
		if n.kind != nodeChild {
			continue
		}
		if rec == nil {
			rec = j.recordForChildren(root)
		}
		// Not claimed: cancelling a child twice (here and in a racing
		// attach) is harmless, both use the same cause.
		if c := childOf(n); c.cancelAtOnce() {
			ended++
		} else {
			work = append(work, cancelItem{c, rec})
		}
	}
	// The children ended here left their holds to this call.
	if ended > 0 && j.releaseChildren(ended) {
		j.finalize()
	}
	return work
}

// recordForChildren returns the cancellation record that j, cancelling
// with root cause root, gives its children: j's own record when it is
// shared (j was cancelled by its parent: its root is a *CancellationError,
// which causeForChild passes on unchanged) or a private copy of one, else
// a new shared record, kept in j's (kids) for the children that j ends at
// once and that read it through j. Only j's cancelling call runs this, once,
// before any child is given the record.
func (j *job) recordForChildren(root error) *finishing {
	f := j.fin.Load()
	if !f.shared && f.kids == nil {
		f.kids = &finishing{root: causeForChild(root), shared: true}
	}
	return f.forChildren()
}

// cancelAtOnce is cancelStep's fast path for a child c that its cancelling
// parent cancels with the shared record that recordForChildren returned,
// when c has nothing to notify and nothing to wait for: it is Active or
// New, without a running body, children or handlers, and has no cause yet.
// Then it takes c to Cancelled in one CAS that also sets stInherited — c's
// record is the parent's, read through it (record): c publishes none of
// its own — closes its channels, and reports true: c is final, and the
// caller owes c's parent the release of c's hold (c does not detach
// itself, so that the parent releases all such children with one atomic
// add). Otherwise it reports false, having changed nothing, and the caller
// queues c.
//
// A Cancel of c that read fin and the word before this CAS may still
// publish its record in fin after it: with stInherited set, nobody reads
// fin, so c's cause does not change once c is final.
func (c *job) cancelAtOnce() bool {
	if c.fin.Load() != nil {
		return false
	}
	s := c.state.Load()
	ns := c.cancelledWord(s, 0)
	if closed(s) || !c.endsAtOnce(s, ns, 0) {
		return false
	}
	return c.endAtOnce(s, ns|stInherited)
}

// isCancelKind keeps the nodes that run when a job starts cancelling.
func isCancelKind(n *node) bool { return n.kind != nodeCompletion }

// run runs the handler of node n (a handler, claimed by the caller) with
// cause. A
// panic in it is recovered and reported to the exception handler of j's
// context; it does not stop the caller's other handlers.
func (j *job) run(n *node, cause error) {
	defer func() {
		if r := recover(); r != nil {
			reportException(j.context(), newPanicError(r))
		}
	}()
	handlerOf(n).fn(cause)
}

// causeForChild is the cause with which a parent whose root cause is root
// cancels its children: root itself when it is a *CancellationError, else a
// cancellation whose Cause is root. A child never sees its parent's failure
// as its own.
func causeForChild(root error) error {
	if ce, ok := root.(*CancellationError); ok {
		return ce
	}
	return &CancellationError{Message: "parent job is cancelling", Cause: root}
}

// cancellationOf makes the cause of an explicit Cancel(cause): a default
// *CancellationError for nil, cause itself when it is a *CancellationError,
// else a cancellation wrapping it.
func (j *job) cancellationOf(cause error) error {
	if ce, ok := cause.(*CancellationError); ok {
		return ce
	}
	msg := "job was cancelled"
	if name := j.name(); name != "" {
		msg = name + " was cancelled"
	}
	return &CancellationError{Message: msg, Cause: cause}
}

// Cancel implements [Job].
func (j *job) Cancel(cause error) {
	if closed(j.state.Load()) {
		return // fast path: nothing to cancel, no error to allocate
	}
	j.cancel(j.cancellationOf(cause), 0)
}

// CancelChildren implements [Job].
func (j *job) CancelChildren(cause error) {
	for _, n := range collect(j.head.Load(), nil, isLiveChild) {
		c := childOf(n)
		c.cancel(c.cancellationOf(cause), 0)
	}
}

// Complete implements [CompletableJob].
func (j *job) Complete() bool { return j.endOwnWork(true) }

// Fail implements [CompletableJob].
func (j *job) Fail(err error) bool {
	if err == nil {
		panic("core: Fail called with a nil error")
	}
	if IsCancellation(err) {
		return j.cancel(j.cancellationOf(err), cmFail)
	}
	return j.cancel(err, cmFail|cmFailure)
}

// endBody ends the own work of a job whose body returned err (nil for
// success): a cancellation cancels it, any other error fails it.
func (j *job) endBody(err error) {
	if err == nil {
		j.completeOwnWork()
		return
	}
	// Never refused: a body's job cannot finalize before its body
	// returns (nothing else sets stCompleting on it).
	if IsCancellation(err) || j.echoesOwnCancellation(err) {
		j.cancel(j.cancellationOf(err), cmOwnWork)
	} else {
		j.cancel(err, cmFailure|cmOwnWork)
	}
}

// echoesOwnCancellation reports whether err is the echo of the job's own
// cancellation, e.g. context.DeadlineExceeded returned by a call that
// honoured the job's deadline: not a new failure.
func (j *job) echoesOwnCancellation(err error) bool {
	ctxErr := (*jobContext)(j).Err()
	return ctxErr != nil && errors.Is(err, ctxErr)
}

// completeOwnWork sets stCompleting and finalizes the job if no child is
// left.
func (j *job) completeOwnWork() { j.endOwnWork(false) }

// endOwnWork sets stCompleting, refusing a cancelled job if asked to
// (Complete), and finalizes the job if no child is left. It reports whether
// this call set the flag.
//
// Fast path: a job that was not cancelled and has no children has nothing
// to do between Completing and Completed (no cause to compute, no failure
// to pass on), so one CAS takes it straight to Completed — and, when it has
// no handler either, straight to notified. No observer sees it Completing.
func (j *job) endOwnWork(refuseCancelled bool) bool {
	for {
		s := j.state.Load()
		if s&stCompleting != 0 || (refuseCancelled && s&stCancelled != 0) {
			return false
		}
		ns := s | stCompleting
		direct := finalizing(ns) && s&stCancelled == 0
		if direct {
			ns |= stFinal | j.notifiedAtOnce()
		}
		// CAS: record the end of the own work; retry if the count changed.
		if j.state.CompareAndSwap(s, ns) {
			if direct {
				j.closeCtxChan(s)
				j.finalizeFrom(j.afterFinal(ns, nil))
			} else if finalizing(ns) {
				j.finalize()
			}
			return true
		}
	}
}

// notifiedAtOnce returns stNotified when j's list is empty and no Done
// channel was made: then the transition to final can also mark the
// handlers as run (Join returns at once, a Done made later is closed by its
// maker). A handler pushed after this look finds the job final and runs
// itself: it registered, in effect, after completion.
func (j *job) notifiedAtOnce() uint64 {
	if j.head.Load() != nil {
		return 0
	}
	if x := j.extra.Load(); x != nil && x.done.p.Load() != nil {
		return 0
	}
	return stNotified
}
