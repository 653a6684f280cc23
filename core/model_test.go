package core_test

// Model-based randomized test (issue 6, item 1; API rules 1–13, 15).
//
// A sequential reference model of the job tree — states, parent links,
// causes, failures passed up, exception handler reports — is driven with
// random operations, and the same operations are applied to the real
// implementation from several goroutines. After each phase the real trees
// are compared with the model once they are quiescent, and once more when
// everything has finished.
//
// What keeps the expected result deterministic although the real
// operations run concurrently:
//
//   - A round is a small forest of independent trees (each root has no
//     parent). In each phase every tree gets at most one operation that may
//     change its state (create a child, Cancel, Complete, Fail, release a
//     body with an outcome, CancelChildren, Start); the operations on
//     different trees run at once, on goroutines released together.
//   - Most bodies never look at their context: each blocks on a channel of
//     its own until the driver releases it with an outcome (nil, a failure,
//     a panic, a cancellation, or the echo ctx.Err()).
//   - The other bodies are watchers (one Launch in four): a watcher blocks
//     until its context is done and then returns ctx.Err() by itself, on
//     its own goroutine — the echo of its own cancellation, which core
//     takes as a cancellation (API rule 2), never as a failure. The driver
//     never releases a watcher: the model ends it the moment it cancels its
//     job (Cancel, CancelChildren or Fail of the job or of an ancestor, a
//     failure climbing into an ancestor), and the job ends Cancelled with
//     its root cause once its children are final. This is the one change a
//     tree makes without the driver, and it lands while the operation that
//     cancelled the watcher may still be running: the watcher can finalize
//     its job, and through it the ancestors, while a failing call still
//     drains and climbs. That interleaving once lost a failure
//     (TestRule7_FailureNotLostToConcurrentFinalization): a failing job's
//     child ended at once and finalized it, and its parent, waiting in
//     Completing for it alone, completed before the failure reached it. In
//     half of the trees, three operations in four of a random phase steer
//     toward it (planAim).
//     The watchers' timing cannot change the expected result. Their return
//     records no cause (their job has a root cause already); it only lets
//     jobs finalize. The jobs it lets finalize in a phase are the ones the
//     phase's operation cancelled and their ancestors, and the only failure
//     among them is the operation's own (one Fail or body outcome per tree
//     and phase), which core hands up exactly once — by the climb or by the
//     finalizer, whichever claims it first, the parent held meanwhile. A
//     job holding an earlier failure was cancelled in an earlier phase,
//     with its whole subtree, so its watchers ended then. The model ends
//     the watchers an operation cancelled right after applying the
//     operation, in the order it cancelled them (one of the possible
//     interleavings). No phase waits for a watcher's goroutine to leave: a
//     return still on its way only delays its job's finalization, which the
//     checks wait for.
//   - Scopes (rule 13). Instead of returning, a body (a Launch's, or a
//     scope's) can be told to call core.Scope or core.SupervisorScope (one
//     new child in five; a root is a scope one time in five, called from a
//     driver goroutine). The scope's body takes its job from core.JobOf(ctx),
//     so that the scope is a job of the tree like any other, and is then a
//     body like a Launch's: released by the driver, or told to call a
//     nested scope. The model keeps the scope's failures from climbing past
//     it and from being reported, and treats a Scope as handling its
//     children's failures and a SupervisorScope as a supervisor. Once the
//     scope is final, Scope returns its cause (checked: nil if it
//     completed) and the host's body returns exactly that, which core takes
//     as any body's return: a failure (a *core.MultiError too) fails the
//     host and climbs by the normal rules, a cancellation cancels it. A
//     scope born cancelled (its host's job is cancelling) never runs its
//     body, so its job is never seen: only what Scope returns is checked.
//     Like a watcher's end, a Scope's return is a change the tree makes
//     without the driver, and the model applies it in the same queue, in
//     order. It happens once the scope's whole subtree is final, so the
//     operation's own work inside it is over, and the failure of the
//     operation stopped at the scope. It gives the host a root cause only
//     if the host was not cancelled: Cancel or CancelChildren above the
//     host cancels the host before the scope (they go top-down), so the
//     operation was on the scope or inside it, and the host's new cause,
//     and whatever it cancels and fails above, follows the operation's
//     work. The exception is CancelChildren on the host itself, which may
//     still be cancelling the host's other children when the scope's
//     return cancels them with another cause: the planner does not choose
//     it when the scope could end in that phase (mScopeRace).
//   - So a tree changes only through the driver's one operation per phase
//     and the watchers and Scope returns it causes, and the order in which
//     failures reach an ancestor is fixed.
//   - What cannot change a state runs alongside anything: registering and
//     disposing completion and cancelling handlers (on any job of the
//     forest, from goroutines of their own), and Join. A handler registered
//     or disposed in the same phase as its trigger may run, or not (at most
//     once); one disposed before its trigger never runs; every other one
//     runs exactly once, with the cause the model predicts.
//
// The model mirrors core's rules for failures (docs/design.md §2): a
// failure is offered to the parent when it becomes a job's root cause and
// climbs while it becomes the root of each ancestor; the later failures a
// job recorded are handed to its parent one by one when it finalizes; the
// final cause is the first failure with the later ones attached in arrival
// order (a *core.MultiError), de-duplicated by identity; errors of an
// uncomparable type (never "the same") and chains of three or more levels
// are generated on purpose, since both once hid a double delivery.
//
// Quiescence is observed without sleeping: the checker compares the real
// forest with the model, spinning (runtime.Gosched) until they agree. When
// they still disagree it asks whether the round is quiescent — every
// goroutine of the round is labelled (runtime/pprof), bodies started by
// core inherit the label, and the round is quiescent when the only labelled
// goroutines left are the bodies the model says are blocked and the Join
// calls still waiting — and then reports the difference at once.
//
// Replay: every failure names its seed and round; JOBTREE_MODEL_SEED=S
// JOBTREE_MODEL_ROUND=R replays that round (the same operations; the
// timing differs). JOBTREE_MODEL_MUTANT=name injects a fault into the
// harness (see modelMutants) to show that the model catches it:
// TestModel_Mutants does so for each.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jobtree/jobtree/core"
	"github.com/jobtree/jobtree/internal/testkit"
)

// Environment variables of the model test.
const (
	modelSeedEnv   = "JOBTREE_MODEL_SEED"   // the seed of the run (else a fresh one)
	modelRoundEnv  = "JOBTREE_MODEL_ROUND"  // replay this round of the seed only
	modelMutantEnv = "JOBTREE_MODEL_MUTANT" // inject a fault into the harness
)

// Sizes of a run of TestModel, in trees (a round has 2 to 5).
const (
	modelTrees      = 10_000 // the first run in a test process
	modelTreesShort = 1_000  // under -short
	modelTreesAgain = 200    // later runs in the same process (-count=N)
)

// Shape of a round.
const (
	modelMaxJobs   = 8  // jobs per tree, root included
	modelMaxPhases = 40 // phases per round, random ones and draining ones
)

// ---------------------------------------------------------------------------
// Mutants: faults injected into the harness, never into core.

// modelMutant is a fault that the harness injects once per round (at a
// randomly chosen opportunity), to show that the checks catch it.
type modelMutant int

const (
	mutNone          modelMutant = iota
	mutSkipHandler               // a handler call is not recorded: as if core skipped it
	mutDoubleHandler             // a handler call is recorded twice: as if core called it twice
	mutDropCancel                // a Cancel the model applies is not made
	mutLoseFailure               // a body told to fail (or panic) returns nil
	mutScopeNil                  // Scope returns nil instead of its failure
)

// modelMutants names the mutants for JOBTREE_MODEL_MUTANT.
var modelMutants = map[string]modelMutant{
	"skip-handler":   mutSkipHandler,
	"double-handler": mutDoubleHandler,
	"drop-cancel":    mutDropCancel,
	"lose-failure":   mutLoseFailure,
	"scope-nil":      mutScopeNil,
}

func (m modelMutant) String() string {
	for name, v := range modelMutants {
		if v == m {
			return name
		}
	}
	return "none"
}

// ---------------------------------------------------------------------------
// Random choices.

// modelChooser is the source of every random choice of a round: a seeded
// generator, or the bytes of a fuzz input.
type modelChooser interface {
	IntN(n int) int
}

// modelBytes draws choices from fuzzer bytes; once they are used up every
// choice is 0 (and the round stops adding random phases).
type modelBytes struct {
	b []byte
	i int
}

func (c *modelBytes) IntN(n int) int {
	if n <= 1 || c.i >= len(c.b) {
		return 0
	}
	v := int(c.b[c.i])
	c.i++
	return v % n
}

// exhausted reports whether a chooser has run out of input (never, for a
// seeded generator).
func modelExhausted(c modelChooser) bool {
	b, ok := c.(*modelBytes)
	return ok && b.i >= len(b.b)
}

// ---------------------------------------------------------------------------
// Errors made by the driver.

// modelErr is a failure of a comparable type (a pointer): its identity is
// what core de-duplicates by.
type modelErr struct{ id int }

func (e *modelErr) Error() string { return "model failure " + strconv.Itoa(e.id) }

// modelUncomparable is a failure of an uncomparable type: == on two of them
// panics, and core must never treat two of them as the same error.
type modelUncomparable struct {
	id   int
	path []int // makes the type uncomparable
}

func (e modelUncomparable) Error() string { return "model uncomparable failure " + strconv.Itoa(e.id) }

// modelHandlerPanic is the value a panicking handler panics with.
type modelHandlerPanic struct{ id int }

// mFailure is an error value made by the driver: a failure given to Fail
// or returned by a body, the value of a panic, or a cause given to Cancel.
type mFailure struct {
	id           int
	err          error // the value itself
	uncomparable bool
	panicked     bool // it reaches core as the Value of a *core.PanicError
	sentinel     bool // err is context.Canceled
	// seen is the first error that matched it (for a panic, the
	// *core.PanicError): every later match must be that same error.
	seen error
}

// ---------------------------------------------------------------------------
// Causes, as the model predicts them.

// Kinds of mCause.
const (
	ckFailure = iota // a failure: fail
	ckCancel         // a *core.CancellationError: exact, or msg and inner
	ckMulti          // a *core.MultiError listing list
)

type mCause struct {
	kind  int
	fail  *mFailure
	exact *core.CancellationError // a cancellation made by the driver, used as is
	msg   string                  // else the message of one made by core
	inner *mCause                 // and its Cause (nil for none)
	list  []*mCause               // ckMulti: failures, in order
}

func (c *mCause) isCancel() bool { return c != nil && c.kind == ckCancel }

func (c *mCause) String() string {
	switch {
	case c == nil:
		return "<nil>"
	case c.kind == ckFailure:
		return c.fail.String()
	case c.kind == ckCancel && c.exact != nil:
		return fmt.Sprintf("CancellationError(%q, exact)", c.exact.Message)
	case c.kind == ckCancel:
		return fmt.Sprintf("CancellationError(%q, cause %v)", c.msg, c.inner)
	}
	parts := make([]string, len(c.list))
	for i, f := range c.list {
		parts[i] = f.String()
	}
	return "MultiError[" + strings.Join(parts, ", ") + "]"
}

func (f *mFailure) String() string {
	s := f.err.Error()
	if f.panicked {
		s = "panic(" + s + ")"
	}
	return s
}

func failureCause(f *mFailure) *mCause { return &mCause{kind: ckFailure, fail: f} }

// sameCause is core's sameError on model causes: the same failure value of
// a comparable type, or the very same *core.MultiError (a scope's, handed
// on by the body that called Scope: one mCause stands for one value).
func sameCause(a, b *mCause) bool {
	if a.kind == ckMulti {
		return a == b
	}
	return a.kind == ckFailure && b.kind == ckFailure && a.fail == b.fail && !a.fail.uncomparable
}

// causeForChild is the cause with which a parent whose root cause is root
// cancels its children (API rule 6).
func causeForChild(root *mCause) *mCause {
	if root.isCancel() {
		return root
	}
	return &mCause{kind: ckCancel, msg: "parent job is cancelling", inner: root}
}

