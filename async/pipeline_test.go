package async_test

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jobtree/jobtree/async"
	"github.com/jobtree/jobtree/core"
	"github.com/jobtree/jobtree/internal/testkit"
)

// This file tests the pipelines of issue 3: Map, ForEach, MapSeq and
// ForEachSeq (no kotlinx counterpart).

// mapper is Map or MapSeq over a slice, so that the tests that both must
// pass are written once.
type mapper struct {
	name string
	run  func(ctx context.Context, in []int, f func(ctx context.Context, item int) (int, error), opts ...async.MapOption) ([]int, error)
}

var mappers = []mapper{
	{"Map", async.Map[int, int]},
	{"MapSeq", func(ctx context.Context, in []int, f func(ctx context.Context, item int) (int, error), opts ...async.MapOption) ([]int, error) {
		return async.MapSeq(ctx, slices.Values(in), f, opts...)
	}},
}

// count returns 0, 1, ..., n-1.
func count(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// square is the function mapped by the tests that only look at results.
func square(_ context.Context, i int) (int, error) { return i * i, nil }

// TestMap_Ordered checks that the results are in the order of the input,
// also when the calls end in the reverse order.
func TestMap_Ordered(t *testing.T) {
	t.Parallel()
	for _, m := range mappers {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			const n = 16
			// Call i returns only after call i+1 returned: with every
			// call running at once (no limit), they end in reverse.
			ended := make([]chan struct{}, n+1)
			for i := range ended {
				ended[i] = make(chan struct{})
			}
			close(ended[n])
			got, err := call(t, m.name, func() ([]int, error) {
				return m.run(context.Background(), count(n), func(ctx context.Context, i int) (int, error) {
					testkit.Hold(t, ended[i+1])
					close(ended[i])
					return i * i, nil
				}, async.Limit(0))
			})
			want := make([]int, n)
			for i := range want {
				want[i] = i * i
			}
			if !slices.Equal(got, want) || err != nil {
				t.Errorf("%s = %v, %v, want %v, nil", m.name, got, err, want)
			}
			got, err = call(t, m.name, func() ([]int, error) {
				return m.run(context.Background(), count(200), square, async.Limit(3))
			})
			if err != nil || len(got) != 200 {
				t.Fatalf("%s(200 items, Limit(3)) = %d results, %v; want 200, nil", m.name, len(got), err)
			}
			for i, v := range got {
				if v != i*i {
					t.Fatalf("%s(200 items, Limit(3))[%d] = %d, want %d", m.name, i, v, i*i)
				}
			}
		})
	}
}

// TestMap_Limit checks the concurrency limit: the number of calls running
// at once, measured by the calls themselves, never exceeds it, and reaches
// it (each call waits until that many run at once, so a limit that is too
// low makes the test time out).
func TestMap_Limit(t *testing.T) {
	t.Parallel()
	const n = 12
	procs := runtime.GOMAXPROCS(0)
	tests := []struct {
		name string
		opts []async.MapOption
		want int
	}{
		{"Limit(1)", []async.MapOption{async.Limit(1)}, 1},
		{"Limit(3)", []async.MapOption{async.Limit(3)}, 3},
		{"Limit(n)", []async.MapOption{async.Limit(n)}, n},
		{"Limit above n", []async.MapOption{async.Limit(100)}, n},
		{"Limit(0) unlimited", []async.MapOption{async.Limit(0)}, n},
		{"Limit(-1) unlimited", []async.MapOption{async.Limit(-1)}, n},
		{"default GOMAXPROCS", nil, min(procs, n)},
		{"later option wins", []async.MapOption{async.Limit(1), async.Limit(2)}, 2},
	}
	for _, m := range mappers {
		for _, tt := range tests {
			t.Run(m.name+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				var running, most atomic.Int32
				reached := make(chan struct{})
				var once sync.Once
				got, err := call(t, m.name, func() ([]int, error) {
					return m.run(context.Background(), count(n), func(ctx context.Context, i int) (int, error) {
						now := running.Add(1)
						defer running.Add(-1)
						for {
							old := most.Load()
							if now <= old || most.CompareAndSwap(old, now) {
								break
							}
						}
						if now == int32(tt.want) {
							once.Do(func() { close(reached) })
						}
						testkit.Hold(t, reached)
						return i, nil
					}, tt.opts...)
				})
				if err != nil || !slices.Equal(got, count(n)) {
					t.Errorf("%s = %v, %v, want %v, nil", m.name, got, err, count(n))
				}
				if got := most.Load(); got != int32(tt.want) {
					t.Errorf("most calls running at once = %d, want %d", got, tt.want)
				}
			})
		}
	}
}

