package selects_test

// Memory: a job clause that loses leaves nothing behind on its job.

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jobtree/jobtree/core"
	selects "github.com/jobtree/jobtree/select"
)

// memHeap returns HeapAlloc after two full collections (the second one
// frees what the finalizers of the first released).
func memHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// memBudget is the heap growth allowed over memSelects selects. A leak of
// one handler node (at least 32 bytes) per select would be 3.2 MB.
const (
	memSelects = 100_000
	memBudget  = 1 << 20
)

// memRan is set once the memory test has run in this process.
var memRan atomic.Bool

// TestMemory_LosingJobClause runs memSelects selects in which a clause on
// one long-lived job registers its completion handler (nothing is ready at
// the first look) and then loses to another job, and checks that the heap
// (measured after GC, with the long-lived job alive and referenced) grew
// by less than memBudget: the losing handlers were disposed of and
// unlinked, so the job holds no leftover handlers.
//
// Not parallel: it measures the heap of the whole process. Skipped under
// -short, and on every run after the first in one test process (about a
// second under -race: -count=50 would add nothing but time).
func TestMemory_LosingJobClause(t *testing.T) {
	if testing.Short() {
		t.Skip("memory test: skipped under -short")
	}
	if !memRan.CompareAndSwap(false, true) {
		t.Skip("memory test: runs once per test process")
	}
	ctx := testCtx(t)
	loser := core.NewJob(nil)
	defer loser.Cancel(nil)
	lose := func() (int, error) { return 0, nil }
	win := func() (int, error) { return 1, nil }
	run := func(n int) {
		for range n {
			got, err := selects.Select(ctx, selects.OnJoin(loser, lose), selects.OnJoin[int](newTrigger(), win))
			if got != 1 || err != nil {
				t.Fatalf("Select = %d, %v; want 1, nil", got, err)
			}
		}
	}
	run(1000) // the steady state: pooled waiters, the job's lazily made parts
	before := memHeap()
	start := time.Now()
	run(memSelects)
	elapsed := time.Since(start)
	growth := int64(memHeap()) - int64(before)
	t.Logf("%d selects: heap growth %d B (budget %d B), %v", memSelects, growth, memBudget, elapsed.Round(time.Millisecond))
	if growth >= memBudget {
		t.Errorf("heap grew by %d B over %d selects, want under %d B: the losing job keeps its handlers", growth, memSelects, memBudget)
	}
	runtime.KeepAlive(loser)
}