// matchCause reports what is wrong with actual as the cause want, or "".
func matchCause(actual error, want *mCause) string {
	if want == nil {
		if actual != nil {
			return fmt.Sprintf("got %v (%T), want nil", actual, actual)
		}
		return ""
	}
	if actual == nil {
		return fmt.Sprintf("got nil, want %v", want)
	}
	switch want.kind {
	case ckFailure:
		return matchFailure(actual, want.fail)
	case ckCancel:
		ce, ok := actual.(*core.CancellationError)
		if !ok {
			return fmt.Sprintf("got %v (%T), want %v", actual, actual, want)
		}
		if want.exact != nil {
			if ce != want.exact {
				return fmt.Sprintf("got %v (%p), want the driver's own %v (%p)", ce, ce, want.exact, want.exact)
			}
			return ""
		}
		if ce.Message != want.msg {
			return fmt.Sprintf("got cancellation %q, want %q", ce.Message, want.msg)
		}
		if bad := matchCause(ce.Cause, want.inner); bad != "" {
			return fmt.Sprintf("cancellation %q: cause: %s", ce.Message, bad)
		}
		return ""
	}
	m, ok := actual.(*core.MultiError)
	if !ok {
		return fmt.Sprintf("got %v (%T), want %v", actual, actual, want)
	}
	errs := m.Unwrap()
	if len(errs) != len(want.list) {
		return fmt.Sprintf("got a MultiError of %d errors %v, want %v", len(errs), errs, want)
	}
	for i, w := range want.list {
		if bad := matchCause(errs[i], w); bad != "" {
			return fmt.Sprintf("MultiError element %d: %s (want %v)", i, bad, want)
		}
	}
	if bad := matchCause(m.First(), want.list[0]); bad != "" {
		return "MultiError.First(): " + bad
	}
	if !strings.HasPrefix(m.Error(), errs[0].Error()) {
		return fmt.Sprintf("MultiError.Error() = %q, want it to start with the first failure's text %q", m.Error(), errs[0].Error())
	}
	return ""
}

// matchFailure reports what is wrong with actual as the driver's error f.
func matchFailure(actual error, f *mFailure) string {
	got := actual
	if f.panicked {
		pe, ok := actual.(*core.PanicError)
		if !ok {
			return fmt.Sprintf("got %v (%T), want a *core.PanicError of %v", actual, actual, f)
		}
		v, ok := pe.Value.(error)
		if !ok {
			return fmt.Sprintf("got a panic of %v (%T), want %v", pe.Value, pe.Value, f)
		}
		got = v
	}
	switch {
	case f.sentinel:
		if got != f.err {
			return fmt.Sprintf("got %v (%T), want %v", got, got, f)
		}
	case f.uncomparable:
		u, ok := got.(modelUncomparable)
		if !ok || u.id != f.id {
			return fmt.Sprintf("got %v (%T), want %v", got, got, f)
		}
	default:
		if got != f.err {
			return fmt.Sprintf("got %v (%T), want %v", got, got, f)
		}
	}
	// One failure, one error value everywhere: a panic is recovered
	// into one *core.PanicError that travels up as it is.
	if f.panicked {
		if f.seen == nil {
			f.seen = actual
		} else if f.seen != actual {
			return fmt.Sprintf("got a second *core.PanicError for %v: %p, first seen %p", f, actual, f.seen)
		}
	}
	return ""
}

// ---------------------------------------------------------------------------
// The model of a job.

type mKind uint8

const (
	mkLaunch mKind = iota
	mkNewJob
	mkSupervisor
	mkScope           // the job of a core.Scope, made by a body (or a driver goroutine, at a root)
	mkSupervisorScope // the job of a core.SupervisorScope, likewise
)

func (k mKind) String() string {
	return [...]string{"Launch", "NewJob", "NewSupervisorJob", "Scope", "SupervisorScope"}[k]
}

func (k mKind) scope() bool { return k == mkScope || k == mkSupervisorScope }

// States of a job's body.
const (
	mbNone     = iota // no body (NewJob, NewSupervisorJob)
	mbWaiting         // lazy, not started
	mbRunning         // running: blocked until the driver releases it (a watcher: until cancelled; a host: until its scope returns)
	mbReturned        // returned
	mbNever           // will never run: cancelled before it started
)

// mNever is the phase of something that has not happened (yet).
const mNever = 1 << 30

// Modes of Cancel in the model, as in core's cancel.go.
const (
	mmFailure = 1 << iota // the cause is a failure: offered to the parent
	mmFail                // CompletableJob.Fail
	mmOwnWork             // the job's own work ends with this cause
)

type mJob struct {
	id      int
	name    string // for messages: "t2.j3"
	tree    *mTree
	kind    mKind
	lazy    bool
	watcher bool   // a Launch whose body returns ctx.Err() once its context is done
	opt     string // core.Named's name, "" for none

	handles, reports, supervisor bool
	rec                          *modelRecorder // exception handler of its creation context

	// Scopes. A scope's body runs on the goroutine that called Scope: its
	// host's body (host is its parent then), or a driver goroutine for a
	// root scope (host nil).
	scoped  bool  // a Scope or SupervisorScope job: its failure is returned, never passed up
	inScope bool  // a scope is above it
	host    *mJob // the body that called Scope; nil for a root scope
	hosting *mJob // the scope this body is inside of (blocked in Scope), nil if none
	wrap    bool  // Scope is called with a context of its own exception handler
	// What Scope returned: scopeRet, valid once scopeDone is closed.
	scopeRet  error
	scopeDone chan struct{}
	// The goroutine labels while the scope's body runs, and the text
	// that finds them in a goroutine profile (modelScopeKey).
	lctx  context.Context
	lfind string

	parent *mJob   // attached parent; nil for a root or a job born cancelled
	kids   []*mJob // attached children, in attach order
	holds  int     // attached children not yet final

	isNew, cancelled, completing, final bool
	body                                int
	root                                *mCause
	rootFailure, offered                bool
	others                              []*mCause // later failures, in arrival order
	finalCause                          *mCause
	cancelPhase, finalPhase             int
	reportIdx                           int // index of its report in rec.want, -1 if none

	// The real job and its body's channels, made at plan time.
	real     core.Job
	cj       core.CompletableJob
	started  chan struct{}
	release  chan modelOutcome
	bodyRuns atomic.Int32
	returned atomic.Bool

	handlers []*mHandler // guarded by the round's mu
}

func (j *mJob) finalizing() bool { return j.completing && j.holds == 0 && !j.final }
func (j *mJob) closed() bool     { return j.final || j.finalizing() }

func (j *mJob) state() core.State {
	switch {
	case j.final && j.cancelled:
		return core.Cancelled
	case j.final:
		return core.Completed
	case j.cancelled:
		return core.Cancelling
	case j.isNew:
		return core.New
	case j.completing:
		return core.Completing
	}
	return core.Active
}

// cause is what Cause() returns.
func (j *mJob) cause() *mCause {
	switch {
	case !j.cancelled:
		return nil
	case j.final:
		return j.finalCause
	}
	return j.root
}

func (j *mJob) String() string {
	s := j.name + "(" + j.kind.String()
	if j.lazy {
		s += " lazy"
	}
	if j.watcher {
		s += " watcher"
	}
	return s + ")"
}

// cancellationOf is core's cancellationOf: the cause of an explicit
// Cancel(cause) on j.
func (j *mJob) cancellationOf(cause *mCause) *mCause {
	if cause.isCancel() && cause.exact != nil {
		return cause
	}
	msg := "job was cancelled"
	if j.opt != "" {
		msg = j.opt + " was cancelled"
	}
	return &mCause{kind: ckCancel, msg: msg, inner: cause}
}

type mTree struct {
	idx  int
	root *mJob
	jobs []*mJob
	aim  bool // steer toward the interleaving of planAim
}

func (t *mTree) done() bool { return t.root != nil && t.root.final && t.allFinal() }

func (t *mTree) allFinal() bool {
	for _, j := range t.jobs {
		if !j.final {
			return false
		}
	}
	return true
}

// ---------------------------------------------------------------------------
// The model's transitions: core's algorithm on plain fields (cancel.go,
// complete.go). Every call happens on the round's goroutine, at plan time.

type mRecord struct {
	root             *mCause
	failure, offered bool
}

type mItem struct {
	j   *mJob
	rec mRecord
}

func (r *modelRound) mCancel(j *mJob, cause *mCause, mode int) bool {
	if mode&mmFailure != 0 && !j.cancelled && r.mRacy(j) {
		// The failure will climb while the watchers it cancels may
		// finalize j, all its parent waits for in Completing: the
		// interleaving of TestRule7_FailureNotLostToConcurrentFinalization.
		r.races++
	}
	ok, rooted, last, work := r.mCancelStep(j, mRecord{root: cause, failure: mode&mmFailure != 0}, mode, nil)
	r.mDrain(work)
	if rooted && mode&mmFailure != 0 && !j.offered {
		j.offered = true
		r.mOfferUp(j, cause)
	}
	if last {
		r.mFinalize(j)
	}
	return ok
}

func (r *modelRound) mDrain(work []mItem) {
	for len(work) > 0 {
		it := work[len(work)-1]
		work = work[:len(work)-1]
		var last bool
		if _, _, last, work = r.mCancelStep(it.j, it.rec, 0, work); last {
			r.mFinalize(it.j)
		}
	}
}

func (r *modelRound) mOfferUp(j *mJob, err *mCause) {
	for x, rooted := j, true; rooted; {
		p := x.parent
		if p == nil || p.supervisor || x.scoped {
			return
		}
		var work []mItem
		_, rooted, _, work = r.mCancelStep(p, mRecord{root: err, failure: true, offered: true}, 0, nil)
		r.mDrain(work)
		x = p
	}
}

func (r *modelRound) mCancelStep(j *mJob, rec mRecord, mode int, work []mItem) (ok, rooted, last bool, _ []mItem) {
	if mode&mmFail != 0 {
		if j.closed() || j.completing || j.cancelled {
			return false, false, false, work
		}
		j.completing = true
		rooted = r.mPublish(j, rec)
		j.cancelled = true
		j.cancelPhase = r.phase
		work = r.mNotify(j, work)
		return true, rooted, j.finalizing(), work
	}
	if j.closed() {
		return false, false, false, work
	}
	rooted = r.mPublish(j, rec)
	completing := j.completing || mode&mmOwnWork != 0 || j.body == mbNone || j.isNew
	if j.cancelled && completing == j.completing {
		return true, rooted, false, work
	}
	was := j.cancelled
	j.cancelled, j.completing = true, completing
	if j.isNew {
		j.body = mbNever // Start refuses a cancelled job
	}
	if !was {
		j.cancelPhase = r.phase
		work = r.mNotify(j, work)
		if j.watcher && j.body == mbRunning {
			r.watchers = append(r.watchers, j) // its body returns now
		}
	}
	return true, rooted, j.finalizing(), work
}

func (r *modelRound) mPublish(j *mJob, rec mRecord) bool {
	if j.root == nil {
		j.root, j.rootFailure, j.offered = rec.root, rec.failure, rec.offered
		return true
	}
	if !rec.root.isCancel() && !sameCause(rec.root, j.root) {
		j.others = append(j.others, rec.root)
	}
	return false
}

func (r *modelRound) mNotify(j *mJob, work []mItem) []mItem {
	var rec *mRecord
	for _, k := range j.kids {
		if k.final {
			continue
		}
		if rec == nil {
			rec = &mRecord{root: causeForChild(j.root)}
		}
		work = append(work, mItem{k, *rec})
	}
	return work
}

func (r *modelRound) mFinalize(j *mJob) {
	for x := j; x != nil; {
		x = r.mFinalizeOne(x)
	}
}

func (r *modelRound) mFinalizeOne(j *mJob) *mJob {
	if j.cancelled {
		final, _ := j.mFinalCause()
		j.finalCause = final
		if !final.isCancel() {
			r.mPassFailure(j, final)
		}
	}
	j.final = true
	j.finalPhase = r.phase
	if j.scoped {
		// Scope returns now, on its host's goroutine: in order with
		// the watchers' returns (mEndWatchers).
		r.watchers = append(r.watchers, j)
	}
	if p := j.parent; p != nil {
		p.holds--
		if p.finalizing() {
			return p
		}
	}
	return nil
}

