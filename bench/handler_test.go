package bench

import (
	"context"
	"testing"
)

// BenchmarkHandlerRegisterDispose registers one completion callback on a
// long-lived, never-cancelled parent and disposes of it again, once per op
// (W4b of the perf anchors): context.AfterFunc + stop() against jobtree's
// InvokeOnCompletion + Dispose. The callback is created once, outside the
// loop.
//
// mode=parallel runs the same op from GOMAXPROCS goroutines with
// b.RunParallel on one shared parent: ns/op is wall time over the ops of all
// goroutines, so a value below mode=serial means more total throughput.
func BenchmarkHandlerRegisterDispose(b *testing.B) {
	b.Run("mode=serial", func(b *testing.B) {
		runImpls(b, []impl{
			{"context", benchAfterFuncSerial},
			{"jobtree", jobtree.handlerSerial},
		})
	})
	b.Run("mode=parallel", func(b *testing.B) {
		runImpls(b, []impl{
			{"context", benchAfterFuncParallel},
			{"jobtree", jobtree.handlerParallel},
		})
	})
}

func afterFuncStop(ctx context.Context, f func()) {
	stop := context.AfterFunc(ctx, f)
	stop()
}

func benchAfterFuncSerial(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := emptyFunc
	b.ReportAllocs()
	for b.Loop() {
		afterFuncStop(ctx, f)
	}
}

func benchAfterFuncParallel(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := emptyFunc
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			afterFuncStop(ctx, f)
		}
	})
}
