// Package iobuf hands out the data path's large buffers (a PUT's ring
// buffers and write buffers, the coder's blocks, a GET's read chunks) from
// memory mapped outside the Go heap, and takes them back.
//
// Why not the heap: Go collects when the heap reaches twice what was live
// after the last collection, so a node whose live heap is 90 MB of I/O
// buffers during large uploads sits at 180 MB and more of resident memory,
// half of it garbage, and keeps that goal for the small requests after. The
// buffers here do not count toward that goal: the heap stays the size of the
// node's real objects, and resident memory is the buffers in use plus those
// used in the last few seconds. A buffer idle for longer than IdleTime gives
// its memory back to the system (it stays mapped, and is faulted in again
// when reused), so a node's memory falls back once a burst is over.
//
// The price is manual ownership: every buffer from Get goes back with Put
// exactly once, by whoever holds it last, and nobody touches it after. A
// buffer never put back is not collected; Stats counts what is out, so tests
// can prove each path returns what it takes, and a second Put of the same
// buffer is refused and counted instead of handing one buffer to two users.
//
// Under the race detector the buffers come from the heap (the detector does
// not watch memory outside it), with the same ownership checks.
package iobuf
