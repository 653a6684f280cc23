package core_test

// Stress suite (issue 6, item 3; STYLE point 19). Each TestStress_* test
// runs a short pass in every `go test` (so `make test` runs it under -race)
// and its full size with JOBTREE_STRESS=1. `make stress` runs
// TestStressSuite, which runs every scenario of stressScenarios — these
// tests, and the hammer and memory tests that already cover the rest of the
// issue's list — each in a process of its own (the test binary, run again),
// and prints the rounds, seeds, time and peak memory (the process's maximum
// resident set) of each.

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jobtree/jobtree/core"
	"github.com/jobtree/jobtree/internal/testkit"
)

// stressEnv selects the full size of the stress tests; stressChildEnv
// marks a process started by TestStressSuite.
const (
	stressEnv      = "JOBTREE_STRESS"
	stressChildEnv = "JOBTREE_STRESS_CHILD"
)

// stressFull reports whether the stress tests run at full size.
func stressFull() bool { return os.Getenv(stressEnv) == "1" }

// stressSize returns full under JOBTREE_STRESS=1, else short.
func stressSize(full, short int) int {
	if stressFull() {
		return full
	}
	return short
}

// stressRan holds the names of the stress tests that measure memory and
// have run in this process: like the memory tests, they run once per
// process (-count=N would only repeat the same measurement).
var stressRan sync.Map

func stressOnce(t *testing.T) {
	t.Helper()
	if _, again := stressRan.LoadOrStore(t.Name(), true); again {
		t.Skip("stress test measuring memory: runs once per test process")
	}
}

// stressLog logs a line that TestStressSuite copies into its summary.
func stressLog(t *testing.T, format string, args ...any) {
	t.Helper()
	t.Logf("stress: "+format, args...)
}

// TestStress_AttachRacingCancel races the creation of a child (NewJob or
// Launch) under a parent against the parent's Cancel (kotlinx's
// JobChildStressTest.testChildAttachmentRacingWithCancellation). Either
// the child is attached — then the parent's cancellation reaches it, and
// the parent completes only after it — or it is born Cancelled with the
// parent's cancellation, unattached. Either way the child ends Cancelled
// with a cancellation caused by the parent's, its body (if it ever runs)
// sees its context done, and the parent ends Cancelled after it.
func TestStress_AttachRacingCancel(t *testing.T) {
	t.Parallel()
	seed := stressSeed(t)
	rounds := stressSize(200_000, 2_000)
	rng := rand.New(rand.NewPCG(seed, 0x6174746163680a))
	var attached, born int
	var tally stressTally
	for i := range rounds {
		launchParent, launchChild := rng.IntN(2) == 0, rng.IntN(2) == 0
		var problems stressProblems
		var parent core.Job
		var release chan struct{}
		if launchParent {
			release = make(chan struct{})
			parent = core.Launch(nil, func(context.Context) error { <-release; return nil })
		} else {
			parent = core.NewJob(nil)
		}
		why := errors.New("cancelled in the race")
		start := make(chan struct{})
		var child core.Job
		var wg sync.WaitGroup
		stressGo(&wg, func() {
			<-start
			if launchChild {
				child = core.Launch(parent.Context(), func(ctx context.Context) error {
					<-ctx.Done() // the parent's cancellation must reach it
					return ctx.Err()
				})
			} else {
				child = core.NewJob(parent.Context())
			}
		})
		stressGo(&wg, func() {
			<-start
			parent.Cancel(why)
		})
		close(start)
		stressWaitGroup(t, &wg, "the racers to return")
		wasAttached := child.Parent() != nil
		if release != nil {
			close(release)
		}
		stressWait(t, parent.Done(), fmt.Sprintf("round %d: the parent to complete", i))
		if !child.IsCompleted() {
			problems.add("parent completed before its child (%v)", child)
		}
		stressWait(t, child.Done(), fmt.Sprintf("round %d: the child to complete", i))
		if st := child.State(); st != core.Cancelled {
			problems.add("child ended %v, want Cancelled", st)
		}
		if err := child.Cause(); !errors.Is(err, why) || !core.IsCancellation(err) {
			problems.add("child's cause %v, want a cancellation caused by the parent's %v", err, why)
		}
		if b := stressFinalState(parent); b != "" {
			problems.add("parent: %s", b)
		}
		if b := stressFinalState(child); b != "" {
			problems.add("child: %s", b)
		}
		if wasAttached {
			attached++
		} else {
			born++
		}
		tally.add(fmt.Sprintf("round %d (launch parent %v, launch child %v)", i, launchParent, launchChild), problems)
	}
	stressLog(t, "attach racing cancel: rounds=%d seed=%d: attached then cancelled %d, born cancelled %d", rounds, seed, attached, born)
	tally.report(t, fmt.Sprintf("seed=%d", seed), rounds)
}