// TestMap_FailureStopsTheRest checks that the first failure cancels the
// calls that run, that no call starts after it, that Map returns it, and
// that it does not cancel the caller's job. With Limit(3), calls 0 and 1
// hold two workers (or tokens) until they are cancelled, and the others wait
// until those two run, so the calls 2, 3, 4 and 5 are made one after
// another; 5 fails, and no call may follow.
func TestMap_FailureStopsTheRest(t *testing.T) {
	t.Parallel()
	for _, m := range mappers {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			const limit, failAt = 3, 5
			failure := testkit.NewErr("item 5")
			outer := core.NewJob(nil)
			defer outer.Cancel(nil)
			var mu sync.Mutex
			var called []int
			causes := make([]error, limit-1)
			var holding sync.WaitGroup
			holding.Add(limit - 1)
			holdersRun := make(chan struct{})
			go func() { holding.Wait(); close(holdersRun) }() // ends once calls 0 and 1 run
			got, err := call(t, m.name, func() ([]int, error) {
				return m.run(outer.Context(), count(50), func(ctx context.Context, i int) (int, error) {
					mu.Lock()
					called = append(called, i)
					mu.Unlock()
					switch {
					case i < limit-1:
						holding.Done()
						<-ctx.Done()
						causes[i] = context.Cause(ctx)
						return 0, ctx.Err()
					}
					testkit.Hold(t, holdersRun)
					if i == failAt {
						return 0, failure
					}
					return i, nil
				}, async.Limit(limit))
			})
			if got != nil || err != failure {
				t.Errorf("%s = %v, %v, want nil, %v", m.name, got, err, failure)
			}
			slices.Sort(called)
			if want := count(failAt + 1); !slices.Equal(called, want) {
				t.Errorf("calls made = %v, want exactly %v", called, want)
			}
			for i, c := range causes {
				// The failure itself on the caller's goroutine (Map's
				// scope failed), else a cancellation carrying it.
				if !errors.Is(c, failure) {
					t.Errorf("cause seen by call %d = %v, want %v", i, c, failure)
				}
			}
			testkit.CheckState(t, outer, core.Active)
		})
	}
}

// TestMap_Panic checks that a panicking call is recovered into a
// *core.PanicError that Map returns, whether it ran on the caller's
// goroutine or on a worker.
func TestMap_Panic(t *testing.T) {
	t.Parallel()
	for _, m := range mappers {
		for _, limit := range []int{1, 0} {
			t.Run(fmt.Sprintf("%s/Limit(%d)", m.name, limit), func(t *testing.T) {
				t.Parallel()
				_, err := call(t, m.name, func() ([]int, error) {
					return m.run(context.Background(), count(8), func(_ context.Context, i int) (int, error) {
						if i == 3 {
							panic("mapped")
						}
						return i, nil
					}, async.Limit(limit))
				})
				var pe *core.PanicError
				if !errors.As(err, &pe) || pe.Value != "mapped" {
					t.Errorf("%s = %v (%T), want a *core.PanicError of %q", m.name, err, err, "mapped")
				}
			})
		}
	}
}

