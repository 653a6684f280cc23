package core_test

// Hammer tests: many short rounds, each racing every CAS-based path of one
// job (Cancel, Complete, Fail, child attachment, handler registration and
// Dispose) from goroutines released together, then checking the invariants
// of the API contract once everything is joined (API rules 1, 4–7, 9, 10,
// 12, 15; STYLE point 19).
//
// The helpers of this file (stress*) are shared with memory_test.go and
// alloc_test.go, and depend only on internal/testkit, so that these files do
// not depend on the helpers of the other test files.

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jobtree/jobtree/core"
	"github.com/jobtree/jobtree/internal/testkit"
)

// stressTimeout bounds every wait of the stress, memory and allocation
// tests: a wait that takes longer is a hang, and the test fails with a dump
// of all goroutines.
const stressTimeout = 30 * time.Second

// stressWaitLimit is stressTimeout, shortened so that the test fails with a
// dump before the test binary's own -timeout kills it.
func stressWaitLimit(t testing.TB) time.Duration {
	return testkit.WaitLimit(t, stressTimeout, 2*time.Second)
}

// stressWait waits until ch is closed, or fails the test with a goroutine
// dump after stressTimeout.
func stressWait(t testing.TB, ch <-chan struct{}, what string) {
	t.Helper()
	testkit.WaitWithin(t, ch, what, stressWaitLimit(t))
}

// stressWaitGroup waits for wg like stressWait waits for a channel.
func stressWaitGroup(t testing.TB, wg *sync.WaitGroup, what string) {
	t.Helper()
	done := make(chan struct{})
	go func() { // ends when wg's goroutines have all returned
		wg.Wait()
		close(done)
	}()
	stressWait(t, done, what)
}

// stressGo runs f on a new goroutine counted by wg.
func stressGo(wg *sync.WaitGroup, f func()) {
	wg.Add(1)
	go func() { // ends when f returns
		defer wg.Done()
		f()
	}()
}

// stressSpin spins until cond holds, yielding now and then (a goroutine
// that must make cond true may share our P). It reports false if cond still
// does not hold after stressWaitLimit: the caller fails.
func stressSpin(t testing.TB, cond func() bool) bool {
	deadline := time.Now().Add(stressWaitLimit(t))
	for spins := 0; !cond(); spins++ {
		if spins%64 == 63 {
			runtime.Gosched()
			if time.Now().After(deadline) {
				return false
			}
		}
	}
	return true
}

// stressFinalState returns a description of what is wrong with the final
// state of j (which the caller saw complete), or "" if nothing is: the state
// is final, the flags follow rule 1's table, Cause is nil iff Completed,
// Done is closed, Join returns nil, and Parent and Children are empty.
func stressFinalState(j core.Job) string {
	var bad []string
	st := j.State()
	if st != core.Cancelled && st != core.Completed {
		bad = append(bad, fmt.Sprintf("State() = %v, want Cancelled or Completed", st))
	}
	if got, want := testkit.FlagsOf(j), testkit.StateFlags[st]; got != want {
		bad = append(bad, fmt.Sprintf("(IsActive, IsCompleted, IsCancelled) = %v, want %v for %v", got, want, st))
	}
	if cause := j.Cause(); (cause == nil) != (st == core.Completed) {
		bad = append(bad, fmt.Sprintf("Cause() = %v in state %v, want nil iff Completed", cause, st))
	}
	if !testkit.IsClosed(j.Done()) {
		bad = append(bad, "Done() not closed")
	}
	if !testkit.IsClosed(j.Context().Done()) {
		bad = append(bad, "Context().Done() not closed")
	}
	if err := j.Join(context.Background()); err != nil {
		bad = append(bad, fmt.Sprintf("Join(ctx) = %v, want nil", err))
	}
	if p := j.Parent(); p != nil {
		bad = append(bad, fmt.Sprintf("Parent() = %v, want nil once complete", p))
	}
	for c := range j.Children() {
		bad = append(bad, fmt.Sprintf("Children() yields %v, want none once complete", c))
	}
	return strings.Join(bad, "; ")
}

// stressProblem is an invariant violation: kind is its format string, so
// that a test can count each kind over many rounds.
type stressProblem struct{ kind, text string }

// stressProblems collects the problems of one round.
type stressProblems []stressProblem

// add records a problem whose kind is format.
func (ps *stressProblems) add(format string, args ...any) {
	*ps = append(*ps, stressProblem{format, fmt.Sprintf(format, args...)})
}

// stressTally counts the problems of many rounds by kind, keeping the first
// example of each.
type stressTally struct {
	order []string
	count map[string]int
	first map[string]string
}

func (ty *stressTally) add(where string, problems []stressProblem) {
	if ty.count == nil {
		ty.count, ty.first = make(map[string]int), make(map[string]string)
	}
	seen := make(map[string]bool)
	for _, p := range problems {
		if seen[p.kind] {
			continue // count rounds, not repeats within a round
		}
		seen[p.kind] = true
		if ty.count[p.kind] == 0 {
			ty.order = append(ty.order, p.kind)
			ty.first[p.kind] = where + ": " + p.text
		}
		ty.count[p.kind]++
	}
}

// report fails t once per kind of problem, with its count and first example.
// The header says how to replay, e.g. "seed=42".
func (ty *stressTally) report(t *testing.T, header string, rounds int) {
	t.Helper()
	for _, k := range ty.order {
		t.Errorf("%s: in %d of %d rounds: %s\n\tfirst: %s", header, ty.count[k], rounds, k, ty.first[k])
	}
}

// stressSeed returns the seed of a randomised test: $JOBTREE_SEED when set
// (to replay a failure: the same plans, though not the same timing), else a
// fresh one. The test logs it.
func stressSeed(t *testing.T) uint64 {
	t.Helper()
	if s := os.Getenv("JOBTREE_SEED"); s != "" {
		seed, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("JOBTREE_SEED=%q: %v", s, err)
		}
		return seed
	}
	return rand.Uint64()
}

// stressRounds scales a round count: down under -short, up (×50) at the
// full size of the stress suite (JOBTREE_STRESS=1, make stress).
func stressRounds(n int) int {
	switch {
	case stressFull():
		return 50 * n
	case testing.Short():
		return max(n/10, 10)
	}
	return n
}

// hammer runs the rounds of a hammer test: hammerRounds of them (a quarter
// in later runs of the same test in one process, -count=N, as the model
// test plays fewer trees: -count=50 hunts flaky ordering, and 50 quarter
// runs still play far more rounds than one full run, within go test's
// default ten-minute limit). round plays round i with rng, the run's seed
// on the test's own stream, and returns where it was and the problems it
// saw; hammer tallies them and fails t once per kind, with the seed to
// replay.
func hammer(t *testing.T, stream uint64, round func(i int, rng *rand.Rand) (where string, problems []stressProblem)) {
	t.Helper()
	seed := stressSeed(t)
	rounds := stressRounds(hammerRounds)
	if _, again := hammerRan.LoadOrStore(t.Name(), true); again && !stressFull() {
		rounds /= 4
	}
	t.Logf("seed=%d rounds=%d (replay with JOBTREE_SEED=%d)", seed, rounds, seed)
	rng := rand.New(rand.NewPCG(seed, stream))
	var tally stressTally
	for i := range rounds {
		tally.add(round(i, rng))
	}
	tally.report(t, fmt.Sprintf("seed=%d", seed), rounds)
}

// hammerRan holds the names of the hammer tests this process has run.
var hammerRan sync.Map

// hammerRounds is the number of rounds of TestHammer_JobRaces: about 1.5 s
// with -race on two cores (the other hammers run a fixed share of it).
const hammerRounds = 4000

