package cancel

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/jobtree/jobtree/core"
)

// NonCancellable returns a context for clean-up code that must run to its
// end although the job it belongs to is cancelled: kotlinx's
// withContext(NonCancellable). The returned context
//
//   - keeps ctx's values (the exception handler installed with
//     core.WithExceptionHandler, request-scoped values, …);
//   - is never done: Done returns nil, Err and context.Cause return nil,
//     and it has no deadline;
//   - carries no job: core.JobOf returns nil for it and for every context
//     derived from it, so EnsureActive and IsActive report it active, and
//     a job launched from it is a root — its parent neither cancels it nor
//     waits for it. Give such work an owner: join it before the clean-up
//     returns.
//
// Bound the clean-up in time by deriving a context from it, e.g.
// context.WithTimeout(cancel.NonCancellable(ctx), 5*time.Second): that
// context is cancelled by its own deadline only.
//
// Calls that take the returned context are not interrupted when ctx is
// cancelled; the code after the clean-up notices the cancellation at its
// next check of ctx. A nil ctx stands for context.Background().
func NonCancellable(ctx context.Context) context.Context {
	if ctx == nil {
		ctx = context.Background()
	}
	if nc, ok := ctx.(nonCancellable); ok {
		return nc
	}
	return nonCancellable{parent: ctx, values: context.WithoutCancel(ctx)}
}

// nonCancellable is the context NonCancellable returns. It is a value: two
// fields, both immutable.
type nonCancellable struct {
	parent context.Context // the context passed to NonCancellable, for String
	// values is context.WithoutCancel(parent): it answers Value, and its
	// Value hides the parent's cancellation from context.Cause.
	values context.Context
}

// Deadline reports no deadline: a context that is never done has none.
func (nonCancellable) Deadline() (time.Time, bool) { return time.Time{}, false }

// Done returns nil: the context is never done.
func (nonCancellable) Done() <-chan struct{} { return nil }

// Err returns nil: the context is never done.
func (nonCancellable) Err() error { return nil }

// Value returns the value ctx holds for key, except the job: a value
// through which core.JobOf would find a job is hidden.
//
// context.WithoutCancel alone hides the job from core.JobOf only because
// its Done is nil; a context derived from it with context.WithCancel or
// WithTimeout has a Done again, and core.JobOf would find, through Value,
// the (cancelled) job the clean-up was meant to escape: jobs launched there
// would be born cancelled, and EnsureActive would fail. Hiding the value
// itself keeps every derived context job-free.
func (c nonCancellable) Value(key any) any {
	v := c.values.Value(key)
	if j, ok := v.(core.Job); ok && isJobKey(key, j) {
		return nil
	}
	return v
}

// String describes the context, as the context package's do.
func (c nonCancellable) String() string {
	if s, ok := c.parent.(interface{ String() string }); ok {
		return s.String() + ".NonCancellable"
	}
	return "cancel.NonCancellable"
}

// isJobKey reports whether core.JobOf finds job j through the value j held
// under key: the question is asked to core itself, by a probe context that
// holds nothing else, so that no knowledge of core's private key is needed.
// Only values that are jobs get here: the probe is off every other path.
// The first key the probe confirms is remembered, so that later lookups of
// it (every core.JobOf and core.Launch on a clean-up context) need no
// probe.
func isJobKey(key any, j core.Job) bool {
	if k := knownJobKey.Load(); k != nil && k.key == key {
		return true
	}
	if core.JobOf(jobProbe{key: key, job: j}) != j {
		return false
	}
	knownJobKey.CompareAndSwap(nil, &jobKeyBox{key})
	return true
}

// knownJobKey is nil until isJobKey first confirms a key, then that key;
// written once (by CAS), read atomically.
var knownJobKey atomic.Pointer[jobKeyBox]

// jobKeyBox holds a confirmed key: keys are of any type, atomic.Pointer
// needs one.
type jobKeyBox struct{ key any }

// jobProbe is a context that holds one value, job under key, and has a Done
// channel (core.JobOf ignores contexts that can never be cancelled).
type jobProbe struct {
	key any
	job core.Job
}

// neverDone is the Done channel of every jobProbe; nothing closes it.
var neverDone = make(chan struct{})

func (jobProbe) Deadline() (time.Time, bool) { return time.Time{}, false }
func (jobProbe) Done() <-chan struct{}       { return neverDone }
func (jobProbe) Err() error                  { return nil }
func (p jobProbe) Value(key any) any {
	if key == p.key {
		return p.job
	}
	return nil
}
