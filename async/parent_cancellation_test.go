package async_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jobtree/jobtree/async"
	"github.com/jobtree/jobtree/core"
	"github.com/jobtree/jobtree/internal/testkit"
)

// This file ports kotlinx's ParentCancellationTest
// (common/test/ParentCancellationTest.kt, in its current form, where a Job()
// under a handling parent handles): for each kind of child, a grandchild
// launched inside it fails (or is cancelled), and the test checks whether
// the parent is cancelled, whether the child kind returns the failure to
// its caller, and whether the grandchild's failure reaches its exception
// handler.
//
// The Kotlin test's parent is a root CompletableDeferred, which handles
// failures in kotlinx. Under API rule 9 a CompletableDeferred handles only
// with a handling job above it, so here the parent is created inside a
// core.Scope (TestParentCancellation_RootCompletableDeferred checks the
// root case). Not ported: produce, broadcast and withContext (no Go
// counterpart), withTimeout (package timeout's own tests). Added: the
// pipelines of this package, which are scoped builders too.

// childKind is one way of running code in a child of the parent.
type childKind struct {
	name string
	// run runs fail in a new child of ctx's job and returns what the child
	// construct returned to its caller (nil for those that return
	// nothing), once the child is complete.
	run func(ctx context.Context, fail func(ctx context.Context)) error
	// What a failing grandchild does (a cancelled one does none of it):
	parentActive bool // the parent stays active
	rethrows     bool // run returns the failure
	unhandled    bool // the grandchild reports it to its exception handler
}

var childKinds = []childKind{
	{name: "NewJob", run: func(ctx context.Context, fail func(context.Context)) error {
		child := core.NewJob(ctx)
		fail(child.Context())
		return nil // the child stays active: the parent's cancellation ends it
	}},
	{name: "NewSupervisorJob", parentActive: true, unhandled: true, run: func(ctx context.Context, fail func(context.Context)) error {
		child := core.NewSupervisorJob(ctx)
		fail(child.Context())
		return nil
	}},
	{name: "CompletableDeferred", run: func(ctx context.Context, fail func(context.Context)) error {
		child := async.NewCompletableDeferred[struct{}](ctx)
		fail(child.Context())
		return nil
	}},
	{name: "Launch", run: func(ctx context.Context, fail func(context.Context)) error {
		child := core.Launch(ctx, func(ctx context.Context) error { fail(ctx); return nil })
		return child.Join(context.Background())
	}},
	{name: "Async", run: func(ctx context.Context, fail func(context.Context)) error {
		child := async.Async(ctx, func(ctx context.Context) (int, error) { fail(ctx); return 1, nil })
		return child.Join(context.Background())
	}},
	{name: "SupervisorScope", parentActive: true, unhandled: true, run: func(ctx context.Context, fail func(context.Context)) error {
		return core.SupervisorScope(ctx, func(ctx context.Context) error { fail(ctx); return nil })
	}},
	{name: "Scope", parentActive: true, rethrows: true, run: func(ctx context.Context, fail func(context.Context)) error {
		return core.Scope(ctx, func(ctx context.Context) error { fail(ctx); return nil })
	}},
	{name: "Map", parentActive: true, rethrows: true, run: func(ctx context.Context, fail func(context.Context)) error {
		_, err := async.Map(ctx, []int{1}, func(ctx context.Context, _ int) (int, error) { fail(ctx); return 1, nil })
		return err
	}},
	{name: "MapSeq", parentActive: true, rethrows: true, run: func(ctx context.Context, fail func(context.Context)) error {
		seq := func(yield func(int) bool) { yield(1) }
		_, err := async.MapSeq(ctx, seq, func(ctx context.Context, _ int) (int, error) { fail(ctx); return 1, nil })
		return err
	}},
	{name: "Race", parentActive: true, rethrows: true, run: func(ctx context.Context, fail func(context.Context)) error {
		_, err := async.Race(ctx, func(ctx context.Context) (int, error) { fail(ctx); return 1, nil })
		return err
	}},
}

