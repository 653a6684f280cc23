package core_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jobtree/jobtree/core"
	"github.com/jobtree/jobtree/internal/testkit"
)

// ---------------------------------------------------------------------------
// Error types.

// TestCancellationError checks the error type of cancellations: it is
// context.Canceled for errors.Is, unwraps to its cause and mentions its
// message (API: CancellationError; STYLE 7, 9).
func TestCancellationError(t *testing.T) {
	t.Parallel()
	why := testkit.NewErr("why")
	tests := []struct {
		name string
		err  *core.CancellationError
	}{
		{"empty", &core.CancellationError{}},
		{"message", &core.CancellationError{Message: "stopped by user"}},
		{"cause", &core.CancellationError{Message: "stopped", Cause: why}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var err error = tt.err
			if !errors.Is(err, context.Canceled) {
				t.Errorf("errors.Is(%v, context.Canceled) = false, want true", err)
			}
			if errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("errors.Is(%v, context.DeadlineExceeded) = true, want false", err)
			}
			if !core.IsCancellation(err) || !core.IsCancellation(fmt.Errorf("wrapped: %w", err)) {
				t.Errorf("IsCancellation(%v) = false, want true", err)
			}
			if got := tt.err.Unwrap(); got != tt.err.Cause {
				t.Errorf("Unwrap() = %v, want %v", got, tt.err.Cause)
			}
			if tt.err.Cause != nil && !errors.Is(err, why) {
				t.Errorf("errors.Is(%v, cause) = false, want true", err)
			}
			if tt.err.Message != "" && !strings.Contains(err.Error(), tt.err.Message) {
				t.Errorf("Error() = %q, want it to contain %q", err.Error(), tt.err.Message)
			}
			if err.Error() == "" {
				t.Errorf("Error() is empty")
			}
		})
	}
}

// TestPanicError checks the error type of recovered panics (API: PanicError;
// STYLE 9).
func TestPanicError(t *testing.T) {
	t.Parallel()
	inner := testkit.NewErr("inner")
	withErr := &core.PanicError{Value: inner, Stack: []byte("stack")}
	if !errors.Is(withErr, inner) || withErr.Unwrap() != error(inner) {
		t.Errorf("PanicError{Value: err}.Unwrap() = %v, want %v", withErr.Unwrap(), inner)
	}
	withStr := &core.PanicError{Value: "boom"}
	if got := withStr.Unwrap(); got != nil {
		t.Errorf("PanicError{Value: string}.Unwrap() = %v, want nil", got)
	}
	if !strings.Contains(withStr.Error(), "boom") {
		t.Errorf("Error() = %q, want it to mention the value %q", withStr.Error(), "boom")
	}
	if core.IsCancellation(withStr) {
		t.Errorf("IsCancellation(PanicError) = true, want false")
	}
}

