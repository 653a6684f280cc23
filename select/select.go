package selects

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sync"
	"time"

	"github.com/jobtree/jobtree/core"
	"github.com/jobtree/jobtree/internal/corehook"
)

// ErrNoClauses is returned at once by [Select] and [SelectUnbiased] when
// they are given no clauses: such a select could never return.
var ErrNoClauses = errors.New("selects: no clauses")

// Select waits until one of the clauses is ready, chooses it, and returns
// the result of its function. It is biased: of the clauses that are ready
// when Select looks, the first in argument order is chosen (kotlinx's
// select). It looks once when called and again each time a job clause's
// job completes or the timer of its timeouts fires; a channel clause is
// chosen by Go's own select as soon as its operation can proceed while
// Select waits, so of channels that become ready at the same instant
// while it waits, the runtime picks one at random, as in a select
// statement.
//
// Exactly one clause is chosen: only its channel operation happens (a
// losing OnSend sends nothing, a losing OnReceive receives nothing) and only
// its function is called, on the caller's goroutine, after Select has
// disposed of its completion handlers and stopped its timer. The function's
// result and error are returned as they are, and its panic is not
// recovered. An [OnAwait] clause on a deferred that was cancelled or failed
// returns the deferred's cause instead. Choosing the clause synchronizes
// after the event that made it ready: the job's completion, the channel
// operation (as the Go memory model says for select), the timer.
//
// Select blocks until a clause is chosen or ctx is done; a select none of
// whose clauses can ever be ready (say, only clauses on nil channels) waits
// for ctx, as a select statement on nil channels waits forever. A ctx that
// is done
// when Select is called (even if a clause is ready) or becomes done first
// makes it return, without choosing a clause, a *core.CancellationError
// carrying context.Cause(ctx) (or that cause itself when it already is
// one), as core.Job.Join does. Select starts no goroutine: job clauses
// register a completion handler on their job (removed again when Select
// returns), and it waits with a select statement, or with reflect.Select
// when two or more channel clauses are involved. It starts lazy jobs and
// deferreds (in argument order, up to the first ready clause).
//
// Select returns [ErrNoClauses] when clauses is empty, and an error wrapping
// core.ErrJoinCycle at once when a job clause waits for a job that cannot
// complete before the caller's job does (the caller's job itself or one of
// its ancestors), as Join does. A nil ctx stands for
// context.Background(). Select panics on a zero [Clause]. It is safe for
// concurrent use, also by selects sharing clauses.
func Select[R any](ctx context.Context, clauses ...Clause[R]) (R, error) {
	return run(ctx, clauses, false)
}

// SelectUnbiased is like [Select], but chooses at random, with equal
// probability, among the clauses ready when it looks (kotlinx's
// selectUnbiased): it looks at the clauses in a random order, new at each
// look, and takes the first that is ready. Lazy jobs are started in that
// order, up to the first ready clause.
func SelectUnbiased[R any](ctx context.Context, clauses ...Clause[R]) (R, error) {
	return run(ctx, clauses, true)
}

// wakeReason says why a blocking wait of a select ended.
type wakeReason int

const (
	woken     wakeReason = iota // a job clause's job completed: look again
	timedOut                    // the timer fired: look again, timeouts of minD are ready
	ctxDone                     // ctx is done: return its error
	committed                   // a channel clause was chosen and its function ran
)

// maxStackOrder is the number of clauses up to which SelectUnbiased keeps
// its random order on the stack.
const maxStackOrder = 64

