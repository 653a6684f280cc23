package core_test

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jobtree/jobtree/core"
	"github.com/jobtree/jobtree/internal/testkit"
)

// goid returns the id of the calling goroutine, read from its stack header
// ("goroutine 18 [running]:"); used only to check on which goroutine a
// handler runs.
func goid() string {
	var buf [64]byte
	n := runtime.Stack(buf[:], false)
	return strings.Fields(string(buf[:n]))[1]
}

// TestJobHandlers_Handler ports kotlinx JobTest.testHandler: a completion
// handler runs once, on Cancel, and not again on a second Cancel (API rule
// 10; kotlinx rules 18, 44).
func TestJobHandlers_Handler(t *testing.T) {
	t.Parallel()
	job := core.NewJob(nil)
	var fired counter
	job.InvokeOnCompletion(func(error) { fired.inc() })
	testkit.CheckState(t, job, core.Active)
	if got := fired.get(); got != 0 {
		t.Fatalf("handler ran %d times before the job ended", got)
	}
	job.Cancel(nil)
	if got := fired.get(); got != 1 {
		t.Errorf("handler ran %d times after Cancel, want 1", got)
	}
	job.Cancel(nil)
	if got := fired.get(); got != 1 {
		t.Errorf("handler ran %d times after a second Cancel, want 1", got)
	}
}

// TestJobHandlers_ManyHandlers ports kotlinx JobTest.testManyHandlers and
// checks registration order and the cause (API rule 10; kotlinx rules 44, 48).
func TestJobHandlers_ManyHandlers(t *testing.T) {
	t.Parallel()
	const n = 100
	job := core.NewJob(nil)
	var order []int // written only by handlers, which run one after another
	causes := make([]error, n)
	for i := range n {
		job.InvokeOnCompletion(func(err error) { order = append(order, i); causes[i] = err })
	}
	why := testkit.NewErr("why")
	job.Cancel(why)
	job.Cancel(nil)
	if len(order) != n {
		t.Fatalf("%d handlers ran, want %d", len(order), n)
	}
	for i, got := range order {
		if got != i {
			t.Fatalf("handler %d ran at position %d, want registration order", got, i)
		}
		if !errors.Is(causes[got], why) {
			t.Errorf("handler %d got cause %v, want %v", got, causes[got], why)
		}
	}
}

// TestJobHandlers_UnregisterInHandler ports kotlinx JobTest.testUnregisterInHandler:
// a handler may dispose itself while running (API rule 10; kotlinx rule 50).
func TestJobHandlers_UnregisterInHandler(t *testing.T) {
	t.Parallel()
	const n = 100
	job := core.NewJob(nil)
	fired := make([]counter, n)
	for i := range n {
		var h core.DisposableHandle
		var mu sync.Mutex
		mu.Lock()
		h = job.InvokeOnCompletion(func(error) {
			fired[i].inc()
			mu.Lock()
			defer mu.Unlock()
			h.Dispose()
			h.Dispose() // idempotent
		})
		mu.Unlock()
	}
	job.Cancel(nil)
	job.Cancel(nil)
	for i := range fired {
		if got := fired[i].get(); got != 1 {
			t.Errorf("handler %d ran %d times, want 1", i, got)
		}
	}
}

// TestJobHandlers_ManyHandlersWithUnregister ports kotlinx
// JobTest.testManyHandlersWithUnregister, testDisposeSingleHandler and
// testDisposeMultipleHandler: disposed handlers never run, the others do
// (API rule 10; kotlinx rule 50).
func TestJobHandlers_ManyHandlersWithUnregister(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		n        int
		disposed func(i int) bool
	}{
		{"single", 1, func(int) bool { return true }},
		{"all of ten", 10, func(int) bool { return true }},
		{"half of a hundred", 100, func(i int) bool { return i%4 <= 1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			job := core.NewJob(nil)
			fired := make([]counter, tt.n)
			cancelling := make([]counter, tt.n)
			for i := range tt.n {
				h1 := job.InvokeOnCompletion(func(error) { fired[i].inc() })
				h2 := job.InvokeOnCancelling(func(error) { cancelling[i].inc() })
				if tt.disposed(i) {
					h1.Dispose()
					h2.Dispose()
					h1.Dispose() // idempotent
				}
			}
			job.Cancel(nil)
			for i := range tt.n {
				want := int32(1)
				if tt.disposed(i) {
					want = 0
				}
				if got := fired[i].get(); got != want {
					t.Errorf("completion handler %d ran %d times, want %d", i, got, want)
				}
				if got := cancelling[i].get(); got != want {
					t.Errorf("cancelling handler %d ran %d times, want %d", i, got, want)
				}
			}
		})
	}
}