// TestMap_CtxCancelled checks that a ctx done at the call runs no call, and
// that a ctx cancelled while the calls run cancels them; both return the
// cancellation with the ctx's cause, and every call has returned by then.
func TestMap_CtxCancelled(t *testing.T) {
	t.Parallel()
	for _, m := range mappers {
		t.Run(m.name+"/at the call", func(t *testing.T) {
			t.Parallel()
			why := testkit.NewErr("gave up")
			ctx, stop := context.WithCancelCause(context.Background())
			stop(why)
			var calls atomic.Int32
			got, err := call(t, m.name, func() ([]int, error) {
				return m.run(ctx, count(4), func(context.Context, int) (int, error) {
					calls.Add(1)
					return 0, nil
				})
			})
			if got != nil {
				t.Errorf("%s(done ctx) = %v, want nil", m.name, got)
			}
			testkit.WantCancellation(t, m.name+"(done ctx)", err, why)
			if n := calls.Load(); n != 0 {
				t.Errorf("%d calls made with a done ctx, want 0", n)
			}
		})
		t.Run(m.name+"/while running", func(t *testing.T) {
			t.Parallel()
			why := testkit.NewErr("gave up")
			parent := core.NewJob(nil)
			ctx, stop := context.WithCancelCause(parent.Context())
			defer parent.Cancel(nil)
			started := make(chan struct{})
			var once sync.Once
			var running atomic.Int32
			res := goCall(func() ([]int, error) {
				return m.run(ctx, count(20), func(ctx context.Context, _ int) (int, error) {
					running.Add(1)
					defer running.Add(-1)
					once.Do(func() { close(started) })
					<-ctx.Done()
					return 0, ctx.Err()
				}, async.Limit(4))
			})
			testkit.WaitChan(t, started, "a call to start")
			stop(why)
			_, err := recv(t, res, m.name)
			testkit.WantCancellation(t, m.name, err, why)
			if n := running.Load(); n != 0 {
				t.Errorf("%d calls still running when %s returned", n, m.name)
			}
			testkit.CheckState(t, parent, core.Active)
		})
		t.Run(m.name+"/cancelled by a call", func(t *testing.T) {
			t.Parallel()
			// With Limit(1), call 0 cancels the caller's job and returns
			// normally: no call may start after it.
			why := testkit.NewErr("call 0 gave up")
			parent := core.NewJob(nil)
			var calls atomic.Int32
			_, err := call(t, m.name, func() ([]int, error) {
				return m.run(parent.Context(), count(10), func(ctx context.Context, i int) (int, error) {
					calls.Add(1)
					parent.Cancel(why)
					return i, nil
				}, async.Limit(1))
			})
			testkit.WantCancellation(t, m.name, err, why)
			if n := calls.Load(); n != 1 {
				t.Errorf("%d calls made, want 1: none after the cancellation", n)
			}
			testkit.WaitDone(t, parent)
		})
		t.Run(m.name+"/job cancelled", func(t *testing.T) {
			t.Parallel()
			parent := core.NewJob(nil)
			started := make(chan struct{})
			var once sync.Once
			res := goCall(func() ([]int, error) {
				return m.run(parent.Context(), count(20), func(ctx context.Context, _ int) (int, error) {
					once.Do(func() { close(started) })
					<-ctx.Done()
					return 0, ctx.Err()
				}, async.Limit(0))
			})
			testkit.WaitChan(t, started, "a call to start")
			parent.Cancel(nil)
			_, err := recv(t, res, m.name)
			testkit.WantCancellation(t, m.name, err, nil)
			testkit.WaitDone(t, parent)
		})
	}
}

// TestMap_CallReturnsCancellation checks that a call that returns a
// cancellation of its own (its ctx not done) ends the whole call with it,
// as a failure would: no result goes missing without an error, and MapSeq
// does not wait forever for the call's token. Call 0 waits until call 3
// has returned, so that call 3 runs on a worker of its own where the
// limit allows.
func TestMap_CallReturnsCancellation(t *testing.T) {
	t.Parallel()
	stop := &core.CancellationError{Message: "call 3 stopped"}
	for _, m := range mappers {
		for _, limit := range []int{1, 2, 0} {
			for _, ret := range []error{context.Canceled, stop} {
				t.Run(fmt.Sprintf("%s/Limit(%d)/%v", m.name, limit, ret), func(t *testing.T) {
					t.Parallel()
					outer := core.NewJob(nil)
					defer outer.Cancel(nil)
					three := make(chan struct{})
					got, err := call(t, m.name, func() ([]int, error) {
						return m.run(outer.Context(), count(6), func(ctx context.Context, i int) (int, error) {
							switch {
							case i == 3:
								close(three)
								return 0, ret
							case i == 0 && limit != 1:
								testkit.Hold(t, three)
							}
							return i + 100, nil
						}, async.Limit(limit))
					})
					if got != nil || !errors.Is(err, ret) || !core.IsCancellation(err) {
						t.Errorf("%s = %v, %v, want nil and a cancellation carrying %v", m.name, got, err, ret)
					}
					testkit.CheckState(t, outer, core.Active)
				})
			}
		}
	}
}

// TestMap_WaitsForChildren checks that Map is a structured scope: the calls
// run in jobs under the caller's job, and Map returns only once the jobs
// they launched have ended.
func TestMap_WaitsForChildren(t *testing.T) {
	t.Parallel()
	for _, m := range mappers {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			outer := core.NewJob(nil)
			defer outer.Cancel(nil)
			release := make(chan struct{})
			var underOuter atomic.Int32
			var launched sync.WaitGroup
			launched.Add(3)
			res := goCall(func() ([]int, error) {
				return m.run(outer.Context(), count(3), func(ctx context.Context, i int) (int, error) {
					for x := core.JobOf(ctx); x != nil; x = x.Parent() {
						if x == core.Job(outer) {
							underOuter.Add(1)
							break
						}
					}
					core.Launch(ctx, func(context.Context) error { testkit.Hold(t, release); return nil })
					launched.Done()
					return i, nil
				}, async.Limit(0))
			})
			allLaunched := make(chan struct{})
			go func() { launched.Wait(); close(allLaunched) }() // ends once the three calls launched
			testkit.WaitChan(t, allLaunched, "the calls to launch their children")
			if returned(res) {
				t.Errorf("%s returned while jobs launched by its calls were running", m.name)
			}
			close(release)
			if got, err := recv(t, res, m.name); !slices.Equal(got, count(3)) || err != nil {
				t.Errorf("%s = %v, %v, want %v, nil", m.name, got, err, count(3))
			}
			if n := underOuter.Load(); n != 3 {
				t.Errorf("%d of 3 calls ran in a job under the caller's job", n)
			}
		})
	}
}

