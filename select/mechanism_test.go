package selects_test

// The measurement behind the choice of the waiting mechanism
// (docs/design.md §8): handler-driven wake-ups, which Select uses,
// against the rejected design, a reflect.Select over the jobs' Done
// channels (and, for a single job, a select statement on its Done channel).
//
//	go test -run '^$' -bench Mechanism -benchmem ./select/

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"github.com/jobtree/jobtree/core"
	selects "github.com/jobtree/jobtree/select"
)

// selectDoneReflect is the rejected mechanism, for job clauses only: look
// at the jobs in order (starting lazy ones), then wait with reflect.Select
// on ctx and every job's Done channel, and look again. It returns the
// index of the chosen job.
func selectDoneReflect(ctx context.Context, jobs []core.Job) (int, error) {
	for i, j := range jobs {
		if j.IsCompleted() {
			return i, nil
		}
		j.Start()
	}
	cases := make([]reflect.SelectCase, 0, len(jobs)+1)
	cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ctx.Done())})
	for _, j := range jobs {
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(j.Done())})
	}
	for {
		if i, _, _ := reflect.Select(cases); i == 0 {
			return -1, ctx.Err()
		}
		for i, j := range jobs {
			if j.IsCompleted() {
				return i, nil
			}
		}
	}
}

// selectDoneNative is the rejected mechanism's best case, a single job: a
// select statement on ctx and the job's Done channel.
func selectDoneNative(ctx context.Context, job core.Job) (int, error) {
	if job.IsCompleted() {
		return 0, nil
	}
	job.Start()
	select {
	case <-job.Done():
		return 0, nil
	case <-ctx.Done():
		return -1, ctx.Err()
	}
}

// benchTrigger is a job that is completed as soon as a select starts
// waiting on it: when a handler is registered on it, or its Done channel is
// asked for. With kick nil it completes at once, on the select's own
// goroutine; else kick's reader completes it.
type benchTrigger struct {
	core.CompletableJob
	kick chan<- core.CompletableJob
}

func (j *benchTrigger) fire() {
	if j.kick == nil {
		j.Complete()
		return
	}
	j.kick <- j.CompletableJob
}

func (j *benchTrigger) InvokeOnCompletion(h func(cause error)) core.DisposableHandle {
	d := j.CompletableJob.InvokeOnCompletion(h)
	j.fire()
	return d
}

func (j *benchTrigger) Done() <-chan struct{} {
	c := j.CompletableJob.Done()
	j.fire()
	return c
}

func zeroResult() (int, error) { return 0, nil }

// BenchmarkMechanism measures the blocking path of a select over job
// clauses: pending=N long-lived jobs that never complete, plus a fresh
// trigger job (last in argument order) that is completed as soon as the
// select starts waiting on it.
//
// mode=sync completes it on the select's goroutine, so that the wait ends
// at once, without a goroutine switch: the op is setting up and removing
// the waiting machinery, not the scheduler. The trigger's creation and
// completion cost the same in every impl (impl=reflect-done and
// impl=native-done also make its Done channel: that is part of their cost).
// mode=handoff has a second goroutine complete it: two goroutine switches
// per op, for scale.
func BenchmarkMechanism(b *testing.B) {
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	for _, pending := range []int{0, 1, 7, 63} {
		jobs := make([]core.Job, pending+1)
		clauses := make([]selects.Clause[int], pending+1)
		for i := range pending {
			j := core.NewJob(nil)
			defer j.Cancel(nil)
			jobs[i] = j
			clauses[i] = selects.OnJoin[int](j, zeroResult)
		}
		type implFn func(trigger core.Job) (int, error)
		impls := []struct {
			name string
			fn   implFn
		}{
			{"handler", func(trigger core.Job) (int, error) {
				clauses[pending] = selects.OnJoin(trigger, zeroResult)
				return selects.Select(ctx, clauses...)
			}},
			{"reflect-done", func(trigger core.Job) (int, error) {
				jobs[pending] = trigger
				return selectDoneReflect(ctx, jobs)
			}},
		}
		if pending == 0 {
			impls = append(impls, struct {
				name string
				fn   implFn
			}{"native-done", func(trigger core.Job) (int, error) { return selectDoneNative(ctx, trigger) }})
		}
		for _, mode := range []string{"sync", "handoff"} {
			for _, im := range impls {
				b.Run(fmt.Sprintf("mode=%s/pending=%d/impl=%s", mode, pending, im.name), func(b *testing.B) {
					var kick chan core.CompletableJob
					if mode == "handoff" {
						kick = make(chan core.CompletableJob)
						kicked := make(chan struct{})
						go func() { // ends when kick is closed
							defer close(kicked)
							for j := range kick {
								j.Complete()
							}
						}()
						defer func() { close(kick); <-kicked }()
					}
					b.ReportAllocs()
					for b.Loop() {
						trigger := &benchTrigger{CompletableJob: core.NewJob(nil), kick: kick}
						if _, err := im.fn(trigger); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		}
	}
}
