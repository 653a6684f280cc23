package selects_test

// Bias: the scenarios of kotlinx's SelectBiasTest
// (kotlinx-coroutines-core/common/test/selects/SelectBiasTest.kt), for each
// kind of clause, on the first look and after a wake-up.
//
// Thresholds: with two ready clauses an unbiased select picks each with
// probability 1/2; over biasRounds = 10,000 selects the count is binomial
// with mean 5,000 and standard deviation 50, so the bound of 2,500 (25%)
// is 50 standard deviations away and never fails by chance. With three
// ready clauses (mean 3,333, deviation 47) it is 17 deviations away.

import (
	"testing"

	"github.com/jobtree/jobtree/async"
	"github.com/jobtree/jobtree/core"
	selects "github.com/jobtree/jobtree/select"
)

const biasRounds = 10_000

// biasCase makes the clauses of one select, all of which are ready (or
// become ready together, after the select registered), clause i returning
// i.
type biasCase struct {
	name    string
	clauses func() []selects.Clause[int]
}

func ret(i int) func() (int, error) { return func() (int, error) { return i, nil } }

func biasCases() []biasCase {
	d0 := async.NewCompletableDeferred[int](nil)
	d0.Complete(0)
	d1 := async.NewCompletableDeferred[int](nil)
	d1.Complete(1)
	id := func(v int) (int, error) { return v, nil }
	ch0, ch1 := make(chan int, 1), make(chan int, 1)
	recv := func(v int, _ bool) (int, error) { return v, nil }
	done := core.NewJob(nil)
	done.Complete()
	return []biasCase{
		{"deferreds", func() []selects.Clause[int] {
			return []selects.Clause[int]{selects.OnAwait(d0, id), selects.OnAwait(d1, id)}
		}},
		{"channels", func() []selects.Clause[int] {
			// Refilled for every select: both are ready when it looks.
			if len(ch0) == 0 {
				ch0 <- 0
			}
			if len(ch1) == 0 {
				ch1 <- 1
			}
			return []selects.Clause[int]{selects.OnReceive(ch0, recv), selects.OnReceive(ch1, recv)}
		}},
		{"job+channel+timeout", func() []selects.Clause[int] {
			if len(ch1) == 0 {
				ch1 <- 1
			}
			return []selects.Clause[int]{selects.OnJoin(done, ret(0)), selects.OnReceive(ch1, recv), selects.OnTimeout(0, ret(2))}
		}},
		{"after wake-up", func() []selects.Clause[int] {
			// Nothing is ready at the first look; the trigger, when
			// the select registers on it, completes the pending job
			// and then itself: both are ready at the second look.
			pending := core.NewJob(nil)
			trigger := &hookedJob{CompletableJob: core.NewJob(nil)}
			trigger.onRegister = func() { pending.Complete(); trigger.Complete() }
			return []selects.Clause[int]{selects.OnJoin(pending, ret(0)), selects.OnJoin[int](trigger, ret(1))}
		}},
	}
}

// TestSelect_Biased: a biased select always chooses the first ready clause.
// Kotlin: SelectBiasTest.testBiased.
func TestSelect_Biased(t *testing.T) {
	t.Parallel()
	for _, tc := range biasCases() {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testCtx(t)
			counts := make([]int, 3)
			for range biasRounds {
				got, err := selects.Select(ctx, tc.clauses()...)
				if err != nil {
					t.Fatalf("Select: %v", err)
				}
				counts[got]++
			}
			if counts[0] != biasRounds {
				t.Errorf("first clause chosen %d times of %d (counts %v), want always", counts[0], biasRounds, counts)
			}
		})
	}
}

// TestSelectUnbiased: an unbiased select chooses every ready clause at
// least a quarter of the time. Kotlin: SelectBiasTest.testUnbiased.
func TestSelectUnbiased(t *testing.T) {
	t.Parallel()
	for _, tc := range biasCases() {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testCtx(t)
			counts := make([]int, 3)
			n := 0
			for range biasRounds {
				cs := tc.clauses()
				n = len(cs)
				got, err := selects.SelectUnbiased(ctx, cs...)
				if err != nil {
					t.Fatalf("SelectUnbiased: %v", err)
				}
				counts[got]++
			}
			t.Logf("counts: %v", counts)
			for i := range n {
				if counts[i] < biasRounds/4 {
					t.Errorf("clause %d chosen %d times of %d (counts %v), want at least %d", i, counts[i], biasRounds, counts, biasRounds/4)
				}
			}
		})
	}
}