// TestJobHandlers_ExceptionsInHandler ports kotlinx
// JobTest.testExceptionsInHandler in Go terms: every panicking handler runs,
// the caller of Cancel does not panic, and each panic goes to the exception
// handler of the job's context as a *PanicError (API rule 10; kotlinx rule 51).
func TestJobHandlers_ExceptionsInHandler(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		make func(ctx context.Context) core.Job
		end  func(j core.Job)
	}{
		{"NewJob", func(ctx context.Context) core.Job { return core.NewJob(ctx) }, func(j core.Job) { j.Cancel(nil) }},
		{"Launch", func(ctx context.Context) core.Job {
			return core.Launch(ctx, blockUntilDone(nil))
		}, func(j core.Job) { j.Cancel(nil) }},
		{"Launch completing normally", func(ctx context.Context) core.Job {
			return core.Launch(ctx, func(context.Context) error { return nil }, core.Lazy())
		}, func(j core.Job) { j.Start() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			const n = 20
			rec := testkit.NewRecorder()
			job := tt.make(rec.Ctx())
			completions := make([]counter, n)
			cancellings := make([]counter, n)
			for i := range n {
				job.InvokeOnCompletion(func(error) { completions[i].inc(); panic(i) })
				job.InvokeOnCancelling(func(error) { cancellings[i].inc(); panic(-1 - i) })
			}
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Errorf("Cancel panicked with %v, want the handler panics delivered to the exception handler", r)
					}
				}()
				tt.end(job)
			}()
			testkit.MustJoin(t, job)
			for i := range n {
				if completions[i].get() != 1 || cancellings[i].get() != 1 {
					t.Errorf("handler pair %d ran (%d, %d) times, want (1, 1)", i, completions[i].get(), cancellings[i].get())
				}
			}
			errs := rec.Errors()
			if len(errs) != 2*n {
				t.Fatalf("exception handler got %d calls, want %d (one per panicking handler): %v", len(errs), 2*n, errs)
			}
			seen := map[int]bool{}
			for _, err := range errs {
				var pe *core.PanicError
				if !errors.As(err, &pe) {
					t.Errorf("exception handler got %v (%T), want a *core.PanicError", err, err)
					continue
				}
				v, _ := pe.Value.(int)
				seen[v] = true
			}
			if len(seen) != 2*n {
				t.Errorf("exception handler saw %d distinct panic values, want %d", len(seen), 2*n)
			}
		})
	}
}

// TestRule10_HandlerSeesFinalState checks what a completion handler sees:
// the final state with IsCompleted() true, the final cause (nil on normal
// completion) as argument, and Done() not yet closed (API rule 10; kotlinx
// rule 44).
func TestRule10_HandlerSeesFinalState(t *testing.T) {
	t.Parallel()
	failure := testkit.NewErr("x")
	tests := []struct {
		name  string
		end   func(j core.CompletableJob)
		state core.State
	}{
		{"Complete", func(j core.CompletableJob) { j.Complete() }, core.Completed},
		{"Cancel", func(j core.CompletableJob) { j.Cancel(nil) }, core.Cancelled},
		{"Fail", func(j core.CompletableJob) { j.Fail(failure) }, core.Cancelled},
		{"child fails", func(j core.CompletableJob) {
			core.Launch(core.WithExceptionHandler(j.Context(), func(error) {}), func(context.Context) error { return failure })
		}, core.Cancelled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			job := core.NewJob(nil)
			type seen struct {
				state     core.State
				completed bool
				cause     error
				done      bool
			}
			res := make(chan seen, 1)
			job.InvokeOnCompletion(func(cause error) {
				res <- seen{job.State(), job.IsCompleted(), cause, testkit.IsClosed(job.Done())}
			})
			tt.end(job)
			testkit.MustJoin(t, job)
			got := <-res
			if got.state != tt.state || !got.completed {
				t.Errorf("inside the handler State() = %v, IsCompleted() = %v, want %v, true", got.state, got.completed, tt.state)
			}
			if got.done {
				t.Errorf("Done() already closed inside a completion handler, want it closed after the handlers ran")
			}
			if want := job.Cause(); want == nil && got.cause != nil || want != nil && !errors.Is(got.cause, want) {
				t.Errorf("handler cause = %v, want the final cause %v", got.cause, want)
			}
		})
	}
}