// TestMap_Empty checks that an empty input returns an empty (non-nil)
// slice at once, without calling f.
func TestMap_Empty(t *testing.T) {
	t.Parallel()
	f := func(context.Context, int) (int, error) {
		t.Errorf("f called for an empty input")
		return 0, nil
	}
	for _, m := range mappers {
		for _, in := range [][]int{nil, {}} {
			got, err := m.run(context.Background(), in, f)
			if got == nil || len(got) != 0 || err != nil {
				t.Errorf("%s(%#v) = %#v, %v, want []int{}, nil", m.name, in, got, err)
			}
		}
	}
}

// TestMap_NilArguments checks that the pipelines reject a nil function or
// sequence.
func TestMap_NilArguments(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	seq := slices.Values([]int{1})
	expectPanic(t, "Map(nil f)", func() { _, _ = async.Map[int, int](ctx, []int{1}, nil) })
	expectPanic(t, "Map(empty, nil f)", func() { _, _ = async.Map[int, int](ctx, nil, nil) })
	expectPanic(t, "ForEach(nil f)", func() { _ = async.ForEach[int](ctx, []int{1}, nil) })
	expectPanic(t, "MapSeq(nil f)", func() { _, _ = async.MapSeq[int, int](ctx, seq, nil) })
	expectPanic(t, "MapSeq(nil seq)", func() { _, _ = async.MapSeq(ctx, nil, square) })
	expectPanic(t, "ForEachSeq(nil f)", func() { _ = async.ForEachSeq[int](ctx, seq, nil) })
	expectPanic(t, "ForEachSeq(nil seq)", func() {
		_ = async.ForEachSeq(ctx, nil, func(context.Context, int) error { return nil })
	})
}

// forEacher is ForEach or ForEachSeq over a slice.
type forEacher struct {
	name string
	run  func(ctx context.Context, in []int, f func(ctx context.Context, item int) error, opts ...async.MapOption) error
}

var forEachers = []forEacher{
	{"ForEach", async.ForEach[int]},
	{"ForEachSeq", func(ctx context.Context, in []int, f func(ctx context.Context, item int) error, opts ...async.MapOption) error {
		return async.ForEachSeq(ctx, slices.Values(in), f, opts...)
	}},
}

// TestForEach checks that ForEach and ForEachSeq call f once per item and
// return the first failure (a panic included).
func TestForEach(t *testing.T) {
	t.Parallel()
	for _, fe := range forEachers {
		t.Run(fe.name, func(t *testing.T) {
			t.Parallel()
			const n = 100
			var seen [n]atomic.Int32
			_, err := call(t, fe.name, func() (struct{}, error) {
				return struct{}{}, fe.run(context.Background(), count(n), func(_ context.Context, i int) error {
					seen[i].Add(1)
					return nil
				}, async.Limit(4))
			})
			if err != nil {
				t.Errorf("%s = %v, want nil", fe.name, err)
			}
			for i := range seen {
				if c := seen[i].Load(); c != 1 {
					t.Errorf("item %d seen %d times, want 1", i, c)
				}
			}
			failure := testkit.NewErr("for each")
			_, err = call(t, fe.name, func() (struct{}, error) {
				return struct{}{}, fe.run(context.Background(), count(n), func(_ context.Context, i int) error {
					if i == 7 {
						return failure
					}
					return nil
				}, async.Limit(1))
			})
			if err != failure {
				t.Errorf("%s = %v, want %v", fe.name, err, failure)
			}
			_, err = call(t, fe.name, func() (struct{}, error) {
				return struct{}{}, fe.run(context.Background(), count(3), func(context.Context, int) error { panic("each") })
			})
			var pe *core.PanicError
			if !errors.As(err, &pe) {
				t.Errorf("%s with a panicking f = %v, want a *core.PanicError", fe.name, err)
			}
			if err := fe.run(context.Background(), nil, func(context.Context, int) error { return failure }); err != nil {
				t.Errorf("%s(empty) = %v, want nil", fe.name, err)
			}
		})
	}
}