func (r *modelRound) mPassFailure(j *mJob, final *mCause) {
	handled := false
	if p := j.parent; p != nil && !p.supervisor && !j.scoped {
		fails := []*mCause{final}
		if final.kind == ckMulti {
			fails = final.list
		}
		if j.rootFailure {
			if j.offered {
				// The root went up already: skip it, all of it when
				// it is an aggregate (a scope's MultiError returned
				// by a body), whose failures lead the final cause.
				skip := 1
				if j.root.kind == ckMulti {
					skip = len(j.root.list)
				}
				fails = fails[skip:]
			} else {
				j.offered = true
			}
		}
		for _, f := range fails {
			r.mCancel(p, f, mmFailure)
		}
		handled = p.handles
	}
	if !handled && j.reports {
		j.reportIdx = len(j.rec.want)
		j.rec.want = append(j.rec.want, modelReport{job: j, cause: final})
	}
}

func (j *mJob) mFinalCause() (*mCause, bool) {
	if len(j.others) == 0 {
		return j.root, true
	}
	var failures []*mCause
	appendNew := func(c *mCause) {
		for _, f := range failures {
			if sameCause(f, c) {
				return
			}
		}
		failures = append(failures, c)
	}
	for _, c := range append([]*mCause{j.root}, j.others...) {
		switch {
		case c.isCancel():
		case c.kind == ckMulti:
			// An aggregate (a scope's, returned by a body) is
			// flattened: the final cause lists failures.
			for _, f := range c.list {
				appendNew(f)
			}
		default:
			appendNew(c)
		}
	}
	switch len(failures) {
	case 0:
		return j.root, true
	case 1:
		return failures[0], j.rootFailure
	}
	return &mCause{kind: ckMulti, list: failures}, false
}

// mEndOwnWork is core's endOwnWork: Complete (refuseCancelled) or a body
// that returned nil.
func (r *modelRound) mEndOwnWork(j *mJob, refuseCancelled bool) bool {
	if j.completing || (refuseCancelled && j.cancelled) {
		return false
	}
	j.completing = true
	if j.finalizing() {
		r.mFinalize(j)
	}
	return true
}

// mEndWatchers ends the bodies of the watchers cancelled since the last
// call, in the order they were cancelled: each returns ctx.Err(), the echo
// of its own cancellation (core's echoesOwnCancellation), which ends the
// job's own work without adding a cause. Ending one may finalize jobs
// whose failures cancel more watchers: they end too. The same queue holds
// the scopes that became final: each Scope call returns, in turn, and its
// host's body returns what Scope returned (mScopeReturns).
func (r *modelRound) mEndWatchers() {
	for len(r.watchers) > 0 {
		w := r.watchers[0]
		r.watchers = r.watchers[1:]
		if w.scoped {
			r.mScopeReturns(w)
			continue
		}
		if w.body != mbRunning {
			continue // born cancelled: its body never runs
		}
		w.body = mbReturned
		r.watcherEnds++
		r.mCancel(w, w.cancellationOf(failureCause(&mFailure{err: context.Canceled, sentinel: true})), mmOwnWork)
	}
}

// mScopeReturns applies the return of Scope for the scope s, which is
// final: it returns s's cause (nil if s completed), and the body that
// called it returns the same, as core's endBody takes it: nil ends its
// own work, a cancellation (a *core.CancellationError, used as is) too,
// and a failure (or a MultiError) fails its job, which passes it up by
// the normal rules. A root scope's driver goroutine only records it.
func (r *modelRound) mScopeReturns(s *mJob) {
	c := s.cause()
	if c != nil && !c.isCancel() {
		r.scopeFailures++
	}
	h := s.host
	if h == nil {
		return
	}
	h.hosting = nil
	h.body = mbReturned
	switch {
	case c == nil:
		r.mEndOwnWork(h, false)
	case c.isCancel():
		r.mCancel(h, c, mmOwnWork)
	default:
		r.mCancel(h, c, mmFailure|mmOwnWork)
	}
	if !h.final {
		// As for a release (planReleaseAs): the phase waits until the
		// host's body has returned.
		r.quiet = true
	}
}

// ---------------------------------------------------------------------------
// Harness records.

// modelOutcome is what a released body does.
type modelOutcome struct {
	kind  int
	err   error // outFail: returned; outPanic: panicked with
	ce    *core.CancellationError
	scope *mJob // outScope: the scope to make
}

const (
	outNil    = iota // return nil
	outFail          // return err
	outPanic         // panic(err)
	outCancel        // return ce
	outEcho          // return ctx.Err()
	outScope         // call Scope (or SupervisorScope) and return what it returned
)

// modelRecorder is an exception handler: failures are expected in a fixed
// order (want), panics of handlers in any order.
type modelRecorder struct {
	idx  int
	mu   sync.Mutex
	got  []error
	want []modelReport // written at plan time
}

type modelReport struct {
	job   *mJob
	cause *mCause
}

func (rc *modelRecorder) handle(err error) {
	rc.mu.Lock()
	rc.got = append(rc.got, err)
	rc.mu.Unlock()
}

// split returns the failures reported, in order, and the ids of the
// handler panics reported.
func (rc *modelRecorder) split() (fails []error, panics []int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, err := range rc.got {
		if pe, ok := err.(*core.PanicError); ok {
			if hp, ok := pe.Value.(modelHandlerPanic); ok {
				panics = append(panics, hp.id)
				continue
			}
		}
		fails = append(fails, err)
	}
	return fails, panics
}

func (rc *modelRecorder) failures() int {
	f, _ := rc.split()
	return len(f)
}

// Dispose modes of a model handler.
const (
	mdKeep   = iota // never disposed
	mdHere          // disposed by the registering goroutine right after
	mdLater         // disposed in a later phase (by one or two goroutines)
	mdInside        // disposed from inside the handler
)

type mHandler struct {
	id         int
	job        *mJob
	kind       int // onCompletion or onCancelling
	regPhase   int
	dispose    int // mode
	disposeAt  int // the phase planned for mdLater
	disposedIn int // the phase in which Dispose was called, mNever if not
	twice      bool
	panics     bool

	runs   atomic.Int32
	mu     sync.Mutex
	causes []error
	bad    atomic.Pointer[string] // what the handler saw wrong inside
	handle atomic.Pointer[core.DisposableHandle]
}

func (h *mHandler) String() string {
	k := "completion"
	if h.kind == onCancelling {
		k = "cancelling"
	}
	return fmt.Sprintf("%s handler h%d on %v (registered in phase %d, disposed in %s)", k, h.id, h.job, h.regPhase, phaseName(h.disposedIn))
}

func phaseName(p int) string {
	if p == mNever {
		return "none"
	}
	return "phase " + strconv.Itoa(p)
}

type mJoin struct {
	job   *mJob
	phase int
	// doneCtx joins with a context that is already done, whose cause is.
	doneCtx *modelErr

	done       chan struct{}
	err        error
	completed  bool // IsCompleted() when Join returned
	doneClosed bool // Done() closed when Join returned
	reports    int  // failures its job's recorder had when Join returned
	snap       map[*mHandler]int32
}

// opResult is what an operation returned, to compare with the model.
type opResult struct {
	what      string
	got, want bool
	bad       string
}

// ---------------------------------------------------------------------------
// A round.

type modelRound struct {
	name  string // "seed=S round=R"
	rng   modelChooser
	mut   modelMutant
	label string
	lctx  context.Context

	trees    []*mTree
	jobs     []*mJob
	recs     []*modelRecorder
	handlers []*mHandler
	joins    []*mJoin
	failures []*mFailure // comparable failures made so far, for reuse
	nextID   int
	phase    int
	maxJobs  int

	mu    sync.Mutex // guards mJob.handlers against joiners
	abort chan struct{}

	// fault injection: the fault is injected at the injectAt-th
	// opportunity of the round.
	injectAt int32
	opps     atomic.Int32
	injected atomic.Bool

	// this phase
	quiet bool // the phase's checks must wait until the round is quiescent

	quietPhases int     // phases that waited for quiescence
	watchers    []*mJob // watchers cancelled whose bodies the model has not ended yet, and scopes final whose Scope has not returned
	watcherEnds int     // watcher bodies ended
	races       int     // failures that climbed to a Completing parent waiting for them alone while watchers they cancelled ended
	growPhases  int     // the first phases, which mostly add children

	scopes        []*mJob // every scope made, those born cancelled (in no tree) included
	scopeFailures int     // Scope calls that returned a failure

	problems []string
	history  []string // the operations planned, phase by phase, for the failure report
}

// modelRunID tells the labels of concurrent runs apart.
var modelRunID atomic.Int64

const modelLabelKey = "jobtree-model"

// modelScopeKey labels the goroutine that runs a scope's body, and then
// waits in Scope for the scope's job, with the scope (modelRound.runScope).
const modelScopeKey = "jobtree-model-scope"

func newModelRound(name, label string, rng modelChooser, mut modelMutant) *modelRound {
	r := &modelRound{
		name:    name,
		rng:     rng,
		mut:     mut,
		label:   label,
		lctx:    pprof.WithLabels(context.Background(), pprof.Labels(modelLabelKey, label)),
		abort:   make(chan struct{}),
		maxJobs: modelMaxJobs,
	}
	r.injectAt = int32(1 + rng.IntN(3))
	return r
}

// inject reports whether this opportunity is the one at which the
// round's mutant (if it is kind) strikes.
func (r *modelRound) inject(kind modelMutant) bool {
	if r.mut != kind || r.opps.Add(1) != r.injectAt {
		return false
	}
	r.injected.Store(true)
	return true
}

func (r *modelRound) newID() int {
	r.nextID++
	return r.nextID
}

func (r *modelRound) newRecorder() *modelRecorder {
	rc := &modelRecorder{idx: len(r.recs)}
	r.recs = append(r.recs, rc)
	return rc
}

// newFailure makes a failure value for job j (nil: for a Cancel cause):
// uncomparable one time in three, and now and then (comparable) the reuse
// of an earlier one, which core must recognise by identity.
func (r *modelRound) newFailure(j *mJob) *mFailure {
	if len(r.failures) > 0 && r.rng.IntN(8) == 0 {
		return r.failures[r.rng.IntN(len(r.failures))]
	}
	id := r.newID()
	if r.rng.IntN(3) == 0 {
		return &mFailure{id: id, err: modelUncomparable{id: id, path: []int{id}}, uncomparable: true}
	}
	f := &mFailure{id: id, err: &modelErr{id: id}}
	r.failures = append(r.failures, f)
	return f
}

// newCancelCause returns the model of a cause for Cancel or CancelChildren,
// and the cause: nil, a failure (wrapped by core), or a
// *core.CancellationError (used as is).
func (r *modelRound) newCancelCause() (*mCause, error) {
	switch r.rng.IntN(4) {
	case 0:
		f := r.newFailure(nil)
		return failureCause(f), f.err
	case 1:
		ce := &core.CancellationError{Message: fmt.Sprintf("model cancel %d", r.newID())}
		return &mCause{kind: ckCancel, exact: ce}, ce
	}
	return nil, nil
}

func (r *modelRound) problem(format string, args ...any) {
	r.problems = append(r.problems, fmt.Sprintf(format, args...))
}

// goLabeled runs f on a new goroutine that carries the round's label
// (goroutines it starts, such as job bodies, inherit it).
func (r *modelRound) goLabeled(wg *sync.WaitGroup, f func()) {
	if wg != nil {
		wg.Add(1)
	}
	go func() { // ends when f returns
		pprof.SetGoroutineLabels(r.lctx)
		if wg != nil {
			defer wg.Done()
		}
		f()
	}()
}

// body returns the body of the Launch or scope job j: it blocks until
// released (or the round is aborted) and then does what it was told; a
// watcher's blocks until its context is done and then returns ctx.Err().
func (r *modelRound) body(j *mJob) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		if j.bodyRuns.Add(1) == 1 {
			close(j.started)
		}
		if j.watcher {
			select {
			case <-ctx.Done():
			case <-r.abort:
				return nil
			}
			j.returned.Store(true)
			return ctx.Err()
		}
		var out modelOutcome
		select {
		case out = <-j.release:
		case <-r.abort:
			return nil
		}
		j.returned.Store(true)
		if (out.kind == outFail || out.kind == outPanic) && r.inject(mutLoseFailure) {
			return nil
		}
		switch out.kind {
		case outFail:
			return out.err
		case outPanic:
			panic(out.err)
		case outCancel:
			return out.ce
		case outEcho:
			return ctx.Err()
		case outScope:
			sctx := ctx
			if out.scope.wrap {
				sctx = core.WithExceptionHandler(ctx, out.scope.rec.handle)
			}
			return r.runScope(sctx, out.scope)
		}
		return nil
	}
}

