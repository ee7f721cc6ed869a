// Package proto is the contract between gridstore nodes: the IDs of every grid
// handler and the msgp-encoded types that travel over the grid.
//
// Everything here is wire format. A change that alters the meaning of an
// existing handler ID or the encoding of an existing field breaks mixed-version
// clusters; add a new handler ID or a new field instead. The *_gen.go files are
// produced by `go generate ./proto/` (tinylib/msgp, pinned in go.mod as a tool)
// and committed; `make lint` fails when they are stale.
package proto
