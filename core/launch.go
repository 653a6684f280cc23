package core

import "context"

// Launch starts body on a new goroutine, as a new job whose parent is
// JobOf(ctx), and returns the job at once. body gets the job's own context.
//
// Returning nil completes the job (once its children have). Returning a
// cancellation (IsCancellation) cancels it normally, and so does an error
// that matches the job's own done context's Err (the echo of its own
// cancellation, e.g. context.DeadlineExceeded). Any other error, a panic
// (recovered into a [*PanicError]) or runtime.Goexit fails it: the failure
// cancels the parent, or, when no parent handles it, goes to the exception
// handler (see [WithExceptionHandler]).
//
// A job cancelled before its body started never runs it. With [Lazy] the
// job waits in New until started. A job launched under a parent that is
// cancelling or complete starts Cancelled, unattached, and never runs its
// body; so does one whose ctx is already done. If ctx can be cancelled on
// its own (a context.WithCancel or deadline context, possibly derived from a
// job's context), the job is also cancelled when ctx is done.
//
// A nil ctx stands for context.Background(). Launch panics if body is nil.
func Launch(ctx context.Context, body func(ctx context.Context) error, opts ...Option) Job {
	if body == nil {
		panic("core: Launch called with a nil body")
	}
	o := buildOptions(opts)
	return start(newJob(ctx, fReports|fHandles, o.name, o.lazy, body), o.lazy, body)
}

// start runs body, the body of the new job j, on a new goroutine, unless the
// job is lazy (its extra keeps body for Start) or was born cancelled.
func start(j *job, lazy bool, body func(context.Context) error) *job {
	if lazy {
		return j
	}
	if j.IsCancelled() {
		// Born cancelled (or cancelled already): the body never runs.
		j.completeOwnWork()
		return j
	}
	go j.runBody(body) // ends when body returns: the job is then completing
	return j
}

// NewJob returns an Active job without a body, a child of JobOf(ctx) (a nil
// ctx, or one without a job, makes a root). It completes only through
// Complete, Fail or Cancel (or its parent's cancellation), and then only
// once its children have: a parent waits for it like for any child. A
// failure of its children cancels it, and climbs on to its parent; it
// reports nothing to an exception handler itself.
func NewJob(ctx context.Context) CompletableJob {
	return newJob(ctx, fBodyless, "", false, nil)
}

// NewSupervisorJob is like [NewJob], but its children fail independently:
// a child's failure cancels neither the supervisor nor its other children,
// and goes to the exception handler of the child's context instead.
func NewSupervisorJob(ctx context.Context) CompletableJob {
	return newJob(ctx, fBodyless|fSupervisor, "", false, nil)
}

// newJob creates a job from ctx and attaches it to its parent. When the
// parent (or ctx) is done already, the job is cancelled before it is
// returned. Only a lazy job keeps body (in its extra, for Start); the
// caller runs the body of any other.
func newJob(ctx context.Context, flags uint8, name string, lazy bool, body func(context.Context) error) *job {
	if ctx == nil {
		ctx = context.Background()
	}
	parent := jobOf(ctx)
	if flags&fBodyless != 0 && flags&fSupervisor == 0 && parent != nil {
		// A body-less job handles failures if some job above it does.
		flags |= parent.asChild.flags & fHandles
	}
	j := &job{}
	j.asChild.kind = nodeChild
	j.asChild.flags = flags
	if lazy {
		j.state.Store(stNew)
		j.extra.Store(&extra{body: body})
	}
	if name != "" || !impliedContext(ctx, parent) {
		// Only what the parent's context cannot tell needs an extra.
		x := j.extras()
		x.name, x.ctx = name, ctx
	}
	if parent != nil {
		j.parent = parent
		if !parent.attach(j) {
			j.parent = nil // not attached: a root after all
			// Not yet published: the extra may still be written.
			if x := j.extras(); x.ctx == nil {
				x.ctx = ctx // j.context() can no longer ask the parent
			}
			j.cancel(parent.causeForLateChild(), 0)
			return j
		}
	}
	j.watch(ctx, parent)
	return j
}

