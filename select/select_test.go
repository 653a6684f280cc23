package selects_test

// Select itself: a done ctx (rule 11), no clauses, invalid arguments, the
// clean-up of losing clauses, panics and errors of the chosen function,
// clauses shared by concurrent selects.

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/jobtree/jobtree/async"
	"github.com/jobtree/jobtree/core"
	"github.com/jobtree/jobtree/internal/testkit"
	selects "github.com/jobtree/jobtree/select"
)

// TestSelect_DoneCtx: a ctx done when Select is called makes it return the
// wait error of rule 11 (a *core.CancellationError carrying
// context.Cause(ctx)), even though every clause is ready; no clause is
// chosen, so no function runs and no value is sent or received.
func TestSelect_DoneCtx(t *testing.T) {
	t.Parallel()
	boom := testkit.NewErr("boom")
	ctx, stop := context.WithCancelCause(context.Background())
	stop(boom)
	done := core.NewJob(nil)
	done.Complete()
	sendCh, recvCh := make(chan int, 1), make(chan int, 1)
	recvCh <- 1
	for _, sel := range []struct {
		name string
		fn   func(context.Context, ...selects.Clause[string]) (string, error)
	}{{"Select", selects.Select[string]}, {"SelectUnbiased", selects.SelectUnbiased[string]}} {
		_, err := sel.fn(ctx,
			selects.OnJoin(done, unreached(t, "job")),
			selects.OnSend(sendCh, 1, unreached(t, "send")),
			selects.OnReceive(recvCh, func(int, bool) (string, error) { return unreached(t, "receive")() }),
			selects.OnTimeout(0, unreached(t, "timeout")))
		var ce *core.CancellationError
		if !errors.As(err, &ce) || !errors.Is(err, boom) || !errors.Is(err, context.Canceled) {
			t.Errorf("%s(done ctx) = %v, want a *core.CancellationError wrapping %v", sel.name, err, boom)
		}
	}
	if len(sendCh) != 0 || len(recvCh) != 1 {
		t.Error("a channel clause was chosen under a done ctx")
	}
}

// TestSelect_DoneCtxCancellationCause: a ctx whose cause is a
// *core.CancellationError already (a job's context) gives that very error.
func TestSelect_DoneCtxCancellationCause(t *testing.T) {
	t.Parallel()
	job := core.NewJob(nil)
	job.Cancel(nil)
	done := core.NewJob(nil)
	done.Complete()
	_, err := selects.Select(job.Context(), selects.OnJoin(done, unreached(t, "job")))
	if cause := job.Cause(); err == nil || !errors.Is(err, cause) {
		t.Fatalf("Select(cancelled job's ctx) = %v, want the job's cause %v", err, cause)
	}
}

// TestSelect_CtxDoneWhileWaiting: a ctx that is done while the select waits
// makes it return the wait error at once; the handlers on the jobs are
// removed, the jobs and the channels are left alone.
func TestSelect_CtxDoneWhileWaiting(t *testing.T) {
	t.Parallel()
	for _, chans := range []struct{ send, recv bool }{{false, false}, {true, false}, {false, true}, {true, true}} {
		boom := testkit.NewErr("boom")
		ctx, stop := context.WithCancelCause(context.Background())
		job := newWatchedJob()
		t.Cleanup(func() { job.Cancel(nil) })
		ch := make(chan int)
		clauses := []selects.Clause[string]{selects.OnTimeout(veryLongDuration, unreached(t, "timeout"))}
		if chans.send {
			clauses = append(clauses, selects.OnSend(ch, 1, unreached(t, "send")))
		}
		if chans.recv {
			clauses = append(clauses, selects.OnReceive(ch, func(int, bool) (string, error) { return unreached(t, "receive")() }))
		}
		clauses = append(clauses, selects.OnJoin[string](job, unreached(t, "job")))
		res := make(chan error, 1)
		go func() { // ends when ctx is cancelled
			_, err := selects.Select(ctx, clauses...)
			res <- err
		}()
		testkit.WaitChan(t, job.armed, "the select to wait")
		stop(boom)
		err := testkit.WaitChan(t, res, "the select")
		var ce *core.CancellationError
		if !errors.As(err, &ce) || !errors.Is(err, boom) {
			t.Errorf("channel clauses %+v: Select = %v, want a *core.CancellationError wrapping %v", chans, err, boom)
		}
		if job.leftover() != 0 || !job.IsActive() {
			t.Errorf("channel clauses %+v: %d handlers left on %v; want none, and the job active", chans, job.leftover(), job)
		}
	}
}

