package async

import "runtime"

// MapOption configures [Map], [ForEach] and their iter.Seq forms. A nil
// MapOption is ignored.
type MapOption interface {
	apply(c mapConfig) mapConfig
}

// mapConfig is what [MapOption]s set.
type mapConfig struct {
	limit int // most calls running at once; ≤ 0: one goroutine per item
}

type mapOptionFunc func(mapConfig) mapConfig

func (f mapOptionFunc) apply(c mapConfig) mapConfig { return f(c) }

// Limit sets how many calls of the function may run at once. The default is
// runtime.GOMAXPROCS(0), right for CPU-bound work; raise it for work that
// waits (I/O). n ≤ 0 removes the limit: one goroutine per item.
func Limit(n int) MapOption {
	return mapOptionFunc(func(c mapConfig) mapConfig { c.limit = n; return c })
}

// buildMapConfig folds opts over the defaults.
func buildMapConfig(opts []MapOption) mapConfig {
	c := mapConfig{limit: runtime.GOMAXPROCS(0)}
	for _, o := range opts {
		if o != nil {
			c = o.apply(c)
		}
	}
	return c
}
