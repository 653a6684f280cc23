//go:build !nojobtree

package bench

import (
	"context"
	"runtime"
	"testing"

	"github.com/jobtree/jobtree/async"
	"github.com/samber/lo"
	"github.com/samber/mo"
	"github.com/sourcegraph/conc/iter"
	"golang.org/x/sync/errgroup"
)

// Shapes of the async workloads.
const (
	asyncPerOp = 1000  // AsyncAwait: futures started, then awaited in order, per op
	mapItems   = 10000 // Map: items per op
)

// BenchmarkAsyncAwait starts asyncPerOp futures of a trivial result, then
// awaits them in order. impl=chan (a go statement sending into a channel of
// capacity 1) is the floor.
func BenchmarkAsyncAwait(b *testing.B) {
	runImpls(b, []impl{
		{"chan", benchLoop(asyncAwaitChan)},
		{"jobtree", benchLoop(asyncAwaitJobtree)},
		{"mo", benchLoop(asyncAwaitMo)},
		{"lo", benchLoop(asyncAwaitLo)},
	})
}

func one(context.Context) (int, error) { return 1, nil }

func asyncAwaitChan(n int) {
	chs := make([]chan int, n)
	for i := range chs {
		ch := make(chan int, 1)
		go func() { ch <- 1 }()
		chs[i] = ch
	}
	for _, ch := range chs {
		<-ch
	}
}

func asyncAwaitJobtree(n int) {
	ds := make([]async.Deferred[int], n)
	for i := range ds {
		ds[i] = async.Async(nil, one)
	}
	for _, d := range ds {
		_, _ = d.Await(nil)
	}
}

func asyncAwaitMo(n int) {
	fs := make([]*mo.Future[int], n)
	for i := range fs {
		fs[i] = mo.NewFuture(func(resolve func(int), _ func(error)) { resolve(1) })
	}
	for _, f := range fs {
		_, _ = f.Collect()
	}
}

func asyncAwaitLo(n int) {
	chs := make([]<-chan int, n)
	for i := range chs {
		chs[i] = lo.Async(func() int { return 1 })
	}
	for _, ch := range chs {
		<-ch
	}
}

// BenchmarkMap maps mapItems integers through a trivial function with at
// most GOMAXPROCS calls at once (conc's default), results in order.
func BenchmarkMap(b *testing.B) {
	in := make([]int, mapItems)
	for i := range in {
		in[i] = i
	}
	limit := runtime.GOMAXPROCS(0)
	run := func(op func([]int, int)) func(b *testing.B) {
		return func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				op(in, limit)
			}
		}
	}
	runImpls(b, []impl{
		{"conc", run(mapConc)},
		{"jobtree", run(mapJobtree)},
		{"errgroup", run(mapErrgroup)},
	})
}

func double(_ context.Context, x int) (int, error) { return 2 * x, nil }

func mapJobtree(in []int, limit int) {
	_, _ = async.Map(nil, in, double, async.Limit(limit))
}

func mapConc(in []int, limit int) {
	_ = iter.Mapper[int, int]{MaxGoroutines: limit}.Map(in, func(x *int) int { return 2 * *x })
}

// mapErrgroup is the hand-written form: a goroutine per item, at most limit
// at once, each writing its own slot.
func mapErrgroup(in []int, limit int) {
	out := make([]int, len(in))
	g, ctx := errgroup.WithContext(context.Background())
	g.SetLimit(limit)
	for i, x := range in {
		g.Go(func() error {
			r, err := double(ctx, x)
			out[i] = r
			return err
		})
	}
	_ = g.Wait()
}