// TestSelect_CallerJobCancelled: the caller's job cancelled while it waits
// in a select (its context is the select's ctx) ends the select with the
// job's cancellation.
func TestSelect_CallerJobCancelled(t *testing.T) {
	t.Parallel()
	pending := newWatchedJob()
	t.Cleanup(func() { pending.Cancel(nil) })
	caller := async.Async(nil, func(ctx context.Context) (string, error) {
		return selects.Select(ctx, selects.OnJoin[string](pending, unreached(t, "pending")))
	})
	testkit.WaitChan(t, pending.armed, "the select to wait")
	caller.Cancel(nil)
	_, err := caller.Await(testCtx(t))
	if !core.IsCancellation(err) {
		t.Fatalf("Await = %v, want the cancellation", err)
	}
	if n := pending.leftover(); n != 0 {
		t.Errorf("%d handlers left on the pending job, want 0", n)
	}
}

// TestSelect_NilCtx: a nil ctx stands for context.Background().
func TestSelect_NilCtx(t *testing.T) {
	t.Parallel()
	got, err := selects.Select(nil, selects.OnTimeout(0, result("OK")))
	if got != "OK" || err != nil {
		t.Fatalf("Select(nil, …) = %q, %v; want OK, nil", got, err)
	}
}

// TestSelect_NoClauses: no clauses is ErrNoClauses at once, before ctx is
// looked at.
func TestSelect_NoClauses(t *testing.T) {
	t.Parallel()
	done, stop := context.WithCancel(context.Background())
	stop()
	for _, ctx := range []context.Context{context.Background(), done} {
		if _, err := selects.Select[int](ctx); !errors.Is(err, selects.ErrNoClauses) {
			t.Errorf("Select() = %v, want ErrNoClauses", err)
		}
		if _, err := selects.SelectUnbiased[int](ctx); !errors.Is(err, selects.ErrNoClauses) {
			t.Errorf("SelectUnbiased() = %v, want ErrNoClauses", err)
		}
	}
}

// TestSelect_Panics: nil jobs, deferreds and functions, and the zero
// Clause, are programmer errors: a panic with a message starting
// "selects: ", at the call that got them.
func TestSelect_Panics(t *testing.T) {
	t.Parallel()
	job := core.NewJob(nil)
	d := async.NewCompletableDeferred[int](nil)
	ch := make(chan int)
	f := result("x")
	tests := []struct {
		name string
		call func()
	}{
		{"OnJoin nil job", func() { selects.OnJoin(nil, f) }},
		{"OnJoin nil f", func() { selects.OnJoin[string](job, nil) }},
		{"OnAwait nil deferred", func() { selects.OnAwait[int, string](nil, func(int) (string, error) { return "", nil }) }},
		{"OnAwait nil f", func() { selects.OnAwait[int, string](d, nil) }},
		{"OnReceive nil f", func() { selects.OnReceive[int, string](ch, nil) }},
		{"OnSend nil f", func() { selects.OnSend[int, string](ch, 1, nil) }},
		{"OnTimeout nil f", func() { selects.OnTimeout[string](0, nil) }},
		{"Select zero Clause", func() {
			_, _ = selects.Select(context.Background(), selects.OnTimeout(0, f), selects.Clause[string]{})
		}},
		{"SelectUnbiased zero Clause", func() { _, _ = selects.SelectUnbiased(context.Background(), selects.Clause[string]{}) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if msg, _ := r.(string); !strings.HasPrefix(msg, "selects: ") {
					t.Errorf("recovered %v, want a panic with a message starting \"selects: \"", r)
				}
			}()
			tc.call()
		})
	}
}