// Handler kinds of the hammer.
const (
	onCompletion = iota
	onCancelling
)

// Dispose modes of a handler registered by a hammer racer.
const (
	keepHandle    = iota // never disposed: must run exactly once
	disposeHere          // disposed by the registering goroutine
	disposeTwice         // disposed twice by the registering goroutine
	disposeThere         // disposed by another goroutine
	disposeBoth          // disposed by two other goroutines at once
	disposeInside        // disposed from inside the handler itself
	numDisposeModes
)

// hammerHandler is a registered handler and what happened to it.
type hammerHandler struct {
	name string
	kind int
	on   core.Job
	// early is set for handlers disposed before anything could move the job
	// towards completion (Dispose happened-before completion): they must
	// never run.
	early bool
	// runs counts the handler's calls.
	runs atomic.Int32
	// disposed is set just before the first Dispose call: a handler whose
	// Dispose was called may have run at most once, one never disposed
	// exactly once.
	disposed atomic.Bool
	// handle is what InvokeOn* returned; nil until it returned.
	handle atomic.Pointer[core.DisposableHandle]
}

// dispose disposes h, n times. The caller got h after its registration
// returned.
func (h *hammerHandler) dispose(n int) {
	h.disposed.Store(true)
	hd := *h.handle.Load()
	for range n {
		hd.Dispose()
	}
}

// handlersBeforeDone checks, once j's Done is closed (or Join returned),
// that completion, a completion handler registered before and never
// disposed, has run (rule 10: "Done() closes and Join returns only after
// they have run"); and so has cancelling, a cancelling handler registered
// the same way, if j Completed: then it was run with nil by whoever
// finalized j. A job that was cancelled may be final while a concurrent
// Cancel still runs its cancelling handlers (Cancel waits for them, Done
// does not; kotlinx alike): their count is checked after the racers
// returned. It returns what is wrong, or "".
func handlersBeforeDone(j core.Job, completion, cancelling *hammerHandler) string {
	var bad []string
	if n := completion.runs.Load(); n != 1 {
		bad = append(bad, fmt.Sprintf("completion handler ran %d times, want 1", n))
	}
	if n := cancelling.runs.Load(); n != 1 && j.State() == core.Completed {
		bad = append(bad, fmt.Sprintf("cancelling handler of a Completed job ran %d times, want 1", n))
	}
	return strings.Join(bad, "; ")
}

// hammerRound is the shared record of one round.
type hammerRound struct {
	name string // "round N" for messages
	job  core.Job

	mu       sync.Mutex
	problems stressProblems        // invariant violations seen by racers and handlers
	handlers []*hammerHandler      // every handler registered on the job or a child
	kids     []core.Job            // every child created from job.Context()
	grand    map[core.Job]core.Job // a child's child, if it has one
	failures []error               // failures that must be in the job's final cause
	kidFails []kidFailure          // children that Fail made fail
	reports  []error               // what the exception handler got
	// reportsAtJoin is len(reports) when Join returned.
	reportsAtJoin int

	cancelCalled atomic.Bool  // some racer called Cancel (set before the call)
	completeWins atomic.Int32 // Complete calls that returned true
	failWins     atomic.Int32 // Fail calls (on the job) that returned true
	bodyResult   atomic.Int32 // what a Launch body returned: one of body*
}

// kidFailure is a child failed with err by CompletableJob.Fail.
type kidFailure struct {
	kid core.Job
	err error
}

// What a round's Launch body returned.
const (
	bodyRunning = iota // not returned (or never ran)
	bodyNil            // returned nil
	bodyFailed         // returned its failure
	bodyGaveUp         // returned its own cancellation
	bodyEchoed         // returned ctx.Err() after ctx was done (not a plan choice)
)

func (r *hammerRound) problem(format string, args ...any) {
	r.mu.Lock()
	r.problems.add(format, args...)
	r.mu.Unlock()
}

func (r *hammerRound) addFailure(err error) {
	r.mu.Lock()
	r.failures = append(r.failures, err)
	r.mu.Unlock()
}

func (r *hammerRound) addKid(k core.Job) {
	r.mu.Lock()
	r.kids = append(r.kids, k)
	r.mu.Unlock()
}

func (r *hammerRound) kidList() []core.Job {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]core.Job(nil), r.kids...)
}

func (r *hammerRound) setGrandchild(kid, g core.Job) {
	r.mu.Lock()
	r.grand[kid] = g
	r.mu.Unlock()
}

func (r *hammerRound) grandchild(kid core.Job) core.Job {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.grand[kid]
}

func (r *hammerRound) report(err error) {
	r.mu.Lock()
	r.reports = append(r.reports, err)
	r.mu.Unlock()
}

// checkFinalAndRanOnce checks, once the round is over, that parent is final
// with consistent flags and that every handler of the round ran exactly
// once.
func (r *hammerRound) checkFinalAndRanOnce(parent core.Job) {
	if bad := stressFinalState(parent); bad != "" {
		r.problem("parent %v: %s", parent, bad)
	}
	for _, h := range r.handlers {
		if n := h.runs.Load(); n != 1 {
			r.problem("handler %s ran %d times, want 1", h.name, n)
		}
	}
}

// register registers a counted handler of the given kind on j. Inside, it
// checks rule 10: a completion handler runs once the job is final, with its
// final cause, after every attached child of the round's job is complete; a
// cancelling handler runs once the job is cancelling (non-nil cause) or
// Completed (nil cause). With selfDispose the handler disposes itself twice
// from inside (when its handle is already published: a handler may run
// before InvokeOn* returns).
func (r *hammerRound) register(name string, kind int, j core.Job, early, selfDispose bool) *hammerHandler {
	h := &hammerHandler{name: name, kind: kind, on: j, early: early}
	fn := func(cause error) {
		if n := h.runs.Add(1); n > 1 {
			r.problem("handler %s on %v ran %d times", h.name, j, n)
		}
		if h.early {
			r.problem("handler %s on %v ran although it was disposed before the job could complete", h.name, j)
		}
		if kind == onCompletion {
			if !j.IsCompleted() || j.IsActive() {
				r.problem("completion handler %s ran in state %v, want a final state", h.name, j.State())
			}
			if final := j.Cause(); (cause == nil) != (final == nil) || (cause != nil && !errors.Is(cause, final)) {
				r.problem("completion handler %s got %v, want the final cause %v", h.name, cause, final)
			}
			if g := r.grandchild(j); g != nil && !g.IsCompleted() {
				r.problem("child %v completed before its own child %v", j, g)
			}
			if j == r.job {
				for _, k := range r.kidList() {
					// An attached child reports its parent until it is
					// complete; a child that was never attached reports nil.
					if p := k.Parent(); p != nil {
						r.problem("job completed while its child %v is still attached (Parent() = %v)", k, p)
					}
				}
			}
		} else {
			switch {
			case cause == nil && (!j.IsCompleted() || j.IsCancelled()):
				r.problem("cancelling handler %s ran with nil in state %v, want Completed", h.name, j.State())
			case cause != nil && !j.IsCancelled():
				r.problem("cancelling handler %s ran with %v in state %v, want Cancelling or Cancelled", h.name, cause, j.State())
			}
		}
		if selfDispose {
			if hd := h.handle.Load(); hd != nil {
				h.disposed.Store(true)
				(*hd).Dispose()
				(*hd).Dispose()
			}
		}
	}
	r.mu.Lock()
	r.handlers = append(r.handlers, h)
	r.mu.Unlock()
	var hd core.DisposableHandle
	if kind == onCompletion {
		hd = j.InvokeOnCompletion(fn)
	} else {
		hd = j.InvokeOnCancelling(fn)
	}
	h.handle.Store(&hd)
	return h
}