// TestRule10_DoneAndJoinWaitForHandlers checks that Done closes and Join
// returns only after the completion handlers have run, whether Done was
// first called before the job ended or while its handlers run, and that
// they run on the goroutine that made the job final (API rule 10; kotlinx
// rule 44).
func TestRule10_DoneAndJoinWaitForHandlers(t *testing.T) {
	t.Parallel()
	for _, early := range []bool{true, false} {
		name := map[bool]string{true: "Done called before", false: "Done first called during handlers"}[early]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			bodyG := make(chan string, 1)
			inHandler := make(chan struct{})
			releaseHandler := make(chan struct{})
			handlerG := make(chan string, 1)
			job := core.Launch(context.Background(), func(context.Context) error {
				bodyG <- goid()
				return nil
			}, core.Lazy())
			var done <-chan struct{}
			if early {
				done = job.Done()
			}
			job.InvokeOnCompletion(func(error) {
				handlerG <- goid()
				close(inHandler)
				testkit.Hold(t, releaseHandler)
			})
			var after atomic.Bool
			job.InvokeOnCompletion(func(error) { after.Store(true) })
			job.Start()
			testkit.WaitChan(t, inHandler, "completion handler to run")
			if !early {
				done = job.Done()
			}
			if testkit.IsClosed(done) {
				t.Errorf("Done() closed while a completion handler still runs")
			}
			joining := make(chan struct{})
			joined := make(chan error, 1)
			var afterAtJoin atomic.Bool
			go func() { // ends when the job is done
				close(joining)
				err := job.Join(context.Background())
				afterAtJoin.Store(after.Load())
				joined <- err
			}()
			<-joining // Join is about to be called while the first handler blocks
			close(releaseHandler)
			if err := testkit.WaitChan(t, joined, "Join"+" to return"); err != nil {
				t.Errorf("Join(ctx) = %v, want nil", err)
			}
			if !afterAtJoin.Load() {
				t.Errorf("Join returned before the second completion handler ran")
			}
			if b, h := <-bodyG, <-handlerG; b != h {
				t.Errorf("completion handler ran on goroutine %s, want the body's goroutine %s that made the job final", h, b)
			}
		})
	}
}

