package selects_test

// OnTimeout: the scenarios of kotlinx's SelectTimeoutTest
// (kotlinx-coroutines-core/common/test/selects/SelectTimeoutTest.kt). The
// tests assert which clause wins, never how long it took: a timeout that
// must lose is veryLongDuration.

import (
	"testing"
	"time"

	"github.com/jobtree/jobtree/core"
	selects "github.com/jobtree/jobtree/select"
)

// TestOnTimeout_Shortest: of several timeouts the shortest fires, wherever
// it is in argument order. Kotlin: SelectTimeoutTest.testBasic.
func TestOnTimeout_Shortest(t *testing.T) {
	t.Parallel()
	got, err := selects.Select(testCtx(t),
		selects.OnTimeout(veryLongDuration, unreached(t, "very long")),
		selects.OnTimeout(shortDuration, result("short")),
		selects.OnTimeout(veryLongDuration/2, unreached(t, "long")))
	if got != "short" || err != nil {
		t.Fatalf("Select = %q, %v; want short, nil", got, err)
	}
}

// TestOnTimeout_ShortestNotFirst: the shortest timeout wins even when a
// longer one, earlier in argument order, has also passed by the time the
// select looks (kotlinx gives each onTimeout a timer of its own; the first
// to fire wins). The two differ by a nanosecond, and the test is
// deterministic: only the timer of the shortest is armed.
func TestOnTimeout_ShortestNotFirst(t *testing.T) {
	t.Parallel()
	for range 20 {
		got, err := selects.Select(testCtx(t),
			selects.OnTimeout(shortDuration+1, unreached(t, "longer")),
			selects.OnTimeout(shortDuration, result("shortest")))
		if got != "shortest" || err != nil {
			t.Fatalf("Select = %q, %v; want shortest, nil", got, err)
		}
	}
}

// TestOnTimeout_EqualBiased: of equal timeouts, a biased select chooses the
// first in argument order.
func TestOnTimeout_EqualBiased(t *testing.T) {
	t.Parallel()
	for range 20 {
		got, err := selects.Select(testCtx(t),
			selects.OnTimeout(shortDuration, result("first")),
			selects.OnTimeout(shortDuration, unreached(t, "second")))
		if got != "first" || err != nil {
			t.Fatalf("Select = %q, %v; want first, nil", got, err)
		}
	}
}

// TestOnTimeout_NonPositive: a zero or negative timeout is ready at once.
// Kotlin: SelectTimeoutTest.testZeroTimeout and testNegativeTimeout.
func TestOnTimeout_NonPositive(t *testing.T) {
	t.Parallel()
	for _, d := range []time.Duration{0, -10 * time.Millisecond} {
		got, err := selects.Select(testCtx(t),
			selects.OnTimeout(veryLongDuration, unreached(t, "long")),
			selects.OnTimeout(d, result("OK")))
		if got != "OK" || err != nil {
			t.Errorf("OnTimeout(%v): Select = %q, %v; want OK, nil", d, got, err)
		}
	}
}

// TestOnTimeout_NonPositiveBiased: a non-positive timeout is ready at once,
// but in a biased select an earlier ready clause still wins.
func TestOnTimeout_NonPositiveBiased(t *testing.T) {
	t.Parallel()
	job := core.NewJob(nil)
	job.Complete()
	got, err := selects.Select(testCtx(t),
		selects.OnJoin(job, result("job")),
		selects.OnTimeout(0, unreached(t, "timeout")))
	if got != "job" || err != nil {
		t.Fatalf("Select = %q, %v; want job, nil", got, err)
	}
}

// TestOnTimeout_UnbiasedNonPositive: an unbiased select chooses among
// ready non-positive timeouts at random, and never a positive one. Kotlin:
// SelectTimeoutTest.testUnbiasedNegativeTimeout.
func TestOnTimeout_UnbiasedNonPositive(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	var counts [3]int
	for range biasRounds {
		got, err := selects.SelectUnbiased(ctx,
			selects.OnTimeout(-time.Second, func() (int, error) { return 0, nil }),
			selects.OnTimeout(0, func() (int, error) { return 1, nil }),
			selects.OnTimeout(time.Second, func() (int, error) { return 2, nil }))
		if err != nil {
			t.Fatalf("SelectUnbiased: %v", err)
		}
		counts[got]++
	}
	t.Logf("counts: %v", counts)
	if counts[2] != 0 {
		t.Errorf("the positive timeout was chosen %d times, want 0", counts[2])
	}
	for i := range 2 {
		if counts[i] < biasRounds/4 {
			t.Errorf("ready clause %d chosen %d times of %d, want at least %d", i, counts[i], biasRounds, biasRounds/4)
		}
	}
}

// TestOnTimeout_BeatsJob: a timeout fires while a job clause waits; the
// job's handler is removed and its clause never chosen.
func TestOnTimeout_BeatsJob(t *testing.T) {
	t.Parallel()
	job := newWatchedJob()
	t.Cleanup(func() { job.Cancel(nil) })
	got, err := selects.Select(testCtx(t),
		selects.OnJoin[string](job, unreached(t, "job")),
		selects.OnTimeout(shortDuration, result("timeout")))
	if got != "timeout" || err != nil {
		t.Fatalf("Select = %q, %v; want timeout, nil", got, err)
	}
	if job.registered.Load() != 1 || job.leftover() != 0 {
		t.Errorf("handlers registered %d, left over %d; want 1, 0", job.registered.Load(), job.leftover())
	}
}

// TestOnTimeout_Loses: a job that completes while the select waits beats a
// timeout that never fires; the select returns without waiting for it (the
// test would time out otherwise), and a later select (which may get the
// first one's stopped timer from the pool) times out normally.
func TestOnTimeout_Loses(t *testing.T) {
	t.Parallel()
	got, err := selects.Select(testCtx(t),
		selects.OnTimeout(veryLongDuration, unreached(t, "timeout")),
		selects.OnJoin[string](newTrigger(), result("job")))
	if got != "job" || err != nil {
		t.Fatalf("Select = %q, %v; want job, nil", got, err)
	}
	pending := core.NewJob(nil)
	t.Cleanup(func() { pending.Cancel(nil) })
	got, err = selects.Select(testCtx(t),
		selects.OnJoin(pending, unreached(t, "pending")),
		selects.OnTimeout(shortDuration, result("timeout")))
	if got != "timeout" || err != nil {
		t.Fatalf("second Select = %q, %v; want timeout, nil", got, err)
	}
}