// TestStress_AttachRacingLastChild races the creation of a child under a
// parent that waits in Completing for its last child against that child's
// completion (kotlinx's JobChildStressTest.
// testChildAttachmentRacingWithLastChildCompletion). Either the new child
// is attached in time — then the parent waits for it too, and completes
// only once it does — or the parent had finished: the child is born
// Cancelled ("parent job is completed"), unattached, and never runs.
func TestStress_AttachRacingLastChild(t *testing.T) {
	t.Parallel()
	seed := stressSeed(t)
	rounds := stressSize(200_000, 2_000)
	rng := rand.New(rand.NewPCG(seed, 0x6c61737463680a))
	var attached, refused int
	var tally stressTally
	for i := range rounds {
		launchChild := rng.IntN(2) == 0
		var problems stressProblems
		parent := core.NewJob(nil)
		last := core.NewJob(parent.Context())
		parent.Complete()
		start := make(chan struct{})
		var late core.Job
		var ran atomic.Bool
		lateRelease := make(chan struct{})
		var wg sync.WaitGroup
		stressGo(&wg, func() {
			<-start
			last.Complete()
		})
		stressGo(&wg, func() {
			<-start
			if launchChild {
				late = core.Launch(parent.Context(), func(context.Context) error {
					ran.Store(true)
					<-lateRelease
					return nil
				})
			} else {
				late = core.NewJob(parent.Context())
			}
		})
		close(start)
		stressWaitGroup(t, &wg, "the racers to return")
		if late.Parent() != nil {
			attached++
			// Attached in time: the parent waits for it.
			if parent.IsCompleted() {
				problems.add("parent completed while its new child %v is attached", late)
			}
			if cj, ok := late.(core.CompletableJob); ok {
				cj.Complete()
			}
			close(lateRelease)
			stressWait(t, parent.Done(), fmt.Sprintf("round %d: the parent to complete", i))
			if st := late.State(); st != core.Completed {
				problems.add("attached child ended %v, want Completed", st)
			}
		} else {
			refused++
			close(lateRelease)
			stressWait(t, late.Done(), fmt.Sprintf("round %d: the refused child to complete", i))
			if st := late.State(); st != core.Cancelled {
				problems.add("refused child is %v, want Cancelled", st)
			}
			var ce *core.CancellationError
			if !errors.As(late.Cause(), &ce) || ce.Message != "parent job is completed" {
				problems.add("refused child's cause %v, want %q", late.Cause(), "parent job is completed")
			}
			if ran.Load() {
				problems.add("the body of a refused child ran")
			}
		}
		stressWait(t, parent.Done(), fmt.Sprintf("round %d: the parent to complete", i))
		if st := parent.State(); st != core.Completed {
			problems.add("parent ended %v, want Completed", st)
		}
		for _, j := range []core.Job{parent, last, late} {
			if b := stressFinalState(j); b != "" {
				problems.add("%v: %s", j, b)
			}
		}
		tally.add(fmt.Sprintf("round %d (launch child %v)", i, launchChild), problems)
	}
	stressLog(t, "attach racing last child completion: rounds=%d seed=%d: attached in time %d, refused %d", rounds, seed, attached, refused)
	tally.report(t, fmt.Sprintf("seed=%d", seed), rounds)
}

