package core

import (
	"context"
	"errors"
	"time"
)

// jobContext is the job's own context: the same memory as the job, seen
// through another method set, so that [Job.Context] allocates nothing.
//
// It is done as soon as the job starts cancelling or is final. It
// implements the AfterFunc method that the context package looks for, so
// that contexts derived from it (WithCancel, WithTimeout, AfterFunc, …)
// register a handler on the job instead of starting a goroutine each.
type jobContext job

// Deadline returns the deadline of the context the job was created from.
func (c *jobContext) Deadline() (time.Time, bool) { return (*job)(c).context().Deadline() }

// Done returns a channel closed when the job starts cancelling, fails or
// completes — after the state changed, so a body that sees it closed sees
// IsActive false.
func (c *jobContext) Done() <-chan struct{} {
	return (*job)(c).ctxChan()
}

// Err returns nil while the job is New, Active or Completing; then
// context.DeadlineExceeded when a deadline caused the cancellation, else
// context.Canceled (also after normal completion).
func (c *jobContext) Err() error {
	s := c.state.Load()
	if s&(stCancelled|stFinal) == 0 {
		return nil
	}
	// Done is closed right after the flag is set, before any handler
	// runs; wait for that, as cancelCtx.Err does, so that a non-nil Err
	// always comes with a closed Done.
	<-c.Done()
	if s&stCancelled != 0 && errors.Is((*job)(c).record(s).root, context.DeadlineExceeded) {
		return context.DeadlineExceeded
	}
	return context.Canceled
}

// Value returns the job for [JobOf]'s key, a cancelled context carrying the
// job's cause for the key of context.Cause, and otherwise the value of the
// context the job was created from.
func (c *jobContext) Value(key any) any {
	switch key {
	case jobKey:
		return (*job)(c)
	case cancelCtxKey:
		if cancelCtxKey != nil {
			return c.causeContext()
		}
	}
	return (*job)(c).context().Value(key)
}

// String describes the context, e.g. "Job#3{Active}.Context".
func (c *jobContext) String() string { return (*job)(c).String() + ".Context" }

// AfterFunc arranges for f to run once the context is done, synchronously
// on the goroutine that cancels or completes the job; if the context is
// done already, or becomes done while AfterFunc registers f, f runs on a
// goroutine of its own (the context package calls AfterFunc with a lock
// held and needs f not to run inside the call). stop unregisters f and
// reports whether it stopped f from running.
func (c *jobContext) AfterFunc(f func()) (stop func() bool) {
	j := (*job)(c)
	n := newHandler(j, nodeAfterFunc, func(error) { f() })
	if now, _ := j.registerCancelKind(&n.node); now {
		go f() // ends when f returns: f is a context's cancel function
	}
	return n.dispose
}

// completedCause is the context cause of a job that completed normally.
var completedCause = &CancellationError{Message: "job completed"}

// shadowCtx caches the cancelled context that carries the job's cause.
type shadowCtx struct {
	cc    any  // what the shadow returns for the context.Cause key
	final bool // made after the job was final: the cause can no longer change
}

// causeContext returns, for a done context, what a cancelled
// context.WithCancelCause context returns for the key context.Cause looks
// up, so that context.Cause(ctx) (and the contexts derived from ctx) report
// the job's cause. It returns nil while the context is not done.
func (c *jobContext) causeContext() any {
	j := (*job)(c)
	if c.Err() == nil {
		return nil
	}
	x := j.extras()
	if sh := x.shadow.Load(); sh != nil && (sh.final || !j.IsCompleted()) {
		return sh.cc
	}
	final := j.IsCompleted()
	cause := j.Cause()
	if cause == nil {
		cause = completedCause
	}
	ctx, stop := context.WithCancelCause(context.Background())
	stop(cause)
	sh := &shadowCtx{cc: ctx.Value(cancelCtxKey), final: final}
	x.shadow.Store(sh)
	return sh.cc
}

// cancelCtxKey is the key with which context.Cause asks a context for its
// innermost cancelCtx. The context package does not export it; it is read
// once, at start-up, by asking context.Cause about a probe context. If a
// future Go looks causes up differently, it is nil and context.Cause of a
// job's context returns its Err instead of the cause.
var cancelCtxKey = probeCancelCtxKey()

func probeCancelCtxKey() any {
	p := new(keyProbe)
	_ = context.Cause(p)
	return p.key
}

// keyProbe is a done context that remembers the first key it is asked for.
type keyProbe struct{ key any }

func (*keyProbe) Deadline() (time.Time, bool) { return time.Time{}, false }
func (*keyProbe) Done() <-chan struct{}       { return closedChan }
func (*keyProbe) Err() error                  { return context.Canceled }
func (p *keyProbe) Value(key any) any {
	if p.key == nil {
		p.key = key
	}
	return nil
}

// JobOf returns the job that ctx belongs to: the job whose context ctx is or
// derives from. It returns nil when ctx carries no job, or can never be
// cancelled (its Done is nil, e.g. context.WithoutCancel of a job's
// context): such a context hides the job, and jobs created from it are
// roots. A context derived from that one with a Done channel of its own
// (context.WithCancel(context.WithoutCancel(jobCtx))) still carries the
// job's value, and the context package offers no way to see the
// WithoutCancel below it: JobOf returns the job again. For clean-up code
// that derives contexts, use cancel.NonCancellable, which hides the job
// from everything derived from it.
func JobOf(ctx context.Context) Job {
	if j := jobOf(ctx); j != nil {
		return j
	}
	return nil
}

// jobOf is [JobOf] with the concrete type.
func jobOf(ctx context.Context) *job {
	if ctx == nil {
		return nil
	}
	if c, ok := ctx.(*jobContext); ok {
		return (*job)(c)
	}
	j, _ := ctx.Value(jobKey).(*job)
	if j == nil || ctx.Done() == nil {
		return nil
	}
	return j
}

// ctxError returns nil while ctx is not done, else the error with which a
// wait reports it (rule 11): a *CancellationError carrying
// context.Cause(ctx), or that cause itself when it already is one.
func ctxError(ctx context.Context) error {
	if ctx.Err() == nil {
		return nil
	}
	return cancellationFrom(ctx, "wait cancelled")
}

// cancellationFrom returns context.Cause(ctx) of a done ctx when it is a
// *CancellationError, else a cancellation with message msg wrapping it.
func cancellationFrom(ctx context.Context, msg string) error {
	cause := context.Cause(ctx)
	if ce, ok := cause.(*CancellationError); ok {
		return ce
	}
	return &CancellationError{Message: msg, Cause: cause}
}
