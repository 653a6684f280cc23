package testkit

import (
	"fmt"
	"strings"
	"testing"
)

// ExpectPanic calls f and checks that it panics with a message (the panic
// value as fmt.Sprint prints it) starting with prefix, such as "core: ".
func ExpectPanic(t testing.TB, what, prefix string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		r := recover()
		if r == nil {
			t.Errorf("%s did not panic, want a panic starting with %q", what, prefix)
			return
		}
		if msg := fmt.Sprint(r); !strings.HasPrefix(msg, prefix) {
			t.Errorf("%s panicked with %q, want a message starting with %q", what, msg, prefix)
		}
	}()
	f()
}
