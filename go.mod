module github.com/gridstore/gridstore

go 1.26

require (
	github.com/gobwas/ws v1.5.0
	github.com/google/uuid v1.6.0
	github.com/klauspost/reedsolomon v1.14.2
	github.com/minio/highwayhash v1.0.4
	github.com/tinylib/msgp v1.6.5
	go.uber.org/goleak v1.3.0
	go.uber.org/zap v1.28.0
	golang.org/x/sys v0.30.0
)

require (
	github.com/gobwas/httphead v0.1.0 // indirect
	github.com/klauspost/cpuid/v2 v2.3.0 // indirect
	github.com/philhofer/fwd v1.2.0 // indirect
	go.uber.org/multierr v1.10.0 // indirect
	golang.org/x/mod v0.18.0 // indirect
	golang.org/x/tools v0.22.0 // indirect
)

tool github.com/tinylib/msgp