// hammerFailure is a failure of an uncomparable type (a value with a slice
// in it): comparing two of them with == panics, so the implementation must
// never do so. Is makes errors.Is find it by its id.
type hammerFailure struct {
	id   string
	path []string // makes the type uncomparable
}

func (e hammerFailure) Error() string { return e.id }

// Is reports whether target is a hammerFailure with the same id.
func (e hammerFailure) Is(target error) bool {
	t, ok := target.(hammerFailure)
	return ok && t.id == e.id
}

// hammerError returns a failure with the given text: an uncomparable
// hammerFailure when uncomparable is set, else a plain error.
func hammerError(uncomparable bool, text string) error {
	if uncomparable {
		return hammerFailure{id: text, path: []string{text}}
	}
	return errors.New(text)
}

// hammerPlan is what one round does, drawn from the seeded generator before
// any goroutine starts (the generator is not safe for concurrent use).
type hammerPlan struct {
	launch      bool // the job is a Launch job (else a NewJob)
	bodyOutcome int  // what a Launch body returns once released: bodyNil, bodyFailed or bodyGaveUp
	bodyWatches bool // the Launch body also returns ctx.Err() once its context is done
	gate        bool // a racer disposes two handlers before anything may complete the job
	// uncomparable makes the round's failures hammerFailure values.
	uncomparable bool
	cancels      []bool
	completes    int
	fails        int
	kids         []hammerKidPlan
	registrars   [][]hammerRegPlan
	readers      int
}

// hammerKidPlan is what an attaching racer does.
type hammerKidPlan struct {
	launch     bool // a Launch child (else a NewJob child)
	action     int  // NewJob child: 0 Complete, 1 Cancel, 2 Fail
	grandchild bool // NewJob child: give it a Launch child first
	handlers   bool // register a completion and a cancelling handler on it
}

// hammerRegPlan is one handler registered by a registering racer.
type hammerRegPlan struct {
	kind, mode int
}

func newHammerPlan(rng *rand.Rand, launch bool) hammerPlan {
	p := hammerPlan{
		launch:      launch,
		bodyOutcome: bodyNil + rng.IntN(bodyEchoed-bodyNil), // nil, failed or gave up
		bodyWatches: rng.IntN(2) == 0,
		gate:        rng.IntN(2) == 0,
		readers:     rng.IntN(2),
		// Fail, and failures' aggregation, must not compare errors
		// with ==.
		uncomparable: rng.IntN(4) == 0,
	}
	for range rng.IntN(3) {
		p.cancels = append(p.cancels, rng.IntN(2) == 0)
	}
	if !launch {
		p.completes = rng.IntN(3)
		p.fails = rng.IntN(2)
		if len(p.cancels)+p.completes+p.fails == 0 {
			p.completes = 1 // someone must end a NewJob
		}
	}
	for range 1 + rng.IntN(3) {
		p.kids = append(p.kids, hammerKidPlan{
			launch:     rng.IntN(2) == 0,
			action:     rng.IntN(3),
			grandchild: rng.IntN(3) == 0,
			handlers:   rng.IntN(2) == 0,
		})
	}
	for range 1 + rng.IntN(2) {
		var regs []hammerRegPlan
		for range 2 + rng.IntN(3) {
			regs = append(regs, hammerRegPlan{kind: rng.IntN(2), mode: rng.IntN(numDisposeModes)})
		}
		p.registrars = append(p.registrars, regs)
	}
	return p
}

