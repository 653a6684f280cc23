//go:build nojobtree

package bench

// Built with -tags nojobtree: only the peers are measured.
var jobtree jobtreeBenches