// TestIsCancellation checks IsCancellation on a few errors (API).
func TestIsCancellation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"context.Canceled", context.Canceled, true},
		{"wrapped context.Canceled", fmt.Errorf("x: %w", context.Canceled), true},
		{"joined context.Canceled", errors.Join(testkit.NewErr("a"), context.Canceled), true},
		{"context.DeadlineExceeded", context.DeadlineExceeded, false},
		{"plain error", testkit.NewErr("a"), false},
		{"CancellationError", &core.CancellationError{}, true},
	}
	for _, tt := range tests {
		if got := core.IsCancellation(tt.err); got != tt.want {
			t.Errorf("IsCancellation(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

// ---------------------------------------------------------------------------
// Rule 9: uncaught failures.

// TestRule9_ReportedOnceAfterChildrenBeforeJoin checks the timing of a
// report: once, with the failure, after all children of the reporting job
// are final, and before Join on it returns (API rule 9; kotlinx rule 42).
func TestRule9_ReportedOnceAfterChildrenBeforeJoin(t *testing.T) {
	t.Parallel()
	failure := testkit.NewErr("root")
	release := make(chan struct{})
	childStarted := make(chan struct{})
	childCh := make(chan core.Job, 1)
	var mu sync.Mutex
	var calls []error
	var childFinalAtReport []bool
	handler := func(err error) {
		c := <-childCh
		childCh <- c
		mu.Lock()
		calls = append(calls, err)
		childFinalAtReport = append(childFinalAtReport, c.IsCompleted())
		mu.Unlock()
	}
	job := core.Launch(core.WithExceptionHandler(context.Background(), handler), func(ctx context.Context) error {
		childCh <- core.Launch(ctx, func(context.Context) error {
			close(childStarted)
			testkit.Hold(t, release) // ignores the cancellation
			return nil
		})
		<-childStarted
		return failure
	})
	testkit.WaitChan(t, childStarted, "child to start")
	if got := waitLeaves(t, job, core.Active); got != core.Cancelling {
		t.Fatalf("State() = %v after the body failed, want %v", got, core.Cancelling)
	}
	mu.Lock()
	early := len(calls)
	mu.Unlock()
	if early != 0 {
		t.Errorf("the failure was reported while a child still ran")
	}
	close(release)
	testkit.MustJoin(t, job)
	mu.Lock()
	defer mu.Unlock()
	if len(calls) != 1 || !errors.Is(calls[0], failure) {
		t.Fatalf("exception handler got %v when Join returned, want exactly one call with %v", calls, failure)
	}
	if !childFinalAtReport[0] {
		t.Errorf("the failure was reported before the child was final")
	}
}

// TestRule9_CancellationsNeverReported checks that no kind of cancellation
// reaches the exception handler (API rule 9; kotlinx rule 41).
func TestRule9_CancellationsNeverReported(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		run  func(t *testing.T, ctx context.Context) core.Job
	}{
		{"Cancel", func(t *testing.T, ctx context.Context) core.Job {
			j := core.Launch(ctx, blockUntilDone(nil))
			j.Cancel(testkit.NewErr("plain cause"))
			return j
		}},
		{"body returns CancellationError", func(t *testing.T, ctx context.Context) core.Job {
			return core.Launch(ctx, func(context.Context) error {
				return &core.CancellationError{Cause: testkit.NewErr("why")}
			})
		}},
		{"parent cancelled", func(t *testing.T, ctx context.Context) core.Job {
			p := core.Launch(ctx, blockUntilDone(nil))
			core.Launch(p.Context(), blockUntilDone(nil))
			p.Cancel(nil)
			return p
		}},
		{"Fail with CancellationError", func(t *testing.T, ctx context.Context) core.Job {
			p := core.NewJob(ctx)
			core.Launch(p.Context(), blockUntilDone(nil))
			p.Fail(&core.CancellationError{})
			return p
		}},
		{"ctx cancelled", func(t *testing.T, ctx context.Context) core.Job {
			ctx, stop := context.WithCancelCause(ctx)
			j := core.Launch(ctx, blockUntilDone(nil))
			stop(testkit.NewErr("ctx cause"))
			return j
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := testkit.NewRecorder()
			job := tt.run(t, rec.Ctx())
			testkit.MustJoin(t, job)
			wantCancellation(t, job.Cause())
			rec.ExpectNone(t)
		})
	}
}

// TestRule9_HandlingParentSuppressesChildHandler checks that the handler
// given to a child is ignored when its parent handles the failure: the
// topmost Launch reports it (API rule 9; kotlinx rule 39).
func TestRule9_HandlingParentSuppressesChildHandler(t *testing.T) {
	t.Parallel()
	rootRec, childRec := testkit.NewRecorder(), testkit.NewRecorder()
	failure := testkit.NewErr("child")
	root := core.Launch(rootRec.Ctx(), func(ctx context.Context) error {
		core.Launch(core.WithExceptionHandler(ctx, childRec.Handle), func(context.Context) error {
			return failure
		})
		<-ctx.Done()
		return ctx.Err()
	})
	testkit.MustJoin(t, root)
	rootRec.ExpectOne(t, failure)
	childRec.ExpectNone(t)
}

// TestRule9_ChildOfRootJob ports kotlinx
// JobExceptionHandlingTest.testChildException and testExceptionIsHandledOnce:
// a root NewJob does not handle, so its failing Launch child reports once;
// its other child is only cancelled (API rule 9; kotlinx rules 37, 42).
func TestRule9_ChildOfRootJob(t *testing.T) {
	t.Parallel()
	rec := testkit.NewRecorder()
	job := core.NewJob(rec.Ctx())
	started := make(chan struct{})
	j1 := core.Launch(job.Context(), blockUntilDone(started))
	testkit.WaitChan(t, started, "first child to start")
	failure := testkit.NewErr("x")
	j2 := core.Launch(job.Context(), func(context.Context) error { return failure })
	if err := call(t, "JoinAll", func() error { return core.JoinAll(context.Background(), j1, j2) }); err != nil {
		t.Fatalf("JoinAll(ctx, j1, j2) = %v, want nil", err)
	}
	testkit.MustJoin(t, job)
	rec.ExpectOne(t, failure)
	testkit.CheckState(t, job, core.Cancelled)
	wantCancellation(t, j1.Cause())
}

// TestRule9_ExceptionOnChildCancellation ports kotlinx
// JobExceptionHandlingTest.testExceptionOnChildCancellation and
// testInnerChildException: a grandchild fails while its Launch parent is being
// cancelled through the root NewJob; the Launch ends with (and reports) the
// grandchild's failure (API rules 7, 9).
func TestRule9_ExceptionOnChildCancellation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		cancelRoot func(root core.CompletableJob, cause error)
	}{
		{"Cancel", func(root core.CompletableJob, _ error) { root.Cancel(nil) }},
		{"Fail", func(root core.CompletableJob, cause error) { root.Fail(cause) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := testkit.NewRecorder()
			root := core.NewJob(rec.Ctx())
			ioErr, arith := testkit.NewErr("io"), testkit.NewErr("arith")
			grandStarted := make(chan struct{})
			child := core.Launch(root.Context(), func(ctx context.Context) error {
				core.Launch(ctx, func(ctx context.Context) error {
					close(grandStarted)
					<-ctx.Done()
					return arith // fails when cancelled
				})
				<-grandStarted
				tt.cancelRoot(root, ioErr)
				<-ctx.Done()
				return ctx.Err()
			})
			testkit.MustJoin(t, child)
			testkit.MustJoin(t, root)
			got := rec.ExpectOne(t, arith)
			if errors.Is(got, ioErr) {
				t.Errorf("reported %v, want the grandchild's failure without the root's cause", got)
			}
			if err := child.Cause(); !errors.Is(err, arith) || core.IsCancellation(err) {
				t.Errorf("child.Cause() = %v, want %v", err, arith)
			}
		})
	}
}

