package core

// InvokeOnCompletion implements [Job].
func (j *job) InvokeOnCompletion(h func(cause error)) DisposableHandle {
	if h == nil {
		panic("core: InvokeOnCompletion called with a nil handler")
	}
	n := newHandler(j, nodeCompletion, h)
	if !completedWord(j.state.Load()) && j.push(&n.node) {
		if !completedWord(j.state.Load()) {
			// Pushed while the job did not read as complete: the
			// finalizer takes the list after setting stFinal, and
			// will see n.
			return n
		}
		if !n.claim() {
			// The job completed meanwhile and its finalizer took n
			// with the list. The caller now sees a complete job, for
			// which the handler must have run on return: wait for it.
			<-j.Done()
			return noopHandle{}
		}
	}
	// Complete already: the list was closed, or left open because it was
	// empty, or the finalizer has yet to take it (n is claimed above): run
	// at once, on the caller's goroutine.
	n.state.Store(nodeFired)
	j.run(&n.node, j.Cause())
	return noopHandle{}
}

// InvokeOnCancelling implements [Job].
func (j *job) InvokeOnCancelling(h func(cause error)) DisposableHandle {
	if h == nil {
		panic("core: InvokeOnCancelling called with a nil handler")
	}
	if s := j.state.Load(); s&stCancelled != 0 || completedWord(s) {
		// Fast path: already cancelling or final, run at once unstored.
		j.run(&newHandler(j, nodeCancelling, h).node, j.Cause())
		return noopHandle{}
	}
	n := newHandler(j, nodeCancelling, h)
	if now, cause := j.registerCancelKind(&n.node); now {
		j.run(&n.node, cause)
		return noopHandle{}
	}
	return n
}

// registerCancelKind pushes n, a node that runs when the job starts
// cancelling, and settles the race with a concurrent cancellation: if the
// job is cancelling or final, whoever claims n first runs it. It returns
// true, with the cause to run n with, when the caller must run n itself.
//
// Why nothing is missed: the canceller sets stCancelled and then reads the
// head; the registrant pushes and then reads the state. With sequentially
// consistent atomics one of them sees the other's write, so either the
// canceller's walk finds n or the registrant sees the flag (or both, and
// the claim decides).
func (j *job) registerCancelKind(n *node) (now bool, cause error) {
	if !j.push(n) {
		n.state.Store(nodeFired)
		return true, j.Cause()
	}
	if s := j.state.Load(); (s&stCancelled != 0 || completedWord(s)) && n.claim() {
		return true, j.Cause() // the root cause while cancelling, then the final one
	}
	return false, nil
}
