package selects_test

// OnReceive and OnSend: values, closed and nil channels, exactly-once
// sends, and the two ways of waiting on channels (a select statement for
// one channel clause, reflect.Select for two or more).

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/jobtree/jobtree/core"
	"github.com/jobtree/jobtree/internal/testkit"
	selects "github.com/jobtree/jobtree/select"
)

// received is an OnReceive function reporting what it got.
func received(v int, ok bool) (string, error) { return fmt.Sprintf("recv %d %t", v, ok), nil }

// TestOnReceive: a value, a closed channel (zero value and false, as
// `v, ok := <-ch`), and a nil channel (never ready, as in Go).
func TestOnReceive(t *testing.T) {
	t.Parallel()
	full := make(chan int, 1)
	full <- 7
	closed := make(chan int)
	close(closed)
	var nilChan chan int
	tests := []struct {
		name string
		ch   chan int
		want string
	}{
		{"value", full, "recv 7 true"},
		{"closed", closed, "recv 0 false"},
		{"nil", nilChan, "timeout"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := selects.Select(testCtx(t),
				selects.OnReceive(tc.ch, received),
				selects.OnTimeout(0, result("timeout")))
			if got != tc.want || err != nil {
				t.Errorf("Select = %q, %v; want %q, nil", got, err, tc.want)
			}
		})
	}
}

// TestOnReceive_NilChannelBlocks: a select whose only clause is on a nil
// channel waits until ctx is done.
func TestOnReceive_NilChannelBlocks(t *testing.T) {
	t.Parallel()
	job := core.NewJob(nil)
	var nilChan chan int
	got := make(chan error, 1)
	go func() { // ends when job is cancelled
		_, err := selects.Select(job.Context(), selects.OnReceive(nilChan, received))
		got <- err
	}()
	job.Cancel(nil)
	if err := testkit.WaitChan(t, got, "the select"); !core.IsCancellation(err) {
		t.Fatalf("Select = %v, want a cancellation", err)
	}
}

// TestOnSend: a ready send happens once, with the clause's value; a send
// that loses never happens, on the first look or after a wake-up.
func TestOnSend(t *testing.T) {
	t.Parallel()
	sent := func() (string, error) { return "sent", nil }
	t.Run("chosen", func(t *testing.T) {
		ch := make(chan int, 2)
		got, err := selects.Select(testCtx(t), selects.OnSend(ch, 7, sent))
		if got != "sent" || err != nil {
			t.Fatalf("Select = %q, %v; want sent, nil", got, err)
		}
		if len(ch) != 1 || <-ch != 7 {
			t.Fatalf("channel holds %d values, want exactly the value 7", len(ch)+1)
		}
	})
	t.Run("loses on first look", func(t *testing.T) {
		ch := make(chan int, 1)
		done := core.NewJob(nil)
		done.Complete()
		got, err := selects.Select(testCtx(t),
			selects.OnJoin(done, result("job")),
			selects.OnSend(ch, 7, sent))
		if got != "job" || err != nil {
			t.Fatalf("Select = %q, %v; want job, nil", got, err)
		}
		if len(ch) != 0 {
			t.Fatalf("the losing OnSend sent a value")
		}
	})
	t.Run("loses after wake-up", func(t *testing.T) {
		for _, nchan := range []int{1, 2} {
			full := make(chan int, 1) // not ready: full until the select returns
			full <- 1
			clauses := []selects.Clause[string]{selects.OnSend(full, 7, sent)}
			if nchan == 2 {
				var nilChan chan int
				clauses = append(clauses, selects.OnReceive(nilChan, received))
			}
			clauses = append(clauses, selects.OnJoin[string](newTrigger(), result("job")))
			got, err := selects.Select(testCtx(t), clauses...)
			if got != "job" || err != nil {
				t.Fatalf("%d channel clauses: Select = %q, %v; want job, nil", nchan, got, err)
			}
			if len(full) != 1 || <-full != 1 {
				t.Fatalf("%d channel clauses: the losing OnSend sent a value", nchan)
			}
		}
	})
}

// TestOnSend_ExactlyOnce races selects that send against a job that ends
// them: every select that returns the send clause's result sent exactly
// one value, and no other select sent any.
func TestOnSend_ExactlyOnce(t *testing.T) {
	t.Parallel()
	const senders, rounds = 4, 200
	ch := make(chan int)
	stop := core.NewJob(nil)
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for s := range senders {
		wg.Add(1)
		go func() { // ends after its rounds
			defer wg.Done()
			n := 0
			for i := range rounds {
				got, err := selects.Select(testCtx(t),
					selects.OnJoin(stop, func() (bool, error) { return false, nil }),
					selects.OnSend(ch, s*rounds+i, func() (bool, error) { return true, nil }))
				if err != nil {
					t.Errorf("Select: %v", err)
				}
				if got {
					n++
				}
			}
			mu.Lock()
			wins += n
			mu.Unlock()
		}()
	}
	got := 0
	seen := make(map[int]bool)
	for v := range ch {
		if seen[v] {
			t.Fatalf("value %d received twice", v)
		}
		seen[v] = true
		got++
		if got == senders*rounds/2 {
			stop.Complete()
			go func() { wg.Wait(); close(ch) }() // ends when all senders are done
		}
	}
	if got != wins {
		t.Fatalf("received %d values, but %d selects chose their send", got, wins)
	}
}

