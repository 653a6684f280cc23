module github.com/jobtree/jobtree

go 1.24

require (
	github.com/samber/mo v1.16.0
	go.uber.org/goleak v1.3.0
)

require github.com/stretchr/testify v1.12.1 // indirect
