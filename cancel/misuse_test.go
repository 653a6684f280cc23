package cancel_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jobtree/jobtree/cancel"
	"github.com/jobtree/jobtree/core"
	"github.com/jobtree/jobtree/internal/testkit"
)

// noBlock is a LaunchOnCancellation block that records that it ran.
func noBlock(ran *atomic.Bool) func(context.Context, error) error {
	return func(context.Context, error) error { ran.Store(true); return nil }
}

// copiedLatest is a program that copies a Latest after first use: go vet
// must report the copy.
const copiedLatest = `package main

import (
	"context"

	"github.com/jobtree/jobtree/cancel"
)

func main() {
	var l cancel.Latest[int]
	_, _ = l.Run(context.Background(), func(context.Context) (int, error) { return 1, nil })
	c := l // the copy
	_, _ = c.Run(context.Background(), func(context.Context) (int, error) { return 2, nil })
}
`

// vetCopiedLatest runs go vet on copiedLatest, once per test binary (it
// takes a build), and returns its output and error; skip is not empty when
// there is no go command to run.
var vetCopiedLatest = sync.OnceValues(func() (out string, skip string) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		return "", "no go command: " + err.Error()
	}
	dir, err := os.MkdirTemp("", "misuse")
	if err != nil {
		return "", "no temporary directory: " + err.Error()
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "main.go")
	if err := os.WriteFile(file, []byte(copiedLatest), 0o600); err != nil {
		return "", "cannot write the program: " + err.Error()
	}
	// Run from the package's directory: the program's imports resolve in
	// this module.
	b, err := exec.Command(goCmd, "vet", file).CombinedOutput()
	return string(b) + "\n(go vet: " + errString(err) + ")", ""
})

// errString is err's text, or "ok" for nil.
func errString(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}