// run is Select (unbiased false) and SelectUnbiased (unbiased true).
func run[R any](ctx context.Context, clauses []Clause[R], unbiased bool) (R, error) {
	var zero R
	if len(clauses) == 0 {
		return zero, ErrNoClauses
	}
	for i, c := range clauses {
		if c.kind == kindZero {
			panic(fmt.Sprintf("selects: clause %d is the zero Clause (make clauses with OnJoin, OnAwait, OnReceive, OnSend or OnTimeout)", i))
		}
	}
	if ctx == nil {
		ctx = context.Background()
	}
	if err := corehook.WaitError(ctx); err != nil {
		return zero, err
	}
	if err := checkCycle(ctx, clauses); err != nil {
		return zero, err
	}

	// Fast path: one look at every clause (kotlinx's registration pass).
	// Completed jobs, ready channels and non-positive timeouts are chosen
	// here without allocating anything but what the function does: no
	// waiter yet (a nil *waiter has nothing to clean up, and no timer
	// fired).
	var order []int32
	if unbiased && len(clauses) > 1 {
		var orderBuf [maxStackOrder]int32
		order = orderBuf[:0]
		if len(clauses) > maxStackOrder {
			order = make([]int32, 0, len(clauses))
		}
		for i := range clauses {
			order = append(order, int32(i))
		}
	}
	if r, err, ok := poll(nil, clauses, order, true); ok {
		return r, err
	}

	// Slow path: nothing was ready. Register a completion handler on
	// every job (one shared wake channel, no goroutine), arm one timer
	// for the shortest timeout, and wait for a wake-up, the timer, a
	// channel operation or ctx; after a wake-up look again.
	w := getWaiter()
	defer putWaiter(w) // on return, and if a channel operation panics (send on a closed channel)
	var chanBuf [4]chanClause[R]
	chans := chanBuf[:0]
	for i := range clauses {
		if c := &clauses[i]; c.arm(w) {
			chans = append(chans, c.ch)
		}
	}
	w.arm()
	w.ctxDone = ctx.Done()
	var cases []reflect.SelectCase // for two or more channel clauses, made once
	for {
		var why wakeReason
		switch len(chans) {
		case 0:
			why = w.wait()
		case 1:
			var r R
			var err error
			if why, r, err = chans[0].wait(w); why == committed {
				return r, err
			}
		default:
			if cases == nil {
				cases = make([]reflect.SelectCase, 0, len(chans)+firstChanCase)
				cases = append(cases,
					reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(w.wake)},
					reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(w.timerC)},
					reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(w.ctxDone)})
				for _, c := range chans {
					cases = append(cases, c.selectCase())
				}
			}
			i, recv, recvOK := reflect.Select(cases)
			if i >= firstChanCase {
				return chans[i-firstChanCase].chosen(w, recv, recvOK)
			}
			why = wakeReason(i) // the order of the first cases is that of the reasons
		}
		switch why {
		case ctxDone:
			return zero, corehook.WaitError(ctx)
		case timedOut:
			w.fired = true
		}
		if r, err, ok := poll(w, clauses, order, false); ok {
			return r, err
		}
	}
}

// firstChanCase is the index of the first channel clause's case in the
// reflect.Select cases of run; the cases before it are those of the wake
// channel, the timer and ctx, at the indexes of woken, timedOut, ctxDone.
const firstChanCase = 3

// poll looks at every clause once, in argument order, or, when order is not
// nil, in a random order made by shuffling order on the way (a lazy
// Fisher–Yates shuffle: the clauses looked at form a uniformly random
// sequence, so the first ready one is uniformly random among the ready
// ones). It returns the result of the first ready clause.
func poll[R any](w *waiter, clauses []Clause[R], order []int32, first bool) (r R, err error, ok bool) {
	if order == nil {
		for i := range clauses {
			if r, err, ok = clauses[i].poll(w, first); ok {
				return r, err, true
			}
		}
		return r, nil, false
	}
	n := len(order)
	for i := range n {
		j := i + rand.IntN(n-i)
		order[i], order[j] = order[j], order[i]
		if r, err, ok = clauses[order[i]].poll(w, first); ok {
			return r, err, true
		}
	}
	return r, nil, false
}

// checkCycle returns an error wrapping core.ErrJoinCycle when a job clause
// waits for a job that is not complete and is the caller's job (the job of
// ctx) or one of its ancestors: such a job completes only after the caller's
// has, so the clause could only become ready after ctx is done. The
// caller's job is looked up only if some job clause's job is not complete.
func checkCycle[R any](ctx context.Context, clauses []Clause[R]) error {
	var self core.Job
	looked := false
	for i := range clauses {
		j := clauses[i].job
		if j == nil || j.IsCompleted() {
			continue
		}
		if !looked {
			self, looked = core.JobOf(ctx), true
		}
		if self == nil {
			return nil
		}
		target := core.JobOf(j.Context()) // the job itself, also behind a Deferred
		for x := self; x != nil; x = x.Parent() {
			if x == target {
				return fmt.Errorf("selects: clause %d: %v waits for itself from %v: %w", i, j, self, core.ErrJoinCycle)
			}
		}
	}
	return nil
}