// TestSelect_LosersCleanedUp: when one clause wins while the select waits,
// the completion handlers it registered on the other clauses' jobs are
// removed before it returns, whatever won: a job, a channel (with one
// channel clause, and with two: a select statement or reflect.Select), a
// timeout (also while waiting on channels).
func TestSelect_LosersCleanedUp(t *testing.T) {
	t.Parallel()
	var nilChan chan int
	recvWon := func(int, bool) (string, error) { return "won", nil }
	winners := []struct {
		name    string
		clauses func(t *testing.T) []selects.Clause[string]
	}{
		{"job", func(*testing.T) []selects.Clause[string] {
			return []selects.Clause[string]{selects.OnJoin[string](newTrigger(), result("won"))}
		}},
		{"timeout", func(*testing.T) []selects.Clause[string] {
			return []selects.Clause[string]{selects.OnTimeout(shortDuration, result("won"))}
		}},
		{"channel", func(t *testing.T) []selects.Clause[string] {
			// filler fills ch as the select registers on it: then
			// the channel is ready while the select waits.
			ch := make(chan int, 1)
			filler := &hookedJob{CompletableJob: core.NewJob(nil), onRegister: func() { ch <- 1 }}
			t.Cleanup(func() { filler.Cancel(nil) })
			return []selects.Clause[string]{selects.OnReceive(ch, recvWon), selects.OnJoin[string](filler, unreached(t, "filler"))}
		}},
		{"channels", func(t *testing.T) []selects.Clause[string] {
			ch := make(chan int, 1)
			filler := &hookedJob{CompletableJob: core.NewJob(nil), onRegister: func() { ch <- 1 }}
			t.Cleanup(func() { filler.Cancel(nil) })
			return []selects.Clause[string]{
				selects.OnReceive(nilChan, recvWon), selects.OnReceive(make(chan int), recvWon),
				selects.OnReceive(ch, recvWon), selects.OnJoin[string](filler, unreached(t, "filler"))}
		}},
		{"job, with a receive", func(t *testing.T) []selects.Clause[string] {
			return []selects.Clause[string]{
				selects.OnReceive(make(chan int), func(int, bool) (string, error) { return unreached(t, "receive")() }),
				selects.OnJoin[string](newTrigger(), result("won"))}
		}},
		{"timeout, with a receive", func(t *testing.T) []selects.Clause[string] {
			return []selects.Clause[string]{
				selects.OnReceive(make(chan int), func(int, bool) (string, error) { return unreached(t, "receive")() }),
				selects.OnTimeout(shortDuration, result("won"))}
		}},
		{"timeout, with a send", func(t *testing.T) []selects.Clause[string] {
			return []selects.Clause[string]{
				selects.OnSend(make(chan int), 1, unreached(t, "send")),
				selects.OnTimeout(shortDuration, result("won"))}
		}},
		{"timeout, with two channels", func(t *testing.T) []selects.Clause[string] {
			return []selects.Clause[string]{
				selects.OnSend(make(chan int), 1, unreached(t, "send")),
				selects.OnReceive(make(chan int), func(int, bool) (string, error) { return unreached(t, "receive")() }),
				selects.OnTimeout(shortDuration, result("won"))}
		}},
	}
	for _, w := range winners {
		t.Run(w.name, func(t *testing.T) {
			losers := []*watchedJob{newWatchedJob(), newWatchedJob()}
			var clauses []selects.Clause[string]
			for _, j := range losers {
				j.armed = nil
				t.Cleanup(func() { j.Cancel(nil) })
				clauses = append(clauses, selects.OnJoin[string](j, unreached(t, "loser")))
			}
			clauses = append(clauses, w.clauses(t)...)
			got, err := selects.Select(testCtx(t), clauses...)
			if got != "won" || err != nil {
				t.Fatalf("Select = %q, %v; want won, nil", got, err)
			}
			for i, j := range losers {
				if j.registered.Load() != 1 || j.leftover() != 0 {
					t.Errorf("loser %d: handlers registered %d, left over %d; want 1, 0", i, j.registered.Load(), j.leftover())
				}
			}
		})
	}
}