// TestMisuse is cancel's part of the misuse catalogue
// (docs/reliability.md): every bad input the package's API can get, with
// its documented result — an error that errors.Is or errors.As
// recognises, or a panic whose message starts with "cancel: ", at the call
// that got the bad input. No row may hang (every call is bounded, and
// fails the test with a goroutine dump), crash inside the library (a
// panic is caught and checked) or lose anything (a block run that should
// not, a run superseded for nothing, a failure not reported).
func TestMisuse(t *testing.T) {
	t.Parallel()
	tests := []testkit.MisuseCase{
		// CancelAndJoin.
		{Name: "CancelAndJoin/nil job", Want: `panic "cancel: …" (also with a nil ctx)`, Run: func(t *testing.T) {
			for _, ctx := range []context.Context{context.Background(), nil} {
				testkit.Try(t, "CancelAndJoin(ctx, nil)", func() (int, error) {
					return 0, cancel.CancelAndJoin(ctx, nil)
				}).WantPanic(t, "CancelAndJoin(ctx, nil)", "cancel: ")
			}
		}},
		{Name: "CancelAndJoin/nil ctx", Want: "as context.Background(): the job is cancelled and joined, nil", Run: func(t *testing.T) {
			j := core.Launch(nil, func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() })
			_, err := testkit.Try(t, "CancelAndJoin(nil, job)", func() (int, error) { return 0, cancel.CancelAndJoin(nil, j) }).Returned(t, "CancelAndJoin(nil, job)")
			if err != nil || j.State() != core.Cancelled {
				t.Errorf("CancelAndJoin(nil, job) = %v with the job %v; want nil, Cancelled", err, j.State())
			}
		}},
		{Name: "CancelAndJoin/complete job", Want: "nil; the job stays Completed", Run: func(t *testing.T) {
			j := core.NewJob(nil)
			j.Complete()
			_, err := testkit.Try(t, "CancelAndJoin(ctx, job)", func() (int, error) { return 0, cancel.CancelAndJoin(context.Background(), j) }).Returned(t, "CancelAndJoin(ctx, job)")
			if err != nil || j.State() != core.Completed || j.Cause() != nil {
				t.Errorf("CancelAndJoin(ctx, complete job) = %v with the job %v, cause %v; want nil, Completed, nil", err, j.State(), j.Cause())
			}
		}},
		{Name: "CancelAndJoin/lazy job never started", Want: "nil; the job is Cancelled and its body never runs", Run: func(t *testing.T) {
			var ran atomic.Bool
			j := core.Launch(nil, func(context.Context) error { ran.Store(true); return nil }, core.Lazy())
			_, err := testkit.Try(t, "CancelAndJoin(ctx, lazy)", func() (int, error) { return 0, cancel.CancelAndJoin(context.Background(), j) }).Returned(t, "CancelAndJoin(ctx, lazy)")
			if err != nil || j.State() != core.Cancelled || ran.Load() {
				t.Errorf("CancelAndJoin(ctx, lazy) = %v with the job %v, body ran %v; want nil, Cancelled, false", err, j.State(), ran.Load())
			}
		}},
		{Name: "CancelAndJoin/own or ancestor job, from inside", Want: "cancels it and returns the cancellation at once (no deadlock)", Run: func(t *testing.T) {
			for _, depth := range []int{0, 1} {
				errc := make(chan error, 1)
				j := core.Launch(nil, func(ctx context.Context) error {
					self := core.JobOf(ctx)
					if depth == 0 {
						errc <- cancel.CancelAndJoin(ctx, self)
						return nil
					}
					child := core.Launch(ctx, func(ctx context.Context) error {
						errc <- cancel.CancelAndJoin(ctx, self)
						return nil
					})
					return child.Join(cancel.NonCancellable(ctx))
				})
				_, err := testkit.Try(t, "CancelAndJoin from inside", func() (int, error) { <-j.Done(); return 0, <-errc }).Returned(t, "CancelAndJoin from inside")
				wantCancellation(t, "CancelAndJoin(own ctx, job)", err)
				if s := j.State(); s != core.Cancelled {
					t.Errorf("depth %d: job %v, want Cancelled", depth, s)
				}
			}
		}},
		{Name: "CancelAndJoin/done ctx", Want: "*core.CancellationError carrying context.Cause(ctx), at once; the job is cancelled all the same", Run: func(t *testing.T) {
			release := make(chan struct{})
			j := core.Launch(nil, func(ctx context.Context) error { testkit.Hold(t, release); return ctx.Err() })
			cause := testkit.NewErr("gave up")
			_, err := testkit.Try(t, "CancelAndJoin(done ctx, job)", func() (int, error) { return 0, cancel.CancelAndJoin(testkit.DoneCtx(cause), j) }).Returned(t, "CancelAndJoin(done ctx, job)")
			testkit.WantCancellation(t, "CancelAndJoin(done ctx, job)", err, cause)
			if !j.IsCancelled() {
				t.Errorf("job %v after CancelAndJoin(done ctx, job), want it cancelled", j.State())
			}
			close(release)
			testkit.MustJoin(t, j)
		}},

		// EnsureActive, IsActive, Yield, NonCancellable.
		{Name: "EnsureActive/nil ctx", Want: "as context.Background(): nil; IsActive true; Yield nil", Run: func(t *testing.T) {
			if err := cancel.EnsureActive(nil); err != nil {
				t.Errorf("EnsureActive(nil) = %v, want nil", err)
			}
			if !cancel.IsActive(nil) {
				t.Error("IsActive(nil) = false, want true")
			}
			_, err := testkit.Try(t, "Yield(nil)", func() (int, error) {
				return 0, cancel.Yield(nil)
			}).Returned(t, "Yield(nil)")
			if err != nil {
				t.Errorf("Yield(nil) = %v, want nil", err)
			}
		}},
		{Name: "EnsureActive/done ctx", Want: "*core.CancellationError carrying context.Cause(ctx); IsActive false; Yield the same error", Run: func(t *testing.T) {
			cause := testkit.NewErr("gave up")
			ctx := testkit.DoneCtx(cause)
			testkit.WantCancellation(t, "EnsureActive(done ctx)", cancel.EnsureActive(ctx), cause)
			if cancel.IsActive(ctx) {
				t.Error("IsActive(done ctx) = true, want false")
			}
			_, err := testkit.Try(t, "Yield(done ctx)", func() (int, error) { return 0, cancel.Yield(ctx) }).Returned(t, "Yield(done ctx)")
			testkit.WantCancellation(t, "Yield(done ctx)", err, cause)
		}},
		{Name: "EnsureActive/ctx of a lazy job not started", Want: "a *core.CancellationError (the job is not active); IsActive false", Run: func(t *testing.T) {
			j := core.Launch(nil, func(context.Context) error { return nil }, core.Lazy())
			defer j.Cancel(nil)
			wantCancellation(t, "EnsureActive(lazy job's ctx)", cancel.EnsureActive(j.Context()))
			if cancel.IsActive(j.Context()) {
				t.Error("IsActive(lazy job's ctx) = true, want false")
			}
			if s := j.State(); s != core.New {
				t.Errorf("the lazy job is %v after EnsureActive, want it not started", s)
			}
		}},
		{Name: "EnsureActive/ctx of a complete job", Want: "a *core.CancellationError; IsActive false", Run: func(t *testing.T) {
			j := core.NewJob(nil)
			j.Complete()
			wantCancellation(t, "EnsureActive(complete job's ctx)", cancel.EnsureActive(j.Context()))
			if cancel.IsActive(j.Context()) {
				t.Error("IsActive(complete job's ctx) = true, want false")
			}
		}},
		{Name: "NonCancellable/nil ctx", Want: "as context.Background(): never done, no deadline, no job", Run: func(t *testing.T) {
			ctx := cancel.NonCancellable(nil)
			_, hasDeadline := ctx.Deadline()
			if ctx.Done() != nil || ctx.Err() != nil || context.Cause(ctx) != nil || hasDeadline || core.JobOf(ctx) != nil {
				t.Errorf("NonCancellable(nil): Done() = %v, Err() = %v, Cause = %v, has deadline %v, JobOf = %v; want nil, nil, nil, false, nil",
					ctx.Done(), ctx.Err(), context.Cause(ctx), hasDeadline, core.JobOf(ctx))
			}
		}},

		// LaunchOnCancellation.
		{Name: "LaunchOnCancellation/nil job or block", Want: `panic "cancel: …"; nothing is launched`, Run: func(t *testing.T) {
			job := core.NewJob(nil)
			defer job.Cancel(nil)
			var ran atomic.Bool
			block := noBlock(&ran)
			for what, call := range map[string]func(){
				"LaunchOnCancellation(nil, block)": func() { cancel.LaunchOnCancellation(nil, block) },
				"LaunchOnCancellation(job, nil)":   func() { cancel.LaunchOnCancellation(job, nil) },
				"LaunchOnCancellation(nil, nil)":   func() { cancel.LaunchOnCancellation(nil, nil) },
			} {
				testkit.Try(t, what, func() (int, error) { call(); return 0, nil }).WantPanic(t, what, "cancel: ")
			}
			for range job.Children() {
				t.Error("the job has a child after the panics, want none")
			}
		}},
		{Name: "LaunchOnCancellation/complete job", Want: "the deferred is born Cancelled and block runs at once", Run: func(t *testing.T) {
			job := core.NewJob(nil)
			job.Complete()
			causes := make(chan error, 1)
			d := cancel.LaunchOnCancellation(job, func(_ context.Context, cause error) error { causes <- cause; return nil })
			if s := d.State(); s != core.Cancelled {
				t.Errorf("the deferred is %v, want Cancelled", s)
			}
			if cause := testkit.WaitChan(t, causes, "block"); !core.IsCancellation(cause) {
				t.Errorf("block's cause = %v, want a cancellation", cause)
			}
		}},
		{Name: "LaunchOnCancellation/Complete twice", Want: "true, then false; block never runs, even once job is cancelled", Run: func(t *testing.T) {
			job := core.NewJob(nil)
			var ran atomic.Bool
			d := cancel.LaunchOnCancellation(job, noBlock(&ran))
			if !d.Complete(struct{}{}) || d.Complete(struct{}{}) {
				t.Error("Complete twice: want true, then false")
			}
			job.Cancel(nil)
			testkit.MustJoin(t, job) // the deferred, and the goroutine that would run block, are done
			if ran.Load() {
				t.Error("block ran after Complete, want never")
			}
		}},
		{Name: "LaunchOnCancellation/Fail(nil) on the deferred", Want: `panic "async: …" (the deferred's Fail is async's); nothing changes, block does not run`, Run: func(t *testing.T) {
			job := core.NewJob(nil)
			var ran atomic.Bool
			d := cancel.LaunchOnCancellation(job, noBlock(&ran))
			testkit.Try(t, "d.Fail(nil)", func() (bool, error) { return d.Fail(nil), nil }).WantPanic(t, "d.Fail(nil)", "async: ")
			if s := d.State(); s != core.Active {
				t.Errorf("the deferred is %v after Fail(nil), want Active", s)
			}
			d.Complete(struct{}{})
			job.Complete()
			testkit.MustJoin(t, job)
			if ran.Load() {
				t.Error("block ran, want never")
			}
		}},
		{Name: "LaunchOnCancellation/Cancel after completion", Want: "nothing: the deferred stays Completed, block never runs", Run: func(t *testing.T) {
			job := core.NewJob(nil)
			var ran atomic.Bool
			d := cancel.LaunchOnCancellation(job, noBlock(&ran))
			d.Complete(struct{}{})
			// Complete leaves the deferred Completing until the goroutine
			// that would run block has ended; a Cancel in that window
			// would still cancel it (block would not run). Once complete,
			// Cancel does nothing.
			testkit.MustJoin(t, d)
			d.Cancel(nil)
			job.Complete()
			testkit.MustJoin(t, job)
			if s := d.State(); s != core.Completed || ran.Load() {
				t.Errorf("the deferred is %v and block ran %v, want Completed, false", s, ran.Load())
			}
		}},
		{Name: "LaunchOnCancellation/block fails or panics", Want: "reported to the exception handler of job's context; neither the deferred nor job fails", Run: func(t *testing.T) {
			errBoom := testkit.NewErr("boom")
			for _, block := range []func(context.Context, error) error{
				func(context.Context, error) error { return errBoom },
				func(context.Context, error) error { panic("boom") },
			} {
				rec := testkit.NewRecorder()
				job := core.NewJob(rec.Ctx())
				d := cancel.LaunchOnCancellation(job, block)
				job.Cancel(nil)
				testkit.MustJoin(t, job)
				testkit.WaitChan(t, rec.Notify, "the report of block's failure")
				errs := rec.Errors()
				var pe *core.PanicError
				if len(errs) != 1 || (!errors.Is(errs[0], errBoom) && !(errors.As(errs[0], &pe) && pe.Value == "boom")) {
					t.Errorf("exception handler got %v, want exactly block's failure", errs)
				}
				if !core.IsCancellation(job.Cause()) || !core.IsCancellation(d.Cause()) {
					t.Errorf("job's cause %v, the deferred's %v; want cancellations, not failures", job.Cause(), d.Cause())
				}
			}
		}},

		// RunInterruptible.
		{Name: "RunInterruptible/nil f", Want: `panic "cancel: …" (also with a nil ctx)`, Run: func(t *testing.T) {
			for _, ctx := range []context.Context{context.Background(), nil} {
				testkit.Try(t, "RunInterruptible(ctx, nil)", func() (int, error) {
					return cancel.RunInterruptible[int](ctx, nil)
				}).WantPanic(t, "RunInterruptible(ctx, nil)", "cancel: ")
			}
		}},
		{Name: "RunInterruptible/nil ctx", Want: "as context.Background(): f's result", Run: func(t *testing.T) {
			v, err := testkit.Try(t, "RunInterruptible(nil, f)", func() (int, error) {
				return cancel.RunInterruptible(nil, func() (int, error) { return 42, nil })
			}).Returned(t, "RunInterruptible(nil, f)")
			if v != 42 || err != nil {
				t.Errorf("RunInterruptible(nil, f) = %v, %v; want 42, nil", v, err)
			}
		}},
		{Name: "RunInterruptible/done ctx", Want: "what EnsureActive returns; f never runs", Run: func(t *testing.T) {
			var ran atomic.Bool
			cause := testkit.NewErr("gave up")
			_, err := testkit.Try(t, "RunInterruptible(done ctx, f)", func() (int, error) {
				return cancel.RunInterruptible(testkit.DoneCtx(cause), func() (int, error) { ran.Store(true); return 1, nil })
			}).Returned(t, "RunInterruptible(done ctx, f)")
			testkit.WantCancellation(t, "RunInterruptible(done ctx, f)", err, cause)
			if ran.Load() {
				t.Error("f ran with a done ctx, want never")
			}
		}},
		{Name: "RunInterruptible/f panics", Want: "a *core.PanicError returned to the caller; the process goes on", Run: func(t *testing.T) {
			_, err := testkit.Try(t, "RunInterruptible(ctx, panicking f)", func() (int, error) {
				return cancel.RunInterruptible(context.Background(), func() (int, error) { panic("boom") })
			}).Returned(t, "RunInterruptible(ctx, panicking f)")
			var pe *core.PanicError
			if !errors.As(err, &pe) || pe.Value != "boom" {
				t.Errorf("RunInterruptible(ctx, panicking f) = %v, want a *core.PanicError with value boom", err)
			}
		}},

		// Latest.
		{Name: "Latest/zero value", Want: "ready to use", Run: func(t *testing.T) {
			var l cancel.Latest[int]
			v, err := testkit.Try(t, "Run", func() (int, error) {
				return l.Run(context.Background(), func(context.Context) (int, error) { return 42, nil })
			}).Returned(t, "Run")
			if v != 42 || err != nil {
				t.Errorf("Run on the zero Latest = %v, %v; want 42, nil", v, err)
			}
		}},
		{Name: "Latest/copied", Want: "go vet's copylocks check reports the copy (Latest holds a noCopy)", Run: func(t *testing.T) {
			if testing.Short() {
				t.Skip("runs go vet")
			}
			out, skip := vetCopiedLatest()
			if skip != "" {
				t.Skip(skip)
			}
			if !strings.Contains(out, "assignment copies lock value to c") || !strings.Contains(out, "cancel.Latest") {
				t.Errorf("go vet on a program that copies a Latest:\n%s\nwant it to report the copy", out)
			}
		}},
		{Name: "Latest.Run/nil body", Want: `panic "cancel: …" (also with a nil ctx)`, Run: func(t *testing.T) {
			var l cancel.Latest[int]
			for _, ctx := range []context.Context{context.Background(), nil} {
				testkit.Try(t, "Run(ctx, nil)", func() (int, error) { return l.Run(ctx, nil) }).WantPanic(t, "Run(ctx, nil)", "cancel: ")
			}
			// Nothing is left running: the next Run proceeds at once.
			v, err := testkit.Try(t, "Run", func() (int, error) {
				return l.Run(context.Background(), func(context.Context) (int, error) { return 1, nil })
			}).Returned(t, "Run")
			if v != 1 || err != nil {
				t.Errorf("Run after the panics = %v, %v; want 1, nil", v, err)
			}
		}},
		{Name: "Latest.Run/nil ctx", Want: "as context.Background()", Run: func(t *testing.T) {
			var l cancel.Latest[int]
			v, err := testkit.Try(t, "Run(nil, body)", func() (int, error) {
				return l.Run(nil, func(context.Context) (int, error) { return 42, nil })
			}).Returned(t, "Run(nil, body)")
			if v != 42 || err != nil {
				t.Errorf("Run(nil, body) = %v, %v; want 42, nil", v, err)
			}
		}},
		{Name: "Latest.Run/nested in its own body", Want: "an error wrapping core.ErrJoinCycle, at once; supersedes nothing (from the body or a job it launched, with their ctx)", Run: func(t *testing.T) {
			for _, fromChild := range []bool{false, true} {
				var l cancel.Latest[int]
				var nested error
				nestedRun := func(ctx context.Context) {
					_, nested = l.Run(ctx, func(context.Context) (int, error) { return 2, nil })
				}
				v, err := testkit.Try(t, "Run", func() (int, error) {
					return l.Run(context.Background(), func(ctx context.Context) (int, error) {
						if !fromChild {
							nestedRun(ctx)
						} else if err := core.Launch(ctx, func(ctx context.Context) error { nestedRun(ctx); return nil }).Join(ctx); err != nil {
							return 0, err
						}
						return 1, ctx.Err() // not superseded: nil
					})
				}).Returned(t, "Run")
				if !errors.Is(nested, core.ErrJoinCycle) {
					t.Errorf("nested Run (from a child: %v) = %v, want an error wrapping core.ErrJoinCycle", fromChild, nested)
				}
				if v != 1 || err != nil {
					t.Errorf("outer Run (nested from a child: %v) = %v, %v; want 1, nil", fromChild, v, err)
				}
			}
		}},
		{Name: "Latest.Run/done ctx", Want: "what EnsureActive returns; body never runs; the running body is not superseded", Run: func(t *testing.T) {
			var l cancel.Latest[int]
			started, release := make(chan struct{}), make(chan struct{})
			first := runAsync(&l, context.Background(), func(ctx context.Context) (int, error) {
				close(started)
				testkit.Hold(t, release)
				return 1, ctx.Err() // superseded: a cancellation
			})
			testkit.WaitChan(t, started, "the first body")
			var ran atomic.Bool
			cause := testkit.NewErr("gave up")
			_, err := testkit.Try(t, "Run(done ctx, body)", func() (int, error) {
				return l.Run(testkit.DoneCtx(cause), func(context.Context) (int, error) { ran.Store(true); return 2, nil })
			}).Returned(t, "Run(done ctx, body)")
			testkit.WantCancellation(t, "Run(done ctx, body)", err, cause)
			close(release)
			if r := testkit.WaitChan(t, first, "the first Run"); r.v != 1 || r.err != nil {
				t.Errorf("the first Run = %v, %v; want 1, nil (not superseded)", r.v, r.err)
			}
			if ran.Load() {
				t.Error("the body ran with a done ctx, want never")
			}
		}},
		{Name: "Latest.Run/body panics", Want: "a *core.PanicError; the Latest stays usable", Run: func(t *testing.T) {
			var l cancel.Latest[int]
			_, err := testkit.Try(t, "Run(ctx, panicking body)", func() (int, error) {
				return l.Run(context.Background(), func(context.Context) (int, error) { panic("boom") })
			}).Returned(t, "Run(ctx, panicking body)")
			var pe *core.PanicError
			if !errors.As(err, &pe) || pe.Value != "boom" {
				t.Errorf("Run(ctx, panicking body) = %v, want a *core.PanicError with value boom", err)
			}
			v, err := testkit.Try(t, "Run", func() (int, error) {
				return l.Run(context.Background(), func(context.Context) (int, error) { return 1, nil })
			}).Returned(t, "Run")
			if v != 1 || err != nil {
				t.Errorf("Run after a panic = %v, %v; want 1, nil", v, err)
			}
		}},
	}
	testkit.RunCatalogue(t, testkit.CatalogueDoc, tests)
}