// runScope calls Scope (or SupervisorScope) with ctx for the scope s,
// records what it returned and returns it. The scope's body makes s's job
// observable (core.JobOf) and then is a body like a Launch's; it never runs
// if the scope is born cancelled.
func (r *modelRound) runScope(ctx context.Context, s *mJob) error {
	inner := func(ctx context.Context) error {
		s.real = core.JobOf(ctx) // published by closing s.started
		pprof.SetGoroutineLabels(s.lctx)
		return r.body(s)(ctx)
	}
	var err error
	if s.kind == mkScope {
		err = core.Scope(ctx, inner)
	} else {
		err = core.SupervisorScope(ctx, inner)
	}
	if s.host != nil && s.host.scoped {
		pprof.SetGoroutineLabels(s.host.lctx) // back in the enclosing scope's body
	} else {
		pprof.SetGoroutineLabels(r.lctx)
	}
	if err != nil && !core.IsCancellation(err) && r.inject(mutScopeNil) {
		err = nil
	}
	s.scopeRet = err
	close(s.scopeDone)
	return err
}

// waitStarted waits until j's body runs; false (with a problem) if it does
// not within the wait limit.
func (r *modelRound) waitStarted(t testing.TB, j *mJob) string {
	select {
	case <-j.started:
		return ""
	default:
	}
	timer := time.NewTimer(stressWaitLimit(t))
	defer timer.Stop()
	select {
	case <-j.started:
		return ""
	case <-r.abort:
		return ""
	case <-timer.C:
		return fmt.Sprintf("the body of %v did not start (state %v)", j, j.real.State())
	}
}

// ---------------------------------------------------------------------------
// Planning: choose the operations of a phase and apply them to the model.

// newJob adds a job of the given kind to tree t as a child of p (nil for
// the tree's root), applies its creation to the model and returns the
// operation that creates it for real.
func (r *modelRound) planNewJob(t testing.TB, tr *mTree, p *mJob, kind mKind, lazy, watcher bool, opt string, wrap bool) func() *opResult {
	j := &mJob{
		id:          r.newID(),
		tree:        tr,
		kind:        kind,
		lazy:        lazy,
		watcher:     watcher,
		opt:         opt,
		supervisor:  kind == mkSupervisor || kind == mkSupervisorScope,
		inScope:     p != nil && (p.scoped || p.inScope),
		cancelPhase: mNever,
		finalPhase:  mNever,
		reportIdx:   -1,
	}
	// A scope born cancelled never runs its body, so its job cannot be
	// observed: it is in no tree, only Scope's return is checked.
	if kind.scope() && p != nil && (p.cancelled || p.closed()) {
		j.name = fmt.Sprintf("t%d.s%d", tr.idx, len(r.scopes))
	} else {
		j.name = fmt.Sprintf("t%d.j%d", tr.idx, len(tr.jobs))
		tr.jobs = append(tr.jobs, j)
		r.jobs = append(r.jobs, j)
	}
	switch kind {
	case mkLaunch:
		j.handles, j.reports = true, true
		j.body = mbRunning
		if lazy {
			j.body, j.isNew = mbWaiting, true
		}
		j.started = make(chan struct{})
		j.release = make(chan modelOutcome, 1)
	case mkNewJob:
		j.handles = p != nil && p.handles
	case mkScope, mkSupervisorScope:
		j.scoped, j.handles = true, kind == mkScope
		j.body = mbRunning
		j.started = make(chan struct{})
		j.release = make(chan modelOutcome, 1)
		j.scopeDone = make(chan struct{})
		j.lctx = pprof.WithLabels(r.lctx, pprof.Labels(modelScopeKey, r.label+"/"+j.name))
		j.lfind = `"` + modelScopeKey + `":"` + r.label + "/" + j.name + `"`
		j.wrap = wrap && p != nil
		if p != nil {
			j.host, p.hosting = p, j
		}
		r.scopes = append(r.scopes, j)
	}
	if p != nil && !wrap {
		j.rec = p.rec // the creation context carries the parent's handler
	} else {
		j.rec = r.newRecorder()
	}

	startsParent := false
	if p != nil {
		if p.cancelled || p.closed() {
			// Born cancelled, not attached; its body never runs.
			cause := &mCause{kind: ckCancel, msg: "parent job is completed"}
			if p.cancelled {
				cause = causeForChild(p.root)
			}
			r.mCancel(j, cause, 0)
			if kind == mkLaunch || kind.scope() {
				j.body = mbNever
				if !lazy {
					r.mEndOwnWork(j, false)
				}
			}
		} else {
			p.holds++
			p.kids = append(p.kids, j)
			j.parent = p
			if p.isNew {
				p.isNew = false
				p.body = mbRunning
				startsParent = true
			}
		}
	} else {
		tr.root = j
	}
	runs := j.body == mbRunning

	var opts []core.Option
	if lazy {
		opts = append(opts, core.Lazy())
	}
	if opt != "" {
		opts = append(opts, core.Named(opt))
	}
	what := fmt.Sprintf("%v(%v)", kind, j)
	return func() *opResult {
		var ctx context.Context
		switch {
		case kind.scope() && p != nil:
			// The host's body calls Scope, with its own context.
		case p == nil:
			ctx = core.WithExceptionHandler(context.Background(), j.rec.handle)
		default:
			ctx = p.real.Context()
			if wrap {
				ctx = core.WithExceptionHandler(ctx, j.rec.handle)
			}
		}
		switch kind {
		case mkLaunch:
			j.real = core.Launch(ctx, r.body(j), opts...)
		case mkNewJob:
			j.cj = core.NewJob(ctx)
			j.real = j.cj
		case mkSupervisor:
			j.cj = core.NewSupervisorJob(ctx)
			j.real = j.cj
		case mkScope, mkSupervisorScope:
			if p == nil {
				r.goLabeled(nil, func() { _ = r.runScope(ctx, j) }) // ends when Scope returns
			} else {
				p.release <- modelOutcome{kind: outScope, scope: j} // the host calls Scope
			}
		}
		res := &opResult{what: what, got: true, want: true}
		if runs {
			res.bad = r.waitStarted(t, j)
		}
		if startsParent && res.bad == "" {
			res.bad = r.waitStarted(t, p)
		}
		return res
	}
}

// pick returns a random element of js, nil if there is none.
func pick(rng modelChooser, js []*mJob) *mJob {
	if len(js) == 0 {
		return nil
	}
	return js[rng.IntN(len(js))]
}

func filterJobs(js []*mJob, keep func(*mJob) bool) []*mJob {
	var out []*mJob
	for _, j := range js {
		if keep(j) {
			out = append(out, j)
		}
	}
	return out
}

// Operations on a tree.
const (
	opChild = iota
	opCancel
	opComplete
	opFail
	opRelease
	opCancelChildren
	opStart
	numOps
)

// planTreeOp chooses an operation on tree tr (drain: only operations that
// bring the tree closer to its end), applies it to the model and returns
// what runs it for real, or nil for none.
func (r *modelRound) planTreeOp(t testing.TB, tr *mTree, drain bool) func() *opResult {
	if drain {
		return r.planDrainOp(t, tr)
	}
	if tr.aim && r.rng.IntN(4) != 0 { // not 0: not when a fuzz input ran out
		if op := r.planAim(t, tr); op != nil {
			return op
		}
	}
	for range 4 {
		var op func() *opResult
		w := modelOpWeights
		if r.phase <= r.growPhases {
			w = modelGrowWeights
		}
		switch modelWeighted(r.rng, w) {
		case opChild:
			if len(tr.jobs) < r.maxJobs {
				op = r.planChild(t, tr, r.pickParent(tr))
			}
		case opCancel:
			op = r.planCancel(r.pickLive(tr.jobs))
		case opComplete:
			if j := r.pickLive(filterJobs(tr.jobs, func(j *mJob) bool { return j.body == mbNone })); j != nil {
				op = r.planComplete(j)
			}
		case opFail:
			if j := r.pickLive(filterJobs(tr.jobs, func(j *mJob) bool { return j.body == mbNone })); j != nil {
				op = r.planFail(j)
			}
		case opRelease:
			if j := pick(r.rng, filterJobs(tr.jobs, releasable)); j != nil {
				op = r.planRelease(j)
			}
		case opCancelChildren:
			if j := r.pickLive(tr.jobs); !r.mScopeRace(j) {
				op = r.planCancelChildren(j)
			}
		case opStart:
			if j := r.pickLive(filterJobs(tr.jobs, func(j *mJob) bool { return j.lazy })); j != nil {
				op = r.planStart(t, j)
			}
		default:
			return nil // nothing for this tree in this phase
		}
		if op != nil {
			return op
		}
	}
	return nil
}

// planAim takes tree tr one step toward the interleaving that once lost a
// failure (TestRule7_FailureNotLostToConcurrentFinalization): a job C fails
// (Fail, or its body returns a failure or panics) while a watcher below it
// ends at once and finalizes it, and C's parent P, not a supervisor, waits
// in Completing for C alone. The steps, the furthest one that fits first:
// fail C; complete P (Complete, or its body returns nil); release a body
// below C that would keep C from finalizing; give C a watcher, as a child
// or a grandchild; give a job a child C. It returns nil when no step fits.
func (r *modelRound) planAim(t testing.TB, tr *mTree) func() *opResult {
	// canFail: j can fail now, by Fail or by its body's outcome.
	canFail := func(j *mJob) bool {
		if j.cancelled || j.final || j.parent == nil || j.parent.supervisor {
			return false
		}
		return !j.scoped && ((j.body == mbNone && !j.completing) || releasable(j))
	}
	// alone: j is all its parent waits for, and the parent is not
	// cancelled (j is not either then).
	alone := func(j *mJob) bool { return !j.parent.cancelled && j.parent.holds == 1 }
	var fail, complete, unblock, watch, grow []*mJob
	for _, c := range tr.jobs {
		if !canFail(c) {
			continue
		}
		p := c.parent
		switch {
		case !r.mWatched(c):
			watch = append(watch, c)
		case r.mBlocker(c) != nil:
			unblock = append(unblock, r.mBlocker(c))
		case alone(c) && p.completing:
			fail = append(fail, c)
		case alone(c) && (p.body == mbNone || releasable(p)):
			complete = append(complete, p)
		}
	}
	for _, p := range tr.jobs {
		if !p.cancelled && !p.final && !p.supervisor && p.holds == 0 &&
			((p.body == mbNone && !p.completing) || releasable(p)) {
			grow = append(grow, p)
		}
	}
	room := len(tr.jobs) < r.maxJobs
	switch {
	case len(fail) > 0:
		c := pick(r.rng, fail)
		if c.body == mbNone {
			return r.planFailAs(c, 2+r.rng.IntN(4))
		}
		return r.planReleaseAs(c, 2+r.rng.IntN(2))
	case len(complete) > 0:
		p := pick(r.rng, complete)
		if p.body == mbNone {
			return r.planComplete(p)
		}
		return r.planReleaseAs(p, 0)
	case len(unblock) > 0:
		return r.planReleaseAs(pick(r.rng, unblock), 0)
	case len(watch) > 0 && room:
		c := pick(r.rng, watch)
		// A grandchild now and then: the watcher then finalizes C
		// through a job in between (one whose own work ends when it
		// is cancelled, or has ended).
		mid := filterJobs(c.kids, func(k *mJob) bool {
			return !k.closed() && !k.cancelled && (k.body == mbNone || k.body == mbReturned)
		})
		if len(mid) > 0 && r.rng.IntN(3) == 0 {
			c = pick(r.rng, mid)
		}
		return r.planNewJob(t, tr, c, mkLaunch, false, true, "", r.rng.IntN(6) == 0)
	case len(grow) > 0 && room:
		kind := mkNewJob
		if r.rng.IntN(3) == 0 {
			kind = mkLaunch
		}
		return r.planNewJob(t, tr, pick(r.rng, grow), kind, false, false, "", false)
	}
	return nil
}

// releasable reports whether j's body is blocked until the driver releases
// it: it runs, is no watcher, and is not inside a Scope call.
func releasable(j *mJob) bool { return j.body == mbRunning && !j.watcher && j.hosting == nil }