// TestRule10_RegisteredOnFinishedJob checks that a handler registered on a
// job already in its state runs at once on the caller's goroutine, with the
// right cause, and returns a harmless handle (API rule 10; kotlinx rules
// 45, 46).
func TestRule10_RegisteredOnFinishedJob(t *testing.T) {
	t.Parallel()
	why := testkit.NewErr("why")
	me := goid()

	completed := core.NewJob(nil)
	completed.Complete()
	var g string
	var cause error = why
	h := completed.InvokeOnCompletion(func(err error) { g, cause = goid(), err })
	if g != me || cause != nil {
		t.Errorf("handler on a completed job: ran on %q with %v, want at once on %s with nil", g, cause, me)
	}
	h.Dispose()
	h.Dispose()

	cancelled := core.NewJob(nil)
	cancelled.Cancel(why)
	g, cause = "", nil
	cancelled.InvokeOnCompletion(func(err error) { g, cause = goid(), err })
	if g != me || !errors.Is(cause, why) {
		t.Errorf("handler on a cancelled job: ran on %q with %v, want at once on %s with %v", g, cause, me, why)
	}
	g, cause = "", nil
	cancelled.InvokeOnCancelling(func(err error) { g, cause = goid(), err })
	if g != me || !errors.Is(cause, why) {
		t.Errorf("cancelling handler on a cancelled job: ran on %q with %v, want at once on %s with %v", g, cause, me, why)
	}

	// A Cancelling job: cancelling handlers run at once, completion handlers wait.
	cancelling, release := launchHeld(t, context.Background())
	cancelling.Cancel(why)
	g, cause = "", nil
	cancelling.InvokeOnCancelling(func(err error) { g, cause = goid(), err })
	if g != me || !errors.Is(cause, why) {
		t.Errorf("cancelling handler on a Cancelling job: ran on %q with %v, want at once on %s with %v", g, cause, me, why)
	}
	var fired counter
	cancelling.InvokeOnCompletion(func(error) { fired.inc() })
	if fired.get() != 0 {
		t.Errorf("completion handler on a Cancelling job ran before the job was final")
	}
	close(release)
	testkit.MustJoin(t, cancelling)
	if got := fired.get(); got != 1 {
		t.Errorf("completion handler ran %d times, want 1", got)
	}
}

// TestRule10_OnCancellingHandler ports kotlinx JobTest.testOnCancellingHandler:
// a cancelling handler runs when the job is cancelled, with the cause, before
// the job is final (API rule 10; kotlinx rule 46).
func TestRule10_OnCancellingHandler(t *testing.T) {
	t.Parallel()
	job, release := launchHeld(t, context.Background())
	var mu sync.Mutex
	var events []string
	var cancelCause error
	job.InvokeOnCancelling(func(err error) {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, "cancelling")
		cancelCause = err
	})
	job.InvokeOnCompletion(func(error) {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, "completion")
	})
	why := testkit.NewErr("why")
	job.Cancel(why)
	mu.Lock()
	if got := strings.Join(events, ","); got != "cancelling" {
		t.Errorf("events when Cancel returned = %q, want %q", got, "cancelling")
	}
	if !core.IsCancellation(cancelCause) || !errors.Is(cancelCause, why) {
		t.Errorf("cancelling handler cause = %v, want a cancellation caused by %v", cancelCause, why)
	}
	mu.Unlock()
	close(release)
	testkit.MustJoin(t, job)
	mu.Lock()
	defer mu.Unlock()
	if got := strings.Join(events, ","); got != "cancelling,completion" {
		t.Errorf("events = %q, want %q", got, "cancelling,completion")
	}
}

// TestAbstractCoroutine_Notifications ports kotlinx
// AbstractCoroutineTest.testNotifications (and
// JobTest.testInvokeOnCancellingFiringOnNormalExit): on normal completion
// the cancelling handler runs once with nil, before the completion handler
// (API rule 10; kotlinx rules 46, 52).
func TestAbstractCoroutine_Notifications(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var events []string
	add := func(name string, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			name += "(" + err.Error() + ")"
		}
		events = append(events, name)
	}
	release := make(chan struct{})
	job := core.Launch(context.Background(), func(context.Context) error {
		testkit.Hold(t, release)
		add("body", nil)
		return nil
	}, core.Lazy())
	job.InvokeOnCancelling(func(err error) { add("cancelling", err) })
	job.InvokeOnCompletion(func(err error) { add("completion", err) })
	job.Start()
	close(release)
	testkit.MustJoin(t, job)
	mu.Lock()
	defer mu.Unlock()
	if got, want := strings.Join(events, ","), "body,cancelling,completion"; got != want {
		t.Errorf("events = %s, want %s", got, want)
	}
}

