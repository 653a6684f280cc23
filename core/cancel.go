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
// Fail alone takes a hold around the two steps (cancelStep): it may lose to
// a concurrent Complete while j stays open to a later Cancel, and must not
// leave its cause behind as a root. docs/design.md explains why the other
// callers need no hold.
//
// Descendants are cancelled from a work list rather than by recursion, so a
// chain of any depth cancels in constant stack; failures climb to the
// ancestors by a loop for the same reason.

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
	if rooted && mode&cmFailure != 0 && j.fin.Load().offered.CompareAndSwap(false, true) {
		// j may have finalized already (its children, cancelled above,
		// can finish it); then its finalizer offered the failure.
		j.offerUp(cause)
	}
	if last {
		j.finalize()
	}
	return ok
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
		p := x.parent
		if p == nil || x.asChild.flags&fScoped != 0 || p.asChild.flags&fSupervisor != 0 {
			return
		}
		var work []cancelItem
		// p cannot be left finalizing: it still counts x.
		_, rooted, _, work = p.cancelStep(&finishing{root: err, failure: true}, 0, nil)
		drain(work)
		x = p
	}
}

// cancelStep runs the four steps on j alone with the cause rec.root,
// publishing rec itself if the cause becomes j's root, and appends j's
// children to the work list when j starts cancelling. It returns whether j
// accepted the cause, whether it became j's root cause, and whether this
// call left j finalizing — then the caller must finalize it, after it has
// offered a failure to the ancestors.
func (j *job) cancelStep(rec *finishing, mode uint8, work []cancelItem) (ok, rooted, last bool, _ []cancelItem) {
	if mode&cmFail == 0 {
		return j.cancelFast(rec, mode, work)
	}
	// 1. hold.
	for {
		s := j.state.Load()
		if closed(s) {
			return false, false, false, work
		}
		if mode&cmFail != 0 && s&(stCompleting|stCancelled) != 0 {
			return false, false, false, work // Fail must be the call that ends Active
		}
		ns := s + oneHold
		if mode&cmFail != 0 {
			ns |= stCompleting // Fail ends the own work, exclusively
		}
		// CAS: take a hold; retry if the word changed meanwhile.
		if j.state.CompareAndSwap(s, ns) {
			break
		}
	}
	// 2. publish.
	if j.fin.Load() == nil {
		rooted = j.fin.CompareAndSwap(nil, rec)
	}
	if !rooted {
		j.addLater(rec.root)
	}
	// 3. flip, and 4. release — in one CAS when this hold is the last:
	// then this call is the finalizer, and it notifies before it
	// finalizes, so nothing can complete the job in between.
	flipped, released := false, false
	for {
		s := j.state.Load()
		ns := s | stCancelled
		if mode&cmOwnWork != 0 || j.asChild.flags&fBodyless != 0 || s&stNew != 0 {
			// Cancelling a body-less job ends its own work; a New job's
			// body will never run (Start refuses a cancelled job).
			ns |= stCompleting
		}
		last := ns&stCompleting != 0 && holdsOf(ns) == 1
		if last {
			ns -= oneHold
		}
		if ns == s {
			break
		}
		// CAS: set the flags; retry if a child or hold changed the count.
		if j.state.CompareAndSwap(s, ns) {
			flipped, released = s&stCancelled == 0, last
			break
		}
	}
	if flipped {
		work = j.notifyCancelling(j.fin.Load().root, work)
	}
	last = released || finalizing(j.state.Add(releaseHold))
	return true, rooted, last, work
}