// TestStress_JoinRacingCancelOfJoiner races a joiner's cancellation
// against the completion of the job it joins (kotlinx's
// JobStructuredJoinStressTest): the joiner is a Launch job whose body
// joins the target with its own context (or a child's). Join returns nil
// only if the target is complete, and otherwise a *core.CancellationError
// carrying the joiner's cancellation cause (rule 11); it never hangs, and
// the target is left alone. The Kotlin test's point: a joiner cancelled
// while it waits is woken (no lost wake-up), whichever comes first.
func TestStress_JoinRacingCancelOfJoiner(t *testing.T) {
	t.Parallel()
	seed := stressSeed(t)
	rounds := stressSize(200_000, 2_000)
	rng := rand.New(rand.NewPCG(seed, 0x6a6f696e0a))
	var joined, cancelled int
	var tally stressTally
	for i := range rounds {
		fromChild := rng.IntN(2) == 0
		var problems stressProblems
		target := core.NewJob(nil)
		why := errors.New("joiner cancelled")
		res := make(chan error, 1)
		waiting := make(chan struct{})
		joiner := core.Launch(nil, func(ctx context.Context) error {
			if !fromChild {
				close(waiting)
				res <- target.Join(ctx)
				return nil
			}
			inner := core.Launch(ctx, func(ctx context.Context) error {
				close(waiting)
				res <- target.Join(ctx)
				return nil
			})
			<-inner.Done()
			return nil
		})
		stressWait(t, waiting, "the joiner to start")
		start := make(chan struct{})
		var wg sync.WaitGroup
		stressGo(&wg, func() {
			<-start
			joiner.Cancel(why)
		})
		stressGo(&wg, func() {
			<-start
			target.Complete()
		})
		close(start)
		var err error
		select {
		case err = <-res:
		case <-time.After(stressWaitLimit(t)):
			t.Fatalf("round %d: Join did not return\n%s", i, testkit.GoroutineDump())
		}
		stressWaitGroup(t, &wg, "the racers to return")
		if err == nil {
			joined++
			if !target.IsCompleted() {
				problems.add("Join returned nil while the target is %v", target.State())
			}
		} else {
			cancelled++
			var ce *core.CancellationError
			if !errors.As(err, &ce) || !errors.Is(err, why) {
				problems.add("Join returned %v, want nil or a *core.CancellationError caused by %v", err, why)
			}
			if !joiner.IsCancelled() {
				problems.add("Join returned %v, but the joiner is %v", err, joiner.State())
			}
		}
		stressWait(t, joiner.Done(), fmt.Sprintf("round %d: the joiner to complete", i))
		if st := target.State(); st != core.Completed {
			problems.add("target ended %v, want Completed (Join leaves it alone)", st)
		}
		// A joiner whose Join returned nil may end its body before the
		// Cancel reaches it: then it is Completed.
		if st := joiner.State(); st != core.Cancelled && (err != nil || st != core.Completed) {
			problems.add("joiner ended %v after Join returned %v, want Cancelled (or Completed if Join returned nil)", st, err)
		}
		tally.add(fmt.Sprintf("round %d (from a child %v)", i, fromChild), problems)
	}
	stressLog(t, "join racing cancel of the joiner: rounds=%d seed=%d: Join returned nil %d, a cancellation %d", rounds, seed, joined, cancelled)
	tally.report(t, fmt.Sprintf("seed=%d", seed), rounds)
}

// TestStress_LiveJobs keeps a million live jobs in one tree (a root with
// a thousand NewJob children of a thousand NewJob children each: 10,000
// under the short pass), reports the heap per live job, then cancels the
// tree from its root: when Cancel returns every job is Cancelled (body-less
// jobs have nothing to wait for, rule 6), and the heap they held is freed.
// A second variant keeps live Launch jobs, each with a goroutine blocked in
// its body (100,000 at full size), and reports the heap per job, the
// goroutine stacks included.
func TestStress_LiveJobs(t *testing.T) {
	stressOnce(t)
	t.Run("NewJob", func(t *testing.T) {
		fan := stressSize(1000, 100)
		n := fan * fan
		before := memHeap()
		start := time.Now()
		root := core.NewJob(nil)
		mids := make([]core.Job, fan)
		leaves := make([]core.Job, 0, n)
		for i := range mids {
			mids[i] = core.NewJob(root.Context())
			for range fan - 1 {
				leaves = append(leaves, core.NewJob(mids[i].Context()))
			}
		}
		built := time.Since(start)
		live := memHeap()
		total := 1 + len(mids) + len(leaves)
		perJob := float64(live-before) / float64(total)
		start = time.Now()
		root.Cancel(nil)
		cancelled := time.Since(start)
		memCheckAll(t, "after root.Cancel returned", append(mids, leaves...), core.Cancelled)
		memCheckAll(t, "root", []core.Job{root}, core.Cancelled)
		runtime.KeepAlive(leaves)
		mids, leaves = nil, nil
		after := memHeap()
		stressLog(t, "1 tree of %d live NewJob jobs: built in %v, %.0f B of heap per live job, cancelled from the root in %v; heap after: %+d B",
			total, built.Round(time.Millisecond), perJob, cancelled.Round(time.Millisecond), int64(after)-int64(before))
		runtime.KeepAlive(root)
	})
	t.Run("Launch", func(t *testing.T) {
		n := stressSize(100_000, 1_000)
		if raceEnabled {
			n = min(n, 10_000)
		}
		before := memHeap()
		start := time.Now()
		root := core.NewJob(nil)
		jobs := make([]core.Job, n)
		var started sync.WaitGroup
		started.Add(n)
		for i := range jobs {
			jobs[i] = core.Launch(root.Context(), func(ctx context.Context) error {
				started.Done()
				<-ctx.Done()
				return ctx.Err()
			})
		}
		stressWaitGroup(t, &started, "the bodies to start")
		built := time.Since(start)
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		live := memHeap()
		perJob := float64(live-before) / float64(n)
		perJobStack := float64(ms.StackInuse) / float64(n)
		start = time.Now()
		root.Cancel(nil)
		stressWait(t, root.Done(), "the root to complete")
		memWaitAll(t, "every job to complete", jobs)
		memCheckAll(t, "after root.Cancel", jobs, core.Cancelled)
		stressLog(t, "1 tree of %d live Launch jobs: built in %v, %.0f B of heap and %.0f B of goroutine stack per job, cancelled and joined in %v",
			n, built.Round(time.Millisecond), perJob, perJobStack, time.Since(start).Round(time.Millisecond))
	})
}

