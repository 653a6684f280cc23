package cancel_test

import (
	"context"
	"testing"

	"github.com/jobtree/jobtree/cancel"
	"github.com/jobtree/jobtree/core"
)

// BenchmarkEnsureActive measures the check a loop makes every iteration,
// on the contexts a body meets.
func BenchmarkEnsureActive(b *testing.B) {
	job := core.NewJob(nil)
	defer job.Cancel(nil)
	derived, stop := context.WithCancel(context.WithValue(job.Context(), valueKey{}, 1))
	defer stop()
	for _, bc := range []struct {
		name string
		ctx  context.Context
	}{
		{"ctx=background", context.Background()},
		{"ctx=job", job.Context()},
		{"ctx=derived", derived},
		{"ctx=noncancellable", cancel.NonCancellable(job.Context())},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := cancel.EnsureActive(bc.ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkLatestRun measures an uncontended Run: the cost of the
// supersession bookkeeping plus the scope.
func BenchmarkLatestRun(b *testing.B) {
	var l cancel.Latest[int]
	ctx := context.Background()
	body := func(context.Context) (int, error) { return 1, nil }
	b.ReportAllocs()
	for b.Loop() {
		if _, err := l.Run(ctx, body); err != nil {
			b.Fatal(err)
		}
	}
}
