//go:build !nojobtree

package bench

import (
	"context"
	"testing"

	"github.com/jobtree/jobtree/core"
)

// The jobtree alternative of every benchmark. Build with -tags nojobtree to
// leave it out.
var jobtree = jobtreeBenches{
	launchJoin:      benchLaunchJoinJobtree,
	cancelTree:      benchTree(&jobTree{}),
	handlerSerial:   benchHandlerSerialJobtree,
	handlerParallel: benchHandlerParallelJobtree,
	memLaunch:       benchMemLaunchJobtree,
	memChild:        benchMemChildJobtree(false),
	memChildDone:    benchMemChildJobtree(true),
	memRetained:     benchRetainedJobtree(false),
	memRetainedDone: benchRetainedJobtree(true),
}

// launchJoinJobtree launches n empty tasks under a body-less parent, then
// completes the parent and joins it, which waits for all of them.
func launchJoinJobtree(n int) {
	parent := core.NewJob(nil)
	ctx := parent.Context()
	for range n {
		core.Launch(ctx, emptyBody)
	}
	parent.Complete()
	if err := parent.Join(context.Background()); err != nil {
		panic(err)
	}
}

func benchLaunchJoinJobtree(b *testing.B) {
	benchLoop(launchJoinJobtree)(b)
}

// jobTree is the CancelTree tree of body-less jobs: NewJob nodes under a
// NewJob root.
type jobTree struct{ root core.CompletableJob }

func (t *jobTree) grow(leaves []<-chan struct{}) []<-chan struct{} {
	t.root = core.NewJob(nil)
	return buildJobTree(t.root, treeDepth, leaves)
}

func (t *jobTree) cancel() { t.root.Cancel(nil) }
func (t *jobTree) drop()   { t.root = nil }

func buildJobTree(parent core.Job, depth int, leaves []<-chan struct{}) []<-chan struct{} {
	ctx := parent.Context()
	for range treeFanOut {
		child := core.NewJob(ctx)
		if depth == 1 {
			leaves = append(leaves, child.Context().Done())
			continue
		}
		leaves = buildJobTree(child, depth-1, leaves)
	}
	return leaves
}

func invokeDispose(job core.Job, h func(error)) {
	d := job.InvokeOnCompletion(h)
	d.Dispose()
}

func benchHandlerSerialJobtree(b *testing.B) {
	job := core.NewJob(nil)
	defer job.Cancel(nil)
	h := emptyHandler
	b.ReportAllocs()
	for b.Loop() {
		invokeDispose(job, h)
	}
}

func benchHandlerParallelJobtree(b *testing.B) {
	job := core.NewJob(nil)
	defer job.Cancel(nil)
	h := emptyHandler
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			invokeDispose(job, h)
		}
	})
}

func launchJoinOne(ctx context.Context) {
	j := core.Launch(ctx, emptyBody)
	if err := j.Join(context.Background()); err != nil {
		panic(err)
	}
}

func benchMemLaunchJobtree(b *testing.B) {
	parent := core.NewJob(nil)
	defer parent.Cancel(nil)
	ctx := parent.Context()
	b.ReportAllocs()
	for b.Loop() {
		launchJoinOne(ctx)
	}
}

func jobChild(ctx context.Context, done bool) {
	child := core.NewJob(ctx)
	if done {
		child.Context().Done()
	}
	child.Complete()
}

func benchMemChildJobtree(done bool) func(b *testing.B) {
	return func(b *testing.B) {
		parent := core.NewJob(nil)
		defer parent.Cancel(nil)
		ctx := parent.Context()
		b.ReportAllocs()
		for b.Loop() {
			jobChild(ctx, done)
		}
	}
}

func benchRetainedJobtree(done bool) func(b *testing.B) {
	return func(b *testing.B) {
		keep := make([]core.CompletableJob, retainedObjs)
		retainedReport(b, func() float64 {
			parent := core.NewJob(nil)
			ctx := parent.Context()
			return retained(retainedObjs, func() {
				for i := range keep {
					keep[i] = core.NewJob(ctx)
					if done {
						keep[i].Context().Done()
					}
				}
			}, func() {
				parent.Cancel(nil)
				clear(keep)
			})
		})
	}
}
