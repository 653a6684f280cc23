package selects_test

import (
	"context"
	"fmt"
	"time"

	"github.com/jobtree/jobtree/async"
	"github.com/jobtree/jobtree/core"
	selects "github.com/jobtree/jobtree/select"
)

// This example races two deferreds: Select returns as soon as one of them
// has its value, with the result of that clause's function. The loser is
// left alone by Select; here the scope cancels it on the way out.
func ExampleSelect() {
	err := core.Scope(context.Background(), func(ctx context.Context) error {
		fast := async.Async(ctx, func(ctx context.Context) (string, error) {
			return "cache hit", nil
		})
		slow := async.Async(ctx, func(ctx context.Context) (string, error) {
			<-ctx.Done() // a lookup that never finishes on its own
			return "", ctx.Err()
		})
		v, err := selects.Select(ctx,
			selects.OnAwait(fast, func(v string) (string, error) { return "fast: " + v, nil }),
			selects.OnAwait(slow, func(v string) (string, error) { return "slow: " + v, nil }))
		fmt.Println(v, err)
		slow.Cancel(nil)
		return nil
	})
	fmt.Println("scope:", err)
	// Output:
	// fast: cache hit <nil>
	// scope: <nil>
}

// This example waits at most 10ms for a value on a channel on which nobody
// sends.
func ExampleOnTimeout() {
	ch := make(chan int)
	v, err := selects.Select(context.Background(),
		selects.OnReceive(ch, func(v int, ok bool) (string, error) { return fmt.Sprint("got ", v), nil }),
		selects.OnTimeout(10*time.Millisecond, func() (string, error) { return "timed out", nil }))
	fmt.Println(v, err)
	// Output: timed out <nil>
}

// This example uses OnTimeout(0) as the default case of a select
// statement: a biased Select chooses it only when the send before it is
// not ready, here once the buffer is full.
func ExampleOnSend() {
	ch := make(chan int, 2)
	yes := func() (bool, error) { return true, nil }
	no := func() (bool, error) { return false, nil }
	for i := 1; ; i++ {
		sent, _ := selects.Select(context.Background(), selects.OnSend(ch, i, yes), selects.OnTimeout(0, no))
		if !sent {
			fmt.Println("buffer full after", i-1, "values")
			break
		}
	}
	// Output: buffer full after 2 values
}

// This example merges two channels until both are closed. A clause on a nil
// channel is never ready, as in a select statement: a channel is set to nil
// once it is closed.
func ExampleOnReceive() {
	a, b := make(chan int), make(chan int)
	go func() { // ends after sending, with the close
		for i := 1; i <= 3; i++ {
			a <- i
		}
		close(a)
	}()
	go func() { // ends after sending, with the close
		for i := 10; i <= 30; i += 10 {
			b <- i
		}
		close(b)
	}()
	sum := 0
	add := func(ch *chan int) func(int, bool) (struct{}, error) {
		return func(v int, ok bool) (struct{}, error) {
			if !ok {
				*ch = nil
			}
			sum += v
			return struct{}{}, nil
		}
	}
	for a != nil || b != nil {
		_, _ = selects.Select(context.Background(), selects.OnReceive(a, add(&a)), selects.OnReceive(b, add(&b)))
	}
	fmt.Println("sum:", sum)
	// Output: sum: 66
}

// This example waits for a job or a message, whichever comes first: OnJoin
// is chosen when the job is complete, whatever its outcome.
func ExampleOnJoin() {
	job := core.NewJob(nil)
	job.Cancel(nil) // done before anything is sent
	messages := make(chan string)
	v, err := selects.Select(context.Background(),
		selects.OnReceive(messages, func(m string, ok bool) (string, error) { return "message: " + m, nil }),
		selects.OnJoin(job, func() (string, error) { return fmt.Sprint("job ended, cancelled: ", job.IsCancelled()), nil }))
	fmt.Println(v, err)
	// Output: job ended, cancelled: true <nil>
}

// This example shows that SelectUnbiased serves two channels that are
// always ready about equally, where Select would always take the first.
func ExampleSelectUnbiased() {
	a, b := make(chan int, 1), make(chan int, 1)
	count := map[string]int{}
	from := func(name string) func(int, bool) (string, error) {
		return func(int, bool) (string, error) { return name, nil }
	}
	for range 1000 {
		if len(a) == 0 {
			a <- 1
		}
		if len(b) == 0 {
			b <- 1
		}
		name, _ := selects.SelectUnbiased(context.Background(), selects.OnReceive(a, from("a")), selects.OnReceive(b, from("b")))
		count[name]++
	}
	fmt.Println("a served at least 300 times:", count["a"] >= 300)
	fmt.Println("b served at least 300 times:", count["b"] >= 300)
	// Output:
	// a served at least 300 times: true
	// b served at least 300 times: true
}
