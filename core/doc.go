// Package core is the job tree of jobtree.
package core
