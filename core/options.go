package core

// Option configures a job created by [Launch]. Options are applied in order;
// a later option overrides an earlier one. Nothing can be reconfigured after
// the job is created.
type Option interface {
	// apply returns o with the option set. It takes and returns a value,
	// not a pointer, so that building options allocates nothing.
	apply(o options) options
}

// options is what [Option]s set. The zero value is the default: start at
// once, no name.
type options struct {
	lazy bool   // start in New; the body runs on Start, Join or Await
	name string // shown by String and in cancellation messages
}

// optionFunc adapts a function to [Option].
type optionFunc func(options) options

func (f optionFunc) apply(o options) options { return f(o) }

// buildOptions folds opts over the defaults (the zero options).
func buildOptions(opts []Option) options {
	var o options
	for _, opt := range opts {
		if opt != nil {
			o = opt.apply(o)
		}
	}
	return o
}

// Lazy makes the job start in state New: its body does not run until
// [Job.Start] or [Job.Join] (or, for a deferred, Await) is called, or a child
// is attached to it. Cancelling a New job makes it Cancelled at once.
func Lazy() Option {
	return optionFunc(func(o options) options { o.lazy = true; return o })
}

// Named gives the job a name, shown by [Job.String] and in the messages of
// the cancellation errors it creates. It is the CoroutineName of kotlinx.
func Named(name string) Option {
	return optionFunc(func(o options) options { o.name = name; return o })
}