// TestRule9_NoHandlerForBodylessAndScopes checks that body-less jobs and
// scopes never report: their failure lives in Cause() or is returned
// (API rules 9, 13).
func TestRule9_NoHandlerForBodylessAndScopes(t *testing.T) {
	t.Parallel()
	rec := testkit.NewRecorder()
	failure := testkit.NewErr("x")
	job := core.NewJob(rec.Ctx())
	job.Fail(failure)
	sup := core.NewSupervisorJob(rec.Ctx())
	sup.Fail(failure)
	err := call(t, "Scope", func() error {
		return core.Scope(rec.Ctx(), func(context.Context) error { return failure })
	})
	if !errors.Is(err, failure) {
		t.Errorf("Scope(ctx, f) = %v, want %v", err, failure)
	}
	err = call(t, "SupervisorScope", func() error {
		return core.SupervisorScope(rec.Ctx(), func(context.Context) error { return failure })
	})
	if !errors.Is(err, failure) {
		t.Errorf("SupervisorScope(ctx, f) = %v, want %v", err, failure)
	}
	rec.ExpectNone(t)
}

// TestRule9_AggregateIsReported checks that the handler receives the final,
// aggregated error (API rules 7, 9; kotlinx rule 42).
func TestRule9_AggregateIsReported(t *testing.T) {
	t.Parallel()
	rec := testkit.NewRecorder()
	e1, e2 := testkit.NewErr("1"), testkit.NewErr("2")
	started := make(chan struct{})
	release := make(chan struct{})
	job := core.Launch(rec.Ctx(), func(ctx context.Context) error {
		core.Launch(ctx, func(context.Context) error {
			close(started)
			testkit.Hold(t, release)
			return e2
		})
		<-started
		core.Launch(ctx, func(context.Context) error { return e1 })
		<-ctx.Done()
		close(release)
		return ctx.Err()
	})
	testkit.MustJoin(t, job)
	checkAggregate(t, "reported error", rec.ExpectOne(t, e1), e1, e2)
}

