package selects_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/jobtree/jobtree/async"
	"github.com/jobtree/jobtree/core"
	selects "github.com/jobtree/jobtree/select"
)

// outcome is what a call under test did: it returned v and err, or it
// panicked with p.
type outcome[T any] struct {
	v        T
	err      error
	panicked bool
	p        any
}

// try calls f on a new goroutine and returns what it did, a panic
// included; if f does not return in time the test fails with a goroutine
// dump. Every call of the misuse catalogue goes through it: a bad input
// must never hang, and a panic is checked, not a crash.
func try[T any](t *testing.T, what string, f func() (T, error)) outcome[T] {
	t.Helper()
	res := make(chan outcome[T], 1)
	go func() { // ends when f returns or panics
		o := outcome[T]{panicked: true}
		defer func() {
			if o.panicked {
				o.p = recover()
			}
			res <- o
		}()
		o.v, o.err = f()
		o.panicked = false
	}()
	timer := time.NewTimer(waitTimeout(t))
	defer timer.Stop()
	select {
	case o := <-res:
		return o
	case <-timer.C:
		t.Fatalf("%s did not return in time\n%s", what, goroutineDump())
		panic("unreachable")
	}
}

// returned returns what the call returned, failing the test if it
// panicked.
func (o outcome[T]) returned(t *testing.T, what string) (T, error) {
	t.Helper()
	if o.panicked {
		t.Fatalf("%s panicked with %v, want it to return", what, o.p)
	}
	return o.v, o.err
}

// wantPanic checks that the call panicked with a string starting with
// prefix.
func (o outcome[T]) wantPanic(t *testing.T, what, prefix string) {
	t.Helper()
	if !o.panicked {
		t.Errorf("%s = %v, %v; want a panic starting with %q", what, o.v, o.err, prefix)
		return
	}
	if msg, ok := o.p.(string); !ok || !strings.HasPrefix(msg, prefix) {
		t.Errorf("%s panicked with %#v, want a message starting with %q", what, o.p, prefix)
	}
}

// doneCtx returns a context that is done, with cause as its cause.
func doneCtx(cause error) context.Context {
	ctx, stop := context.WithCancelCause(context.Background())
	stop(cause)
	return ctx
}

// wantWaitError checks that err is what a waiting call of jobtree returns
// for a done ctx whose cause is cause: a *core.CancellationError carrying
// it.
func wantWaitError(t *testing.T, what string, err, cause error) {
	t.Helper()
	var ce *core.CancellationError
	if !errors.As(err, &ce) || !errors.Is(err, context.Canceled) || !errors.Is(err, cause) {
		t.Errorf("%s = %v (%T), want a *core.CancellationError carrying %v", what, err, err, cause)
	}
}

// wantCycle checks that err wraps core.ErrJoinCycle.
func wantCycle(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, core.ErrJoinCycle) {
		t.Errorf("%s = %v, want an error wrapping core.ErrJoinCycle", what, err)
	}
}

// fromBody runs sel in the body of a new root job, and returns its error
// once the job is complete.
func fromBody(sel func(ctx context.Context) error) (error, error) {
	errc := make(chan error, 1)
	j := core.Launch(nil, func(ctx context.Context) error {
		errc <- sel(ctx)
		return nil
	})
	<-j.Done()
	return <-errc, nil
}

