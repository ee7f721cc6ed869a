// Package doublebuf is a double-buffered file writer for a local drive's
// shard files.
//
// A local CreateFile receives a shard as a stream of bitrot records and must
// land it in the drive's tmp/ area, fdatasync it and only then let RenameData
// make it visible. Writing each record straight to the file costs a syscall
// per record and stalls the stream on every slow disk write; a single
// bufio.Writer batches the syscalls but still stalls the stream for the whole
// flush. Here the caller fills one 4 KiB-aligned buffer (1 MiB by default)
// while a background goroutine writes the other to the file, so disk latency
// overlaps with receiving and copying the next MiB. The writer waits for the
// disk only when both buffers are busy.
//
// Aligned buffers, written whole, are what O_DIRECT needs: with
// Options.DirectIO the full buffers bypass the page cache, which keeps shard
// writes from evicting hot metadata and avoids a second copy inside the
// kernel. File systems that refuse O_DIRECT (tmpfs on older kernels, some
// overlay and network file systems) are detected and the writer falls back to
// ordinary buffered writes; DirectIO reports which one happened.
//
// A failed background write is remembered: every later Write or ReadFrom
// returns it, and so does Close. Close writes the tail, fdatasyncs and
// always stops the goroutine, also on error; Abort stops everything without
// writing or syncing, for a shard that is going to be deleted anyway.
package doublebuf
