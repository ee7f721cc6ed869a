// Package gcfloor keeps Go's garbage collector from running after every
// few megabytes of allocation when the live heap is small.
//
// The collector runs when the heap has grown by GOGC percent (100) of what
// was live after the last collection, and never before 4 MB. A node whose
// large buffers live outside the heap (internal/iobuf) has a live heap of
// 1–4 MB, so serving small objects it collected about 25 times a second,
// where it had collected 4 times while the buffers were heap objects: 3 %
// of its CPU in the collector's own accounting, more in write barriers and
// assists. Start sets GOGC after each collection so that the heap may grow
// by at least a floor (32 MiB in the server) before the next one, and
// leaves the usual 100 % once the live heap is larger than that floor.
package gcfloor