// TestRule9_DefaultHandlerLogs checks that without WithExceptionHandler an
// uncaught failure is logged with log/slog (API rule 9). It replaces the
// default slog logger, so it does not run in parallel.
func TestRule9_DefaultHandlerLogs(t *testing.T) {
	logs := captureSlog(t)
	failure := testkit.NewErr("unhandled in default handler test")
	job := core.Launch(context.Background(), func(context.Context) error { return failure })
	testkit.MustJoin(t, job)
	if got := logs.String(); !strings.Contains(got, failure.Error()) {
		t.Errorf("slog output = %q, want it to contain %q", got, failure.Error())
	}
}

// TestRule9_PanickingExceptionHandler checks that a panicking exception
// handler is recovered and logged, and the job still completes (API rule 9).
// It replaces the default slog logger, so it does not run in parallel.
func TestRule9_PanickingExceptionHandler(t *testing.T) {
	logs := captureSlog(t)
	var calls atomic.Int32
	ctx := core.WithExceptionHandler(context.Background(), func(error) {
		calls.Add(1)
		panic("handler exploded")
	})
	job := core.Launch(ctx, func(context.Context) error { return testkit.NewErr("x") })
	testkit.MustJoin(t, job)
	testkit.CheckState(t, job, core.Cancelled)
	if got := calls.Load(); got != 1 {
		t.Errorf("exception handler called %d times, want 1", got)
	}
	if got := logs.String(); !strings.Contains(got, "handler exploded") {
		t.Errorf("slog output = %q, want it to mention the handler's panic", got)
	}
}

// captureSlog makes the default slog logger write to a buffer until the test
// ends.
func captureSlog(t *testing.T) *syncBuffer {
	t.Helper()
	buf := &syncBuffer{}
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(buf, nil)))
	t.Cleanup(func() { slog.SetDefault(old) })
	return buf
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestRule9_CancelledParent ports kotlinx
// JobExceptionHandlingTest.testCancelledParent: a Launch under a failed
// parent never runs and reports nothing (API rules 4, 9).
func TestRule9_CancelledParent(t *testing.T) {
	t.Parallel()
	rec := testkit.NewRecorder()
	parent := core.NewJob(rec.Ctx())
	parent.Fail(testkit.NewErr("parent"))
	var ran atomic.Bool
	job := core.Launch(parent.Context(), func(context.Context) error { ran.Store(true); return testkit.NewErr("child") })
	testkit.MustJoin(t, job)
	if ran.Load() {
		t.Errorf("body ran under a failed parent")
	}
	rec.ExpectNone(t)
}

// TestRule9_NestedExceptionHandlersInScope checks that a failure inside a
// scope's tree is returned by the scope and reported to nobody, even with
// handlers on the children's contexts (API rules 9, 13; kotlinx rule 40).
func TestRule9_NestedExceptionHandlersInScope(t *testing.T) {
	t.Parallel()
	outer, inner := testkit.NewRecorder(), testkit.NewRecorder()
	failure := testkit.NewErr("x")
	err := call(t, "Scope", func() error {
		return core.Scope(outer.Ctx(), func(ctx context.Context) error {
			core.Launch(core.WithExceptionHandler(ctx, inner.Handle), func(ctx context.Context) error {
				core.Launch(ctx, func(context.Context) error { return failure })
				return nil
			})
			return nil
		})
	})
	if !errors.Is(err, failure) {
		t.Errorf("Scope(ctx, f) = %v, want %v", err, failure)
	}
	outer.ExpectNone(t)
	inner.ExpectNone(t)
}

// uncomparableError is an error whose dynamic type cannot be compared with
// ==: the Go counterpart of kotlinx's BadException, whose hashCode throws.
type uncomparableError struct{ parts []string }

func (e uncomparableError) Error() string { return strings.Join(e.parts, "/") }

