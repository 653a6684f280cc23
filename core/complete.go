package core

import "reflect"

// finalize finishes j, which the caller found finalizing, and then each
// ancestor that j's completion leaves finalizing: a loop, not a recursion,
// so that a chain of any depth completes in constant stack.
func (j *job) finalize() { j.finalizeFrom(j) }

// finalizeFrom finalizes x and the ancestors its completion leaves
// finalizing (x may be nil).
func (j *job) finalizeFrom(x *job) {
	for x != nil {
		x = x.finalizeOne()
	}
}

// finalizeOne moves the finalizing job j to its final state, in the order
// kotlinx uses: compute the final cause; offer a failure to the parent or
// report it; set stFinal; then afterFinal. It returns the parent when this
// left it finalizing, for the caller's loop to finish.
func (j *job) finalizeOne() *job {
	s := j.state.Load()
	var final error
	if s&stCancelled != 0 {
		f := j.fin.Load()
		var isRoot bool
		final, isRoot = f.finalCause()
		if !isRoot {
			// Written before stFinal is set; read only after it is
			// seen. (Never in a shared record: its final is its root.)
			f.final = final
		}
		if !IsCancellation(final) {
			j.passFailure(final)
		}
	}
	// Only the finalizer sets flags now (attach, start and cancel all
	// refuse a finalizing job); an atomic OR leaves the counts alone.
	set := stFinal | j.notifiedAtOnce()
	old := j.state.Or(set)
	j.closeCtxChan(old)
	if old&stCancelled != 0 {
		// The call that cancelled j owes the close and may not have
		// made it yet: the handlers and Done come after it.
		j.awaitCtxClosed(old)
	}
	return j.afterFinal(s|set, final)
}

// afterFinal completes the finalization of j, whose word s (before stFinal)
// had final cause final: runFinal, then detach from the parent. It returns
// the parent when this left it finalizing.
func (j *job) afterFinal(s uint64, final error) *job {
	j.runFinal(s, final)
	return j.detach()
}

// detach releases the final job j's hold on its parent and returns the
// parent when this left it finalizing.
func (j *job) detach() *job {
	if p := j.parent; p != nil && p.releaseChildren(1) {
		return p
	}
	return nil
}

// releaseChildren releases the holds of n children of j that are final,
// with one atomic add that also counts their nodes dead (a child's node
// is dead once the child is final), and reports whether this left j
// finalizing: then the caller finalizes it.
func (j *job) releaseChildren(n uint64) bool {
	s := j.state.Add(n * childDone)
	j.maybeClean(s)
	return finalizing(s)
}

// runFinal does what a job just made final (word s, final cause final)
// owes its observers: run the handlers; close Done. (The transition that
// made it final has closed the context's channel, or the one that made it
// cancelling did.)
func (j *job) runFinal(s uint64, final error) {
	// Close the list and run what it held: first the cancelling kind
	// (never run if the job never cancelled), then the completion
	// handlers, each group in registration order. An empty list is left
	// open (most jobs have no handler: this saves a swap): a registrant
	// that pushes onto it sees stFinal and runs its handler itself.
	if h := j.head.Load(); h != nil {
		h = j.head.Swap(closedList)
		var buf [16]*node
		nodes := collect(h, buf[:0], isHandler)
		var root error
		if s&stCancelled != 0 {
			root = j.record(s).root
		}
		for _, n := range nodes {
			if n.kind != nodeCompletion && n.claim() {
				j.run(n, root)
			}
		}
		for _, n := range nodes {
			if n.kind == nodeCompletion && n.claim() {
				j.run(n, final)
			}
		}
	}
	// Done is closed before stNotified is set, so that Join (which looks
	// at the flag) never returns while Done is open; and once more after,
	// for a channel made in between (its maker saw no flag).
	j.closeJobDone()
	if s&stNotified == 0 {
		j.state.Or(stNotified)
		j.closeJobDone()
	}
}

// isHandler keeps every node but children's (all final by now).
func isHandler(n *node) bool { return n.kind != nodeChild }

// passFailure offers the final failure of j to its parent, and reports it
// to the exception handler when no parent handles it (rule 9).
func (j *job) passFailure(final error) {
	handled := false
	if p := j.failureParent(); p != nil {
		// A failure that is j's root cause usually reached the parent
		// when j started cancelling (offerUp); pass on the others, one
		// by one, so that the parent never holds the same error twice
		// (errors of uncomparable types could not be told apart).
		fails := []error{final}
		if m, ok := final.(*MultiError); ok {
			fails = m.errs
		}
		if f := j.fin.Load(); f.failure && !f.offered.CompareAndSwap(false, true) {
			// The root went up already: it comes first in the final
			// cause, as one failure, or as the failures of an
			// aggregate that a body returned (finalCause flattens it).
			fails = fails[min(rootFailures(f.root), len(fails)):]
		}
		for _, err := range fails {
			p.cancel(err, cmFailure)
		}
		handled = p.asChild.flags&fHandles != 0
	}
	if !handled && j.asChild.flags&fReports != 0 {
		reportException(j.context(), final)
	}
}

// rootFailures is how many failures the root cause root stands for in a
// final cause: those of an aggregate, else one.
func rootFailures(root error) int {
	if m, ok := root.(*MultiError); ok {
		return len(m.errs)
	}
	return 1
}

// finalCause computes the final cause from the recorded causes: the first
// failure, with the later ones attached (a [MultiError]) when there are
// any; the root cause when all were cancellations.
func (f *finishing) finalCause() (final error, isRoot bool) {
	if f.others.Load() == nil {
		return f.root, true // the common case: one cause
	}
	var buf [8]error
	all := append(buf[:0], f.root)
	start := len(all)
	for n := f.others.Load(); n != nil; n = n.next {
		all = append(all, n.err)
	}
	// others is newest first: reverse to arrival order.
	for i, k := start, len(all)-1; i < k; i, k = i+1, k-1 {
		all[i], all[k] = all[k], all[i]
	}
	var failures []error
	for _, err := range all {
		if IsCancellation(err) {
			continue
		}
		// An aggregate recorded as a cause (a body may return another
		// job's aggregated cause) is flattened: the final cause lists
		// failures, not aggregates.
		if m, ok := err.(*MultiError); ok {
			for _, e := range m.errs {
				failures = appendNew(failures, e)
			}
			continue
		}
		failures = appendNew(failures, err)
	}
	switch len(failures) {
	case 0:
		return f.root, true
	case 1:
		return failures[0], f.failure // the root is the first failure
	}
	return &MultiError{errs: failures}, false
}

// appendNew appends err unless the very same error is in errs already.
func appendNew(errs []error, err error) []error {
	for _, e := range errs {
		if sameError(e, err) {
			return errs
		}
	}
	return append(errs, err)
}

// sameError reports whether a and b are the same error value, without
// panicking on errors of uncomparable types (such are never "the same").
func sameError(a, b error) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	ta := reflect.TypeOf(a)
	if ta != reflect.TypeOf(b) || !ta.Comparable() {
		return false
	}
	return a == b
}
