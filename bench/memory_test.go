package bench

import (
	"context"
	"runtime"
	"sync"
	"testing"
)

// BenchmarkJobMemory measures what one job costs in memory.
//
//	kind=launch          one Launch with an empty body under a long-lived
//	                     parent, joined (peer: go + sync.WaitGroup)
//	kind=child           one body-less child of a long-lived parent, created
//	                     and completed (peer: context.WithCancel + cancel)
//	kind=child+done      the same, with Done() called on the child's context
//	                     (the context package then allocates its channel)
//	kind=retained        heap retained per idle body-less child: each op keeps
//	                     retainedObjs children of one parent alive, runs
//	                     runtime.GC and reads runtime.MemStats before and
//	                     after; reported as retained-B/child, ns/op is the
//	                     whole sample and means nothing
//	kind=retained+done   the same, with Done() called on each child's context
//
// B/op and allocs/op are the numbers to read for the first three kinds.
func BenchmarkJobMemory(b *testing.B) {
	kinds := []struct {
		kind  string
		impls []impl
	}{
		{"launch", []impl{
			{"goroutine", benchMemGoroutine},
			{"jobtree", jobtree.memLaunch},
		}},
		{"child", []impl{
			{"context", benchMemCtxChild(false)},
			{"jobtree", jobtree.memChild},
		}},
		{"child+done", []impl{
			{"context", benchMemCtxChild(true)},
			{"jobtree", jobtree.memChildDone},
		}},
		{"retained", []impl{
			{"context", benchRetainedCtx(false)},
			{"jobtree", jobtree.memRetained},
		}},
		{"retained+done", []impl{
			{"context", benchRetainedCtx(true)},
			{"jobtree", jobtree.memRetainedDone},
		}},
	}
	for _, k := range kinds {
		b.Run("kind="+k.kind, func(b *testing.B) { runImpls(b, k.impls) })
	}
}

func goroutineJoin() {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { wg.Done() }()
	wg.Wait()
}

func benchMemGoroutine(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		goroutineJoin()
	}
}

func ctxChild(parent context.Context, done bool) {
	ctx, cancel := context.WithCancel(parent)
	if done {
		ctx.Done()
	}
	cancel()
}

func benchMemCtxChild(done bool) func(b *testing.B) {
	return func(b *testing.B) {
		parent, cancel := context.WithCancel(context.Background())
		defer cancel()
		b.ReportAllocs()
		for b.Loop() {
			ctxChild(parent, done)
		}
	}
}

// retained measures the heap that keep retains: it runs runtime.GC, calls
// keep to create n objects and keep them reachable, runs runtime.GC again,
// and returns the growth of HeapAlloc per object. release is called after the
// second reading, so the objects can be freed.
func retained(n int, keep func(), release func()) float64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	keep()
	runtime.GC()
	runtime.ReadMemStats(&after)
	release()
	return float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(n)
}

// retainedReport runs sample once per iteration and reports the mean as
// retained-B/child.
func retainedReport(b *testing.B, sample func() float64) {
	var sum float64
	var n int
	for b.Loop() {
		sum += sample()
		n++
	}
	b.ReportMetric(sum/float64(n), "retained-B/child")
}

func benchRetainedCtx(done bool) func(b *testing.B) {
	return func(b *testing.B) {
		keep := make([]context.Context, retainedObjs)
		cancels := make([]context.CancelFunc, retainedObjs)
		retainedReport(b, func() float64 {
			parent, cancelParent := context.WithCancel(context.Background())
			return retained(retainedObjs, func() {
				for i := range keep {
					keep[i], cancels[i] = context.WithCancel(parent)
					if done {
						keep[i].Done()
					}
				}
			}, func() {
				cancelParent()
				clear(keep)
				clear(cancels)
			})
		})
	}
}