// TestStress_WideFan cancels one parent with a million NewJob children
// (10,000 under the short pass), each with a cancelling handler, from the
// parent (TestMemory_WideFan does 100,000 NewJob and 50,000–100,000
// Launch children): when Cancel returns every child is Cancelled and
// every handler has run once, with the parent's cause (rule 6); the parent
// is Cancelled.
func TestStress_WideFan(t *testing.T) {
	stressOnce(t)
	memLimitStack(t)
	n := stressSize(1_000_000, 10_000)
	start := time.Now()
	parent := core.NewJob(nil)
	kids := make([]core.Job, n)
	var runs, wrong atomic.Int64
	why := errors.New("fan cancelled")
	for i := range kids {
		kids[i] = core.NewJob(parent.Context())
		kids[i].InvokeOnCancelling(func(cause error) {
			runs.Add(1)
			if !errors.Is(cause, why) {
				wrong.Add(1)
			}
		})
	}
	built := time.Since(start)
	start = time.Now()
	parent.Cancel(why)
	cancelled := time.Since(start)
	if got := runs.Load(); got != int64(n) {
		t.Errorf("%d of %d cancelling handlers ran when parent.Cancel returned, want all", got, n)
	}
	if w := wrong.Load(); w != 0 {
		t.Errorf("%d cancelling handlers got a cause other than the parent's", w)
	}
	memCheckAll(t, "children after parent.Cancel returned", kids, core.Cancelled)
	memCheckAll(t, "parent", []core.Job{parent}, core.Cancelled)
	stressLog(t, "wide fan of %d NewJob children: built in %v, cancelled from the parent in %v (%.0f ns per child)",
		n, built.Round(time.Millisecond), cancelled.Round(time.Millisecond), float64(cancelled.Nanoseconds())/float64(n))
}

// TestStress_DeepChain cancels chains of 100,000 NewJob jobs (10,000 under
// the short pass) from the root, and fails the leaf of another, with the
// goroutine stack limited (no recursion over the depth): every job ends
// Cancelled when the call returns, the failed chain's root with the leaf's
// failure. (TestMemory_DeepChainCancel and friends run the same at full
// depth in every test run, Launch chains included; this scenario adds the
// reported times.)
func TestStress_DeepChain(t *testing.T) {
	stressOnce(t)
	memLimitStack(t)
	depth := stressSize(100_000, 10_000)
	start := time.Now()
	root, chain := memChain(depth, memNewJob)
	built := time.Since(start)
	start = time.Now()
	root.Cancel(nil)
	cancelled := time.Since(start)
	memCheckAll(t, "after root.Cancel returned", chain, core.Cancelled)
	root2, chain2 := memChain(depth, memNewJob)
	failure := errors.New("leaf failed")
	start = time.Now()
	chain2[len(chain2)-1].(core.CompletableJob).Fail(failure)
	failed := time.Since(start)
	memCheckAll(t, "after the leaf's Fail returned", chain2, core.Cancelled)
	if !errors.Is(root2.Cause(), failure) {
		t.Errorf("root.Cause() = %v, want the leaf's failure", root2.Cause())
	}
	stressLog(t, "chain of %d NewJob jobs: built in %v, cancelled from the root in %v; another failed from its leaf to the root in %v",
		depth, built.Round(time.Millisecond), cancelled.Round(time.Millisecond), failed.Round(time.Millisecond))
}