// mScopeRace reports whether CancelChildren on j would race with the
// return of a scope: j hosts a scope that the cancellation lets finalize
// (nothing below it blocks), so j's body returns the scope's cancellation
// and cancels j with it, while CancelChildren may still be cancelling j's
// other children, which then get one cause or the other. Cancel on an
// ancestor has no such race: it cancels the host before the scope.
func (r *modelRound) mScopeRace(j *mJob) bool {
	s := j.hosting
	if s == nil || j.cancelled || releasable(s) || r.mBlocker(s) != nil {
		return false
	}
	for _, k := range j.kids {
		if k != s && !k.final && !k.cancelled {
			return true
		}
	}
	return false
}

// mRacy reports whether a failure that cancels j now races as in
// TestRule7_FailureNotLostToConcurrentFinalization: j's parent, not a
// supervisor, waits in Completing for j alone, and j waits only for
// watchers below it, which the failure ends.
func (r *modelRound) mRacy(j *mJob) bool {
	p := j.parent
	return p != nil && !p.supervisor && !j.scoped && !p.cancelled && p.completing && p.holds == 1 &&
		!j.closed() && r.mWatched(j) && r.mBlocker(j) == nil
}

// mBlocker returns a body below j that runs and is no watcher: cancelling j
// does not end it. Nil if there is none.
func (r *modelRound) mBlocker(j *mJob) *mJob {
	for _, k := range j.kids {
		if k.final {
			continue
		}
		if k.body == mbRunning && !k.watcher && k.hosting == nil {
			return k
		}
		if b := r.mBlocker(k); b != nil {
			return b
		}
	}
	return nil
}

// mWatched reports whether a watcher below j still runs.
func (r *modelRound) mWatched(j *mJob) bool {
	for _, k := range j.kids {
		if !k.final && ((k.watcher && k.body == mbRunning) || r.mWatched(k)) {
			return true
		}
	}
	return false
}

// modelOpWeights weighs the operations of a random phase (the last entry:
// nothing). Children come first, so that trees grow before they end.
var modelOpWeights = [numOps + 1]int{opChild: 6, opCancel: 2, opComplete: 2, opFail: 2, opRelease: 4, opCancelChildren: 1, opStart: 2, numOps: 1}

// modelGrowWeights weighs the operations of the first phases of a round:
// mostly new children.
var modelGrowWeights = [numOps + 1]int{opChild: 12, opCancel: 1, opComplete: 1, opFail: 1, opRelease: 1, opCancelChildren: 1, opStart: 1, numOps: 1}

// modelWeighted draws an index of w with probability proportional to its
// weight.
func modelWeighted(rng modelChooser, w [numOps + 1]int) int {
	total := 0
	for _, x := range w {
		total += x
	}
	n := rng.IntN(total)
	for i, x := range w {
		if n < x {
			return i
		}
		n -= x
	}
	return len(w) - 1
}

// pickLive picks a job that is not final, most of the time.
func (r *modelRound) pickLive(js []*mJob) *mJob {
	if live := filterJobs(js, func(j *mJob) bool { return !j.final }); len(live) > 0 && r.rng.IntN(6) != 0 {
		return pick(r.rng, live)
	}
	return pick(r.rng, js)
}

// pickParent picks the parent of a new child: often the newest job, so
// that chains grow deep, and mostly one that is not final.
func (r *modelRound) pickParent(tr *mTree) *mJob {
	if r.rng.IntN(2) == 0 {
		return tr.jobs[len(tr.jobs)-1]
	}
	return r.pickLive(tr.jobs)
}

// planDrainOp chooses an operation that ends some job's own work: release
// a running body (cancel a running watcher), complete, fail or cancel a
// body-less job, start or cancel a New one.
func (r *modelRound) planDrainOp(t testing.TB, tr *mTree) func() *opResult {
	cands := filterJobs(tr.jobs, func(j *mJob) bool {
		switch {
		case j.final:
			return false
		case j.body == mbRunning:
			return j.hosting == nil // a host's body ends when its scope does
		case j.body == mbNone:
			return !j.completing && !j.cancelled
		}
		return j.isNew && !j.cancelled
	})
	j := pick(r.rng, cands)
	if j == nil {
		if !tr.allFinal() {
			r.problem("model: tree %d is not final but no job has work left (model bug)", tr.idx)
		}
		return nil
	}
	switch {
	case j.body == mbRunning && j.watcher:
		return r.planCancel(j) // a watcher ends once cancelled
	case j.body == mbRunning:
		return r.planRelease(j)
	case j.body == mbNone:
		switch r.rng.IntN(4) {
		case 0:
			return r.planFail(j)
		case 1:
			return r.planCancel(j)
		}
		return r.planComplete(j)
	}
	if r.rng.IntN(3) == 0 {
		return r.planCancel(j)
	}
	return r.planStart(t, j)
}

func (r *modelRound) planChild(t testing.TB, tr *mTree, p *mJob) func() *opResult {
	// One new child in five is a scope (1, not 0: not when a fuzz input
	// ran out), made by p's body if it can, else by another body.
	if r.rng.IntN(5) == 1 {
		host := p
		if !releasable(host) {
			host = pick(r.rng, filterJobs(tr.jobs, releasable))
		}
		if host != nil {
			kind := mkScope
			if r.rng.IntN(3) == 0 {
				kind = mkSupervisorScope
			}
			return r.planNewJob(t, tr, host, kind, false, false, "", r.rng.IntN(6) == 0)
		}
	}
	kind := mKind(r.rng.IntN(3))
	if r.rng.IntN(2) == 0 {
		kind = mkLaunch // more bodies
	}
	lazy := kind == mkLaunch && r.rng.IntN(4) == 0
	// One body in four is a watcher (1, not 0: a fuzz input that ran
	// out of bytes draws 0).
	watcher := kind == mkLaunch && r.rng.IntN(4) == 1
	opt := ""
	if kind == mkLaunch && r.rng.IntN(4) == 0 {
		opt = fmt.Sprintf("named%d", r.newID())
	}
	wrap := r.rng.IntN(6) == 0
	return r.planNewJob(t, tr, p, kind, lazy, watcher, opt, wrap)
}

func (r *modelRound) planCancel(j *mJob) func() *opResult {
	mc, cause := r.newCancelCause()
	if !j.closed() {
		r.mCancel(j, j.cancellationOf(mc), 0)
	}
	return func() *opResult {
		res := &opResult{what: fmt.Sprintf("%v.Cancel(%v)", j, cause), got: true, want: true}
		if r.inject(mutDropCancel) {
			return res
		}
		j.real.Cancel(cause)
		// Rule 6: when Cancel returns, the job is cancelling or final
		// (or was Completed, which Cancel leaves alone).
		if st := j.real.State(); st != core.Cancelling && st != core.Cancelled && st != core.Completed {
			res.bad = fmt.Sprintf("State() = %v right after Cancel returned, want Cancelling, Cancelled or Completed", st)
		}
		return res
	}
}

func (r *modelRound) planComplete(j *mJob) func() *opResult {
	want := r.mEndOwnWork(j, true)
	return func() *opResult {
		return &opResult{what: fmt.Sprintf("%v.Complete()", j), got: j.cj.Complete(), want: want}
	}
}

func (r *modelRound) planFail(j *mJob) func() *opResult {
	return r.planFailAs(j, r.rng.IntN(6))
}

// planFailAs fails j with the error numbered choice: 0 a cancellation, 1
// context.Canceled, 2 to 5 a failure.
func (r *modelRound) planFailAs(j *mJob, choice int) func() *opResult {
	var err error
	var want bool
	switch choice {
	case 0: // a cancellation made by the driver
		ce := &core.CancellationError{Message: fmt.Sprintf("model fail-cancel %d", r.newID())}
		err = ce
		want = r.mCancel(j, &mCause{kind: ckCancel, exact: ce}, mmFail)
	case 1: // context.Canceled: a cancellation too, wrapped by core
		err = context.Canceled
		want = r.mCancel(j, j.cancellationOf(failureCause(&mFailure{err: context.Canceled, sentinel: true})), mmFail)
	default:
		f := r.newFailure(j)
		err = f.err
		want = r.mCancel(j, failureCause(f), mmFail|mmFailure)
	}
	return func() *opResult {
		return &opResult{what: fmt.Sprintf("%v.Fail(%v)", j, err), got: j.cj.Fail(err), want: want}
	}
}

func (r *modelRound) planRelease(j *mJob) func() *opResult {
	return r.planReleaseAs(j, r.rng.IntN(6))
}

// planReleaseAs releases j's body with the outcome numbered choice: 0 or
// 1 nil, 2 a failure, 3 a panic, 4 a cancellation, 5 the echo ctx.Err().
func (r *modelRound) planReleaseAs(j *mJob, choice int) func() *opResult {
	var out modelOutcome
	switch choice {
	case 0, 1:
		out.kind = outNil
	case 2:
		out.kind = outFail
	case 3:
		out.kind = outPanic
	case 4:
		out.kind = outCancel
	default:
		out.kind = outEcho
	}
	j.body = mbReturned
	switch out.kind {
	case outNil:
		r.mEndOwnWork(j, false)
	case outFail, outPanic:
		f := r.newFailure(j)
		if out.kind == outPanic {
			// A panic is a new error of its own (*core.PanicError).
			f = &mFailure{id: f.id, err: f.err, uncomparable: f.uncomparable, panicked: true}
		}
		out.err = f.err
		r.mCancel(j, failureCause(f), mmFailure|mmOwnWork)
	case outCancel:
		out.ce = &core.CancellationError{Message: fmt.Sprintf("model body gave up %d", r.newID())}
		r.mCancel(j, &mCause{kind: ckCancel, exact: out.ce}, mmOwnWork)
	case outEcho:
		if j.cancelled {
			// ctx.Err() is context.Canceled: the echo of its own
			// cancellation, a cancellation (dropped: it has a root).
			r.mCancel(j, j.cancellationOf(failureCause(&mFailure{err: context.Canceled, sentinel: true})), mmOwnWork)
		} else {
			r.mEndOwnWork(j, false) // ctx.Err() is nil
		}
	}
	if !j.final {
		// What the body's return does is not all visible: a failure
		// added to a job that is cancelling already changes nothing
		// one can observe until that job is final. The phase must wait
		// until the body's goroutine is gone, or a failure of the next
		// phase could overtake it.
		r.quiet = true
	}
	return func() *opResult {
		j.release <- out
		return &opResult{what: fmt.Sprintf("release %v with outcome %d", j, out.kind), got: true, want: true}
	}
}

func (r *modelRound) planCancelChildren(j *mJob) func() *opResult {
	mc, cause := r.newCancelCause()
	for _, k := range j.kids {
		if !k.final && !k.closed() {
			r.mCancel(k, k.cancellationOf(mc), 0)
		}
	}
	return func() *opResult {
		j.real.CancelChildren(cause)
		return &opResult{what: fmt.Sprintf("%v.CancelChildren(%v)", j, cause), got: true, want: true}
	}
}

// planStart starts a lazy job by Start, or by Join (which starts it and
// then waits: the joiner stays behind as a join of the round).
func (r *modelRound) planStart(t testing.TB, j *mJob) func() *opResult {
	want := j.isNew && !j.cancelled && !j.completing && !j.final
	if want {
		j.isNew = false
		j.body = mbRunning
	}
	if want && r.rng.IntN(3) == 0 {
		jn := r.newJoin(j, nil)
		return func() *opResult {
			r.goLabeled(nil, func() { r.runJoin(jn) })
			return &opResult{what: fmt.Sprintf("%v.Join(ctx) (to start it)", j), got: true, want: true, bad: r.waitStarted(t, j)}
		}
	}
	return func() *opResult {
		res := &opResult{what: fmt.Sprintf("%v.Start()", j), got: j.real.Start(), want: want}
		if want && res.got {
			res.bad = r.waitStarted(t, j)
		}
		return res
	}
}

// ---------------------------------------------------------------------------
// Handlers and joins.