// TestJobExceptionHandling_UncomparableErrors ports kotlinx
// JobExceptionHandlingTest.testBadException: failures of an error type that
// cannot be compared with == are recorded, aggregated and reported without
// crashing the process (API rules 7, 9: the process never crashes because of
// user code).
func TestJobExceptionHandling_UncomparableErrors(t *testing.T) {
	t.Parallel()
	t.Run("single", func(t *testing.T) {
		t.Parallel()
		rec := testkit.NewRecorder()
		parent := core.NewJob(rec.Ctx())
		job := core.Launch(parent.Context(), func(context.Context) error {
			return uncomparableError{[]string{"only"}}
		})
		testkit.MustJoin(t, job)
		testkit.MustJoin(t, parent)
		testkit.CheckState(t, job, core.Cancelled)
		var ue uncomparableError
		if !errors.As(job.Cause(), &ue) || !errors.As(parent.Cause(), &ue) {
			t.Errorf("Cause() = %v, parent.Cause() = %v, want the uncomparable failure", job.Cause(), parent.Cause())
		}
		if errs := rec.Errors(); len(errs) != 1 || errs[0].Error() != "only" {
			t.Errorf("exception handler got %v, want one call with %q", errs, "only")
		}
	})
	t.Run("Fail", func(t *testing.T) {
		t.Parallel()
		parent := core.NewJob(nil)
		job := core.NewJob(parent.Context())
		if !job.Fail(uncomparableError{[]string{"failed"}}) {
			t.Fatalf("Fail() = false, want true")
		}
		testkit.MustJoin(t, parent)
		var ue uncomparableError
		if !errors.As(job.Cause(), &ue) || !errors.As(parent.Cause(), &ue) {
			t.Errorf("Cause() = %v, parent.Cause() = %v, want the uncomparable failure", job.Cause(), parent.Cause())
		}
	})
	t.Run("aggregated", func(t *testing.T) {
		t.Parallel()
		rec := testkit.NewRecorder()
		started := make(chan struct{})
		release := make(chan struct{})
		job := core.Launch(rec.Ctx(), func(ctx context.Context) error {
			core.Launch(ctx, func(context.Context) error {
				close(started)
				testkit.Hold(t, release) // ignores the cancellation
				return uncomparableError{[]string{"second"}}
			})
			<-started
			first := core.Launch(ctx, func(context.Context) error { return uncomparableError{[]string{"first"}} })
			<-first.Done()
			close(release)
			return uncomparableError{[]string{"body"}}
		})
		testkit.MustJoin(t, job)
		testkit.CheckState(t, job, core.Cancelled)
		errs := rec.Errors()
		if len(errs) != 1 {
			t.Fatalf("exception handler got %v, want one call", errs)
		}
		if got := errs[0].Error(); !strings.HasPrefix(got, "first") || !strings.Contains(got, "second") || !strings.Contains(got, "body") {
			t.Errorf("reported error = %q, want the first failure followed by the others", got)
		}
		if got := len(multiErrors(job.Cause())); got != 3 {
			t.Errorf("Cause() = %v lists %d errors, want 3", job.Cause(), got)
		}
	})
}

// TestMultiError checks the aggregated cause of a job with several
// failures: its type, First, Error, and that errors.Is finds every failure
// (API rule 7); and the name of a job's context.
func TestMultiError(t *testing.T) {
	t.Parallel()
	first, second := testkit.NewErr("first"), testkit.NewErr("second")
	rec := testkit.NewRecorder()
	s := core.NewJob(rec.Ctx()) // handles nothing: the Launch child reports
	started, release := make(chan struct{}), make(chan struct{})
	core.Launch(s.Context(), func(ctx context.Context) error {
		close(started)
		<-release // ignores the cancellation, then fails
		return second
	})
	<-started
	core.NewJob(s.Context()).Fail(first) // cancels s and the sibling
	close(release)
	s.Complete()
	testkit.MustJoin(t, s)
	m := testkit.As[*core.MultiError](t, "Cause()", s.Cause())
	if !errors.Is(m.First(), first) || !errors.Is(m, second) {
		t.Errorf("First() = %v, errors.Is(cause, second) = %v; want %v, true", m.First(), errors.Is(m, second), first)
	}
	if got := m.Error(); !strings.HasPrefix(got, first.Error()) {
		t.Errorf("Error() = %q, want it to start with %q", got, first.Error())
	}
	rec.ExpectOne(t, second)
	if got := fmt.Sprint(s.Context()); !strings.HasSuffix(got, ".Context") {
		t.Errorf("job context String() = %q, want a name ending in .Context", got)
	}
}