// TestAbstractCoroutine_NotificationsWithException ports kotlinx
// AbstractCoroutineTest.testNotificationsWithException: the cancelling
// handler gets the root cause only, the completion handler the final
// aggregate (API rules 7, 10; kotlinx rules 46, 24).
func TestAbstractCoroutine_NotificationsWithException(t *testing.T) {
	t.Parallel()
	rec := testkit.NewRecorder()
	e1, e2 := testkit.NewErr("1"), testkit.NewErr("2")
	started := make(chan struct{})
	release := make(chan struct{})
	job := core.Launch(rec.Ctx(), func(context.Context) error {
		close(started)
		testkit.Hold(t, release) // ignores the cancellation
		return e2
	})
	testkit.WaitChan(t, started, "body to start")
	cancelling := make(chan error, 2)
	completion := make(chan error, 2)
	job.InvokeOnCancelling(func(err error) {
		cancelling <- err
		if testkit.IsClosed(job.Done()) || len(completion) != 0 {
			t.Errorf("cancelling handler ran after completion")
		}
	})
	job.InvokeOnCompletion(func(err error) { completion <- err })
	child := core.Launch(job.Context(), func(context.Context) error { return e1 })
	testkit.WaitDone(t, child)
	if len(cancelling) != 1 {
		t.Fatalf("cancelling handler ran %d times after the child failed, want 1", len(cancelling))
	}
	if err := <-cancelling; !errors.Is(err, e1) || errors.Is(err, e2) {
		t.Errorf("cancelling handler cause = %v, want the root cause %v only", err, e1)
	}
	close(release)
	testkit.MustJoin(t, job)
	if len(completion) != 1 || len(cancelling) != 0 {
		t.Fatalf("handlers ran (cancelling %d more, completion %d) times, want (0, 1)", len(cancelling), len(completion))
	}
	checkAggregate(t, "completion handler cause", <-completion, e1, e2)
	rec.ExpectOne(t, e1)
}

// TestRule10_DisposeAfterCompletion checks that disposing after the handler
// ran, or after the job completed, is harmless (API rule 10; kotlinx rule 50).
func TestRule10_DisposeAfterCompletion(t *testing.T) {
	t.Parallel()
	job := core.NewJob(nil)
	var fired counter
	h := job.InvokeOnCompletion(func(error) { fired.inc() })
	c := job.InvokeOnCancelling(func(error) { fired.inc() })
	job.Complete()
	h.Dispose()
	c.Dispose()
	h.Dispose()
	if got := fired.get(); got != 2 {
		t.Errorf("handlers ran %d times, want 2", got)
	}
}

// ---------------------------------------------------------------------------
// Rule 15: memory and concurrency of the handler list and the children.

// marker is a heap object whose collection is observed with
// runtime.AddCleanup; it is large and holds a pointer so that it is not a
// tiny allocation.
type marker struct {
	_ [64]byte
	p *int
}

func newMarker(collected *atomic.Int32) *marker {
	m := &marker{p: new(int)}
	runtime.AddCleanup(m, func(c *atomic.Int32) { c.Add(1) }, collected)
	return m
}

// retainSlack is how many released objects a job may still hold: a job may
// clean its list in batches, so a bounded number of dead entries awaiting
// the next pass is fine; what must not happen is growth with the number of
// children or handlers it has seen.
const retainSlack = 64

// waitCollected runs the GC until at least want markers were collected,
// failing the test after a generous time.
func waitCollected(t *testing.T, collected *atomic.Int32, want int32, what string) {
	t.Helper()
	deadline := time.Now().Add(testkit.WaitTimeout(t))
	for collected.Load() < want {
		if time.Now().After(deadline) {
			t.Fatalf("%s: only %d of %d objects were collected: still retained", what, collected.Load(), want)
		}
		runtime.GC()
		runtime.Gosched()
	}
}

// registerAndDispose registers a handler that holds m and disposes it at once.
func registerAndDispose(job core.Job, m *marker, cancelling bool) {
	h := func(error) { _ = m.p }
	if cancelling {
		job.InvokeOnCancelling(h).Dispose()
	} else {
		job.InvokeOnCompletion(h).Dispose()
	}
}

