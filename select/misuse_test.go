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
	"github.com/jobtree/jobtree/internal/testkit"
	selects "github.com/jobtree/jobtree/select"
)

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
	tests := []testkit.MisuseCase{
		{Name: "Select/no clauses", Want: "ErrNoClauses, at once (Select, SelectUnbiased; also with a nil ctx)", Run: func(t *testing.T) {
			for _, ctx := range []context.Context{context.Background(), nil} {
				_, err := testkit.Try(t, "Select(ctx)", func() (int, error) { return selects.Select[int](ctx) }).Returned(t, "Select(ctx)")
				if !errors.Is(err, selects.ErrNoClauses) {
					t.Errorf("Select(%v) = %v, want ErrNoClauses", ctx, err)
				}
				_, err = testkit.Try(t, "SelectUnbiased(ctx)", func() (int, error) { return selects.SelectUnbiased[int](ctx) }).Returned(t, "SelectUnbiased(ctx)")
				if !errors.Is(err, selects.ErrNoClauses) {
					t.Errorf("SelectUnbiased(%v) = %v, want ErrNoClauses", ctx, err)
				}
			}
		}},
		{Name: "Select/zero Clause", Want: `panic "selects: clause i is the zero Clause …", before anything is started or registered`, Run: func(t *testing.T) {
			for name, sel := range map[string]func(context.Context, ...selects.Clause[string]) (string, error){
				"Select": selects.Select[string], "SelectUnbiased": selects.SelectUnbiased[string],
			} {
				lazy := core.Launch(nil, func(context.Context) error { return nil }, core.Lazy())
				t.Cleanup(func() { lazy.Cancel(nil) })
				watched := newWatchedJob()
				watched.armed = nil
				t.Cleanup(func() { watched.Cancel(nil) })
				testkit.Try(t, name, func() (string, error) {
					return sel(testCtx(t), selects.OnJoin(lazy, result("lazy")), selects.OnJoin[string](watched, result("watched")), selects.Clause[string]{})
				}).WantPanic(t, name+"(ctx, …, Clause{})", "selects: clause 2 is the zero Clause")
				if s := lazy.State(); s != core.New {
					t.Errorf("%s: lazy job %v after the panic, want it not started", name, s)
				}
				if n := watched.registered.Load(); n != 0 {
					t.Errorf("%s: %d handlers registered before the panic, want 0", name, n)
				}
			}
		}},
		{Name: "clause constructors/nil job, deferred or function", Want: `panic "selects: …" at the constructor`, Run: func(t *testing.T) {
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
				testkit.Try(t, what, func() (selects.Clause[string], error) { return call(), nil }).WantPanic(t, what, "selects: ")
			}
		}},
		{Name: "OnReceive/nil channel", Want: "never ready: a ready clause wins; alone, Select waits for ctx", Run: func(t *testing.T) {
			var nilChan chan int
			got, err := testkit.Try(t, "Select(ctx, OnReceive(nil), OnTimeout(0))", func() (string, error) {
				return selects.Select(testCtx(t), selects.OnReceive(nilChan, received), selects.OnTimeout(0, result("default")))
			}).Returned(t, "Select(ctx, OnReceive(nil), OnTimeout(0))")
			if got != "default" || err != nil {
				t.Errorf("Select(ctx, OnReceive(nil), OnTimeout(0)) = %q, %v; want default, nil", got, err)
			}
			// The select waits: the job clause's registration cancels ctx.
			ctx, stop := context.WithCancelCause(context.Background())
			cause := testkit.NewErr("gave up")
			canceller := &hookedJob{CompletableJob: core.NewJob(nil), onRegister: func() { stop(cause) }}
			defer canceller.Cancel(nil)
			_, err = testkit.Try(t, "Select(ctx, OnReceive(nil), OnJoin(canceller))", func() (string, error) {
				return selects.Select(ctx, selects.OnReceive(nilChan, received), selects.OnJoin[string](canceller, unreached(t, "canceller")))
			}).Returned(t, "Select(ctx, OnReceive(nil), OnJoin(canceller))")
			testkit.WantCancellation(t, "Select(ctx, OnReceive(nil), …) cancelled while waiting", err, cause)
		}},
		{Name: "OnSend/nil channel", Want: "never ready: nothing is sent, a ready clause wins; alone, Select waits for ctx", Run: func(t *testing.T) {
			var nilChan chan int
			got, err := testkit.Try(t, "Select(ctx, OnSend(nil), OnTimeout(0))", func() (string, error) {
				return selects.Select(testCtx(t), selects.OnSend(nilChan, 1, unreached(t, "send")), selects.OnTimeout(0, result("default")))
			}).Returned(t, "Select(ctx, OnSend(nil), OnTimeout(0))")
			if got != "default" || err != nil {
				t.Errorf("Select(ctx, OnSend(nil), OnTimeout(0)) = %q, %v; want default, nil", got, err)
			}
			ctx, stop := context.WithCancelCause(context.Background())
			cause := testkit.NewErr("gave up")
			canceller := &hookedJob{CompletableJob: core.NewJob(nil), onRegister: func() { stop(cause) }}
			defer canceller.Cancel(nil)
			_, err = testkit.Try(t, "Select(ctx, OnSend(nil), OnJoin(canceller))", func() (string, error) {
				return selects.Select(ctx, selects.OnSend(nilChan, 1, unreached(t, "send")), selects.OnJoin[string](canceller, unreached(t, "canceller")))
			}).Returned(t, "Select(ctx, OnSend(nil), OnJoin(canceller))")
			testkit.WantCancellation(t, "Select(ctx, OnSend(nil), …) cancelled while waiting", err, cause)
		}},
		{Name: "OnSend/closed channel", Want: `the runtime's panic "send on closed channel", as in Go; the select's handlers are removed`, Run: func(t *testing.T) {
			ch := make(chan int)
			watched := newWatchedJob()
			watched.armed = nil
			defer watched.Cancel(nil)
			closer := &hookedJob{CompletableJob: core.NewJob(nil), onRegister: func() { close(ch) }}
			defer closer.Cancel(nil)
			o := testkit.Try(t, "Select(ctx, OnJoin(watched), OnSend(ch), OnJoin(closer))", func() (string, error) {
				return selects.Select(testCtx(t),
					selects.OnJoin[string](watched, unreached(t, "watched")),
					selects.OnSend(ch, 1, result("sent")),
					selects.OnJoin[string](closer, unreached(t, "closer")))
			})
			if err, _ := o.Panic.(error); !o.Panicked || err == nil || !strings.Contains(err.Error(), "send on closed channel") {
				t.Errorf("Select with a send on a channel closed while it waits: panicked %v with %v, want the runtime's send on closed channel", o.Panicked, o.Panic)
			}
			if watched.registered.Load() != 1 || watched.leftover() != 0 {
				t.Errorf("handlers registered %d, left over %d after the panic; want 1, 0", watched.registered.Load(), watched.leftover())
			}
		}},
		{Name: "OnReceive/closed channel", Want: "ready: f gets the zero value and false", Run: func(t *testing.T) {
			ch := make(chan int)
			close(ch)
			got, err := testkit.Try(t, "Select(ctx, OnReceive(closed))", func() (string, error) {
				return selects.Select(testCtx(t), selects.OnReceive(ch, received))
			}).Returned(t, "Select(ctx, OnReceive(closed))")
			if got != "recv 0 false" || err != nil {
				t.Errorf("Select(ctx, OnReceive(closed)) = %q, %v; want \"recv 0 false\", nil", got, err)
			}
		}},
		{Name: "OnTimeout/zero or negative", Want: "ready at once (also math.MinInt64); in a biased Select an earlier ready clause still wins", Run: func(t *testing.T) {
			for _, d := range []time.Duration{0, -1, math.MinInt64} {
				for name, sel := range map[string]func(context.Context, ...selects.Clause[string]) (string, error){
					"Select": selects.Select[string], "SelectUnbiased": selects.SelectUnbiased[string],
				} {
					got, err := testkit.Try(t, name, func() (string, error) {
						return sel(testCtx(t), selects.OnTimeout(veryLongDuration, unreached(t, "long")), selects.OnTimeout(d, result("now")))
					}).Returned(t, name)
					if got != "now" || err != nil {
						t.Errorf("%s(ctx, OnTimeout(long), OnTimeout(%v)) = %q, %v; want now, nil", name, d, got, err)
					}
				}
				ready := make(chan int, 1)
				ready <- 1
				got, err := testkit.Try(t, "Select", func() (string, error) {
					return selects.Select(testCtx(t), selects.OnReceive(ready, received), selects.OnTimeout(d, unreached(t, "timeout")))
				}).Returned(t, "Select")
				if got != "recv 1 true" || err != nil {
					t.Errorf("Select(ctx, OnReceive(ready), OnTimeout(%v)) = %q, %v; want \"recv 1 true\", nil", d, got, err)
				}
			}
		}},
		{Name: "Select/nil ctx", Want: "as context.Background()", Run: func(t *testing.T) {
			got, err := testkit.Try(t, "Select(nil, OnTimeout(0))", func() (string, error) {
				return selects.Select(nil, selects.OnTimeout(0, result("default")))
			}).Returned(t, "Select(nil, OnTimeout(0))")
			if got != "default" || err != nil {
				t.Errorf("Select(nil, OnTimeout(0)) = %q, %v; want default, nil", got, err)
			}
		}},
		{Name: "Select/done ctx with a ready clause", Want: "*core.CancellationError carrying context.Cause(ctx); no clause chosen, nothing received", Run: func(t *testing.T) {
			ready := make(chan int, 1)
			ready <- 1
			cause := testkit.NewErr("gave up")
			_, err := testkit.Try(t, "Select(done ctx, OnReceive(ready))", func() (string, error) {
				return selects.Select(testkit.DoneCtx(cause), selects.OnReceive(ready, func(int, bool) (string, error) { return unreached(t, "receive")() }))
			}).Returned(t, "Select(done ctx, OnReceive(ready))")
			testkit.WantCancellation(t, "Select(done ctx, OnReceive(ready))", err, cause)
			if len(ready) != 1 {
				t.Error("the value was received from the channel, want it left there")
			}
		}},
		{Name: "OnJoin/own job", Want: "an error wrapping core.ErrJoinCycle, at once", Run: func(t *testing.T) {
			err, _ := testkit.Try(t, "Select from the body", func() (error, error) {
				return fromBody(func(ctx context.Context) error {
					_, err := selects.Select(ctx, selects.OnJoin(core.JobOf(ctx), result("self")))
					return err
				})
			}).Returned(t, "Select from the body")
			testkit.WantCycle(t, "Select(own ctx, OnJoin(own job))", err)
		}},
		{Name: "OnJoin/ancestor", Want: "an error wrapping core.ErrJoinCycle, at once", Run: func(t *testing.T) {
			err, _ := testkit.Try(t, "Select from the child's body", func() (error, error) {
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
			}).Returned(t, "Select from the child's body")
			testkit.WantCycle(t, "Select(child ctx, OnJoin(parent))", err)
		}},
		{Name: "OnAwait/own deferred", Want: "an error wrapping core.ErrJoinCycle, at once", Run: func(t *testing.T) {
			ready := make(chan struct{})
			var d async.Deferred[error]
			d = async.Async(nil, func(ctx context.Context) (error, error) {
				<-ready // d is set
				_, err := selects.Select(ctx, selects.OnAwait(d, func(error) (string, error) { return "self", nil }))
				return err, nil
			})
			close(ready)
			err, _ := testkit.Try(t, "Await(ctx)", func() (error, error) { return d.Await(context.Background()) }).Returned(t, "Await(ctx)")
			testkit.WantCycle(t, "Select(own ctx, OnAwait(own deferred))", err)
		}},
		{Name: "OnAwait/failed deferred", Want: "Select returns the deferred's cause; f is not called", Run: func(t *testing.T) {
			d := async.NewCompletableDeferred[int](nil)
			errBoom := testkit.NewErr("boom")
			d.Fail(errBoom)
			_, err := testkit.Try(t, "Select(ctx, OnAwait(failed))", func() (string, error) {
				return selects.Select(testCtx(t), selects.OnAwait(d, func(int) (string, error) { return unreached(t, "f")() }))
			}).Returned(t, "Select(ctx, OnAwait(failed))")
			if !errors.Is(err, errBoom) {
				t.Errorf("Select(ctx, OnAwait(failed)) = %v, want %v", err, errBoom)
			}
		}},
		{Name: "clause function/panics", Want: "the panic reaches the caller unrecovered, after the select removed its handlers", Run: func(t *testing.T) {
			loser := newWatchedJob()
			loser.armed = nil
			defer loser.Cancel(nil)
			o := testkit.Try(t, "Select(ctx, OnJoin(loser), OnJoin(trigger, panics))", func() (int, error) {
				return selects.Select(testCtx(t),
					selects.OnJoin[int](loser, func() (int, error) { return 0, nil }),
					selects.OnJoin[int](newTrigger(), func() (int, error) { panic("boom") }))
			})
			if !o.Panicked || o.Panic != "boom" {
				t.Errorf("Select with a panicking function: panicked %v with %v, want boom", o.Panicked, o.Panic)
			}
			if n := loser.leftover(); n != 0 {
				t.Errorf("%d handlers left on the loser after the panic, want 0", n)
			}
		}},
		{Name: "Clause/reused", Want: "allowed: a clause twice in one select, and again in another select", Run: func(t *testing.T) {
			job := core.NewJob(nil)
			job.Complete()
			c := selects.OnJoin(job, result("joined"))
			for range 2 {
				got, err := testkit.Try(t, "Select(ctx, c, c)", func() (string, error) { return selects.Select(testCtx(t), c, c) }).Returned(t, "Select(ctx, c, c)")
				if got != "joined" || err != nil {
					t.Errorf("Select(ctx, c, c) = %q, %v; want joined, nil", got, err)
				}
			}
		}},
	}
	testkit.RunCatalogue(t, testkit.CatalogueDoc, tests)
}