// TestParentCancellation ports ParentCancellationTest's testJobChild,
// testSupervisorJobChild, testCompletableDeferredChild, testLaunchChild,
// testAsyncChild, testSupervisorChild and testCoroutineScopeChild, each
// with a failing and with a cancelled grandchild.
func TestParentCancellation(t *testing.T) {
	t.Parallel()
	for _, k := range childKinds {
		t.Run(k.name+"/failure", func(t *testing.T) {
			t.Parallel()
			testParentCancellation(t, k, testkit.NewErr("grandchild"))
		})
		t.Run(k.name+"/cancellation", func(t *testing.T) {
			t.Parallel()
			cancelled := childKind{name: k.name, run: k.run, parentActive: true}
			testParentCancellation(t, cancelled, &core.CancellationError{Message: "grandchild"})
		})
	}
}

// testParentCancellation runs the scenario of ParentCancellationTest for one
// child kind, with a grandchild that returns throw.
func testParentCancellation(t *testing.T, k childKind, throw error) {
	rec := &testkit.Recorder{}
	fail := func(ctx context.Context) {
		grand := &testkit.Recorder{}
		gc := core.Launch(core.WithExceptionHandler(ctx, grand.Handle), func(context.Context) error { return throw })
		if err := gc.Join(context.Background()); err != nil {
			t.Errorf("grandchild Join = %v, want nil", err)
		}
		if k.unhandled {
			grand.ExpectOne(t, throw)
		} else {
			grand.ExpectNone(t)
		}
	}
	var parent async.CompletableDeferred[struct{}]
	scopeErr := func() error {
		_, err := call(t, "Scope", func() (struct{}, error) {
			return struct{}{}, core.Scope(rec.Ctx(), func(ctx context.Context) error {
				parent = async.NewCompletableDeferred[struct{}](ctx)
				err := k.run(parent.Context(), fail)
				switch {
				case k.rethrows && !errors.Is(err, throw):
					t.Errorf("%s returned %v, want the grandchild's %v", k.name, errString(err), throw)
				case !k.rethrows && err != nil:
					t.Errorf("%s returned %v, want nil", k.name, err)
				}
				if k.parentActive {
					testkit.CheckState(t, parent, core.Active)
					parent.Cancel(nil) // ends the children that never complete
				} else if err := parent.Join(context.Background()); err != nil {
					t.Errorf("parent Join = %v, want nil", err)
				}
				return nil
			})
		})
		return err
	}()
	testkit.CheckState(t, parent, core.Cancelled)
	if k.parentActive {
		testkit.WantCancellation(t, "parent's Cause()", parent.Cause(), nil)
		if scopeErr != nil {
			t.Errorf("Scope around the parent = %v, want nil", scopeErr)
		}
	} else {
		wantFailure(t, "parent's Cause()", parent.Cause(), throw)
		// The parent's failure climbs to the scope around it.
		wantFailure(t, "Scope around the parent", scopeErr, throw)
	}
	rec.ExpectNone(t)
}

// TestParentCancellation_RootCompletableDeferred checks the case that API
// rule 9 settles differently from kotlinx: a root CompletableDeferred (no
// handling job above it) is cancelled by its failing child, and Await
// returns the failure, but it does not handle the failure, so the child
// reports it to its exception handler too (kotlinx's root
// CompletableDeferred handles it, and nothing is reported).
func TestParentCancellation_RootCompletableDeferred(t *testing.T) {
	t.Parallel()
	rec := &testkit.Recorder{}
	parent := async.NewCompletableDeferred[struct{}](rec.Ctx())
	failure := testkit.NewErr("child")
	child := core.Launch(parent.Context(), func(context.Context) error { return failure })
	if _, err := call(t, "Join", func() (struct{}, error) { return struct{}{}, child.Join(context.Background()) }); err != nil {
		t.Fatalf("Join = %v, want nil", err)
	}
	rec.ExpectOne(t, failure)
	_, err := call(t, "Await", func() (struct{}, error) { return parent.Await(context.Background()) })
	if !errors.Is(err, failure) {
		t.Errorf("parent's Await = %v, want %v", err, failure)
	}
	testkit.CheckState(t, parent, core.Cancelled)
}