// runHammerRound creates the round's job under root, races the plan's
// goroutines on it, waits for all of them and checks the invariants. It
// returns the problems found.
func runHammerRound(t *testing.T, root core.Job, p hammerPlan, name string) []stressProblem {
	r := &hammerRound{name: name, grand: make(map[core.Job]core.Job)}
	ctx := core.WithExceptionHandler(root.Context(), r.report)

	release := make(chan struct{}) // ends a Launch job's body
	bodyErr := hammerError(p.uncomparable, name+": body failure")
	var cj core.CompletableJob
	if p.launch {
		r.job = core.Launch(ctx, func(ctx context.Context) error {
			if p.bodyWatches {
				select {
				case <-release:
				case <-ctx.Done():
					r.bodyResult.Store(bodyEchoed)
					return ctx.Err()
				}
			} else {
				<-release
			}
			r.bodyResult.Store(int32(p.bodyOutcome))
			switch p.bodyOutcome {
			case bodyFailed:
				return bodyErr
			case bodyGaveUp:
				return &core.CancellationError{Message: name + ": body gave up"}
			}
			return nil
		})
	} else {
		cj = core.NewJob(ctx)
		r.job = cj
	}
	job := r.job

	// Registered before any racer starts: A and C are never disposed, so
	// they must have run when Done is closed; B and D are disposed at
	// once, which happens-before any completion: they must never run.
	preA := r.register("pre-A", onCompletion, job, false, false)
	preB := r.register("pre-B", onCompletion, job, true, false)
	preC := r.register("pre-C", onCancelling, job, false, false)
	preD := r.register("pre-D", onCancelling, job, true, false)
	preB.dispose(1)
	preD.dispose(2)

	start := make(chan struct{})
	// gate is closed once the gate racer has disposed its handlers; every
	// racer that may move the job towards completion waits for it.
	gate := make(chan struct{})
	var wg sync.WaitGroup

	if p.gate {
		stressGo(&wg, func() {
			<-start
			g1 := r.register("gate-completion", onCompletion, job, true, false)
			g2 := r.register("gate-cancelling", onCancelling, job, true, false)
			g1.dispose(1)
			g2.dispose(2)
			close(gate)
		})
	} else {
		close(gate)
	}

	for i, withCause := range p.cancels {
		stressGo(&wg, func() {
			<-start
			<-gate
			var cause error
			if withCause {
				cause = fmt.Errorf("%s: cancel %d", name, i)
			}
			r.cancelCalled.Store(true)
			job.Cancel(cause)
			// Rule 6: when Cancel returns the job is cancelling or final
			// (or was Completed, which Cancel leaves alone).
			if st := job.State(); st != core.Cancelling && st != core.Cancelled && st != core.Completed {
				r.problem("State() = %v right after Cancel returned, want Cancelling, Cancelled or Completed", st)
			}
		})
	}
	for range p.completes {
		stressGo(&wg, func() {
			<-start
			<-gate
			if cj.Complete() {
				r.completeWins.Add(1)
			}
		})
	}
	for i := range p.fails {
		stressGo(&wg, func() {
			<-start
			<-gate
			err := hammerError(p.uncomparable, fmt.Sprintf("%s: Fail %d", name, i))
			if cj.Fail(err) {
				r.failWins.Add(1)
				r.addFailure(err)
			}
		})
	}
	if p.launch {
		stressGo(&wg, func() {
			<-start
			<-gate
			runtime.Gosched()
			close(release)
		})
	}

	for i, kp := range p.kids {
		stressGo(&wg, func() {
			<-start
			kname := fmt.Sprintf("kid-%d", i)
			if kp.launch {
				kidRelease := make(chan struct{})
				kid := core.Launch(job.Context(), func(ctx context.Context) error {
					select {
					case <-kidRelease:
						return nil
					case <-ctx.Done():
						return ctx.Err()
					}
				})
				r.addKid(kid)
				if kp.handlers {
					r.register(kname+"-completion", onCompletion, kid, false, false)
					r.register(kname+"-cancelling", onCancelling, kid, false, false)
				}
				runtime.Gosched()
				close(kidRelease)
				return
			}
			kid := core.NewJob(job.Context())
			r.addKid(kid)
			if kp.handlers {
				r.register(kname+"-completion", onCompletion, kid, false, false)
				r.register(kname+"-cancelling", onCancelling, kid, false, false)
			}
			var gRelease chan struct{}
			if kp.grandchild {
				gRelease = make(chan struct{})
				g := core.Launch(kid.Context(), func(ctx context.Context) error {
					select {
					case <-gRelease:
						return nil
					case <-ctx.Done():
						return ctx.Err()
					}
				})
				r.setGrandchild(kid, g)
			}
			switch kp.action {
			case 0:
				kid.Complete()
			case 1:
				kid.Cancel(nil)
			case 2:
				<-gate
				err := hammerError(p.uncomparable, fmt.Sprintf("%s: %s failed", name, kname))
				if kid.Fail(err) {
					r.mu.Lock()
					r.kidFails = append(r.kidFails, kidFailure{kid, err})
					r.mu.Unlock()
					// A failing child cancels its parent (rule 7).
					r.addFailure(err)
				}
			}
			if gRelease != nil {
				close(gRelease)
			}
		})
	}

	// Handles handed to other goroutines for disposal: one disposer, and a
	// pair that dispose the same handles at once.
	total := 0
	for _, regs := range p.registrars {
		total += len(regs)
	}
	there := make(chan *hammerHandler, total)
	bothA := make(chan *hammerHandler, total)
	bothB := make(chan *hammerHandler, total)
	var registrars sync.WaitGroup
	for i, regs := range p.registrars {
		registrars.Add(1)
		stressGo(&wg, func() {
			defer registrars.Done()
			<-start
			for k, rp := range regs {
				h := r.register(fmt.Sprintf("reg-%d.%d", i, k), rp.kind, job, false, rp.mode == disposeInside)
				switch rp.mode {
				case disposeHere:
					h.dispose(1)
				case disposeTwice:
					h.dispose(2)
				case disposeThere:
					there <- h
				case disposeBoth:
					h.disposed.Store(true)
					bothA <- h
					bothB <- h
				}
				if k%2 == 1 {
					runtime.Gosched()
				}
			}
		})
	}
	stressGo(&wg, func() {
		registrars.Wait()
		close(there)
		close(bothA)
		close(bothB)
	})
	for _, ch := range []chan *hammerHandler{there, bothA, bothB} {
		stressGo(&wg, func() {
			for h := range ch {
				h.dispose(2)
			}
		})
	}

	// The joiner: Join returns only after the handlers ran (rule 10), and
	// a handler registered on a complete job runs at once, on the caller.
	stressGo(&wg, func() {
		<-start
		if err := job.Join(context.Background()); err != nil {
			r.problem("Join(ctx) = %v, want nil", err)
		}
		r.mu.Lock()
		r.reportsAtJoin = len(r.reports)
		r.mu.Unlock()
		if !testkit.IsClosed(job.Done()) || !job.IsCompleted() {
			r.problem("Join returned with State() = %v, Done closed = %v", job.State(), testkit.IsClosed(job.Done()))
		}
		if bad := handlersBeforeDone(job, preA, preC); bad != "" {
			r.problem("Join returned before the handlers ran: %s", bad)
		}
		for _, kind := range []int{onCompletion, onCancelling} {
			h := r.register(fmt.Sprintf("late-%d", kind), kind, job, false, false)
			if got := h.runs.Load(); got != 1 {
				r.problem("handler (kind %d) registered on a complete job ran %d times before InvokeOn* returned, want 1", kind, got)
			}
			h.dispose(2)
		}
	})
	for range p.readers {
		stressGo(&wg, func() {
			<-start
			for range 3 {
				for c := range job.Children() {
					_ = c.String()
				}
				_ = job.String()
				runtime.Gosched()
			}
		})
	}

	close(start)
	stressWait(t, job.Done(), name+": the job to complete")
	if bad := handlersBeforeDone(job, preA, preC); bad != "" {
		r.problem("Done closed before the handlers ran: %s", bad)
	}
	stressWaitGroup(t, &wg, name+": the racers to return")

	// Everything is joined, except the goroutine that started the job's
	// (or a child's) cancellation when that was not a racer: a Launch
	// body that returned an error, or a failing child. It runs the
	// cancelling handlers it claimed, and may still be doing so after
	// the job completed (Done and Join wait for completion handlers
	// only; kotlinx alike). Wait for each cancelling handler never
	// disposed to have run.
	for _, h := range r.handlers {
		if h.kind == onCancelling && !h.disposed.Load() {
			if !stressSpin(t, func() bool { return h.runs.Load() > 0 }) {
				r.problem("cancelling handler %s (never disposed) on %v did not run within %v", h.name, h.on, stressWaitLimit(t))
			}
		}
	}

	// Check the outcome.
	if bad := stressFinalState(job); bad != "" {
		r.problem("%v: %s", job, bad)
	}
	st, cause := job.State(), job.Cause()
	for _, h := range r.handlers {
		n := h.runs.Load()
		switch {
		case h.early && n != 0:
			r.problem("handler %s disposed before completion ran %d times, want 0", h.name, n)
		case !h.disposed.Load() && n != 1:
			r.problem("handler %s (never disposed) on %v ran %d times, want exactly 1", h.name, h.on, n)
		case n > 1:
			r.problem("handler %s on %v ran %d times, want at most 1", h.name, h.on, n)
		}
	}
	if w := r.completeWins.Load() + r.failWins.Load(); w > 1 {
		r.problem("%d Complete/Fail calls returned true, want at most 1", w)
	}
	for _, k := range r.kids {
		if bad := stressFinalState(k); bad != "" {
			r.problem("child %v: %s", k, bad)
		}
	}
	for _, g := range r.grand {
		if bad := stressFinalState(g); bad != "" {
			r.problem("grandchild %v: %s", g, bad)
		}
	}
	for _, kf := range r.kidFails {
		if kf.kid.State() != core.Cancelled || !errors.Is(kf.kid.Cause(), kf.err) {
			r.problem("child %v: Fail(%v) returned true, but Cause() = %v", kf.kid, kf.err, kf.kid.Cause())
		}
	}
	if r.bodyResult.Load() == bodyFailed {
		r.failures = append(r.failures, bodyErr)
	}
	switch {
	case len(r.failures) > 0:
		// Rule 7: a real failure beats a cancellation, and each failure
		// is found in the final cause.
		if st != core.Cancelled || core.IsCancellation(cause) {
			r.problem("failures %v, but State() = %v, Cause() = %v", r.failures, st, cause)
		}
		for _, f := range r.failures {
			if !errors.Is(cause, f) {
				r.problem("Cause() = %v does not hold the failure %v", cause, f)
			}
		}
	case st == core.Cancelled:
		if !core.IsCancellation(cause) {
			r.problem("no failure, but Cause() = %v is not a cancellation", cause)
		}
		// Someone must have cancelled it.
		if !r.cancelCalled.Load() && r.bodyResult.Load() != bodyGaveUp {
			r.problem("Cancelled with %v, but nothing cancelled it", cause)
		}
	case r.cancelCalled.Load():
		// Completed before a Cancel got to it: fine.
	case p.launch && r.bodyResult.Load() != bodyNil:
		r.problem("Completed, but the body returned outcome %d", r.bodyResult.Load())
	case !p.launch && r.completeWins.Load() != 1:
		r.problem("Completed, but no Complete returned true")
	}
	// Rule 9: a Launch job whose failure no parent handles (its parent is
	// a supervisor) reports it once, with the final cause; nothing else
	// reports.
	wantReports := 0
	if p.launch && st == core.Cancelled && !core.IsCancellation(cause) {
		wantReports = 1
	}
	if len(r.reports) != wantReports {
		r.problem("exception handler got %v, want %d report(s) of %v", r.reports, wantReports, cause)
	} else if wantReports == 1 && !errors.Is(r.reports[0], cause) {
		r.problem("exception handler got %v, want the final cause %v", r.reports[0], cause)
	}
	if r.reportsAtJoin != len(r.reports) {
		r.problem("exception handler had %d of its %d report(s) when Join returned, want all (rule 9: reported before Join returns)",
			r.reportsAtJoin, len(r.reports))
	}
	for c := range root.Children() {
		if c == job {
			r.problem("root.Children() still yields the complete job %v", job)
		}
	}
	return r.problems
}

