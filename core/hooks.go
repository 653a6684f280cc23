package core

import (
	"context"

	"github.com/jobtree/jobtree/internal/corehook"
)

// init gives package async the jobs behind its deferreds, and every package
// the wait error of rule 11 (see package corehook).
func init() {
	corehook.Launch = func(ctx context.Context, body func(context.Context) error, opts any) any {
		o := buildOptions(opts.([]Option))
		return start(newJob(ctx, fDeferred|fHandles, o.name, o.lazy, body), o.lazy, body)
	}
	corehook.NewJob = func(ctx context.Context) any {
		return newJob(ctx, fDeferred|fBodyless, "", false, nil)
	}
	corehook.WaitError = ctxError
}
