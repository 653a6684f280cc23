package core_test

// Memory tests (API rule 15, STYLE point 20): a long-lived job holds memory
// only for what is alive, disposed handlers hold none, and deep chains and
// wide fans cancel and complete in constant stack.
//
// These tests are not parallel: they measure the heap or lower the stack
// limit of the whole process. They are skipped under -short.

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"
	"testing"
	"time"
	"weak"

	"github.com/jobtree/jobtree/core"
)

// memBudget is the heap growth allowed after a loop of short-lived work on
// a long-lived job. A leak of one pointer per iteration is 8 MB over a
// million iterations: far above it.
const memBudget = 1 << 20

// memStackLimit is the maximum goroutine stack while the deep-chain and
// fan tests run (the default, 1 GB, is out of reach of a recursion over
// 100,000 levels). Each level of a recursion takes at least 16 bytes (a
// return address and a frame pointer), so 50,000 levels overflow it and the
// test binary dies with "goroutine stack exceeds 524288-byte limit"; the
// iterative walks need a few kilobytes. (At 4 MB, a recursion that keeps
// only a 32-byte frame per level went unnoticed.)
const memStackLimit = 512 << 10

// memChainDepth is the depth of the chains and the width of the fans.
const memChainDepth = 100_000

// memLaunchDepth is memChainDepth for chains and fans of Launch jobs, each
// with a goroutine blocked in its body: under the race detector, which
// keeps about 30 kB of state per goroutine and takes some 60 µs to start
// and end one, half of it, to stay within a few seconds (a recursion of
// 50,000 levels still overflows memStackLimit at 84 bytes per level).
var memLaunchDepth = func() int {
	if raceEnabled {
		return memChainDepth / 2
	}
	return memChainDepth
}()

// memSkipShort skips a memory test under -short, and on every run after
// the first in one test process: each measures the heap growth of one
// large run (seconds under -race), and -count repeats (the suite is run with
// -count=50 to catch flaky ordering) would add nothing but minutes.
func memSkipShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("memory test: skipped under -short")
	}
	if _, again := memRan.LoadOrStore(t.Name(), true); again {
		t.Skip("memory test: runs once per test process")
	}
}

// memRan holds the names of the memory tests this process has run.
var memRan sync.Map

// memHeap returns HeapAlloc after two full collections (the second one
// frees what the finalizers of the first released).
func memHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// memGrowth runs warm (to make what the steady state keeps, such as
// lazily made fields), then measures the heap around run.
func memGrowth(warm, run func()) int64 {
	warm()
	before := memHeap()
	run()
	after := memHeap()
	return int64(after) - int64(before)
}

// memCheckGrowth fails t if growth is over memBudget.
func memCheckGrowth(t *testing.T, what string, growth int64, elapsed time.Duration) {
	t.Helper()
	t.Logf("%s: heap growth %d B (budget %d B), %v", what, growth, memBudget, elapsed.Round(time.Millisecond))
	if growth >= memBudget {
		t.Errorf("%s: heap grew by %d B, want under %d B (rule 15: a long-lived job holds memory only for what is alive)",
			what, growth, memBudget)
	}
}

// memLimitStack lowers the maximum goroutine stack for the rest of the test.
func memLimitStack(t *testing.T) {
	old := debug.SetMaxStack(memStackLimit)
	t.Cleanup(func() { debug.SetMaxStack(old) })
}