// TestHammer_JobRaces runs thousands of rounds; each creates one job (a
// NewJob under a root in even rounds, a Launch job whose body waits on a
// channel in odd ones) and races on it, from goroutines released together:
// Cancel, Complete and Fail, attaching NewJob and Launch children (some with
// a child of their own), registering completion and cancelling handlers,
// and disposing some of them (from the registering goroutine, from one or
// two other goroutines at once, twice, from inside the handler), plus
// Join, Children and String. Once all is joined it checks: each handler
// never disposed ran exactly once and before Done closed, a disposed one
// at most once, one disposed before the job could complete never; the
// final state follows rule 1's table with Cause nil iff Completed, Done
// closed, no children left; no child outlived its parent; at most one
// Complete/Fail won; failures are in the final cause (rule 7) and a Launch
// job's unhandled failure was reported once (rule 9). The root is a
// supervisor so that a round's failure stays in its round. goleak (in
// TestMain) checks that no goroutine is left.
func TestHammer_JobRaces(t *testing.T) {
	t.Parallel()
	root := core.NewSupervisorJob(nil)
	hammer(t, 0x6a6f6274726565, func(i int, rng *rand.Rand) (string, []stressProblem) {
		name := fmt.Sprintf("round %d", i)
		p := newHammerPlan(rng, i%2 == 1)
		return fmt.Sprintf("%s (plan %+v)", name, p), runHammerRound(t, root, p, name)
	})
	if !root.Complete() {
		t.Fatalf("root.Complete() = false, want true (state %v)", root.State())
	}
	stressWait(t, root.Done(), "the root to complete")
	if st := root.State(); st != core.Completed {
		t.Errorf("root.State() = %v after the rounds, want Completed (cause %v)", st, root.Cause())
	}
	if bad := stressFinalState(root); bad != "" {
		t.Errorf("root %v: %s", root, bad)
	}
}