// planHandlers registers a few handlers on random jobs of the forest (from
// one goroutine, alongside the tree operations), and disposes those whose
// planned phase has come (from one goroutine, or two at once).
func (r *modelRound) planHandlers() []func() {
	var fs []func()
	existing := filterJobs(r.jobs, func(j *mJob) bool { return j.real != nil })
	var regs []*mHandler
	for range r.rng.IntN(4) {
		j := pick(r.rng, existing)
		if j == nil {
			break
		}
		h := &mHandler{
			id:         r.newID(),
			job:        j,
			kind:       r.rng.IntN(2),
			regPhase:   r.phase,
			dispose:    r.rng.IntN(4),
			disposedIn: mNever,
			panics:     r.rng.IntN(10) == 0,
		}
		switch h.dispose {
		case mdHere:
			h.disposedIn = r.phase
		case mdLater:
			h.disposeAt = r.phase + 1 + r.rng.IntN(3)
			h.twice = r.rng.IntN(2) == 0
		}
		r.mu.Lock()
		j.handlers = append(j.handlers, h)
		r.mu.Unlock()
		r.handlers = append(r.handlers, h)
		regs = append(regs, h)
	}
	if len(regs) > 0 {
		fs = append(fs, func() {
			for _, h := range regs {
				r.register(h)
				if h.dispose == mdHere {
					(*h.handle.Load()).Dispose()
				}
			}
		})
	}
	var disp, twice []*mHandler
	for _, h := range r.handlers {
		if h.dispose == mdLater && h.disposeAt == r.phase {
			h.disposedIn = r.phase
			disp = append(disp, h)
			if h.twice {
				twice = append(twice, h)
			}
		}
	}
	if len(disp) > 0 {
		fs = append(fs, func() {
			for _, h := range disp {
				(*h.handle.Load()).Dispose()
			}
		})
	}
	if len(twice) > 0 {
		fs = append(fs, func() {
			for i := len(twice) - 1; i >= 0; i-- {
				(*twice[i].handle.Load()).Dispose()
				(*twice[i].handle.Load()).Dispose()
			}
		})
	}
	return fs
}

// register registers h for real. Inside, the handler records its call
// and checks what must hold while it runs (rule 10).
func (r *modelRound) register(h *mHandler) {
	real := h.job.real
	record := func(cause error) {
		h.mu.Lock()
		h.causes = append(h.causes, cause)
		h.runs.Add(1)
		h.mu.Unlock()
	}
	fn := func(cause error) {
		skip := r.inject(mutSkipHandler)
		if !skip {
			record(cause)
			if r.inject(mutDoubleHandler) {
				record(cause)
			}
		}
		var bad string
		if h.kind == onCompletion {
			switch {
			case !real.IsCompleted():
				bad = fmt.Sprintf("completion handler ran in state %v, want a final state", real.State())
			case real.Parent() != nil:
				bad = fmt.Sprintf("completion handler ran while Parent() = %v, want nil once final", real.Parent())
			}
			for c := range real.Children() {
				bad = fmt.Sprintf("completion handler ran while child %v is not complete", c)
			}
		} else if cause != nil && !real.IsCancelled() {
			bad = fmt.Sprintf("cancelling handler ran with %v in state %v, want Cancelling or Cancelled", cause, real.State())
		} else if cause == nil && (!real.IsCompleted() || real.IsCancelled()) {
			bad = fmt.Sprintf("cancelling handler ran with nil in state %v, want Completed", real.State())
		}
		if bad != "" {
			h.bad.CompareAndSwap(nil, &bad)
		}
		if h.dispose == mdInside {
			if hd := h.handle.Load(); hd != nil {
				(*hd).Dispose()
				(*hd).Dispose()
			}
		}
		if h.panics {
			panic(modelHandlerPanic{id: h.id})
		}
	}
	var hd core.DisposableHandle
	if h.kind == onCompletion {
		hd = real.InvokeOnCompletion(fn)
	} else {
		hd = real.InvokeOnCancelling(fn)
	}
	h.handle.Store(&hd)
}

func (r *modelRound) newJoin(j *mJob, doneCtx *modelErr) *mJoin {
	jn := &mJoin{job: j, phase: r.phase, doneCtx: doneCtx, done: make(chan struct{})}
	r.joins = append(r.joins, jn)
	return jn
}

// planJoin sometimes joins a job that is not New (Join on a New job
// starts it: that is planStart's).
func (r *modelRound) planJoin() []func() {
	if r.rng.IntN(3) != 0 {
		return nil
	}
	j := pick(r.rng, filterJobs(r.jobs, func(j *mJob) bool { return j.real != nil && !j.isNew }))
	if j == nil {
		return nil
	}
	var doneCtx *modelErr
	if r.rng.IntN(4) == 0 {
		doneCtx = &modelErr{id: r.newID()}
	}
	jn := r.newJoin(j, doneCtx)
	if doneCtx != nil {
		return []func(){func() { r.runJoin(jn) }} // returns at once
	}
	return []func(){func() { r.goLabeled(nil, func() { r.runJoin(jn) }) }}
}

// runJoin joins, and records what it saw when Join returned.
func (r *modelRound) runJoin(jn *mJoin) {
	defer close(jn.done)
	ctx := context.Background()
	if jn.doneCtx != nil {
		c, stop := context.WithCancelCause(ctx)
		stop(jn.doneCtx)
		ctx = c
	}
	real := jn.job.real
	jn.err = real.Join(ctx)
	jn.completed = real.IsCompleted()
	jn.doneClosed = testkit.IsClosed(real.Done())
	jn.reports = jn.job.rec.failures()
	r.mu.Lock()
	jn.snap = make(map[*mHandler]int32, len(jn.job.handlers))
	for _, h := range jn.job.handlers {
		jn.snap[h] = h.runs.Load()
	}
	r.mu.Unlock()
}

// ---------------------------------------------------------------------------
// Running a phase.

// runPhase plans one phase (drain: only operations that bring trees to
// their end; in the first phase, the roots are made), runs it and checks
// the forest. It reports whether the round may go on.
func (r *modelRound) runPhase(t testing.TB, first, drain bool) bool {
	r.phase++
	r.quiet = false
	// Joins first: a job that a tree operation of this phase starts is
	// still New for them (Join would start it too).
	others := r.planJoin()
	var treeOps []func() *opResult
	if first {
		for _, tr := range r.trees {
			kind := mKind(r.rng.IntN(3))
			if r.rng.IntN(5) == 1 { // a root scope, called from a driver goroutine
				kind = mkScope + mKind(r.rng.IntN(2))
			}
			treeOps = append(treeOps, r.planNewJob(t, tr, nil, kind, false, false, "", false))
		}
	} else {
		for _, tr := range r.trees {
			if tr.done() {
				continue
			}
			if op := r.planTreeOp(t, tr, drain); op != nil {
				treeOps = append(treeOps, op)
			}
			r.mEndWatchers()
		}
	}
	others = append(others, r.planHandlers()...)
	if len(r.problems) > 0 {
		return false
	}

	start := make(chan struct{})
	var wg sync.WaitGroup
	results := make([]*opResult, len(treeOps))
	for i, op := range treeOps {
		r.goLabeled(&wg, func() {
			<-start
			results[i] = op()
		})
	}
	for _, f := range others {
		r.goLabeled(&wg, func() {
			<-start
			f()
		})
	}
	close(start)
	done := make(chan struct{})
	go func() { // ends when the phase's goroutines have returned
		wg.Wait()
		close(done)
	}()
	timer := time.NewTimer(stressWaitLimit(t))
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		r.problem("phase %d: operations did not return within %v\n%s", r.phase, stressWaitLimit(t), testkit.GoroutineDump())
		return false
	}
	for _, res := range results {
		r.history = append(r.history, fmt.Sprintf("phase %d: %s", r.phase, res.what))
		if res.got != res.want {
			r.problem("phase %d: %s returned %v, want %v", r.phase, res.what, res.got, res.want)
		}
		if res.bad != "" {
			r.problem("phase %d: %s: %s", r.phase, res.what, res.bad)
		}
	}
	if len(r.problems) > 0 {
		return false
	}
	return r.settle(t, false)
}

// settle waits until the forest agrees with the model: spinning while it
// does not, and, after a while, asking whether the round is quiescent; a
// quiescent round that disagrees, or one that does not settle within the
// wait limit, is a failure. final adds the checks of a finished round.
func (r *modelRound) settle(t testing.TB, final bool) bool {
	deadline := time.Now().Add(stressWaitLimit(t))
	for spins := 0; ; spins++ {
		bad := r.check(final)
		if len(bad) == 0 && (!r.quiet || r.quiescent(false)) {
			if !r.quiet {
				return true
			}
			r.quiet = false
			r.quietPhases++
			continue // check once more: the last goroutine just left
		}
		if spins >= 64 && spins%64 == 0 && r.quiescent(true) {
			if bad = r.check(final); len(bad) == 0 {
				return true
			}
			for _, b := range bad {
				r.problem("phase %d: %s", r.phase, b)
			}
			r.problem("the round was quiescent: %s", r.goroutines())
			return false
		}
		if time.Now().After(deadline) {
			for _, b := range bad {
				r.problem("phase %d: %s", r.phase, b)
			}
			r.problem("phase %d: the forest did not settle within %v\n%s", r.phase, stressWaitLimit(t), testkit.GoroutineDump())
			return false
		}
		runtime.Gosched()
	}
}

// quiescent reports whether the only goroutines of the round left are the
// bodies the model says are blocked and the Join calls that wait for a job
// whose Done is not closed.
//
// The goroutines are counted first and what is expected second: a job
// that becomes final in between only lowers what is expected (its joiner
// will return), and so does a watcher whose context becomes done (it will
// return), so a count that matches cannot be a stale one.
//
// With fewer, a round that disagrees with the model is quiescent too: every
// goroutine expected exists until the model says it ends, so one missing
// (a Scope that returned before its job was final, say) will not come
// back, and waiting for it would only delay the report until the wait
// limit.
//
// A scope whose body returned but which waits for its children keeps its
// goroutine (its host's): counting cannot tell whether core has handled
// the body's return, so that goroutine must also be parked in Scope,
// waiting for the job (labelled with the scope, its first frame core's
// runScope), not still in the body or in core's handling of its return.
func (r *modelRound) quiescent(fewer bool) bool {
	groups := modelProfile()
	n := modelCount(groups, `"`+modelLabelKey+`":"`+r.label+`"`)
	bodies, joins := r.waiting()
	if fewer && n < bodies+joins {
		return true
	}
	if n != bodies+joins {
		return false
	}
	for _, s := range r.jobs {
		if s.scoped && s.body == mbReturned && !s.final && !modelParkedInScope(groups, s.lfind) {
			return false
		}
	}
	return true
}

// waiting counts the goroutines the model expects to be left: the bodies
// it says are blocked, and the Join calls waiting for a job whose Done is
// not closed. A watcher the model ended whose context is not done (a
// disagreement the checks report) is blocked too, and stays so: counting
// it lets that disagreement be reported at once. A scope's body runs on
// its host's goroutine, counted with the host (whose body runs until its
// Scope call returns); a root scope's is a driver goroutine, there until
// the scope is final.
func (r *modelRound) waiting() (bodies, joins int) {
	for _, j := range r.jobs {
		switch {
		case j.scoped:
			if j.host == nil && !j.final {
				bodies++
			}
		case j.body == mbRunning:
			bodies++
		case j.watcher && j.body == mbReturned && !testkit.IsClosed(j.real.Context().Done()):
			bodies++
		}
	}
	for _, jn := range r.joins {
		if !testkit.IsClosed(jn.done) && !testkit.IsClosed(jn.job.real.Done()) {
			joins++
		}
	}
	return bodies, joins
}

// goroutines describes the goroutines of the round, for a failure report.
func (r *modelRound) goroutines() string {
	bodies, joins := r.waiting()
	n, stacks := modelLabeledStacks(`"` + modelLabelKey + `":"` + r.label + `"`)
	return fmt.Sprintf("%d labelled goroutines, want %d bodies blocked and %d joins waiting:\n%s", n, bodies, joins, stacks)
}

// modelLabeled counts the goroutines whose labels contain the text lbl.
func modelLabeled(lbl string) int { return modelCount(modelProfile(), lbl) }

// modelLabeledStacks counts the goroutines whose labels contain the text
// lbl, and returns their stacks (as the goroutine profile groups them).
func modelLabeledStacks(lbl string) (int, string) {
	n := 0
	var stacks strings.Builder
	for _, g := range modelProfile() {
		if strings.Contains(g.labels, lbl) {
			n += g.count
			fmt.Fprintf(&stacks, "%d goroutine(s):\n", g.count)
			for _, f := range g.frames {
				stacks.WriteString(f + "\n")
			}
		}
	}
	return n, stacks.String()
}

// modelGroup is a group of goroutines of the goroutine profile: how many,
// their labels line, and their stack's frames (runtime frames at the top
// left out), first the innermost.
type modelGroup struct {
	count  int
	labels string
	frames []string
}

