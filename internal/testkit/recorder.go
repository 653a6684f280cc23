package testkit

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/jobtree/jobtree/core"
)

// Recorder collects the errors passed to an exception handler. Its zero
// value is ready to use, without Notify; NewRecorder makes one with Notify.
type Recorder struct {
	mu   sync.Mutex
	errs []error // guarded by mu

	// Notify, when not nil, receives one value per call of Handle, so that
	// a test can wait for a report; a full channel drops the value rather
	// than block the handler.
	Notify chan struct{}
}

// NewRecorder returns a Recorder whose Notify has room for 1024 calls.
func NewRecorder() *Recorder { return &Recorder{Notify: make(chan struct{}, 1024)} }

// Handle is the exception handler: it records err.
func (r *Recorder) Handle(err error) {
	r.mu.Lock()
	r.errs = append(r.errs, err)
	r.mu.Unlock()
	select {
	case r.Notify <- struct{}{}:
	default:
	}
}

// Errors returns the errors recorded so far, in the order of the calls.
func (r *Recorder) Errors() []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]error(nil), r.errs...)
}

// Ctx returns a background context with r installed as exception handler.
func (r *Recorder) Ctx() context.Context {
	return core.WithExceptionHandler(context.Background(), r.Handle)
}

// ExpectNone checks that nothing was reported.
func (r *Recorder) ExpectNone(t testing.TB) {
	t.Helper()
	if errs := r.Errors(); len(errs) != 0 {
		t.Errorf("exception handler got %v, want no calls", errs)
	}
}

// ExpectOne checks that exactly one error was reported (failing the test at
// once if not) and that it is want (errors.Is), and returns it.
func (r *Recorder) ExpectOne(t testing.TB, want error) error {
	t.Helper()
	errs := r.Errors()
	if len(errs) != 1 {
		t.Fatalf("exception handler got %d calls %v, want exactly one with %v", len(errs), errs, want)
	}
	if !errors.Is(errs[0], want) {
		t.Errorf("exception handler got %v, want %v", errs[0], want)
	}
	return errs[0]
}