// cancelFast is cancelStep without the hold, for every cause but Fail's.
// The hold exists so that a published root cause is never left behind by
// a call that then loses: only Fail can lose to a Complete while the job
// stays open to later cancellations. Any other cancellation is refused only
// by a finalizing or final job, which never reads fin again (stCancelled
// is not set) and accepts no later cause. A failure that is not the root
// is recorded before the flag, while the job cannot finalize: the caller
// is the job's own body (before stCompleting) or a child (holding a hold).
func (j *job) cancelFast(rec *finishing, mode uint8, work []cancelItem) (ok, rooted, last bool, _ []cancelItem) {
	if j.fin.Load() == nil {
		if closed(j.state.Load()) {
			return false, false, false, work // too late; and fin stays unwritten
		}
		rooted = j.fin.CompareAndSwap(nil, rec)
	}
	if !rooted {
		j.addLater(rec.root)
	}
	var s, ns uint64
	for {
		s = j.state.Load()
		if closed(s) {
			return false, false, false, work
		}
		ns = s | stCancelled
		if mode&cmOwnWork != 0 || j.asChild.flags&fBodyless != 0 || s&stNew != 0 {
			// Cancelling a body-less job ends its own work; a New job's
			// body will never run (Start refuses a cancelled job).
			ns |= stCompleting
		}
		if ns == s {
			return true, rooted, false, work // already cancelling: nothing to flip
		}
		if j.endsAtOnce(s, ns, mode) {
			// Fast path: nothing to notify, nothing to decide. One CAS
			// takes the job from Active to Cancelled.
			fs := ns | stFinal | j.notifiedAtOnce()
			if j.state.CompareAndSwap(s, fs) {
				j.finalizeFrom(j.afterFinal(fs, j.fin.Load().root))
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
		work = j.notifyCancelling(j.fin.Load().root, work)
	}
	// If this CAS made the job finalizing, the caller finalizes it, after
	// the notification above, so the cancelling handlers run first.
	return true, rooted, finalizing(ns), work
}

// endsAtOnce reports whether the flip from s to ns may also make the job
// final: it starts cancelling (s not cancelled) and is left finalizing, its
// list is empty (no handler to run, no child), and its only cause is a
// cancellation (no final cause to compute, no failure to pass on). A
// handler pushed after this look finds the job final and runs itself.
func (j *job) endsAtOnce(s, ns uint64, mode uint8) bool {
	if s&stCancelled != 0 || !finalizing(ns) || mode&cmFailure != 0 || j.head.Load() != nil {
		return false
	}
	f := j.fin.Load()
	return f.others.Load() == nil && !f.failure
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
		own := &finishing{root: f.root, failure: f.failure}
		own.add(cause)
		// CAS: privatise the record; retry if someone else did.
		if j.fin.CompareAndSwap(f, own) {
			return
		}
	}
}

// notifyCancelling runs when j has just started cancelling with root cause
// root: it closes the context's Done channel, runs the cancelling handlers
// in registration order and queues the children for cancellation.
func (j *job) notifyCancelling(root error, work []cancelItem) []cancelItem {
	j.closeDone(false)
	var buf [16]*node
	nodes := collect(j.head.Load(), buf[:0], isCancelKind)
	var childRec *finishing // one record for all the children
	for _, n := range nodes {
		if n.kind == nodeChild {
			// Not claimed: cancelling a child twice (here and in a
			// racing attach) is harmless, both use the same cause.
			if childRec == nil {
				childRec = &finishing{root: causeForChild(root), shared: true}
			}
			work = append(work, cancelItem{childOf(n), childRec})
			continue
		}
		if n.claim() {
			j.run(n, root)
		}
	}
	return work
}

// isCancelKind keeps the nodes that run when a job starts cancelling.
func isCancelKind(n *node) bool { return n.kind != nodeCompletion }

// run runs the handler of node n (claimed by the caller) with cause. A
// panic in it is recovered and reported to the exception handler of j's
// context; it does not stop the caller's other handlers.
func (j *job) run(n *node, cause error) {
	defer func() {
		if r := recover(); r != nil {
			reportException(j.context(), newPanicError(r))
		}
	}()
	if n.kind == nodeChild {
		childOf(n).cancel(causeForChild(cause), 0)
		return
	}
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
	if IsCancellation(err) || j.echoesOwnCancellation(err) {
		if j.cancel(j.cancellationOf(err), cmOwnWork) {
			return
		}
	} else if j.cancel(err, cmFailure|cmOwnWork) {
		return
	}
	// Too late to record anything: the job is finalizing. Impossible for
	// a body, whose return is what lets the job finalize; kept for safety.
	j.completeOwnWork()
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