// naturals is an endless sequence 0, 1, 2, ... that counts the items it
// yielded and records whether the consumer stopped it.
type naturals struct {
	yielded atomic.Int32
	stopped atomic.Bool
}

func (s *naturals) seq(yield func(int) bool) {
	for i := 0; ; i++ {
		s.yielded.Add(1)
		if !yield(i) {
			s.stopped.Store(true)
			return
		}
	}
}

// TestMapSeq_StopsReadingAfterFailure checks that MapSeq stops reading an
// endless sequence once a call failed. With Limit(1) the sequence is read
// one item ahead of the call that runs, so item 5 failing means at most
// items 0 to 6 were read.
func TestMapSeq_StopsReadingAfterFailure(t *testing.T) {
	t.Parallel()
	for _, limit := range []int{1, 4, 0} {
		t.Run(fmt.Sprintf("Limit(%d)", limit), func(t *testing.T) {
			t.Parallel()
			failure := testkit.NewErr("item 5")
			var s naturals
			_, err := call(t, "MapSeq", func() ([]int, error) {
				return async.MapSeq(context.Background(), s.seq, func(_ context.Context, i int) (int, error) {
					if i == 5 {
						return 0, failure
					}
					return i, nil
				}, async.Limit(limit))
			})
			if err != failure {
				t.Errorf("MapSeq = %v, want %v", err, failure)
			}
			if !s.stopped.Load() {
				t.Errorf("MapSeq returned without stopping the sequence")
			}
			if n := s.yielded.Load(); limit == 1 && n > 7 {
				t.Errorf("sequence read %d items, want at most 7", n)
			}
		})
	}
}

// TestMapSeq_StopsReadingWhenCancelled checks that the item MapSeq reads
// after its calls were cancelled (here by a failure) is the last: yield
// returns false for it even though the limit would let a call start.
func TestMapSeq_StopsReadingWhenCancelled(t *testing.T) {
	t.Parallel()
	failure := testkit.NewErr("item 0")
	secondRuns := make(chan struct{})
	sawCancel := make(chan struct{})
	var afterCancel []bool // what yield returned for the items after sawCancel
	seq := func(yield func(int) bool) {
		if !yield(0) || !yield(1) {
			return
		}
		testkit.Hold(t, sawCancel)
		for i := 2; i < 10; i++ {
			more := yield(i)
			afterCancel = append(afterCancel, more)
			if !more {
				return
			}
		}
	}
	_, err := call(t, "MapSeq", func() ([]int, error) {
		return async.MapSeq(context.Background(), seq, func(ctx context.Context, i int) (int, error) {
			switch i {
			case 0:
				testkit.Hold(t, secondRuns) // fail once call 1 runs, so that it is cancelled
				return 0, failure
			case 1:
				close(secondRuns)
				<-ctx.Done()
				close(sawCancel)
				return 0, ctx.Err()
			}
			return i, nil
		}, async.Limit(4))
	})
	if err != failure {
		t.Errorf("MapSeq = %v, want %v", err, failure)
	}
	if !slices.Equal(afterCancel, []bool{false}) {
		t.Errorf("yield after the cancellation returned %v, want [false]: the sequence was read on", afterCancel)
	}
}

// TestMapSeq_Lazy checks that MapSeq starts calls before the sequence ends:
// the sequence waits for the call of its first item before it yields the
// second.
func TestMapSeq_Lazy(t *testing.T) {
	t.Parallel()
	firstCalled := make(chan struct{})
	seq := func(yield func(int) bool) {
		if !yield(0) {
			return
		}
		testkit.Hold(t, firstCalled)
		yield(1)
	}
	got, err := call(t, "MapSeq", func() ([]int, error) {
		return async.MapSeq(context.Background(), seq, func(_ context.Context, i int) (int, error) {
			if i == 0 {
				close(firstCalled)
			}
			return i + 10, nil
		}, async.Limit(2))
	})
	if want := []int{10, 11}; !slices.Equal(got, want) || err != nil {
		t.Errorf("MapSeq = %v, %v, want %v, nil", got, err, want)
	}
}

// The seq forms take an iter.Seq.
var (
	_ func(context.Context, iter.Seq[int], func(context.Context, int) (int, error), ...async.MapOption) ([]int, error) = async.MapSeq[int, int]
	_ func(context.Context, iter.Seq[int], func(context.Context, int) error, ...async.MapOption) error                 = async.ForEachSeq[int]
)