// stressScenarios is what `make stress` runs, each in its own process: the
// TestStress_* scenarios, the model test at ten times its size, and the
// hammer and memory tests that already cover the rest of issue 6's list.
var stressScenarios = []struct{ test, covers string }{
	{"TestStress_AttachRacingCancel", "attach racing cancel"},
	{"TestStress_AttachRacingLastChild", "attach racing last child completion"},
	{"TestHammer_JobRaces", "register/dispose racing completion (with Cancel, Complete, Fail, attach, Join)"},
	{"TestHammer_CancelVersusLastChild", "cancel racing last child completion"},
	{"TestHammer_CancelVersusChildrenEndingAtOnce", "cancel ending leaf children at once, racing their own ends"},
	{"TestHammer_ContextDoneMadeWhileEnding", "context Done channels made while the job ends: closed exactly once"},
	{"TestHammer_ContextDoneWhenJoinReturns", "context Done closed by the time Join returns, whoever ends the job"},
	{"TestHammer_DisposeFromTwoGoroutines", "concurrent Dispose from two goroutines"},
	{"TestMemory_RegisterDisposePairs", "10,000,000 register+dispose pairs on one job, memory flat"},
	{"TestStress_JoinRacingCancelOfJoiner", "join racing cancel of the joiner"},
	{"TestStress_LiveJobs", "1,000,000 live jobs in one tree, memory per job"},
	{"TestStress_DeepChain", "deep chains (100,000) cancelled from the root"},
	{"TestMemory_DeepLaunchChainCancel", "deep chain of Launch jobs cancelled from the root"},
	{"TestStress_WideFan", "wide fan (1,000,000 children of one parent) cancelled from the root"},
	{"TestMemory_SequentialChildren", "a long-lived parent after 1,000,000 short children, memory flat"},
	{"TestModel", "model-based random trees (100,000 trees)"},
}

// stressLogPrefix is the file:line prefix of a t.Log line.
var stressLogPrefix = regexp.MustCompile(`^\S+_test\.go:\d+: `)

// TestStressSuite runs every scenario of stressScenarios in a process of
// its own (this test binary, run again with -test.run), under
// JOBTREE_STRESS=1, and reports for each its outcome, time and peak
// resident memory, with the lines where the scenario states its rounds,
// seeds and sizes. It runs only when JOBTREE_STRESS=1 (make stress).
func TestStressSuite(t *testing.T) {
	if !stressFull() || os.Getenv(stressChildEnv) != "" {
		t.Skip("runs with JOBTREE_STRESS=1 only (make stress)")
	}
	var summary []string
	failed := false
	for _, sc := range stressScenarios {
		cmd := exec.Command(os.Args[0], "-test.run", "^"+sc.test+"$", "-test.v", "-test.count=1", "-test.timeout=30m")
		cmd.Env = append(os.Environ(), stressEnv+"=1", stressChildEnv+"=1")
		start := time.Now()
		out, err := cmd.CombinedOutput()
		elapsed := time.Since(start)
		peak := "?"
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			peak = fmt.Sprintf("%.0f MB", float64(ru.Maxrss)/1024) // Linux: kilobytes
		}
		status := "ok"
		if err != nil {
			status = "FAIL"
			failed = true
			t.Errorf("%s failed (%v):\n%s", sc.test, err, out)
		}
		summary = append(summary, fmt.Sprintf("%-4s %-38s %8v  peak RSS %7s  — %s", status, sc.test, elapsed.Round(100*time.Millisecond), peak, sc.covers))
		for _, line := range strings.Split(string(out), "\n") {
			line = stressLogPrefix.ReplaceAllString(strings.TrimSpace(line), "")
			if strings.Contains(line, "seed=") || strings.Contains(line, "stress:") || strings.Contains(line, "heap growth") ||
				strings.Contains(line, "built and") || strings.Contains(line, "phases,") {
				summary = append(summary, "       "+line)
			}
		}
	}
	report := "stress suite (each scenario in its own process; peak RSS is the process's maximum resident set):\n" + strings.Join(summary, "\n")
	fmt.Println(report)
	if failed {
		t.Error("some scenarios failed")
	}
}