// TestMemory_SequentialChildren runs short children one after another under
// one long-lived parent and checks that the parent's memory stays bounded
// (rule 15): after the loop the heap (measured after two GCs, with the
// parent alive and referenced) is less than memBudget larger than before.
// The children are body-less NewJob children completed at once, or Launch
// children joined one by one.
//
// Sizes: 1,000,000 NewJob children (about 1.5 s with -race) and 100,000
// Launch children (about 1 s): a leak of one pointer per child is 8 MB and
// 800 kB on top of what the children themselves would keep.
func TestMemory_SequentialChildren(t *testing.T) {
	memSkipShort(t)
	const nNewJob = 1_000_000
	tests := []struct {
		name string
		n    int
		one  func(t *testing.T, parent core.Job)
	}{
		{"NewJob+Complete", nNewJob, func(t *testing.T, parent core.Job) {
			c := core.NewJob(parent.Context())
			if !c.Complete() {
				t.Fatalf("child %v: Complete() = false, want true", c)
			}
			if !c.IsCompleted() {
				t.Fatalf("child %v not final when Complete returned", c)
			}
		}},
		{"Launch+Join", 100_000, func(t *testing.T, parent core.Job) {
			c := core.Launch(parent.Context(), func(context.Context) error { return nil })
			if err := c.Join(context.Background()); err != nil {
				t.Fatalf("Join(ctx) = %v, want nil", err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			parent := core.NewJob(nil)
			var parentRuns int
			parent.InvokeOnCompletion(func(error) { parentRuns++ })
			loop := func(n int) func() {
				return func() {
					for range n {
						tc.one(t, parent)
					}
				}
			}
			start := time.Now()
			growth := memGrowth(loop(tc.n/100), loop(tc.n))
			elapsed := time.Since(start)
			if st := parent.State(); st != core.Active {
				t.Errorf("parent.State() = %v after its children completed, want Active", st)
			}
			for c := range parent.Children() {
				t.Errorf("parent.Children() yields %v after all children completed, want none", c)
			}
			runtime.KeepAlive(parent)
			memCheckGrowth(t, fmt.Sprintf("%d children", tc.n), growth, elapsed)

			parent.Complete()
			stressWait(t, parent.Done(), "the parent to complete")
			if parentRuns != 1 || parent.State() != core.Completed {
				t.Errorf("parent: State() = %v, completion handler ran %d times, want Completed and 1", parent.State(), parentRuns)
			}
		})
	}
}

// memNoop is a handler that captures nothing, so registering it allocates
// only the registration itself.
func memNoop(error) {}

// TestMemory_RegisterDisposePairs registers and disposes handlers on one
// live job, many times, and checks that the heap does not grow (rule 10:
// "a disposed handler ... holds no memory"; rule 15). Variants: completion
// and cancelling handlers; with live handlers registered before and after
// the loop; and from two goroutines at once, which also races the list's
// cleaning passes against each other's pushes.
//
// Sizes: 10,000,000 pairs for the first variant (about a second without the
// race detector), a fifth of that for the others; under the race detector,
// which makes each pair some fifteen times slower, a tenth of both (1.7 s
// for the first). Without cleaning, even the smallest run keeps 200,000
// nodes: megabytes.
func TestMemory_RegisterDisposePairs(t *testing.T) {
	memSkipShort(t)
	n := 10_000_000
	if raceEnabled {
		n = 1_000_000
	}
	pair := func(job core.Job, kind int) {
		var h core.DisposableHandle
		if kind == onCompletion {
			h = job.InvokeOnCompletion(memNoop)
		} else {
			h = job.InvokeOnCancelling(memNoop)
		}
		h.Dispose()
	}
	tests := []struct {
		name       string
		n          int
		kind       int
		goroutines int
		live       bool // keep live handlers registered around the loop
	}{
		{"InvokeOnCompletion", n, onCompletion, 1, false},
		{"InvokeOnCancelling", n / 5, onCancelling, 1, false},
		{"InvokeOnCompletion/with live handlers", n / 5, onCompletion, 1, true},
		{"InvokeOnCancelling/two goroutines", n / 5, onCancelling, 2, true},
	}
	for _, tc := range tests {
		n := tc.n
		t.Run(tc.name, func(t *testing.T) {
			job := core.NewJob(nil)
			var liveRuns [2]int
			if tc.live {
				job.InvokeOnCompletion(func(error) { liveRuns[0]++ })
			}
			loop := func(n int) func() {
				return func() {
					var wg sync.WaitGroup
					for range tc.goroutines {
						stressGo(&wg, func() {
							for range n / tc.goroutines {
								pair(job, tc.kind)
							}
						})
					}
					stressWaitGroup(t, &wg, "the register/dispose loops to return")
				}
			}
			start := time.Now()
			growth := memGrowth(loop(n/100), loop(n))
			elapsed := time.Since(start)
			if tc.live {
				job.InvokeOnCancelling(func(error) { liveRuns[1]++ })
			}
			runtime.KeepAlive(job)
			memCheckGrowth(t, fmt.Sprintf("%d register+Dispose pairs on %d goroutine(s)", n, tc.goroutines), growth, elapsed)
			job.Cancel(nil)
			stressWait(t, job.Done(), "the job to complete")
			if tc.live && liveRuns != [2]int{1, 1} {
				t.Errorf("live handlers ran %v times, want [1 1]", liveRuns)
			}
		})
	}
}

// memCapture returns a handler that holds p: p stays reachable for as long
// as the handler is.
func memCapture(p *[1 << 16]byte) func(error) { return func(error) { p[0]++ } }

// TestMemory_DisposedHandlerIsCollectable checks that a disposed handler
// holds no memory (rule 10): what it captures is collected although the
// job, and the handle itself, are still referenced.
func TestMemory_DisposedHandlerIsCollectable(t *testing.T) {
	memSkipShort(t)
	for _, kind := range []int{onCompletion, onCancelling} {
		name := map[int]string{onCompletion: "InvokeOnCompletion", onCancelling: "InvokeOnCancelling"}[kind]
		t.Run(name, func(t *testing.T) {
			job := core.NewJob(nil)
			payload := new([1 << 16]byte)
			wp := weak.Make(payload)
			h := memCapture(payload)
			var handle core.DisposableHandle
			if kind == onCompletion {
				handle = job.InvokeOnCompletion(h)
			} else {
				handle = job.InvokeOnCancelling(h)
			}
			// Another live handler registered after it, so that the
			// disposed one stays linked inside the list.
			job.InvokeOnCompletion(memNoop)
			h, payload = nil, nil
			handle.Dispose()
			runtime.GC()
			runtime.GC()
			if wp.Value() != nil {
				t.Errorf("a disposed handler's captured memory is still reachable (job %v)", job)
			}
			runtime.KeepAlive(handle)
			runtime.KeepAlive(job)
			job.Complete()
			stressWait(t, job.Done(), "the job to complete")
		})
	}
}

// memChain builds a chain of depth jobs under a new NewJob root, each made
// by mk from the context of the previous one (the root's for the first).
func memChain(depth int, mk func(ctx context.Context) core.Job) (core.CompletableJob, []core.Job) {
	root := core.NewJob(nil)
	chain := make([]core.Job, depth)
	var prev core.Job = root
	for i := range chain {
		chain[i] = mk(prev.Context())
		prev = chain[i]
	}
	return root, chain
}

// memWaitAll waits until every job is final, bounded by stressTimeout.
func memWaitAll(t *testing.T, what string, jobs []core.Job) {
	t.Helper()
	for _, j := range jobs {
		stressWait(t, j.Done(), what)
	}
}

// memCheckAll checks that every job is in state want (and its flags, cause,
// Done and children are consistent), stopping at the first few failures.
func memCheckAll(t *testing.T, what string, jobs []core.Job, want core.State) {
	t.Helper()
	bad := 0
	for i, j := range jobs {
		st := j.State()
		problem := stressFinalState(j)
		if st != want || problem != "" {
			t.Errorf("%s: job %d of %d (%v): State() = %v, want %v; %s", what, i, len(jobs), j, st, want, problem)
			if bad++; bad == 5 {
				t.Fatalf("%s: giving up after %d bad jobs", what, bad)
			}
		}
	}
}

// memNewJob makes a NewJob child of ctx's job.
func memNewJob(ctx context.Context) core.Job { return core.NewJob(ctx) }

// memLaunchWaiting launches a child of ctx's job whose body waits until its
// context is done.
func memLaunchWaiting(ctx context.Context) core.Job {
	return core.Launch(ctx, func(ctx context.Context) error {
		<-ctx.Done()
		return ctx.Err()
	})
}

// The deep-chain tests cancel, complete and fail chains of memChainDepth
// jobs, each the child of the previous one, with the goroutine stack
// limited to memStackLimit: cancellation goes down and completion and
// failure go up without recursion (a recursive implementation overflows the
// stack, and the test binary dies naming the test). Every job must end in
// the expected state.

// TestMemory_DeepChainCancel builds a chain of NewJob jobs and cancels it
// from its root: body-less jobs with nothing left to wait for, so every job
// is Cancelled when root.Cancel returns (rule 6).
func TestMemory_DeepChainCancel(t *testing.T) {
	memSkipShort(t)
	memLimitStack(t)
	start := time.Now()
	root, chain := memChain(memChainDepth, memNewJob)
	root.Cancel(nil)
	memCheckAll(t, "after root.Cancel returned", chain, core.Cancelled)
	memCheckAll(t, "root", []core.Job{root}, core.Cancelled)
	t.Logf("%d NewJob jobs: built and cancelled in %v", memChainDepth, time.Since(start).Round(time.Millisecond))
}

// TestMemory_DeepLaunchChainCancel builds a chain of Launch jobs whose
// bodies wait for their context, and cancels it from its root: when Cancel
// returns every job is cancelling (rule 6); Join on the deepest returns, and
// every job ends Cancelled.
func TestMemory_DeepLaunchChainCancel(t *testing.T) {
	memSkipShort(t)
	memLimitStack(t)
	start := time.Now()
	root, chain := memChain(memLaunchDepth, memLaunchWaiting)
	root.Cancel(nil)
	for i, j := range chain {
		if !j.IsCancelled() {
			t.Fatalf("job %d of the chain is %v after root.Cancel returned, want Cancelling or Cancelled", i, j)
		}
	}
	leaf := chain[len(chain)-1]
	joined := make(chan struct{})
	go func() { // ends when Join returns: the leaf's body returns once cancelled
		defer close(joined)
		if err := leaf.Join(context.Background()); err != nil {
			t.Errorf("Join(ctx) on the deepest job = %v, want nil", err)
		}
	}()
	stressWait(t, joined, "Join on the deepest job to return")
	stressWait(t, root.Done(), "the root to complete")
	memWaitAll(t, "every job of the chain to complete", chain)
	memCheckAll(t, "after root.Cancel", chain, core.Cancelled)
	memCheckAll(t, "root", []core.Job{root}, core.Cancelled)
	t.Logf("%d Launch jobs: built and cancelled in %v", memLaunchDepth, time.Since(start).Round(time.Millisecond))
}

// TestMemory_DeepChainComplete builds a chain of NewJob jobs, completes
// each from the root down — each then waits in Completing for its child —
// and finally the leaf, whose completion finishes every ancestor: all are
// Completed when the leaf's Complete returns.
func TestMemory_DeepChainComplete(t *testing.T) {
	memSkipShort(t)
	memLimitStack(t)
	start := time.Now()
	root, chain := memChain(memChainDepth, memNewJob)
	if !root.Complete() {
		t.Fatalf("root.Complete() = false, want true")
	}
	for i, j := range chain[:len(chain)-1] {
		if !j.(core.CompletableJob).Complete() {
			t.Fatalf("job %d: Complete() = false, want true", i)
		}
		if st := j.State(); st != core.Completing {
			t.Fatalf("job %d: State() = %v after Complete with a live child, want Completing", i, st)
		}
	}
	if st := root.State(); st != core.Completing {
		t.Fatalf("root.State() = %v, want Completing", st)
	}
	if !chain[len(chain)-1].(core.CompletableJob).Complete() {
		t.Fatalf("leaf: Complete() = false, want true")
	}
	memCheckAll(t, "after the leaf's Complete returned", chain, core.Completed)
	memCheckAll(t, "root", []core.Job{root}, core.Completed)
	t.Logf("%d NewJob jobs: built and completed in %v", memChainDepth, time.Since(start).Round(time.Millisecond))
}

// TestMemory_DeepChainFail builds a chain of NewJob jobs and fails its leaf:
// the failure climbs to the root (rule 7), cancelling every ancestor and so
// the whole chain; none has anything left to wait for, so all are Cancelled
// when Fail returns, the root with the leaf's failure as cause.
func TestMemory_DeepChainFail(t *testing.T) {
	memSkipShort(t)
	memLimitStack(t)
	start := time.Now()
	root, chain := memChain(memChainDepth, memNewJob)
	failure := errors.New("leaf failure")
	if !chain[len(chain)-1].(core.CompletableJob).Fail(failure) {
		t.Fatalf("leaf: Fail() = false, want true")
	}
	memCheckAll(t, "after the leaf's Fail returned", chain, core.Cancelled)
	memCheckAll(t, "root", []core.Job{root}, core.Cancelled)
	if err := root.Cause(); !errors.Is(err, failure) {
		t.Errorf("root.Cause() = %v, want the leaf's failure %v", err, failure)
	}
	t.Logf("%d NewJob jobs: built and failed in %v", memChainDepth, time.Since(start).Round(time.Millisecond))
}

// TestMemory_WideFan cancels a parent with memChainDepth children (and a
// cancelling handler on each) from the parent: every child ends Cancelled,
// and so does the parent, once the last child is.
func TestMemory_WideFan(t *testing.T) {
	memSkipShort(t)
	memLimitStack(t)
	tests := []struct {
		name  string
		width int
		mk    func(ctx context.Context) core.Job
	}{
		{"NewJob", memChainDepth, memNewJob},
		{"Launch", memLaunchDepth, memLaunchWaiting},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			parent := core.NewJob(nil)
			kids := make([]core.Job, tc.width)
			var cancelled int
			var mu sync.Mutex
			for i := range kids {
				kids[i] = tc.mk(parent.Context())
				kids[i].InvokeOnCancelling(func(error) {
					mu.Lock()
					cancelled++
					mu.Unlock()
				})
			}
			parent.Cancel(nil)
			// Cancel is synchronous: the cancelling handlers have run.
			mu.Lock()
			got := cancelled
			mu.Unlock()
			if got != len(kids) {
				t.Errorf("%d of %d cancelling handlers ran when parent.Cancel returned, want all", got, len(kids))
			}
			stressWait(t, parent.Done(), "the parent to complete")
			memWaitAll(t, "every child to complete", kids)
			memCheckAll(t, "children", kids, core.Cancelled)
			memCheckAll(t, "parent", []core.Job{parent}, core.Cancelled)
			t.Logf("%d %s children: built and cancelled in %v", len(kids), tc.name, time.Since(start).Round(time.Millisecond))
		})
	}
}