// TestHammer_CancelVersusLastChild races the parent's Cancel against the
// completion of its last child while the parent waits for it in Completing
// (a NewJob after Complete, or a Launch job whose body returns), with a
// cancelling handler registered meanwhile. The parent ends Completed (the
// child won, and is Completed too) or Cancelled with a cancellation; its
// handlers run once, the cancelling one with nil iff it Completed; when
// Cancel returns, the parent is cancelling or final (rule 6).
func TestHammer_CancelVersusLastChild(t *testing.T) {
	t.Parallel()
	hammer(t, 0x6c617374, func(i int, rng *rand.Rand) (string, []stressProblem) {
		launchParent, launchChild, late := rng.IntN(2) == 0, rng.IntN(2) == 0, rng.IntN(2) == 0
		name := fmt.Sprintf("round %d (launch parent %v, launch child %v)", i, launchParent, launchChild)
		r := &hammerRound{name: name, grand: make(map[core.Job]core.Job)}

		made := make(chan struct{})    // the Launch parent's body returns once its child exists
		release := make(chan struct{}) // completes the child
		var parent core.Job
		if launchParent {
			parent = core.Launch(nil, func(context.Context) error { <-made; return nil })
		} else {
			parent = core.NewJob(nil)
		}
		r.job = parent
		var child core.Job
		if launchChild {
			child = core.Launch(parent.Context(), func(ctx context.Context) error {
				select {
				case <-release:
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			})
		} else {
			child = core.NewJob(parent.Context())
		}
		r.addKid(child)
		close(made)
		if !launchParent {
			if !parent.(core.CompletableJob).Complete() {
				r.problem("Complete() = false on an Active job")
			}
			if st := parent.State(); st != core.Completing {
				r.problem("State() = %v after Complete with a live child, want Completing", st)
			}
		}
		preA := r.register("completion", onCompletion, parent, false, false)
		preC := r.register("cancelling", onCancelling, parent, false, false)
		var cancelCause atomic.Pointer[error] // what a cancelling handler got
		parent.InvokeOnCancelling(func(cause error) { cancelCause.Store(&cause) })

		start := make(chan struct{})
		var wg sync.WaitGroup
		stressGo(&wg, func() {
			<-start
			parent.Cancel(nil)
			if st := parent.State(); st != core.Cancelling && st != core.Cancelled && st != core.Completed {
				r.problem("State() = %v right after Cancel returned, want Cancelling, Cancelled or Completed", st)
			}
		})
		stressGo(&wg, func() {
			<-start
			if launchChild {
				close(release)
			} else {
				child.(core.CompletableJob).Complete()
			}
		})
		if late {
			stressGo(&wg, func() {
				<-start
				r.register("late-cancelling", onCancelling, parent, false, false)
				r.register("late-completion", onCompletion, parent, false, false)
			})
		}
		close(start)
		stressWait(t, parent.Done(), name+": the parent to complete")
		if bad := handlersBeforeDone(parent, preA, preC); bad != "" {
			r.problem("Done closed before the handlers ran: %s", bad)
		}
		stressWaitGroup(t, &wg, name+": the racers to return")
		stressWait(t, child.Done(), name+": the child to complete")

		if bad := stressFinalState(child); bad != "" {
			r.problem("child %v: %s", child, bad)
		}
		r.checkFinalAndRanOnce(parent)
		switch st := parent.State(); st {
		case core.Completed:
			if child.State() != core.Completed {
				r.problem("parent Completed, but its child ended %v", child.State())
			}
		case core.Cancelled:
			if !core.IsCancellation(parent.Cause()) {
				r.problem("parent Cancelled with %v, want a cancellation", parent.Cause())
			}
		}
		if c := cancelCause.Load(); c == nil {
			r.problem("a cancelling handler never ran")
		} else if (*c == nil) != (parent.State() == core.Completed) {
			r.problem("cancelling handler got %v, want nil iff the parent Completed (it is %v)", *c, parent.State())
		}
		return name, r.problems
	})
}

// TestHammer_DisposeFromTwoGoroutines disposes the same handles from two
// goroutines at once (each twice, in opposite orders), either before
// anything completes the job — then Dispose happened-before completion and
// no handler may ever run — or racing with Complete or Cancel, when each
// handler runs at most once. Handlers registered and never disposed run
// exactly once (rule 10).
func TestHammer_DisposeFromTwoGoroutines(t *testing.T) {
	t.Parallel()
	hammer(t, 0x646973706f7365, func(i int, rng *rand.Rand) (string, []stressProblem) {
		during, cancel := rng.IntN(2) == 0, rng.IntN(2) == 0
		name := fmt.Sprintf("round %d (dispose during completion %v, by Cancel %v)", i, during, cancel)
		job := core.NewJob(nil)
		r := &hammerRound{name: name, job: job, grand: make(map[core.Job]core.Job)}
		const n = 6
		var disposed []*hammerHandler
		for k := range n {
			disposed = append(disposed, r.register(fmt.Sprintf("disposed-%d", k), k%2, job, !during, false))
		}
		keepC := r.register("kept-completion", onCompletion, job, false, false)
		keepX := r.register("kept-cancelling", onCancelling, job, false, false)
		for _, h := range disposed {
			h.disposed.Store(true)
		}
		finish := func() {
			if cancel {
				job.Cancel(nil)
			} else {
				job.Complete()
			}
		}

		start := make(chan struct{})
		var wg sync.WaitGroup
		stressGo(&wg, func() {
			<-start
			for _, h := range disposed {
				h.dispose(2)
			}
		})
		stressGo(&wg, func() {
			<-start
			for k := len(disposed) - 1; k >= 0; k-- {
				disposed[k].dispose(2)
			}
		})
		if during {
			stressGo(&wg, func() {
				<-start
				finish()
			})
		}
		close(start)
		stressWaitGroup(t, &wg, name+": the disposers to return")
		if !during {
			finish() // both disposers returned: Dispose happened-before completion
		}
		stressWait(t, job.Done(), name+": the job to complete")
		if bad := stressFinalState(job); bad != "" {
			r.problem("%v: %s", job, bad)
		}
		for _, h := range r.handlers {
			switch got := h.runs.Load(); {
			case h.early && got != 0:
				r.problem("handler %s disposed before completion ran %d times, want 0", h.name, got)
			case !h.disposed.Load() && got != 1:
				r.problem("handler %s (never disposed) ran %d times, want 1", h.name, got)
			case got > 1:
				r.problem("handler %s ran %d times, want at most 1", h.name, got)
			}
		}
		for _, h := range []*hammerHandler{keepC, keepX} {
			h.dispose(2) // after it ran: does nothing
			if got := h.runs.Load(); got != 1 {
				r.problem("handler %s ran %d times after a late Dispose, want 1", h.name, got)
			}
		}
		return name, r.problems
	})
}

// TestHammer_CancelVersusComplete races Cancel against the completion
// that finishes a job, and checks what rule 6 promises when Cancel returns:
// the job is cancelling or final. A Cancel that finds the job finishing a
// completion that won must not return while State() still says Completing
// and IsActive() true. Variants: a body-less job without children racing
// Complete (it has nothing to wait for, so it must be final: Cancelled or
// Completed), and a Completing parent whose last child's Complete finishes
// it (Cancelling too, if Cancel won while the child was still attached).
// To hit the window often, one goroutine completes a batch of jobs in order
// while the other chases it, cancelling each as soon as the completer
// announces it.
func TestHammer_CancelVersusComplete(t *testing.T) {
	t.Parallel()
	const batch = 5000
	tests := []struct {
		name string
		// mayWait allows Cancelling after Cancel: the job may still
		// wait for a child.
		mayWait bool
		// mk returns the job to cancel and the one to complete.
		mk func() (cancelled core.Job, completed core.CompletableJob)
	}{
		{"body-less job without children", false, func() (core.Job, core.CompletableJob) {
			j := core.NewJob(nil)
			return j, j
		}},
		{"Completing parent and its last child", true, func() (core.Job, core.CompletableJob) {
			parent := core.NewJob(nil)
			child := core.NewJob(parent.Context())
			parent.Complete()
			return parent, child
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			batches := stressRounds(8)
			var tally stressTally
			for b := range batches {
				cancelled := make([]core.Job, batch)
				completed := make([]core.CompletableJob, batch)
				for i := range batch {
					cancelled[i], completed[i] = tc.mk()
				}
				var next atomic.Int64 // index of the job the completer is about to complete
				next.Store(-1)
				start := make(chan struct{})
				var wg sync.WaitGroup
				var problems []stressProblem
				stressGo(&wg, func() {
					<-start
					for i, j := range completed {
						next.Store(int64(i))
						j.Complete()
					}
				})
				stressGo(&wg, func() {
					<-start
					for i, j := range cancelled {
						if !stressSpin(t, func() bool { return next.Load() >= int64(i) }) {
							problems = append(problems, stressProblem{"the completer did not reach job %d", fmt.Sprint(i)})
							return
						}
						j.Cancel(nil)
						st, active := j.State(), j.IsActive()
						if st != core.Cancelled && st != core.Completed && (st != core.Cancelling || !tc.mayWait) {
							problems = append(problems, stressProblem{
								"State() = %v (IsActive %v) right after Cancel returned, want Cancelling (if it may wait for a child), Cancelled or Completed",
								fmt.Sprintf("job %d: State() = %v, IsActive() = %v", i, st, active),
							})
						}
					}
				})
				close(start)
				stressWaitGroup(t, &wg, "the completer and the canceller to return")
				for i, j := range cancelled {
					if bad := stressFinalState(j); bad != "" {
						problems = append(problems, stressProblem{"final state: %s", fmt.Sprintf("job %d: %s", i, bad)})
					}
				}
				tally.add(fmt.Sprintf("batch %d", b), problems)
			}
			tally.report(t, fmt.Sprintf("%d jobs per batch", batch), batches)
		})
	}
}

// TestHammer_DoneClosedWhenJoinReturns checks that the two ways of
// waiting for a job agree: once Join has returned nil (with a live ctx), the
// job's Done channel is closed — made before the job completed, or after.
// One goroutine completes a batch of jobs in order; another chases it,
// spinning until each job reports IsCompleted, then joins it and looks at
// Done at once, to land in any window between the two.
func TestHammer_DoneClosedWhenJoinReturns(t *testing.T) {
	t.Parallel()
	const batch = 5000
	batches := stressRounds(20)
	var tally stressTally
	for b := range batches {
		jobs := make([]core.CompletableJob, batch)
		early := make([]<-chan struct{}, batch)
		for i := range jobs {
			jobs[i] = core.NewJob(nil)
			if i%8 != 0 {
				early[i] = jobs[i].Done() // made before completion
			}
		}
		var next atomic.Int64
		next.Store(-1)
		start := make(chan struct{})
		var wg sync.WaitGroup
		var problems []stressProblem
		stressGo(&wg, func() {
			<-start
			for i, j := range jobs {
				next.Store(int64(i))
				j.Complete()
			}
		})
		stressGo(&wg, func() {
			<-start
			for i, j := range jobs {
				if !stressSpin(t, func() bool { return next.Load() >= int64(i) && j.IsCompleted() }) {
					problems = append(problems, stressProblem{"job %d not complete after Complete", fmt.Sprintf("%d: %v", i, j)})
					return
				}
				if err := j.Join(context.Background()); err != nil {
					problems = append(problems, stressProblem{"Join(ctx) = %v, want nil", fmt.Sprintf("job %d: Join(ctx) = %v", i, err)})
				}
				if !testkit.IsClosed(j.Done()) {
					problems = append(problems, stressProblem{
						"Done() not closed right after Join returned nil (Done made before completion: %v)",
						fmt.Sprintf("job %d: Done() not closed right after Join returned nil (Done made before completion: %v)", i, early[i] != nil),
					})
				}
			}
		})
		close(start)
		stressWaitGroup(t, &wg, "the completer and the joiner to return")
		tally.add(fmt.Sprintf("batch %d", b), problems)
	}
	tally.report(t, fmt.Sprintf("%d jobs per batch", batch), batches)
}

// TestHammer_RegisterOnCompletedJobRunsAtOnce checks rule 10's "a handler
// registered on a job already in that state runs at once, on the caller's
// goroutine" against what the job itself reports: once IsCompleted() is
// true, InvokeOnCompletion and InvokeOnCancelling run their handler before
// they return. One goroutine completes a batch of jobs in order; another
// chases it, spinning until each job reports IsCompleted, then registers.
// Variants: a body-less job without children (Complete finishes it), and a
// Completing parent whose last child's Complete finishes it.
func TestHammer_RegisterOnCompletedJobRunsAtOnce(t *testing.T) {
	t.Parallel()
	const batch = 5000
	tests := []struct {
		name string
		// mk returns the job to register on and the one to complete.
		mk func() (observed core.Job, completed core.CompletableJob)
	}{
		{"body-less job without children", func() (core.Job, core.CompletableJob) {
			j := core.NewJob(nil)
			j.InvokeOnCompletion(memNoop) // a non-empty list for the finalizer to run
			return j, j
		}},
		{"Completing parent and its last child", func() (core.Job, core.CompletableJob) {
			parent := core.NewJob(nil)
			child := core.NewJob(parent.Context())
			parent.InvokeOnCompletion(memNoop)
			parent.Complete()
			return parent, child
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			batches := stressRounds(16)
			var tally stressTally
			for b := range batches {
				observed := make([]core.Job, batch)
				completed := make([]core.CompletableJob, batch)
				for i := range batch {
					observed[i], completed[i] = tc.mk()
				}
				var next atomic.Int64
				next.Store(-1)
				start := make(chan struct{})
				var wg sync.WaitGroup
				var problems []stressProblem
				var late atomic.Int32 // handlers that ran after their InvokeOn* returned
				stressGo(&wg, func() {
					<-start
					for i, j := range completed {
						next.Store(int64(i))
						j.Complete()
					}
				})
				stressGo(&wg, func() {
					<-start
					for i, j := range observed {
						if !stressSpin(t, func() bool { return next.Load() >= int64(i) && j.IsCompleted() }) {
							problems = append(problems, stressProblem{"job %d not complete after Complete", fmt.Sprint(i)})
							return
						}
						kind := i % 2
						var ran atomic.Bool
						h := func(error) {
							if !ran.Swap(true) {
								return
							}
							late.Add(1) // ran twice: counted by the check below too
						}
						if kind == onCompletion {
							j.InvokeOnCompletion(h)
						} else {
							j.InvokeOnCancelling(h)
						}
						if !ran.Load() {
							problems = append(problems, stressProblem{
								"%s on a job that reported IsCompleted() returned before running the handler, want it run at once on the caller",
								fmt.Sprintf("job %d (%v): %s", i, j.State(), map[int]string{onCompletion: "InvokeOnCompletion", onCancelling: "InvokeOnCancelling"}[kind]),
							})
						}
					}
				})
				close(start)
				stressWaitGroup(t, &wg, "the completer and the registrar to return")
				if n := late.Load(); n != 0 {
					problems = append(problems, stressProblem{"%d handlers ran twice", fmt.Sprint(n)})
				}
				tally.add(fmt.Sprintf("batch %d", b), problems)
			}
			tally.report(t, fmt.Sprintf("%d jobs per batch", batch), batches)
		})
	}
}

// TestHammer_DoneAndJoinWaitForHandlers holds the finalizer inside a handler
// and checks, from another goroutine, that the job is final (IsCompleted is
// true inside the handler) but that Done is not closed and Join does not
// return while the handler runs (rule 10: "Done() closes and Join returns
// only after they have run"). Join gets a context that expires after
// shortDuration: a correct implementation returns its error, not nil. The
// wait only widens the window; the outcome does not depend on timing.
func TestHammer_DoneAndJoinWaitForHandlers(t *testing.T) {
	t.Parallel()
	const shortDuration = 20 * time.Millisecond
	tests := []struct {
		name   string
		kind   int
		finish func(core.CompletableJob)
	}{
		{"completion handler/Complete", onCompletion, func(j core.CompletableJob) { j.Complete() }},
		{"completion handler/Cancel", onCompletion, func(j core.CompletableJob) { j.Cancel(nil) }},
		{"cancelling handler at completion/Complete", onCancelling, func(j core.CompletableJob) { j.Complete() }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			job := core.NewJob(nil)
			inside, unblock := make(chan struct{}), make(chan struct{})
			h := func(error) {
				close(inside)
				<-unblock
			}
			if tc.kind == onCompletion {
				job.InvokeOnCompletion(h)
			} else {
				job.InvokeOnCancelling(h)
			}
			finished := make(chan struct{})
			go func() { // ends when the handler is unblocked
				defer close(finished)
				tc.finish(job)
			}()
			stressWait(t, inside, "the handler to run")
			defer func() {
				close(unblock)
				stressWait(t, finished, "the finisher to return")
				stressWait(t, job.Done(), "Done after the handler returned")
			}()
			if tc.kind == onCompletion && !job.IsCompleted() {
				t.Errorf("IsCompleted() = false inside a completion handler, want true (state %v)", job.State())
			}
			// The first call of Done is made while the handler runs.
			if testkit.IsClosed(job.Done()) {
				t.Errorf("Done() is closed while a handler still runs, want it open until the handlers returned")
			}
			ctx, stop := context.WithTimeout(context.Background(), shortDuration)
			defer stop()
			if err := job.Join(ctx); err == nil {
				t.Errorf("Join(ctx) = nil while a handler still runs, want the error of ctx (Join returns only after the handlers ran)")
			} else if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Join(ctx) = %v, want an error matching context.DeadlineExceeded", err)
			}
		})
	}
}

