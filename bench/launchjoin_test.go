package bench

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/samber/lo"
	"github.com/sourcegraph/conc"
	"golang.org/x/sync/errgroup"
	"gopkg.in/tomb.v2"
)

// BenchmarkLaunchJoin spawns and joins tasksPerOp empty tasks per op (W1 of
// the perf anchors). impl=waitgroup (go + sync.WaitGroup) is the floor.
// impl=handle is the least a job-per-task design can do (see
// launchJoinHandle): what is left of a bound on jobtree ÷ waitgroup once a
// task has to be a job.
//
// Each op runs in a helper function: a local declared inside the b.Loop body
// and captured by a closure would be moved to the heap, which ordinary code
// does not pay.
func BenchmarkLaunchJoin(b *testing.B) {
	runImpls(b, []impl{
		{"waitgroup", benchLoop(launchJoinWaitGroup)},
		{"jobtree", jobtree.launchJoin},
		{"errgroup", benchLoop(launchJoinErrgroup)},
		{"handle", benchLoop(launchJoinHandle)},
		{"conc", benchLoop(launchJoinConc)},
		{"tomb", benchLoop(launchJoinTomb)},
		{"lo", benchLoop(launchJoinLo)},
		{"context", benchLoop(launchJoinContext)},
	})
}

// benchLoop runs op(tasksPerOp) once per iteration.
func benchLoop(op func(n int)) func(b *testing.B) {
	return func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			op(tasksPerOp)
		}
	}
}

// launchJoinWaitGroup is the floor: a go statement and a WaitGroup.
func launchJoinWaitGroup(n int) {
	var wg sync.WaitGroup
	wg.Add(n)
	for range n {
		go func() { wg.Done() }()
	}
	wg.Wait()
}

// taskHandle is the least a job must be: a word of state that its task
// sets when it ends, and the counter of its parent. It is padded to 64
// bytes, the size of a jobtree job, so that launchJoinHandle pays for the
// same memory per task.
type taskHandle struct {
	state  atomic.Uint64
	parent *sync.WaitGroup
	_      [48]byte
}

// launchJoinHandle is the floor of a job-per-task design: go + WaitGroup,
// plus what [core.Launch] cannot do without. Each task is counted as it is
// launched (a Launch does not know how many will follow, nor does
// errgroup), gets a handle of its own (Launch returns one), and marks it
// ended with one CAS before it is counted done. No context, cause, handler
// list, panic recovery or state machine: no implementation of Launch can do
// less.
func launchJoinHandle(n int) {
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		h := &taskHandle{parent: &wg}
		go h.run()
	}
	wg.Wait()
}

func (h *taskHandle) run() {
	for {
		s := h.state.Load()
		// CAS: mark the task ended; retry if the word changed.
		if h.state.CompareAndSwap(s, s|1) {
			break
		}
	}
	h.parent.Done()
}

func launchJoinErrgroup(n int) {
	var g errgroup.Group
	for range n {
		g.Go(emptyTask)
	}
	_ = g.Wait()
}

func launchJoinConc(n int) {
	var wg conc.WaitGroup
	for range n {
		wg.Go(emptyFunc)
	}
	wg.Wait()
}

// launchJoinTomb spawns every task from inside one tracked goroutine, tomb's
// documented safe pattern: Go after all tracked goroutines have returned
// panics.
func launchJoinTomb(n int) {
	var t tomb.Tomb
	t.Go(func() error {
		for range n {
			t.Go(emptyTask)
		}
		return nil
	})
	_ = t.Wait()
}

// loChans is reused by every launchJoinLo op (benchmarks run one at a time),
// so that only lo.Async's own allocations are measured.
var loChans = make([]<-chan struct{}, tasksPerOp)

// launchJoinLo starts every task with lo.Async, which gives each its own
// result channel, and joins by receiving from all of them.
func launchJoinLo(n int) {
	chans := loChans[:n]
	for i := range chans {
		chans[i] = lo.Async(emptyStruct)
	}
	for _, c := range chans {
		<-c
	}
	clear(chans)
}

func emptyStruct() struct{} { return struct{}{} }

// launchJoinContext is job-per-task on the context package: every task gets
// its own context.WithCancel child of a shared parent and calls its cancel
// when done, which unregisters it from the parent.
func launchJoinContext(n int) {
	parent, cancelParent := context.WithCancel(context.Background())
	defer cancelParent()
	var wg sync.WaitGroup
	wg.Add(n)
	for range n {
		ctx, cancel := context.WithCancel(parent)
		go contextTask(ctx, cancel, &wg)
	}
	wg.Wait()
}

func contextTask(_ context.Context, cancel context.CancelFunc, wg *sync.WaitGroup) {
	cancel()
	wg.Done()
}