// waiter is the state of one select's blocking wait. It is used by the
// select's goroutine only, except wake, which completion handlers signal
// from any goroutine. Waiters are recycled through a sync.Pool, so that a
// select that waits allocates little more than one handler node per job
// clause (docs/design.md §8).
type waiter struct {
	// wake is a channel of capacity one that signal fills without
	// blocking; never closed. A token left in it (by a handler that ran
	// while its select was returning) is at worst a wake-up with nothing
	// new to choose, after which the select waits again.
	wake chan struct{}
	// notify is the completion handler shared by all job clauses, made
	// once per waiter: the method value of signal.
	notify func(error)
	// handles are the registrations to dispose of when the select
	// returns; emptied by cleanup.
	handles []core.DisposableHandle
	// timer is nil unless the select has a positive timeout: then armed
	// with minD, and stopped and dropped by cleanup. (Not recycled: a
	// stopped timer's channel is certain to be empty only with Go 1.23's
	// timers, which GODEBUG=asynctimerchan=1 turns off.) timerC is its
	// channel, nil without a timer.
	timer  *time.Timer
	timerC <-chan time.Time
	// minD is the shortest positive timeout of the select, 0 if none.
	minD time.Duration
	// fired is set once the timer fired: timeout clauses of minD are then
	// ready.
	fired bool
	// ctxDone is ctx.Done() (nil for a ctx that is never done).
	ctxDone <-chan struct{}
}

// waiters recycles waiters, with their channel, handler and slice.
var waiters = sync.Pool{New: func() any {
	w := &waiter{wake: make(chan struct{}, 1)}
	w.notify = w.signal
	return w
}}

// maxPooledHandles bounds the capacity of the handles slice that a pooled
// waiter keeps, so that one huge select does not pin memory.
const maxPooledHandles = 256

func getWaiter() *waiter { return waiters.Get().(*waiter) }

// putWaiter cleans w up and returns it to the pool.
func putWaiter(w *waiter) {
	w.cleanup()
	if cap(w.handles) > maxPooledHandles {
		w.handles = nil
	}
	w.minD, w.fired, w.ctxDone = 0, false, nil
	select {
	case <-w.wake: // drop a token: the next select starts without one
	default:
	}
	waiters.Put(w)
}

// signal is the completion handler of job clauses: it wakes the select.
func (w *waiter) signal(error) {
	select {
	case w.wake <- struct{}{}:
	default: // a wake-up is pending already
	}
}

// register adds a completion handler on job that wakes the select. On a job
// complete already, the handler runs at once and leaves a token in wake.
func (w *waiter) register(job core.Job) {
	w.handles = append(w.handles, job.InvokeOnCompletion(w.notify))
}

// arm starts the timer for the shortest positive timeout, if any.
func (w *waiter) arm() {
	if w.minD > 0 {
		w.timer = time.NewTimer(w.minD)
		w.timerC = w.timer.C
	}
}

// wait blocks until a job completes, the timer fires or ctx is done.
func (w *waiter) wait() wakeReason {
	select {
	case <-w.wake:
		return woken
	case <-w.timerC:
		return timedOut
	case <-w.ctxDone:
		return ctxDone
	}
}

// cleanup disposes of the handlers and stops the timer. It is idempotent;
// on a nil waiter (the first look's) it does nothing.
func (w *waiter) cleanup() {
	if w == nil {
		return
	}
	for i, h := range w.handles {
		h.Dispose()
		w.handles[i] = nil
	}
	w.handles = w.handles[:0]
	if w.timer != nil {
		w.timer.Stop()
		w.timer, w.timerC = nil, nil
	}
}
