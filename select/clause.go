package selects

import (
	"reflect"
	"time"

	"github.com/jobtree/jobtree/async"
	"github.com/jobtree/jobtree/core"
)

// Clause is one alternative of a [Select]: something to wait for (a job, a
// deferred, a channel operation, a timeout) and the function that makes the
// select's result once that alternative is chosen. Make clauses with
// [OnJoin], [OnAwait], [OnReceive], [OnSend] and [OnTimeout]; the zero
// Clause is invalid (Select panics on it).
//
// A Clause is immutable: it may be copied, reused by later selects and
// shared by concurrent ones.
type Clause[R any] struct {
	// The fields are written by the constructor only. The job and timeout
	// clauses keep everything here, so that making them allocates nothing;
	// the channel clauses, which need the channel's element type, keep
	// their typed part in ch.
	kind clauseKind
	job  core.Job          // kindJob: the job waited for
	d    time.Duration     // kindTimeout
	f    func() (R, error) // kindJob, kindTimeout: makes the result
	ch   chanClause[R]     // kindChan
}

// clauseKind says what a [Clause] waits for.
type clauseKind uint8

const (
	kindZero    clauseKind = iota // the zero Clause: invalid
	kindJob                       // OnJoin, OnAwait
	kindTimeout                   // OnTimeout
	kindChan                      // OnReceive, OnSend
)

// poll selects the clause if it is ready now, without blocking: it commits
// the clause (a channel operation happens here, or in a chanClause's wait
// or chosen), calls w.cleanup, and returns the result of the clause's
// function with ok true. A clause that is not ready returns ok false and
// changes nothing, except that on the first look (first true) a job clause
// starts its lazy job (kotlinx: registering onJoin or onAwait starts it). w
// is nil on the first look: the select has not armed anything yet.
func (c *Clause[R]) poll(w *waiter, first bool) (r R, err error, ok bool) {
	switch c.kind {
	case kindJob:
		if !c.job.IsCompleted() {
			if first {
				c.job.Start()
			}
			return r, nil, false
		}
	case kindTimeout:
		// Ready when non-positive, or when the select's timer, armed
		// with the shortest positive duration, has fired and this is
		// one of the shortest. No clock is read: a longer timeout that
		// has also passed by the time of the look is not chosen (the
		// shortest fires, as in kotlinx, where each onTimeout has a
		// timer of its own).
		if c.d > 0 && (w == nil || !w.fired || c.d != w.minD) {
			return r, nil, false
		}
	default:
		return c.ch.poll(w)
	}
	w.cleanup()
	r, err = c.f()
	return r, err, true
}

// arm prepares the clause for a blocking wait, once per select, after a
// first look found nothing ready: a job clause registers its completion
// handler with w, a timeout clause offers its duration. It returns true for
// a channel clause on a non-nil channel: the select then waits on it.
func (c *Clause[R]) arm(w *waiter) bool {
	switch c.kind {
	case kindJob:
		w.register(c.job)
	case kindTimeout:
		// Positive: a non-positive one was ready at the first look.
		if w.minD == 0 || c.d < w.minD {
			w.minD = c.d
		}
	default:
		return c.ch.live()
	}
	return false
}

// chanClause is the typed part of a clause on a channel operation (receive
// or send). Implementations are immutable.
type chanClause[R any] interface {
	// poll is [Clause.poll] for the channel operation: it attempts the
	// operation without blocking.
	poll(w *waiter) (r R, err error, ok bool)
	// live reports whether the channel is not nil.
	live() bool
	// wait blocks until the clause's channel operation can proceed, w is
	// woken, w's timer fires or w's ctx is done. When the operation
	// proceeds it commits, calls w.cleanup and returns the function's
	// result with why == committed; otherwise why says what ended the
	// wait.
	wait(w *waiter) (why wakeReason, r R, err error)
	// selectCase returns the case of reflect.Select for the operation.
	selectCase() reflect.SelectCase
	// chosen completes a selection made by reflect.Select on
	// selectCase: it calls w.cleanup and returns the function's result.
	chosen(w *waiter, recv reflect.Value, recvOK bool) (R, error)
}

// OnJoin returns a clause that is ready once job is complete (Cancelled or
// Completed, whatever the outcome); f then makes the select's result. It
// never makes the select fail because the job failed: f decides what the
// job's outcome means (job.Cause() tells). A select that looks at the
// clause starts a lazy job. Making the clause allocates nothing.
//
// This is kotlinx's Job.onJoin. OnJoin panics if job or f is nil.
func OnJoin[R any](job core.Job, f func() (R, error)) Clause[R] {
	if job == nil {
		panic("selects: OnJoin called with a nil job")
	}
	if f == nil {
		panic("selects: OnJoin called with a nil function")
	}
	return Clause[R]{kind: kindJob, job: job, f: f}
}

// OnAwait returns a clause that is ready once d is complete. If d completed
// normally, f gets its value and makes the select's result; if d was
// cancelled or failed, the select returns d's cause (what d.Await would
// return) and f is not called. A select that looks at the clause starts a
// lazy deferred.
//
// This is kotlinx's Deferred.onAwait. OnAwait panics if d or f is nil.
func OnAwait[T, R any](d async.Deferred[T], f func(T) (R, error)) Clause[R] {
	if d == nil {
		panic("selects: OnAwait called with a nil deferred")
	}
	if f == nil {
		panic("selects: OnAwait called with a nil function")
	}
	return Clause[R]{kind: kindJob, job: d, f: func() (R, error) {
		v, err := d.GetCompleted() // complete: the clause is chosen
		if err != nil {
			var zero R
			return zero, err
		}
		return f(v)
	}}
}