// modelProfile reads the goroutine profile.
func modelProfile() []modelGroup {
	var buf bytes.Buffer
	if err := pprof.Lookup("goroutine").WriteTo(&buf, 1); err != nil {
		panic(err)
	}
	var groups []modelGroup
	for _, line := range strings.Split(buf.String(), "\n") {
		switch i := strings.Index(line, " @ "); {
		case i > 0 && line[0] >= '0' && line[0] <= '9':
			count, _ := strconv.Atoi(line[:i])
			groups = append(groups, modelGroup{count: count})
		case len(groups) == 0:
		case strings.HasPrefix(line, "# labels: "):
			groups[len(groups)-1].labels = line
		case strings.HasPrefix(line, "#\t"):
			groups[len(groups)-1].frames = append(groups[len(groups)-1].frames, line)
		}
	}
	return groups
}

// modelCount counts the goroutines whose labels contain the text lbl.
func modelCount(groups []modelGroup, lbl string) int {
	n := 0
	for _, g := range groups {
		if strings.Contains(g.labels, lbl) {
			n += g.count
		}
	}
	return n
}

// modelParkedInScope reports whether exactly one goroutine has labels
// containing lbl, and it waits in core's runScope (its first frame, once
// the runtime's are left out).
func modelParkedInScope(groups []modelGroup, lbl string) bool {
	n, parked := 0, false
	for _, g := range groups {
		if strings.Contains(g.labels, lbl) {
			n += g.count
			parked = len(g.frames) > 0 && strings.Contains(g.frames[0], "/core.runScope+")
		}
	}
	return n == 1 && parked
}

// ---------------------------------------------------------------------------
// Checking the forest against the model.

// check compares every real job, handler, report and join of the round
// with the model, and returns what disagrees.
func (r *modelRound) check(final bool) []string {
	var bad []string
	add := func(format string, args ...any) { bad = append(bad, fmt.Sprintf(format, args...)) }
	for _, j := range r.jobs {
		if j.real == nil {
			continue
		}
		rj := j.real
		want := j.state()
		if got := rj.State(); got != want {
			add("%v: State() = %v, want %v", j, got, want)
			continue // the rest would repeat it
		}
		if got, want := testkit.FlagsOf(rj), testkit.StateFlags[want]; got != want {
			add("%v: (IsActive, IsCompleted, IsCancelled) = %v, want %v (rule 1)", j, got, want)
		}
		if m := matchCause(rj.Cause(), j.cause()); m != "" {
			add("%v: Cause(): %s", j, m)
		}
		var wantParent core.Job
		if j.parent != nil && !j.final {
			wantParent = j.parent.real
		}
		if got := rj.Parent(); got != wantParent {
			add("%v: Parent() = %v, want %v", j, got, wantParent)
		}
		var wantKids []core.Job
		for _, k := range j.kids {
			if !k.final {
				wantKids = append(wantKids, k.real)
			}
		}
		if got := children(rj); !sameJobs(got, wantKids) {
			add("%v: Children() = %v, want %v", j, got, wantKids)
		}
		if j.final {
			for _, k := range j.kids {
				if !k.real.IsCompleted() {
					add("%v is final but its child %v is %v", j, k, k.real.State())
				}
			}
		}
		if got := testkit.IsClosed(rj.Done()); got != j.final {
			add("%v: Done() closed = %v, want %v", j, got, j.final)
		}
		ctxDone := j.cancelled || j.final
		ctx := rj.Context()
		if got := testkit.IsClosed(ctx.Done()); got != ctxDone {
			add("%v: Context().Done() closed = %v, want %v (rule 14)", j, got, ctxDone)
		}
		if err := ctx.Err(); (err != nil) != ctxDone || (err != nil && !errors.Is(err, context.Canceled)) {
			add("%v: Context().Err() = %v, want context.Canceled iff done (%v)", j, err, ctxDone)
		}
		if j.cancelled {
			if m := matchCause(context.Cause(ctx), j.cause()); m != "" {
				add("%v: context.Cause(Context()): %s", j, m)
			}
		}
		if j.kind == mkLaunch || j.scoped {
			ran := j.body == mbRunning || j.body == mbReturned
			if got := j.bodyRuns.Load(); got > 1 || (got == 1) != ran {
				add("%v: body ran %d times, want %d", j, got, map[bool]int{true: 1}[ran])
			}
			if final && !ran && j.body != mbNever {
				add("%v: body state %d at the end of the round (model bug)", j, j.body)
			}
		}
	}
	for _, s := range r.scopes {
		// Rule 13: Scope returns once its job is final, its final cause
		// (nil if it completed).
		switch returned := testkit.IsClosed(s.scopeDone); {
		case s.final && !returned:
			add("%v: Scope has not returned although its job is final", s)
		case !s.final && returned:
			add("%v: Scope returned %v although its job is not final", s, s.scopeRet)
		case returned:
			if m := matchCause(s.scopeRet, s.cause()); m != "" {
				add("%v: Scope returned: %s (rule 13)", s, m)
			}
		}
	}
	for _, h := range r.handlers {
		if m := r.checkHandler(h); m != "" {
			add("%v: %s", h, m)
		}
	}
	for _, rc := range r.recs {
		fails, panics := rc.split()
		if len(fails) != len(rc.want) {
			add("exception handler %d got %d failure(s) %v, want %d %v (rule 9)", rc.idx, len(fails), fails, len(rc.want), rc.want)
		} else {
			for i, w := range rc.want {
				if m := matchCause(fails[i], w.cause); m != "" {
					add("exception handler %d, report %d (by %v): %s", rc.idx, i, w.job, m)
				}
			}
		}
		var wantPanics []int
		for _, h := range r.handlers {
			if h.panics && h.job.rec == rc {
				for range h.runs.Load() {
					wantPanics = append(wantPanics, h.id)
				}
			}
		}
		if !sameIDs(panics, wantPanics) {
			add("exception handler %d got handler panics %v, want %v (rule 10)", rc.idx, panics, wantPanics)
		}
	}
	for _, jn := range r.joins {
		if m := r.checkJoin(jn, final); m != "" {
			add("Join on %v (phase %d): %s", jn.job, jn.phase, m)
		}
	}
	return bad
}

func (rp modelReport) String() string { return fmt.Sprintf("%v by %v", rp.cause, rp.job) }

func sameJobs(a, b []core.Job) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func sameIDs(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	count := make(map[int]int)
	for _, x := range a {
		count[x]++
	}
	for _, x := range b {
		count[x]--
	}
	for _, n := range count {
		if n != 0 {
			return false
		}
	}
	return true
}

// trigger returns the phase in which h's job reached what h waits for:
// final for a completion handler; cancelling, or final without having
// been cancelled, for a cancelling one.
func (h *mHandler) trigger() int {
	j := h.job
	if h.kind == onCompletion || !j.cancelled {
		return j.finalPhase
	}
	return j.cancelPhase
}

// checkHandler checks h's calls against the model (rule 10).
func (r *modelRound) checkHandler(h *mHandler) string {
	if b := h.bad.Load(); b != nil {
		return *b
	}
	h.mu.Lock()
	causes := append([]error(nil), h.causes...)
	h.mu.Unlock()
	j, runs := h.job, int32(len(causes))
	trig, reg, disp := h.trigger(), h.regPhase, h.disposedIn
	lo, hi := int32(1), int32(1)
	switch {
	case trig == mNever:
		lo, hi = 0, 0
	case trig < reg:
		// Registered on a job that had reached its trigger: runs at once.
	case trig == reg:
		if disp == reg {
			lo = 0
		}
	case disp < trig:
		lo, hi = 0, 0
	case disp == trig:
		lo = 0
	}
	if runs < lo || runs > hi {
		if lo == hi {
			return fmt.Sprintf("ran %d times, want %d (trigger in %s)", runs, lo, phaseName(trig))
		}
		return fmt.Sprintf("ran %d times, want %d to %d (trigger in %s)", runs, lo, hi, phaseName(trig))
	}
	if runs == 0 {
		return ""
	}
	got := causes[0]
	var wants []*mCause
	switch {
	case h.kind == onCompletion:
		wants = []*mCause{j.finalCause}
	case !j.cancelled:
		wants = []*mCause{nil}
	case trig > reg:
		wants = []*mCause{j.root}
	default:
		// Registered on a job already cancelling, or in the phase it
		// started to: run at once with Cause() then, the root cause
		// while it is cancelling and the final cause once it is final.
		if j.finalPhase >= reg {
			wants = append(wants, j.root)
		}
		if j.finalPhase <= reg {
			wants = append(wants, j.finalCause)
		}
	}
	var ms []string
	for _, w := range wants {
		m := matchCause(got, w)
		if m == "" {
			return ""
		}
		ms = append(ms, m)
	}
	return "cause: " + strings.Join(ms, "; or ")
}