// TestHammer_CancelVersusChildrenEndingAtOnce races a parent's Cancel, which
// ends its body-less leaf children at once and releases them with one add
// (cancelAtOnce), against what each child may meet at that moment: its own
// Complete, Fail or Cancel, a handler registered on it, its Done channels
// made, a grandchild attached, or nothing. Some children have a handler
// from the start (they take the queued path), and the parent may already
// be Completing, waiting for them. After every round: every job is final
// with consistent flags and closed channels, every handler ran exactly
// once, the parent ended Cancelled — or Completed only if it was
// Completing and every child completed (or cancelled itself) first — a
// child failure that Fail accepted is in the parent's cause, and the cause
// of a child that cancelled itself is, as soon as its Done is closed, what
// it stays: its own cancellation or the parent's, whichever won (a Cancel
// that loses to the parent's walk must not change it afterwards).
func TestHammer_CancelVersusChildrenEndingAtOnce(t *testing.T) {
	t.Parallel()
	const ops = 8 // nothing, Complete, Fail, Cancel, handler, Done, ctx Done, grandchild
	hammer(t, 0x6174306e6365, func(i int, rng *rand.Rand) (string, []stressProblem) {
		completing := rng.IntN(2) == 0
		kids := 1 + rng.IntN(6)
		name := fmt.Sprintf("round %d (%d children, parent completing %v)", i, kids, completing)
		r := &hammerRound{name: name, grand: make(map[core.Job]core.Job)}
		parent := core.NewJob(nil)
		r.job = parent
		r.register("parent-completion", onCompletion, parent, false, false)
		children := make([]core.CompletableJob, kids)
		op := make([]int, kids)
		for k := range children {
			children[k] = core.NewJob(parent.Context())
			r.addKid(children[k])
			if rng.IntN(4) == 0 {
				r.register(fmt.Sprintf("child-%d-early", k), onCompletion, children[k], false, false)
			}
			op[k] = rng.IntN(ops)
		}
		if completing && !parent.Complete() {
			r.problem("Complete() = false on an Active job")
		}
		failures := make([]error, kids)   // the failure Fail accepted, per child
		firstCause := make([]error, kids) // op 3: the cause when Done closed
		ownCause := errors.New(name + ": the child's own cancellation")
		start := make(chan struct{})
		var wg sync.WaitGroup
		stressGo(&wg, func() {
			<-start
			parent.Cancel(nil)
		})
		for k, c := range children {
			stressGo(&wg, func() {
				<-start
				switch op[k] {
				case 1:
					c.Complete()
				case 2:
					err := hammerFailure{id: fmt.Sprintf("%s child %d", name, k)}
					if c.Fail(err) {
						failures[k] = err
					}
				case 3:
					c.Cancel(ownCause)
				case 4:
					r.register(fmt.Sprintf("child-%d-late", k), onCompletion, c, false, false)
				case 5:
					<-c.Done() // the parent's Cancel ends it, whoever wins
				case 6:
					c.Context().Done()
				case 7:
					g := core.NewJob(c.Context())
					r.setGrandchild(c, g)
					g.Complete()
				}
			})
		}
		for k, c := range children {
			if op[k] == 3 {
				stressGo(&wg, func() {
					<-c.Done()
					firstCause[k] = c.Cause()
				})
			}
		}
		close(start)
		stressWait(t, parent.Done(), name+": the parent to complete")
		stressWaitGroup(t, &wg, name+": the racers to return")
		for k, c := range children {
			if op[k] != 3 {
				continue
			}
			cause := c.Cause()
			if cause != firstCause[k] {
				r.problem("child %d's cause changed after it completed: %v, then %v", k, firstCause[k], cause)
			}
			if !core.IsCancellation(cause) || (!errors.Is(cause, ownCause) && !parent.IsCancelled()) {
				r.problem("child %d's cause is %v, want its own cancellation or the parent's", k, cause)
			}
		}
		for k, c := range children {
			if !testkit.IsClosed(c.Done()) {
				r.problem("child %d is not done after its parent completed", k)
				continue
			}
			if bad := stressFinalState(c); bad != "" {
				r.problem("child %d %v: %s", k, c, bad)
			}
			if !testkit.IsClosed(c.Context().Done()) {
				r.problem("child %d's context is not done although it is %v", k, c.State())
			}
			if g := r.grandchild(c); g != nil && !g.IsCompleted() {
				r.problem("child %d's child is %v after the parent completed", k, g.State())
			}
		}
		r.checkFinalAndRanOnce(parent)
		switch st := parent.State(); st {
		case core.Completed:
			if !completing {
				r.problem("parent Completed although Complete was never called")
			}
			for k, c := range children {
				// Only its own Cancel may have ended a child otherwise: a
				// cancellation does not cancel the parent.
				if st := c.State(); st != core.Completed && (op[k] != 3 || st != core.Cancelled) {
					r.problem("parent Completed, but child %d ended %v after op %d", k, st, op[k])
				}
			}
		case core.Cancelled:
		default:
			r.problem("parent ended %v, want Cancelled or Completed", st)
		}
		for k, err := range failures {
			if err != nil && !errors.Is(parent.Cause(), err) {
				r.problem("child %d failed with %v, but the parent's cause is %v", k, err, parent.Cause())
			}
		}
		return name, r.problems
	})
}