// OnReceive returns a clause that is ready when a value can be received from
// ch, or ch is closed: f then gets the value and true, or the zero value and
// false for a closed channel (as `v, ok := <-ch`), and makes the select's
// result. The value is received only if the clause is chosen. A nil ch is
// never ready, as in a Go select statement.
//
// This is kotlinx's onReceiveCatching. OnReceive panics if f is nil.
func OnReceive[T, R any](ch <-chan T, f func(v T, ok bool) (R, error)) Clause[R] {
	if f == nil {
		panic("selects: OnReceive called with a nil function")
	}
	return Clause[R]{kind: kindChan, ch: &recvClause[T, R]{ch: ch, f: f}}
}

// recvClause is the clause of [OnReceive].
type recvClause[T, R any] struct {
	ch <-chan T
	f  func(T, bool) (R, error)
}

func (c *recvClause[T, R]) poll(w *waiter) (r R, err error, ok bool) {
	select {
	case v, open := <-c.ch: // never ready for a nil channel
		w.cleanup()
		r, err = c.f(v, open)
		return r, err, true
	default:
		return r, nil, false
	}
}

func (c *recvClause[T, R]) live() bool { return c.ch != nil }

func (c *recvClause[T, R]) wait(w *waiter) (why wakeReason, r R, err error) {
	select {
	case v, open := <-c.ch:
		w.cleanup()
		r, err = c.f(v, open)
		return committed, r, err
	case <-w.wake:
		return woken, r, nil
	case <-w.timerC:
		return timedOut, r, nil
	case <-w.ctxDone:
		return ctxDone, r, nil
	}
}

func (c *recvClause[T, R]) selectCase() reflect.SelectCase {
	return reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(c.ch)}
}

func (c *recvClause[T, R]) chosen(w *waiter, recv reflect.Value, recvOK bool) (R, error) {
	w.cleanup()
	var v T
	if recvOK {
		// Comma-ok: for an interface T a received nil is a nil
		// interface, which a plain assertion rejects.
		v, _ = recv.Interface().(T)
	}
	return c.f(v, recvOK)
}

// OnSend returns a clause that is ready when v can be sent on ch; f then
// makes the select's result. v is sent only if the clause is chosen, and
// then exactly once. A nil ch is never ready; choosing a send on a closed
// channel panics, as in a Go select statement.
//
// This is kotlinx's onSend. OnSend panics if f is nil.
func OnSend[T, R any](ch chan<- T, v T, f func() (R, error)) Clause[R] {
	if f == nil {
		panic("selects: OnSend called with a nil function")
	}
	return Clause[R]{kind: kindChan, ch: &sendClause[T, R]{ch: ch, v: v, f: f}}
}

// sendClause is the clause of [OnSend].
type sendClause[T, R any] struct {
	ch chan<- T
	v  T
	f  func() (R, error)
}

func (c *sendClause[T, R]) poll(w *waiter) (r R, err error, ok bool) {
	select {
	case c.ch <- c.v: // never ready for a nil channel
		w.cleanup()
		r, err = c.f()
		return r, err, true
	default:
		return r, nil, false
	}
}

func (c *sendClause[T, R]) live() bool { return c.ch != nil }

func (c *sendClause[T, R]) wait(w *waiter) (why wakeReason, r R, err error) {
	select {
	case c.ch <- c.v:
		w.cleanup()
		r, err = c.f()
		return committed, r, err
	case <-w.wake:
		return woken, r, nil
	case <-w.timerC:
		return timedOut, r, nil
	case <-w.ctxDone:
		return ctxDone, r, nil
	}
}

func (c *sendClause[T, R]) selectCase() reflect.SelectCase {
	// The value seen through a pointer has the static type T, also when T
	// is an interface type and v is nil.
	return reflect.SelectCase{Dir: reflect.SelectSend, Chan: reflect.ValueOf(c.ch), Send: reflect.ValueOf(&c.v).Elem()}
}

func (c *sendClause[T, R]) chosen(w *waiter, _ reflect.Value, _ bool) (R, error) {
	w.cleanup()
	return c.f()
}

// OnTimeout returns a clause that is ready once d has passed since the
// select started waiting; f then makes the select's result. A non-positive
// d is ready at once (in a biased [Select], an earlier clause that is ready
// still wins). Of several OnTimeout clauses the shortest is chosen; of
// equal ones, the first in argument order (for Select) or a random one (for
// [SelectUnbiased]). One timer serves all the clauses of a select, and it
// is stopped when the select returns. Making the clause allocates nothing.
//
// This is kotlinx's onTimeout. OnTimeout panics if f is nil.
func OnTimeout[R any](d time.Duration, f func() (R, error)) Clause[R] {
	if f == nil {
		panic("selects: OnTimeout called with a nil function")
	}
	return Clause[R]{kind: kindTimeout, d: d, f: f}
}