// checkJoin checks a join against the model (rule 11; rule 10: Join
// returns after the handlers ran; rule 9: after the report).
func (r *modelRound) checkJoin(jn *mJoin, final bool) string {
	j := jn.job
	returned := testkit.IsClosed(jn.done)
	if jn.doneCtx != nil {
		if !returned {
			return "Join(ctx) with a done ctx has not returned"
		}
		ce, ok := jn.err.(*core.CancellationError)
		if !ok || ce.Cause != error(jn.doneCtx) {
			return fmt.Sprintf("Join(done ctx) = %v (%T), want a *core.CancellationError caused by %v", jn.err, jn.err, jn.doneCtx)
		}
		return ""
	}
	if !j.final {
		if returned {
			return fmt.Sprintf("Join returned %v, but the job is not final (%v)", jn.err, j.real.State())
		}
		return ""
	}
	if !returned {
		return "Join has not returned although the job is final"
	}
	if jn.err != nil || !jn.completed || !jn.doneClosed {
		return fmt.Sprintf("Join returned %v with IsCompleted() = %v and Done closed = %v, want nil, true, true", jn.err, jn.completed, jn.doneClosed)
	}
	if j.reportIdx >= 0 && jn.reports <= j.reportIdx {
		return fmt.Sprintf("Join returned before the job's failure was reported (rule 9): %d reports then, the job's is number %d", jn.reports, j.reportIdx+1)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, h := range j.handlers {
		if (h.kind != onCompletion && j.cancelled) || h.regPhase >= j.finalPhase || h.disposedIn <= j.finalPhase {
			// A cancelling handler of a cancelled job ran when it
			// started cancelling (Done does not wait for it); the
			// others were not surely registered before the job was
			// final, or were disposed meanwhile.
			continue
		}
		if n, ok := jn.snap[h]; ok && n == 0 {
			return fmt.Sprintf("Join returned before %v ran (rule 10)", h)
		}
	}
	return ""
}

// ---------------------------------------------------------------------------
// A round from start to end.

// modelResult is what a round found.
type modelResult struct {
	problems []string // nil if none
	trees    int
	injected bool // the round's mutant struck
	stats    modelStats
}

// modelStats counts what the rounds exercised, for the test's log.
type modelStats struct {
	phases, jobs, ops, handlers, joins, reports int
	cancelled, failed, multi, deep              int // jobs ending cancelled; with a failure; with a MultiError; failures that climbed ≥ 2 levels
	uncomparable, panics, quiet                 int
	watchers, races                             int // watcher bodies ended; failures racing them (modelRound.races)
	scopes, supScopes, rootScopes, nested       int // scopes made: all, SupervisorScopes, at a root, made by a scope's body
	scopesBornCancelled, scopeFailures          int // scopes whose body never ran; Scope calls that returned a failure
}

func (s *modelStats) add(o modelStats) {
	s.phases += o.phases
	s.jobs += o.jobs
	s.ops += o.ops
	s.handlers += o.handlers
	s.joins += o.joins
	s.reports += o.reports
	s.cancelled += o.cancelled
	s.failed += o.failed
	s.multi += o.multi
	s.deep += o.deep
	s.uncomparable += o.uncomparable
	s.panics += o.panics
	s.quiet += o.quiet
	s.watchers += o.watchers
	s.races += o.races
	s.scopes += o.scopes
	s.supScopes += o.supScopes
	s.rootScopes += o.rootScopes
	s.nested += o.nested
	s.scopesBornCancelled += o.scopesBornCancelled
	s.scopeFailures += o.scopeFailures
}

func (s modelStats) String() string {
	return fmt.Sprintf("%d phases, %d jobs, %d tree operations, %d handlers, %d joins, %d exception reports; "+
		"jobs ending cancelled %d, failed %d, with a MultiError %d; failures reaching a grandparent %d; uncomparable failures %d; panics %d; phases waiting for quiescence %d; "+
		"watchers ended by their cancellation %d; failures climbing to a Completing parent while watchers they cancelled end %d; "+
		"scopes %d (SupervisorScopes %d, at a root %d, inside a scope %d, born cancelled %d), of which returned a failure %d",
		s.phases, s.jobs, s.ops, s.handlers, s.joins, s.reports, s.cancelled, s.failed, s.multi, s.deep, s.uncomparable, s.panics, s.quiet, s.watchers, s.races,
		s.scopes, s.supScopes, s.rootScopes, s.nested, s.scopesBornCancelled, s.scopeFailures)
}

// stats counts what the round exercised.
func (r *modelRound) stats() modelStats {
	st := modelStats{phases: r.phase, jobs: len(r.jobs), ops: len(r.history), handlers: len(r.handlers), joins: len(r.joins), quiet: r.quietPhases,
		watchers: r.watcherEnds, races: r.races, scopes: len(r.scopes), scopeFailures: r.scopeFailures}
	for _, s := range r.scopes {
		if s.kind == mkSupervisorScope {
			st.supScopes++
		}
		switch {
		case s.host == nil:
			st.rootScopes++
		case s.host.scoped:
			st.nested++
		}
		if s.body == mbNever {
			st.scopesBornCancelled++
		}
	}
	for _, rc := range r.recs {
		st.reports += len(rc.want)
	}
	for _, j := range r.jobs {
		if !j.final || !j.cancelled {
			continue
		}
		st.cancelled++
		switch c := j.finalCause; c.kind {
		case ckMulti:
			st.multi++
			st.failed++
		case ckFailure:
			st.failed++
		}
	}
	seen := make(map[*mFailure]int)
	for _, j := range r.jobs {
		if !j.final || !j.cancelled || j.finalCause.isCancel() {
			continue
		}
		fs := []*mCause{j.finalCause}
		if j.finalCause.kind == ckMulti {
			fs = j.finalCause.list
		}
		for _, f := range fs {
			seen[f.fail]++
		}
	}
	for f, n := range seen {
		if n >= 3 {
			st.deep++
		}
		if f.uncomparable {
			st.uncomparable++
		}
		if f.panicked {
			st.panics++
		}
	}
	return st
}

// runModelRound plays one round: a forest of trees, random phases, then
// draining phases until every job is final, checking after each.
func runModelRound(t testing.TB, name, label string, rng modelChooser, mut modelMutant) modelResult {
	r := newModelRound(name, label, rng, mut)
	n := 2 + rng.IntN(4)
	if _, ok := rng.(*modelBytes); ok {
		n = 1 + rng.IntN(4)
	}
	for i := range n {
		r.trees = append(r.trees, &mTree{idx: i, aim: rng.IntN(2) == 1}) // 1: not when a fuzz input ran out
	}
	phases := 5 + rng.IntN(9)
	r.growPhases = 2 + rng.IntN(4)
	ok := r.runPhase(t, true, false)
	for i := 0; ok && i < phases && !modelExhausted(rng); i++ {
		ok = r.runPhase(t, false, false)
	}
	for ok && !r.allDone() {
		if r.phase >= modelMaxPhases {
			r.problem("model: the round did not end within %d phases (model bug)", modelMaxPhases)
			ok = false
			break
		}
		ok = r.runPhase(t, false, true)
	}
	if ok {
		ok = r.settle(t, true)
	}
	if ok {
		r.finalChecks(t)
	}
	if len(r.problems) > 0 {
		r.cleanup(t)
	}
	if len(r.problems) > 0 {
		r.problems = append(r.problems, "operations of the round (the trees' in each phase):\n\t\t"+strings.Join(r.history, "\n\t\t"))
	}
	return modelResult{problems: r.problems, trees: n, injected: r.injected.Load(), stats: r.stats()}
}

func (r *modelRound) allDone() bool {
	for _, tr := range r.trees {
		if !tr.done() {
			return false
		}
	}
	return true
}

// finalChecks checks a finished round: every body returned, every join
// returned, every handler ran as planned (done by check), and Dispose
// after the fact changes nothing.
func (r *modelRound) finalChecks(t testing.TB) {
	for _, j := range r.jobs {
		if (j.kind == mkLaunch || j.scoped) && j.body == mbReturned && !j.returned.Load() {
			r.problem("end: the body of %v never returned", j)
		}
	}
	for _, jn := range r.joins {
		testkit.WaitChan(t, jn.done, fmt.Sprintf("Join on %v to return", jn.job))
	}
	for _, h := range r.handlers {
		before := h.runs.Load()
		if hd := h.handle.Load(); hd != nil {
			(*hd).Dispose()
		}
		if after := h.runs.Load(); after != before {
			r.problem("end: %v ran during a late Dispose", h)
		}
	}
	if bad := r.check(true); len(bad) > 0 {
		for _, b := range bad {
			r.problem("end: %s", b)
		}
	}
}

// cleanup ends a failed round: bodies return, trees are cancelled, and
// the round waits (bounded) for the roots.
func (r *modelRound) cleanup(t testing.TB) {
	close(r.abort)
	for _, tr := range r.trees {
		if tr.root != nil && tr.root.real != nil {
			tr.root.real.Cancel(nil)
		}
	}
	for _, tr := range r.trees {
		for _, j := range tr.jobs {
			if j.real == nil {
				continue
			}
			j.real.Cancel(nil)
			timer := time.NewTimer(stressWaitLimit(t))
			select {
			case <-j.real.Done():
			case <-timer.C:
				r.problem("cleanup: %v did not complete (%v)", j, j.real.State())
			}
			timer.Stop()
		}
	}
}

// ---------------------------------------------------------------------------
// The tests.

// modelConfig reads the environment: seed, the one round to replay (-1
// for all) and the mutant.
func modelConfig(t testing.TB) (seed uint64, only int, mut modelMutant) {
	t.Helper()
	only = -1
	if s := os.Getenv(modelSeedEnv); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: %v", modelSeedEnv, s, err)
		}
		seed = v
	} else {
		seed = rand.Uint64()
	}
	if s := os.Getenv(modelRoundEnv); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 0 {
			t.Fatalf("%s=%q: want a round number", modelRoundEnv, s)
		}
		only = v
	}
	if s := os.Getenv(modelMutantEnv); s != "" {
		m, ok := modelMutants[s]
		if !ok {
			t.Fatalf("%s=%q: want one of skip-handler, double-handler, drop-cancel, lose-failure, scope-nil", modelMutantEnv, s)
		}
		mut = m
	}
	return seed, only, mut
}

// modelRun plays rounds of seed until at least trees trees were played
// (or only the round only, if it is not negative), stopping at the first
// round with problems. It returns the rounds and trees played and the
// failing round's report ("" if none).
func modelRun(t testing.TB, seed uint64, only, trees int, mut modelMutant) (rounds, played int, stats modelStats, failure string) {
	run := modelRunID.Add(1)
	first, last := 0, -1
	if only >= 0 {
		first, last = only, only
	}
	for round := first; (last < 0 && played < trees) || round == last; round++ {
		name := fmt.Sprintf("seed=%d round=%d", seed, round)
		res := runModelRound(t, name, fmt.Sprintf("%d/%d", run, round), rand.New(rand.NewPCG(seed, uint64(round))), mut)
		rounds++
		played += res.trees
		stats.add(res.stats)
		if len(res.problems) > 0 {
			return rounds, played, stats, fmt.Sprintf("%s (mutant %v, injected %v): %d problem(s):\n\t%s\nreplay: %s=%d %s=%d go test -race -run '^TestModel$' ./core/",
				name, mut, res.injected, len(res.problems), strings.Join(res.problems, "\n\t"), modelSeedEnv, seed, modelRoundEnv, round)
		}
	}
	// Nothing of the run may still be running.
	prefix := `"` + modelLabelKey + `":"` + strconv.FormatInt(run, 10) + `/`
	if !stressSpin(t, func() bool { return modelLabeled(prefix) == 0 }) {
		return rounds, played, stats, fmt.Sprintf("seed=%d: %d goroutines of the run are still running after its last round\n%s", seed, modelLabeled(prefix), testkit.GoroutineDump())
	}
	return rounds, played, stats, ""
}

// modelRan remembers that TestModel ran its full size in this process.
var modelRan atomic.Bool

// TestModel plays random forests against the model (see the top of the
// file): at least modelTrees trees in the first run of a test process
// (modelTreesShort under -short, modelTreesAgain in later runs of -count).
// A failure names the seed and round to replay.
func TestModel(t *testing.T) {
	t.Parallel()
	seed, only, mut := modelConfig(t)
	trees := modelTrees
	switch {
	case stressFull():
		trees = 10 * modelTrees // make stress
	case testing.Short():
		trees = modelTreesShort
	case modelRan.Swap(true):
		trees = modelTreesAgain
	}
	start := time.Now()
	rounds, played, stats, failure := modelRun(t, seed, only, trees, mut)
	t.Logf("seed=%d: %d rounds, %d trees in %v (mutant %v; replay with %s=%d)\n\t%v", seed, rounds, played, time.Since(start).Round(time.Millisecond), mut, modelSeedEnv, seed, stats)
	if failure != "" {
		t.Fatal(failure)
	}
}

// TestModel_Mutants shows that the model can fail: for each fault the
// harness can inject (a handler call skipped or recorded twice, a Cancel
// dropped, a body's failure lost, a scope's failure returned as nil),
// rounds are played until one fails; that
// round must be one in which the fault struck, and every round before it
// must have passed.
func TestModel_Mutants(t *testing.T) {
	t.Parallel()
	seed, _, _ := modelConfig(t)
	for _, name := range []string{"skip-handler", "double-handler", "drop-cancel", "lose-failure", "scope-nil"} {
		t.Run(name, func(t *testing.T) {
			mut := modelMutants[name]
			const maxRounds = 200
			run := modelRunID.Add(1)
			for round := range maxRounds {
				rname := fmt.Sprintf("seed=%d round=%d", seed, round)
				res := runModelRound(t, rname, fmt.Sprintf("%d/%d", run, round), rand.New(rand.NewPCG(seed, uint64(round))), mut)
				if len(res.problems) == 0 {
					continue
				}
				if !res.injected {
					t.Fatalf("%s failed although the mutant %s did not strike (a bug of core or of the model):\n\t%s", rname, name, strings.Join(res.problems, "\n\t"))
				}
				t.Logf("mutant %s caught in %s (round %d of the run): %s", name, rname, round+1, res.problems[0])
				return
			}
			t.Errorf("mutant %s was not caught in %d rounds (seed=%d)", name, maxRounds, seed)
		})
	}
}

// TestModel_SeesScopeWaiting checks what the model's quiescence relies on:
// a goroutine whose Scope waits for the scope's children is seen parked,
// with core's runScope as its first frame (modelParkedInScope). Should
// runScope be renamed or inlined, this test says so at once, where the
// model would only run into its time limit.
func TestModel_SeesScopeWaiting(t *testing.T) {
	t.Parallel()
	lbl := `"` + modelScopeKey + `":"guard/` + t.Name() + `"`
	release := make(chan struct{})
	scopeCtx := make(chan context.Context)
	attached := make(chan struct{})
	returned := make(chan error, 1)
	go pprof.Do(context.Background(), pprof.Labels(modelScopeKey, "guard/"+t.Name()), func(ctx context.Context) { // ends when Scope returns
		returned <- core.Scope(ctx, func(ctx context.Context) error {
			scopeCtx <- ctx
			<-attached
			return nil // the scope now waits for its child
		})
	})
	// The child is launched from this goroutine, so that it does not
	// inherit the scope goroutine's label (as in the model).
	core.Launch(<-scopeCtx, func(context.Context) error { <-release; return nil })
	close(attached)
	deadline := time.Now().Add(testkit.WaitTimeout(t))
	for !modelParkedInScope(modelProfile(), lbl) {
		if time.Now().After(deadline) {
			close(release)
			t.Fatalf("a goroutine waiting in Scope for the scope's children is never seen parked with core's runScope as its first frame; the model's quiescence check (modelParkedInScope) must follow core's scope code\n%s", testkit.GoroutineDump())
		}
		runtime.Gosched()
	}
	close(release)
	if err := testkit.WaitChan(t, returned, "Scope to return"); err != nil {
		t.Errorf("Scope = %v, want nil", err)
	}
}
