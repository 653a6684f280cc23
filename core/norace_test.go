//go:build !race

package core_test

// raceEnabled reports whether the tests run under the race detector, which
// slows the stress and memory tests down and perturbs allocation counts.
const raceEnabled = false