// TestChannels_Wait: the channel clauses are chosen while the select waits
// (after its first look found nothing ready), with one channel clause (a
// select statement) and with three (reflect.Select), for receives and
// sends, including nil interface values.
func TestChannels_Wait(t *testing.T) {
	t.Parallel()
	for _, nchan := range []int{1, 3} {
		for _, send := range []bool{false, true} {
			t.Run(fmt.Sprintf("chans=%d/send=%t", nchan, send), func(t *testing.T) {
				recvCh := make(chan error)
				sendCh := make(chan error)
				var nilChan chan error
				job := newWatchedJob() // the select registers on it: then it waits
				t.Cleanup(func() { job.Cancel(nil) })
				clauses := []selects.Clause[string]{selects.OnJoin[string](job, unreached(t, "job"))}
				want := "recv <nil> true"
				if send {
					want = "sent"
					clauses = append(clauses, selects.OnSend(sendCh, nil, result("sent")))
				} else {
					clauses = append(clauses, selects.OnReceive(recvCh, func(v error, ok bool) (string, error) {
						return fmt.Sprintf("recv %v %t", v, ok), nil
					}))
				}
				if nchan == 3 {
					// Two more clauses on a channel nobody uses
					// (never ready), and one on a nil channel
					// (left out of the wait).
					idle := make(chan error)
					clauses = append(clauses,
						selects.OnReceive(idle, func(error, bool) (string, error) { return "idle", nil }),
						selects.OnSend(idle, errors.New("x"), result("idle")),
						selects.OnReceive(nilChan, func(error, bool) (string, error) { return "nil", nil }))
				}
				res := make(chan string, 1)
				go func() { // ends when a clause is chosen
					got, err := selects.Select(testCtx(t), clauses...)
					if err != nil {
						t.Errorf("Select: %v", err)
					}
					res <- got
				}()
				testkit.WaitChan(t, job.armed, "the select to wait")
				if send {
					if v := <-sendCh; v != nil {
						t.Errorf("received %v, want nil", v)
					}
				} else {
					recvCh <- nil
				}
				if got := testkit.WaitChan(t, res, "the select"); got != want {
					t.Errorf("Select = %q, want %q", got, want)
				}
				if n := job.leftover(); n != 0 {
					t.Errorf("%d handlers left on the job, want 0", n)
				}
			})
		}
	}
}

// TestOnSend_ClosedChannel: choosing a send on a closed channel panics, as
// in Go: on the first look, and while waiting (the channel closed after
// the first look, by the last clause's job as the select registers on it;
// with one channel clause and with two); the handlers registered for the
// wait are removed all the same.
func TestOnSend_ClosedChannel(t *testing.T) {
	t.Parallel()
	wantPanic := func(t *testing.T, r any) {
		t.Helper()
		if err, _ := r.(error); err == nil || !strings.Contains(err.Error(), "send on closed channel") {
			t.Errorf("recovered %v, want the runtime's send on closed channel", r)
		}
	}
	t.Run("first look", func(t *testing.T) {
		closed := make(chan int)
		close(closed)
		defer func() { wantPanic(t, recover()) }()
		_, _ = selects.Select(testCtx(t), selects.OnSend(closed, 1, result("sent")))
	})
	for _, nchan := range []int{1, 2} {
		t.Run(fmt.Sprintf("waiting/chans=%d", nchan), func(t *testing.T) {
			ch := make(chan int)
			job := newWatchedJob()
			job.armed = nil
			t.Cleanup(func() { job.Cancel(nil) })
			closer := &hookedJob{CompletableJob: core.NewJob(nil), onRegister: func() { close(ch) }}
			t.Cleanup(func() { closer.Cancel(nil) })
			clauses := []selects.Clause[string]{selects.OnJoin[string](job, unreached(t, "job"))}
			for range nchan {
				clauses = append(clauses, selects.OnSend(ch, 1, result("sent")))
			}
			clauses = append(clauses, selects.OnJoin[string](closer, unreached(t, "closer")))
			func() {
				defer func() { wantPanic(t, recover()) }()
				_, _ = selects.Select(testCtx(t), clauses...)
			}()
			if job.registered.Load() != 1 || job.leftover() != 0 {
				t.Errorf("handlers registered %d, left over %d after the panic; want 1, 0", job.registered.Load(), job.leftover())
			}
		})
	}
}