// TestSelect_FunctionPanics: a panic of the chosen clause's function is not
// recovered: it reaches Select's caller, after the select removed its
// handlers.
func TestSelect_FunctionPanics(t *testing.T) {
	t.Parallel()
	loser := newWatchedJob()
	loser.armed = nil
	t.Cleanup(func() { loser.Cancel(nil) })
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Errorf("recovered %v, want boom", r)
			}
		}()
		_, _ = selects.Select(testCtx(t),
			selects.OnJoin[int](loser, func() (int, error) { return 0, nil }),
			selects.OnJoin[int](newTrigger(), func() (int, error) {
				if n := loser.leftover(); n != 0 {
					t.Errorf("%d handlers left on the loser when the winner's function runs, want 0", n)
				}
				panic("boom")
			}))
	}()
	if n := loser.leftover(); n != 0 {
		t.Errorf("%d handlers left on the loser, want 0", n)
	}
}

// TestSelect_SharedClauses: the same clauses serve concurrent selects, one
// after another, and each select gets its own result.
func TestSelect_SharedClauses(t *testing.T) {
	t.Parallel()
	const selectors, values = 4, 100
	ch := make(chan int)
	stop := core.NewJob(nil)
	clauses := []selects.Clause[int]{
		selects.OnJoin(stop, func() (int, error) { return -1, nil }),
		selects.OnReceive(ch, func(v int, ok bool) (int, error) { return v, nil }),
	}
	got := make(chan int, values)
	var wg sync.WaitGroup
	for range selectors {
		wg.Add(1)
		go func() { // ends when stop is complete
			defer wg.Done()
			for {
				v, err := selects.SelectUnbiased(testCtx(t), clauses...)
				if err != nil || v < 0 {
					return
				}
				got <- v
			}
		}()
	}
	for i := range values {
		ch <- i
	}
	stop.Complete()
	wg.Wait()
	close(got)
	sum := 0
	for v := range got {
		sum += v
	}
	if want := values * (values - 1) / 2; sum != want {
		t.Fatalf("sum of received values = %d, want %d", sum, want)
	}
}

// TestSelect_ManyClauses: selects over more clauses than the unbiased
// order and the pooled handle slice keep inline, on the first look and
// after waiting.
func TestSelect_ManyClauses(t *testing.T) {
	t.Parallel()
	const n = 300
	var clauses []selects.Clause[int]
	for i := range n - 1 {
		j := core.NewJob(nil)
		t.Cleanup(func() { j.Cancel(nil) })
		clauses = append(clauses, selects.OnJoin(j, func() (int, error) { return i, nil }))
	}
	for _, sel := range []struct {
		name string
		fn   func(context.Context, ...selects.Clause[int]) (int, error)
	}{{"Select", selects.Select[int]}, {"SelectUnbiased", selects.SelectUnbiased[int]}} {
		done := core.NewJob(nil)
		done.Complete()
		clauses = append(clauses[:n-1], selects.OnJoin(done, func() (int, error) { return -1, nil }))
		if got, err := sel.fn(testCtx(t), clauses...); got != -1 || err != nil {
			t.Errorf("%s with a ready clause = %d, %v; want -1, nil", sel.name, got, err)
		}
		clauses[n-1] = selects.OnJoin[int](newTrigger(), func() (int, error) { return -2, nil })
		if got, err := sel.fn(testCtx(t), clauses...); got != -2 || err != nil {
			t.Errorf("%s woken = %d, %v; want -2, nil", sel.name, got, err)
		}
	}
}