// TestHammer_ContextDoneMadeWhileEnding races two goroutines making the
// channel of a job's Context().Done() against the transition that ends or
// cancels the job (Cancel, Complete, Fail, or its parent's Cancel, which
// ends a body-less leaf at once). The channel's close is claimed through
// the job's state word: it must happen exactly once (a second close would
// panic), and every channel handed out must be closed once the job is
// cancelling or final, with ctx.Err() non-nil.
func TestHammer_ContextDoneMadeWhileEnding(t *testing.T) {
	t.Parallel()
	hammer(t, 0x63747864, func(i int, rng *rand.Rand) (string, []stressProblem) {
		op, withChild := rng.IntN(4), rng.IntN(3) == 0
		name := fmt.Sprintf("round %d (op %d, with a child %v)", i, op, withChild)
		var problems stressProblems
		parent := core.NewJob(nil)
		j := core.NewJob(parent.Context())
		var child core.CompletableJob
		if withChild {
			child = core.NewJob(j.Context())
		}
		var chans [2]<-chan struct{}
		start := make(chan struct{})
		var wg sync.WaitGroup
		for k := range chans {
			stressGo(&wg, func() {
				<-start
				chans[k] = j.Context().Done()
			})
		}
		stressGo(&wg, func() {
			<-start
			switch op {
			case 0:
				j.Cancel(nil)
			case 1:
				j.Complete()
			case 2:
				j.Fail(errors.New(name))
			case 3:
				parent.Cancel(nil)
			}
			if child != nil {
				child.Complete()
			}
		})
		close(start)
		stressWaitGroup(t, &wg, name+": the racers to return")
		// Cancelled, failed, or completed (its child too): the context
		// is done now, or becomes done at once.
		for k, c := range chans {
			stressWait(t, c, fmt.Sprintf("%s: channel %d to close", name, k))
		}
		if j.Context().Err() == nil {
			problems.add("ctx.Err() = nil in state %v, want an error", j.State())
		}
		stressWait(t, j.Done(), name+": the job to end")
		for k, c := range chans {
			if !testkit.IsClosed(c) {
				problems.add("channel %d open after the job ended %v", k, j.State())
			}
		}
		parent.Cancel(nil)
		return name, problems
	})
}

// TestHammer_ContextDoneWhenJoinReturns races the end of a job whose
// context's Done channel was made (by a body selecting on it, or by the
// test) against an observer that sees the job complete — by Join's fast
// path, by a Done channel made before the end, by Done called once the
// job reads complete, or by asking the done job for its context's channel
// — and checks that the context's channel is closed by then. The
// transition that first cancels or ends the job closes that channel just
// after its CAS, and until then the job may already read complete and
// notified (a body-less job ended in one CAS), or another goroutine may
// finalize it (a body that returns while its parent's Cancel is between
// its CAS and the close): Join, Done and the finalizer must wait for the
// close in progress, or the observer sees a complete job whose context is
// not done.
func TestHammer_ContextDoneWhenJoinReturns(t *testing.T) {
	t.Parallel()
	hammer(t, 0x6a6f696e63747864, func(i int, rng *rand.Rand) (string, []stressProblem) {
		op, watch := rng.IntN(5), rng.IntN(4)
		name := fmt.Sprintf("round %d (op %d, observer %d)", i, op, watch)
		var problems stressProblems
		parent := core.NewJob(nil)
		var j core.Job
		var done <-chan struct{}
		release := make(chan struct{})
		if op < 3 {
			nj := core.NewJob(parent.Context())
			j, done = nj, nj.Context().Done()
		} else {
			made := make(chan (<-chan struct{}), 1)
			j = core.Launch(parent.Context(), func(ctx context.Context) error {
				made <- ctx.Done()
				select {
				case <-release:
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			})
			done = <-made
		}
		var jobDone <-chan struct{}
		if watch == 1 {
			jobDone = j.Done() // made before the end: closed by the finalizer
		}
		start := make(chan struct{})
		var wg sync.WaitGroup
		stressGo(&wg, func() {
			<-start
			switch op {
			case 0:
				j.(core.CompletableJob).Complete()
			case 1:
				j.Cancel(nil)
			case 2, 3:
				parent.Cancel(nil)
			case 4:
				close(release)
			}
		})
		if op == 3 {
			stressGo(&wg, func() {
				<-start
				close(release)
			})
		}
		stressGo(&wg, func() {
			<-start
			if watch == 1 {
				<-jobDone
			} else {
				for !j.IsCompleted() {
					runtime.Gosched()
				}
			}
			switch watch {
			case 0:
				if err := j.Join(context.Background()); err != nil {
					problems.add("Join = %v, want nil", err)
				}
			case 2:
				<-j.Done()
			case 3:
				// A channel handed out once the job is done is closed.
				done = j.Context().Done()
			}
			if !testkit.IsClosed(done) {
				problems.add("observer %d: %v is complete, but its context's Done channel is open", watch, j)
			}
		})
		close(start)
		stressWaitGroup(t, &wg, name+": the racers to return")
		parent.Cancel(nil)
		stressWait(t, parent.Done(), name+": the parent to complete")
		return name, problems
	})
}
