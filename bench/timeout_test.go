//go:build !nojobtree

package bench

import (
	"context"
	"testing"
	"time"

	"github.com/jobtree/jobtree/timeout"
)

// BenchmarkWithTimeout bounds a trivial call by a timeout that never
// fires (an hour), once per op: jobtree's timeout.WithTimeout (a scope job,
// a timer, the deadline) against the plain Go way, context.WithTimeout,
// the call, and the cancel func. Both start from context.Background().
func BenchmarkWithTimeout(b *testing.B) {
	runImpls(b, []impl{
		{"context", benchWithTimeoutContext},
		{"jobtree", benchWithTimeoutJobtree},
	})
}

// trivialCall is the bounded call of BenchmarkWithTimeout: it looks at its
// context once, as real code would before doing its work.
func trivialCall(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return 1, nil
}

func benchWithTimeoutContext(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		ctx, stop := context.WithTimeout(context.Background(), time.Hour)
		if _, err := trivialCall(ctx); err != nil {
			b.Fatal(err)
		}
		stop()
	}
}

func benchWithTimeoutJobtree(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := timeout.WithTimeout(context.Background(), time.Hour, trivialCall); err != nil {
			b.Fatal(err)
		}
	}
}
