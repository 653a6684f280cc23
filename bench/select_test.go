//go:build !nojobtree

package bench

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"github.com/jobtree/jobtree/core"
	selects "github.com/jobtree/jobtree/select"
)

// selectClauses are the clause counts of BenchmarkSelect.
var selectClauses = []int{2, 8, 64}

// BenchmarkSelect chooses among clauses=N alternatives of which exactly one
// is ready: the last in argument order, so that a biased select has to look
// at all of them (its worst case; the native select statement and
// reflect.Select lock and poll every channel whatever the order). The
// others are pending and stay so. The op is one select, including building
// its alternatives the way code does each time it selects:
//
//   - impl=jobtree: selects.Select over N OnJoin clauses, on N-1 jobs that
//     never complete and one completed job (body-less jobs made once);
//     the clauses are made anew in every op, into a reused slice.
//   - impl=native: a select statement over N receive cases (N = 2 and 8
//     only: 64 cases cannot be written as a statement), on N-1 open
//     channels and one closed channel.
//   - impl=reflect: reflect.Select over the same N channels; the
//     []reflect.SelectCase is filled anew in every op, into a reused slice.
//
// No impl blocks: this is the cost of a select that finds a ready
// alternative when it looks, the common case of a select in a loop. The
// cost of waiting (registering on N jobs and being woken) is measured by
// BenchmarkMechanism in the select package (docs/design.md §8).
func BenchmarkSelect(b *testing.B) {
	for _, n := range selectClauses {
		b.Run(fmt.Sprintf("clauses=%d", n), func(b *testing.B) {
			impls := []impl{{"jobtree", benchSelectJobtree(n)}}
			switch n {
			case 2:
				impls = append(impls, impl{"native", benchSelectNative2})
			case 8:
				impls = append(impls, impl{"native", benchSelectNative8})
			}
			impls = append(impls, impl{"reflect", benchSelectReflect(n)})
			runImpls(b, impls)
		})
	}
}

func selected() (int, error) { return 1, nil }

func benchSelectJobtree(n int) func(b *testing.B) {
	return func(b *testing.B) {
		jobs := make([]core.Job, n)
		for i := range n - 1 {
			j := core.NewJob(nil)
			defer j.Cancel(nil)
			jobs[i] = j
		}
		done := core.NewJob(nil)
		done.Complete()
		jobs[n-1] = done
		clauses := make([]selects.Clause[int], 0, n)
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			clauses = selectJobtree(ctx, jobs, clauses)
		}
	}
}

func selectJobtree(ctx context.Context, jobs []core.Job, clauses []selects.Clause[int]) []selects.Clause[int] {
	clauses = clauses[:0]
	for _, j := range jobs {
		clauses = append(clauses, selects.OnJoin(j, selected))
	}
	if r, err := selects.Select(ctx, clauses...); r != 1 || err != nil {
		panic(fmt.Sprint("Select = ", r, err))
	}
	return clauses
}

// selectChans returns n channels, of which only the last is ready
// (closed), and a function that closes the others.
func selectChans(n int) ([]chan struct{}, func()) {
	chans := make([]chan struct{}, n)
	for i := range chans {
		chans[i] = make(chan struct{})
	}
	close(chans[n-1])
	return chans, func() {
		for _, c := range chans[:n-1] {
			close(c)
		}
	}
}

func benchSelectNative2(b *testing.B) {
	c, stop := selectChans(2)
	defer stop()
	b.ReportAllocs()
	for b.Loop() {
		select {
		case <-c[0]:
			panic("not ready")
		case <-c[1]:
		}
	}
}

func benchSelectNative8(b *testing.B) {
	c, stop := selectChans(8)
	defer stop()
	b.ReportAllocs()
	for b.Loop() {
		select {
		case <-c[0]:
			panic("not ready")
		case <-c[1]:
			panic("not ready")
		case <-c[2]:
			panic("not ready")
		case <-c[3]:
			panic("not ready")
		case <-c[4]:
			panic("not ready")
		case <-c[5]:
			panic("not ready")
		case <-c[6]:
			panic("not ready")
		case <-c[7]:
		}
	}
}

func benchSelectReflect(n int) func(b *testing.B) {
	return func(b *testing.B) {
		chans, stop := selectChans(n)
		defer stop()
		cases := make([]reflect.SelectCase, 0, n)
		b.ReportAllocs()
		for b.Loop() {
			cases = selectReflect(chans, cases)
		}
	}
}

func selectReflect(chans []chan struct{}, cases []reflect.SelectCase) []reflect.SelectCase {
	cases = cases[:0]
	for _, c := range chans {
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(c)})
	}
	if i, _, _ := reflect.Select(cases); i != len(chans)-1 {
		panic(fmt.Sprint("reflect.Select = ", i))
	}
	return cases
}