// TestMisuse is selects' part of the misuse catalogue
// (docs/reliability.md): every bad input the package's API can get, with
// its documented result — an error that errors.Is or errors.As
// recognises, or a panic whose message starts with "selects: ", at the
// call that got the bad input. No row may hang (every call is bounded, and
// fails the test with a goroutine dump), crash inside the library (a
// panic is caught and checked) or lose anything (a clause's channel
// operation, a handler left registered, a lazy job started for nothing).
func TestMisuse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string // the bad input
		want string // the documented result
		run  func(t *testing.T)
	}{
		{"Select/no clauses", "ErrNoClauses, at once (Select, SelectUnbiased; also with a nil ctx)", func(t *testing.T) {
			for _, ctx := range []context.Context{context.Background(), nil} {
				_, err := try(t, "Select(ctx)", func() (int, error) { return selects.Select[int](ctx) }).returned(t, "Select(ctx)")
				if !errors.Is(err, selects.ErrNoClauses) {
					t.Errorf("Select(%v) = %v, want ErrNoClauses", ctx, err)
				}
				_, err = try(t, "SelectUnbiased(ctx)", func() (int, error) { return selects.SelectUnbiased[int](ctx) }).returned(t, "SelectUnbiased(ctx)")
				if !errors.Is(err, selects.ErrNoClauses) {
					t.Errorf("SelectUnbiased(%v) = %v, want ErrNoClauses", ctx, err)
				}
			}
		}},
		{"Select/zero Clause", `panic "selects: clause i is the zero Clause …", before anything is started or registered`, func(t *testing.T) {
			for name, sel := range map[string]func(context.Context, ...selects.Clause[string]) (string, error){
				"Select": selects.Select[string], "SelectUnbiased": selects.SelectUnbiased[string],
			} {
				lazy := core.Launch(nil, func(context.Context) error { return nil }, core.Lazy())
				t.Cleanup(func() { lazy.Cancel(nil) })
				watched := newWatchedJob()
				watched.armed = nil
				t.Cleanup(func() { watched.Cancel(nil) })
				try(t, name, func() (string, error) {
					return sel(testCtx(t), selects.OnJoin(lazy, result("lazy")), selects.OnJoin[string](watched, result("watched")), selects.Clause[string]{})
				}).wantPanic(t, name+"(ctx, …, Clause{})", "selects: clause 2 is the zero Clause")
				if s := lazy.State(); s != core.New {
					t.Errorf("%s: lazy job %v after the panic, want it not started", name, s)
				}
				if n := watched.registered.Load(); n != 0 {
					t.Errorf("%s: %d handlers registered before the panic, want 0", name, n)
				}
			}
		}},
		{"clause constructors/nil job, deferred or function", `panic "selects: …" at the constructor`, func(t *testing.T) {
			job := core.NewJob(nil)
			defer job.Cancel(nil)
			d := async.NewCompletableDeferred[int](nil)
			defer d.Cancel(nil)
			ch := make(chan int)
			f := result("x")
			calls := map[string]func() selects.Clause[string]{
				"OnJoin(nil, f)":      func() selects.Clause[string] { return selects.OnJoin(nil, f) },
				"OnJoin(job, nil)":    func() selects.Clause[string] { return selects.OnJoin[string](job, nil) },
				"OnAwait(nil, f)":     func() selects.Clause[string] { return selects.OnAwait[int, string](nil, want42(t)) },
				"OnAwait(d, nil)":     func() selects.Clause[string] { return selects.OnAwait[int, string](d, nil) },
				"OnReceive(ch, nil)":  func() selects.Clause[string] { return selects.OnReceive[int, string](ch, nil) },
				"OnSend(ch, v, nil)":  func() selects.Clause[string] { return selects.OnSend[int, string](ch, 1, nil) },
				"OnTimeout(d, nil)":   func() selects.Clause[string] { return selects.OnTimeout[string](time.Second, nil) },
				"OnReceive(nil, nil)": func() selects.Clause[string] { return selects.OnReceive[int, string](nil, nil) },
			}
			for what, call := range calls {
				try(t, what, func() (selects.Clause[string], error) { return call(), nil }).wantPanic(t, what, "selects: ")
			}
		}},
		{"OnReceive/nil channel", "never ready: a ready clause wins; alone, Select waits for ctx", func(t *testing.T) {
			var nilChan chan int
			got, err := try(t, "Select(ctx, OnReceive(nil), OnTimeout(0))", func() (string, error) {
				return selects.Select(testCtx(t), selects.OnReceive(nilChan, received), selects.OnTimeout(0, result("default")))
			}).returned(t, "Select(ctx, OnReceive(nil), OnTimeout(0))")
			if got != "default" || err != nil {
				t.Errorf("Select(ctx, OnReceive(nil), OnTimeout(0)) = %q, %v; want default, nil", got, err)
			}
			// The select waits: the job clause's registration cancels ctx.
			ctx, stop := context.WithCancelCause(context.Background())
			cause := newErr("gave up")
			canceller := &hookedJob{CompletableJob: core.NewJob(nil), onRegister: func() { stop(cause) }}
			defer canceller.Cancel(nil)
			_, err = try(t, "Select(ctx, OnReceive(nil), OnJoin(canceller))", func() (string, error) {
				return selects.Select(ctx, selects.OnReceive(nilChan, received), selects.OnJoin[string](canceller, unreached(t, "canceller")))
			}).returned(t, "Select(ctx, OnReceive(nil), OnJoin(canceller))")
			wantWaitError(t, "Select(ctx, OnReceive(nil), …) cancelled while waiting", err, cause)
		}},
		{"OnSend/nil channel", "never ready: nothing is sent, a ready clause wins; alone, Select waits for ctx", func(t *testing.T) {
			var nilChan chan int
			got, err := try(t, "Select(ctx, OnSend(nil), OnTimeout(0))", func() (string, error) {
				return selects.Select(testCtx(t), selects.OnSend(nilChan, 1, unreached(t, "send")), selects.OnTimeout(0, result("default")))
			}).returned(t, "Select(ctx, OnSend(nil), OnTimeout(0))")
			if got != "default" || err != nil {
				t.Errorf("Select(ctx, OnSend(nil), OnTimeout(0)) = %q, %v; want default, nil", got, err)
			}
			ctx, stop := context.WithCancelCause(context.Background())
			cause := newErr("gave up")
			canceller := &hookedJob{CompletableJob: core.NewJob(nil), onRegister: func() { stop(cause) }}
			defer canceller.Cancel(nil)
			_, err = try(t, "Select(ctx, OnSend(nil), OnJoin(canceller))", func() (string, error) {
				return selects.Select(ctx, selects.OnSend(nilChan, 1, unreached(t, "send")), selects.OnJoin[string](canceller, unreached(t, "canceller")))
			}).returned(t, "Select(ctx, OnSend(nil), OnJoin(canceller))")
			wantWaitError(t, "Select(ctx, OnSend(nil), …) cancelled while waiting", err, cause)
		}},
		{"OnSend/closed channel", `the runtime's panic "send on closed channel", as in Go; the select's handlers are removed`, func(t *testing.T) {
			ch := make(chan int)
			watched := newWatchedJob()
			watched.armed = nil
			defer watched.Cancel(nil)
			closer := &hookedJob{CompletableJob: core.NewJob(nil), onRegister: func() { close(ch) }}
			defer closer.Cancel(nil)
			o := try(t, "Select(ctx, OnJoin(watched), OnSend(ch), OnJoin(closer))", func() (string, error) {
				return selects.Select(testCtx(t),
					selects.OnJoin[string](watched, unreached(t, "watched")),
					selects.OnSend(ch, 1, result("sent")),
					selects.OnJoin[string](closer, unreached(t, "closer")))
			})
			if err, _ := o.p.(error); !o.panicked || err == nil || !strings.Contains(err.Error(), "send on closed channel") {
				t.Errorf("Select with a send on a channel closed while it waits: panicked %v with %v, want the runtime's send on closed channel", o.panicked, o.p)
			}
			if watched.registered.Load() != 1 || watched.leftover() != 0 {
				t.Errorf("handlers registered %d, left over %d after the panic; want 1, 0", watched.registered.Load(), watched.leftover())
			}
		}},
		{"OnReceive/closed channel", "ready: f gets the zero value and false", func(t *testing.T) {
			ch := make(chan int)
			close(ch)
			got, err := try(t, "Select(ctx, OnReceive(closed))", func() (string, error) {
				return selects.Select(testCtx(t), selects.OnReceive(ch, received))
			}).returned(t, "Select(ctx, OnReceive(closed))")
			if got != "recv 0 false" || err != nil {
				t.Errorf("Select(ctx, OnReceive(closed)) = %q, %v; want \"recv 0 false\", nil", got, err)
			}
		}},
		{"OnTimeout/zero or negative", "ready at once (also math.MinInt64); in a biased Select an earlier ready clause still wins", func(t *testing.T) {
			for _, d := range []time.Duration{0, -1, math.MinInt64} {
				for name, sel := range map[string]func(context.Context, ...selects.Clause[string]) (string, error){
					"Select": selects.Select[string], "SelectUnbiased": selects.SelectUnbiased[string],
				} {
					got, err := try(t, name, func() (string, error) {
						return sel(testCtx(t), selects.OnTimeout(veryLongDuration, unreached(t, "long")), selects.OnTimeout(d, result("now")))
					}).returned(t, name)
					if got != "now" || err != nil {
						t.Errorf("%s(ctx, OnTimeout(long), OnTimeout(%v)) = %q, %v; want now, nil", name, d, got, err)
					}
				}
				ready := make(chan int, 1)
				ready <- 1
				got, err := try(t, "Select", func() (string, error) {
					return selects.Select(testCtx(t), selects.OnReceive(ready, received), selects.OnTimeout(d, unreached(t, "timeout")))
				}).returned(t, "Select")
				if got != "recv 1 true" || err != nil {
					t.Errorf("Select(ctx, OnReceive(ready), OnTimeout(%v)) = %q, %v; want \"recv 1 true\", nil", d, got, err)
				}
			}
		}},
		{"Select/nil ctx", "as context.Background()", func(t *testing.T) {
			got, err := try(t, "Select(nil, OnTimeout(0))", func() (string, error) {
				return selects.Select(nil, selects.OnTimeout(0, result("default")))
			}).returned(t, "Select(nil, OnTimeout(0))")
			if got != "default" || err != nil {
				t.Errorf("Select(nil, OnTimeout(0)) = %q, %v; want default, nil", got, err)
			}
		}},
		{"Select/done ctx with a ready clause", "*core.CancellationError carrying context.Cause(ctx); no clause chosen, nothing received", func(t *testing.T) {
			ready := make(chan int, 1)
			ready <- 1
			cause := newErr("gave up")
			_, err := try(t, "Select(done ctx, OnReceive(ready))", func() (string, error) {
				return selects.Select(doneCtx(cause), selects.OnReceive(ready, func(int, bool) (string, error) { return unreached(t, "receive")() }))
			}).returned(t, "Select(done ctx, OnReceive(ready))")
			wantWaitError(t, "Select(done ctx, OnReceive(ready))", err, cause)
			if len(ready) != 1 {
				t.Error("the value was received from the channel, want it left there")
			}
		}},
		{"OnJoin/own job", "an error wrapping core.ErrJoinCycle, at once", func(t *testing.T) {
			err, _ := try(t, "Select from the body", func() (error, error) {
				return fromBody(func(ctx context.Context) error {
					_, err := selects.Select(ctx, selects.OnJoin(core.JobOf(ctx), result("self")))
					return err
				})
			}).returned(t, "Select from the body")
			wantCycle(t, "Select(own ctx, OnJoin(own job))", err)
		}},
		{"OnJoin/ancestor", "an error wrapping core.ErrJoinCycle, at once", func(t *testing.T) {
			err, _ := try(t, "Select from the child's body", func() (error, error) {
				return fromBody(func(ctx context.Context) error {
					parent := core.JobOf(ctx)
					errc := make(chan error, 1)
					child := core.Launch(ctx, func(ctx context.Context) error {
						_, err := selects.Select(ctx, selects.OnJoin(parent, result("parent")))
						errc <- err
						return nil
					})
					if err := child.Join(ctx); err != nil {
						return err
					}
					return <-errc
				})
			}).returned(t, "Select from the child's body")
			wantCycle(t, "Select(child ctx, OnJoin(parent))", err)
		}},
		{"OnAwait/own deferred", "an error wrapping core.ErrJoinCycle, at once", func(t *testing.T) {
			ready := make(chan struct{})
			var d async.Deferred[error]
			d = async.Async(nil, func(ctx context.Context) (error, error) {
				<-ready // d is set
				_, err := selects.Select(ctx, selects.OnAwait(d, func(error) (string, error) { return "self", nil }))
				return err, nil
			})
			close(ready)
			err, _ := try(t, "Await(ctx)", func() (error, error) { return d.Await(context.Background()) }).returned(t, "Await(ctx)")
			wantCycle(t, "Select(own ctx, OnAwait(own deferred))", err)
		}},
		{"OnAwait/failed deferred", "Select returns the deferred's cause; f is not called", func(t *testing.T) {
			d := async.NewCompletableDeferred[int](nil)
			errBoom := newErr("boom")
			d.Fail(errBoom)
			_, err := try(t, "Select(ctx, OnAwait(failed))", func() (string, error) {
				return selects.Select(testCtx(t), selects.OnAwait(d, func(int) (string, error) { return unreached(t, "f")() }))
			}).returned(t, "Select(ctx, OnAwait(failed))")
			if !errors.Is(err, errBoom) {
				t.Errorf("Select(ctx, OnAwait(failed)) = %v, want %v", err, errBoom)
			}
		}},
		{"clause function/panics", "the panic reaches the caller unrecovered, after the select removed its handlers", func(t *testing.T) {
			loser := newWatchedJob()
			loser.armed = nil
			defer loser.Cancel(nil)
			o := try(t, "Select(ctx, OnJoin(loser), OnJoin(trigger, panics))", func() (int, error) {
				return selects.Select(testCtx(t),
					selects.OnJoin[int](loser, func() (int, error) { return 0, nil }),
					selects.OnJoin[int](newTrigger(), func() (int, error) { panic("boom") }))
			})
			if !o.panicked || o.p != "boom" {
				t.Errorf("Select with a panicking function: panicked %v with %v, want boom", o.panicked, o.p)
			}
			if n := loser.leftover(); n != 0 {
				t.Errorf("%d handlers left on the loser after the panic, want 0", n)
			}
		}},
		{"Clause/reused", "allowed: a clause twice in one select, and again in another select", func(t *testing.T) {
			job := core.NewJob(nil)
			job.Complete()
			c := selects.OnJoin(job, result("joined"))
			for range 2 {
				got, err := try(t, "Select(ctx, c, c)", func() (string, error) { return selects.Select(testCtx(t), c, c) }).returned(t, "Select(ctx, c, c)")
				if got != "joined" || err != nil {
					t.Errorf("Select(ctx, c, c) = %q, %v; want joined, nil", got, err)
				}
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("documented result: %s", tc.want)
				}
			})
			tc.run(t)
		})
	}
}
