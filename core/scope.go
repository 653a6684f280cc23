package core

import "context"

// Scope runs body on the caller's goroutine as a new child job of
// JobOf(ctx), waits for it and all the jobs it launched, and returns nil if
// it completed, else its final cause: the first failure (the body's or a
// child's, with later ones attached), or the cancellation cause if it was
// cancelled, e.g. by the caller's job. A failure cancels the rest of the
// scope. Scope never passes its failure up the tree: the caller decides.
//
// A panic in body is recovered and returned as a [*PanicError]. Under a
// parent that is cancelling or complete, or a ctx that is done, body never
// runs and Scope returns the cancellation. A nil ctx stands for
// context.Background(); Scope panics if body is nil.
func Scope(ctx context.Context, body func(ctx context.Context) error) error {
	return runScope(ctx, body, fScoped|fHandles, "Scope")
}

// SupervisorScope is like [Scope], but the children fail independently:
// a child's failure cancels neither the scope nor its siblings and goes to
// the exception handler of the child's context. It returns only the body's
// own error (or the cancellation cause).
func SupervisorScope(ctx context.Context, body func(ctx context.Context) error) error {
	return runScope(ctx, body, fScoped|fSupervisor, "SupervisorScope")
}

// runScope is the common part of the scopes.
func runScope(ctx context.Context, body func(context.Context) error, flags uint8, fn string) error {
	if body == nil {
		panic("core: " + fn + " called with a nil body")
	}
	j := newJob(ctx, flags, "", false, nil) // runs body here
	j.runBody(body)
	<-j.Done()
	return j.Cause()
}