// attach makes c a child of p, starting p if it is New. It fails, leaving c
// alone, when p is cancelling, final or finalizing.
//
// The child is counted first (so that p cannot finalize without it), then
// its node is pushed. A cancellation of p that set stCancelled before the
// push may have walked the list without the node: the word is read again
// after the push, and if p is cancelling this call cancels c too. (Pushing
// first would let p's walk find, and finalize, a child that was never
// counted.)
func (p *job) attach(c *job) bool {
	for {
		s := p.state.Load()
		if s&stCancelled != 0 || closed(s) {
			return false
		}
		ns := (s + oneHold) &^ stNew // a child starts its lazy parent
		// CAS: count the child; retry if the word changed.
		if p.state.CompareAndSwap(s, ns) {
			if s&stNew != 0 {
				p.startLazy()
			}
			break
		}
	}
	// Cannot fail: p is not final while it counts c.
	p.push(&c.asChild)
	if p.state.Load()&stCancelled != 0 {
		// p's walk may also have found c: a second cancellation with
		// the same cause changes nothing.
		c.cancel(causeForChild(p.rootCause()), 0)
	}
	return true
}

// causeForLateChild is the cause of a child created under p once p is
// cancelling, finalizing or final.
func (p *job) causeForLateChild() error {
	if root := p.rootCause(); root != nil {
		return causeForChild(root)
	}
	return &CancellationError{Message: "parent job is completed"}
}

// watch cancels j when ctx is done, if ctx can be done on its own: when it
// is neither the parent's context nor shares its Done channel.
func (j *job) watch(ctx context.Context, parent *job) {
	if isContextOf(ctx, parent) {
		return // the common case: no other source of cancellation
	}
	done := ctx.Done()
	if done == nil || (parent != nil && done == parent.Context().Done()) {
		return
	}
	if ctx.Err() != nil {
		j.cancel(ctxCancellation(ctx), 0)
		return
	}
	stop := context.AfterFunc(ctx, func() { j.cancel(ctxCancellation(ctx), 0) })
	j.InvokeOnCompletion(func(error) { stop() })
}

// isContextOf reports whether ctx is p's own context (false for a nil p).
func isContextOf(ctx context.Context, p *job) bool {
	c, ok := ctx.(*jobContext)
	return ok && p != nil && (*job)(c) == p
}

// impliedContext reports whether ctx is what job.context returns for a job
// with parent p and no ctx of its own: p's context, or, for a root,
// context.Background().
func impliedContext(ctx context.Context, p *job) bool {
	if p == nil {
		return ctx == context.Background()
	}
	return isContextOf(ctx, p)
}

// context returns the context the job was created from: kept in extra, or,
// when it was the parent's own context, the parent's.
func (j *job) context() context.Context {
	if x := j.extra.Load(); x != nil && x.ctx != nil {
		return x.ctx
	}
	if j.parent != nil {
		return j.parent.Context()
	}
	return context.Background()
}

// ctxCancellation is the cause of a job cancelled because the context it
// was created from is done.
func ctxCancellation(ctx context.Context) error { return cancellationFrom(ctx, "context done") }

// Start implements [Job].
func (j *job) Start() bool {
	for {
		s := j.state.Load()
		if s&stNew == 0 || s&(stCancelled|stCompleting|stFinal) != 0 {
			return false
		}
		// CAS: New → Active; retry if a child was attached meanwhile.
		if j.state.CompareAndSwap(s, s&^stNew) {
			j.startLazy()
			return true
		}
	}
}

// startLazy runs the body of a lazy job, which the caller just took out of
// New, on a new goroutine (it ends when the body returns). A lazy job's
// extra holds its body (see newJob).
func (j *job) startLazy() { go j.runBody(j.extra.Load().body) }

// runBody runs body, the job's body, with its context and ends the job's own work
// with the outcome. A panic or runtime.Goexit in the body becomes a
// failure; the deferred call tells them apart (recover returns nil for
// Goexit) and still ends the job before Goexit goes on unwinding.
func (j *job) runBody(body func(context.Context) error) {
	if j.IsCancelled() {
		j.endBody(nil) // cancelled before it started: the body never runs
		return
	}
	normal := false
	var err error
	defer func() {
		if !normal {
			if r := recover(); r != nil {
				err = newPanicError(r)
			} else {
				err = errGoexit
			}
		}
		j.endBody(err)
	}()
	err = body(j.Context())
	normal = true
}