// TestRule15_DisposedHandlerHoldsNoMemory checks that disposed handlers are
// released by a long-lived job (API rules 10, 15; kotlinx
// JobStressTest's register/dispose loop).
func TestRule15_DisposedHandlerHoldsNoMemory(t *testing.T) {
	t.Parallel()
	const n = 2000
	job := core.NewJob(nil)
	defer job.Cancel(nil)
	var kept counter
	job.InvokeOnCompletion(func(error) { kept.inc() }) // one handler stays
	var collected atomic.Int32
	for i := range n {
		registerAndDispose(job, newMarker(&collected), i%2 == 0)
	}
	waitCollected(t, &collected, n-retainSlack, "disposed handlers")
	job.Cancel(nil)
	if got := kept.get(); got != 1 {
		t.Errorf("the handler that was not disposed ran %d times, want 1", got)
	}
}

// TestRule15_CompletedChildrenNotRetained checks that a long-lived parent
// holds no memory for children that have completed (API rule 15).
func TestRule15_CompletedChildrenNotRetained(t *testing.T) {
	t.Parallel()
	const n = 2000
	type key struct{}
	parent := core.NewJob(nil)
	defer parent.Cancel(nil)
	var collected atomic.Int32
	for i := range n {
		ctx := context.WithValue(parent.Context(), key{}, newMarker(&collected))
		if i%2 == 0 {
			child := core.NewJob(ctx)
			child.InvokeOnCompletion(func(error) {})
			child.Complete()
		} else {
			testkit.MustJoin(t, core.Launch(ctx, func(context.Context) error { return nil }))
		}
	}
	if got := children(parent); len(got) != 0 {
		t.Errorf("parent.Children() = %d jobs after all completed, want none", len(got))
	}
	waitCollected(t, &collected, n-retainSlack, "completed children")
	testkit.CheckState(t, parent, core.Active)
}

// TestRule15_HandlerRegistrationRace registers handlers from several
// goroutines while the job is cancelled: every handler runs exactly once,
// either at the end or at once (API rules 10, 15).
func TestRule15_HandlerRegistrationRace(t *testing.T) {
	t.Parallel()
	const goroutines, perG = 4, 25
	for iter := range 50 {
		job := core.NewJob(nil)
		completions := make([]counter, goroutines*perG)
		cancellings := make([]counter, goroutines*perG)
		gate := make(chan struct{})
		var wg sync.WaitGroup
		for g := range goroutines {
			goWG(&wg, func() {
				<-gate
				for k := range perG {
					i := g*perG + k
					job.InvokeOnCompletion(func(error) { completions[i].inc() })
					job.InvokeOnCancelling(func(error) { cancellings[i].inc() })
				}
			})
		}
		close(gate)
		job.Cancel(nil)
		wg.Wait()
		testkit.MustJoin(t, job)
		for i := range completions {
			if completions[i].get() != 1 || cancellings[i].get() != 1 {
				t.Fatalf("iteration %d: handler pair %d ran (%d, %d) times, want (1, 1)",
					iter, i, completions[i].get(), cancellings[i].get())
			}
		}
	}
}

// TestRule15_DisposeRace disposes handlers from several goroutines while the
// job completes: a handler runs at most once, and the ones never disposed run
// exactly once (API rules 10, 15; kotlinx JobHandlersUpgradeStressTest).
func TestRule15_DisposeRace(t *testing.T) {
	t.Parallel()
	const n = 100
	for iter := range 50 {
		job := core.NewJob(nil)
		fired := make([]counter, n)
		handles := make([]core.DisposableHandle, n)
		for i := range n {
			if i%2 == 0 {
				handles[i] = job.InvokeOnCompletion(func(error) { fired[i].inc() })
			} else {
				handles[i] = job.InvokeOnCancelling(func(error) { fired[i].inc() })
			}
		}
		gate := make(chan struct{})
		var wg sync.WaitGroup
		for g := range 2 {
			goWG(&wg, func() {
				<-gate
				for i := g; i < n; i += 4 { // disposes i%4 in {0, 1}
					handles[i].Dispose()
				}
			})
		}
		goWG(&wg, func() { <-gate; job.Complete() })
		close(gate)
		wg.Wait()
		for i := range n {
			got := fired[i].get()
			if got > 1 || i%4 >= 2 && got != 1 {
				t.Fatalf("iteration %d: handler %d ran %d times", iter, i, got)
			}
		}
	}
}
