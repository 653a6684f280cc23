package core

// InvokeOnCompletion implements [Job].
func (j *job) InvokeOnCompletion(h func(cause error)) DisposableHandle {
	if h == nil {
		panic("core: InvokeOnCompletion called with a nil handler")
	}
	n := &node{kind: nodeCompletion, owner: j, fn: h}
	if j.push(n) {
		// The finalizer takes the list by swapping the head: it will see n.
		return n
	}
	n.state.Store(nodeFired)
	j.run(n, j.Cause())
	return noopHandle{}
}

// InvokeOnCancelling implements [Job].
func (j *job) InvokeOnCancelling(h func(cause error)) DisposableHandle {
	if h == nil {
		panic("core: InvokeOnCancelling called with a nil handler")
	}
	if j.state.Load()&(stCancelled|stFinal) != 0 {
		// Fast path: already cancelling or final, run at once unstored.
		j.run(&node{kind: nodeCancelling, fn: h}, j.Cause())
		return noopHandle{}
	}
	n := &node{kind: nodeCancelling, owner: j, fn: h}
	if now, cause := j.registerCancelKind(n); now {
		j.run(n, cause)
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
	if j.state.Load()&stCancelled != 0 && n.claim() {
		return true, j.rootCause()
	}
	return false, nil
}
