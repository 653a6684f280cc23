module github.com/jobtree/jobtree/bench

go 1.24.0

require (
	github.com/jobtree/jobtree v0.0.0
	github.com/samber/lo v1.53.0
	github.com/sourcegraph/conc v0.3.0
	golang.org/x/sync v0.19.0
	gopkg.in/tomb.v2 v2.0.0-20161208151619-d5d1b5820637
)

require (
	github.com/samber/mo v1.16.0 // indirect
	go.yaml.in/yaml/v3 v3.0.6 // indirect
	golang.org/x/net v0.48.0 // indirect
	golang.org/x/text v0.32.0 // indirect
)

replace github.com/jobtree/jobtree => ../
