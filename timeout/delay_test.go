package timeout_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jobtree/jobtree/core"
	"github.com/jobtree/jobtree/internal/testkit"
	"github.com/jobtree/jobtree/timeout"
)

// TestDelayElapses checks that Delay returns nil once d has passed.
func TestDelayElapses(t *testing.T) {
	t.Parallel()
	var err error
	within(t, "Delay", func() { err = timeout.Delay(context.Background(), shortDuration) })
	if err != nil {
		t.Errorf("Delay(ctx, %v) = %v, want nil", shortDuration, err)
	}
}

// TestDelayNonPositive checks that a non-positive d returns nil at once,
// without looking at ctx (kotlinx's delay(0) does not check for
// cancellation either).
func TestDelayNonPositive(t *testing.T) {
	t.Parallel()
	done, stop := context.WithCancel(context.Background())
	stop()
	for _, d := range []time.Duration{0, -1, -time.Hour} {
		for _, ctx := range []context.Context{context.Background(), done, nil} {
			if err := timeout.Delay(ctx, d); err != nil {
				t.Errorf("Delay(%v, %v) = %v, want nil", ctx, d, err)
			}
		}
	}
}

// TestDelayDoneContext checks the error of a Delay whose ctx is already
// done: a *core.CancellationError carrying context.Cause(ctx), or that
// cause itself when it is one (the spec's rule 11).
func TestDelayDoneContext(t *testing.T) {
	t.Parallel()
	stopped := errors.New("stopped")
	jobCause := &core.CancellationError{Message: "job stopped"}
	tests := []struct {
		name string
		ctx  func(t *testing.T) context.Context
		// want checks the error beyond its being a cancellation.
		want func(t *testing.T, err error)
	}{
		{
			name: "cancelled",
			ctx: func(*testing.T) context.Context {
				ctx, stop := context.WithCancel(context.Background())
				stop()
				return ctx
			},
			want: func(t *testing.T, err error) {
				if ce := testkit.CancellationOf(t, "Delay", err); !errors.Is(ce.Cause, context.Canceled) {
					t.Errorf("Delay = %v, want its Cause to be context.Canceled", err)
				}
			},
		},
		{
			name: "cancelled with a cause",
			ctx: func(*testing.T) context.Context {
				ctx, stop := context.WithCancelCause(context.Background())
				stop(stopped)
				return ctx
			},
			want: func(t *testing.T, err error) {
				if ce := testkit.CancellationOf(t, "Delay", err); !errors.Is(ce.Cause, stopped) {
					t.Errorf("Delay = %v, want its Cause to be %v", err, stopped)
				}
			},
		},
		{
			name: "deadline",
			ctx: func(t *testing.T) context.Context {
				ctx, stop := context.WithTimeout(context.Background(), shortDuration)
				t.Cleanup(stop)
				testkit.WaitChan(t, ctx.Done(), "the deadline")
				return ctx
			},
			want: func(t *testing.T, err error) {
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("Delay = %v, want it caused by context.DeadlineExceeded", err)
				}
			},
		},
		{
			name: "job cancelled",
			ctx: func(*testing.T) context.Context {
				job := core.NewJob(nil)
				job.Cancel(jobCause)
				return job.Context()
			},
			want: func(t *testing.T, err error) {
				// The job's cause already is a cancellation: it is
				// returned as it is, not wrapped again.
				if ce, ok := err.(*core.CancellationError); !ok || ce != jobCause {
					t.Errorf("Delay = %v (%T), want the job's cause %v itself", err, err, jobCause)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := tt.ctx(t)
			var err error
			within(t, "Delay", func() { err = timeout.Delay(ctx, neverDuration) })
			if !core.IsCancellation(err) {
				t.Fatalf("Delay(done ctx, %v) = %v, want a cancellation", neverDuration, err)
			}
			tt.want(t, err)
		})
	}
}

// TestDelayCancelledWhileWaiting checks that a Delay ends with the
// cancellation when its job is cancelled during the wait.
func TestDelayCancelledWhileWaiting(t *testing.T) {
	t.Parallel()
	stopped := errors.New("stopped")
	started := make(chan struct{})
	res := make(chan error, 1)
	job := core.Launch(context.Background(), func(ctx context.Context) error {
		close(started)
		err := timeout.Delay(ctx, neverDuration)
		res <- err
		return err
	})
	testkit.WaitChan(t, started, "the job to start")
	job.Cancel(stopped)
	testkit.WaitChan(t, job.Done(), "the job to complete")
	err := <-res
	if !core.IsCancellation(err) || !errors.Is(err, stopped) {
		t.Errorf("Delay = %v, want a cancellation caused by %v", err, stopped)
	}
	// Returning it is the echo of the job's own cancellation: the job
	// ends cancelled, not failed.
	if !core.IsCancellation(job.Cause()) {
		t.Errorf("job.Cause() = %v, want a cancellation", job.Cause())
	}
}
