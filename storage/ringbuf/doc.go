// Package ringbuf is a fixed-size, in-memory pipe between one producer and one
// consumer goroutine.
//
// It sits between the erasure encoder's bitrot writer and the grid stream of a
// remote drive's CreateFile. With an unbuffered io.Pipe every Write of a
// 32-byte bitrot hash or of a shard chunk waits until the network side has
// picked the bytes up, so encoding stalls on every network hiccup. With a ring
// buffer (2 MiB by default, enough for a hash plus a 1 MiB shard chunk with room
// to spare) a Write completes as a memory copy while there is room, and the
// encoder blocks only when the peer is really congested and the buffer is full.
//
// New returns the two ends, a Writer and a Reader, with io.Pipe's close
// semantics: closing the Writer lets the Reader drain what is buffered and then
// see io.EOF (or the error given to CloseWithError); closing the Reader makes
// pending and later writes fail with io.ErrClosedPipe (or the given error),
// waking a writer blocked on a full buffer. Reader.WriteTo drains straight from
// the internal buffer and Writer.ReadFrom fills it straight from a source, so
// io.Copy through the ring costs no extra copy.
//
// Neither end allocates per call. The bulk memory copies run outside the lock,
// so the producer's copy into the buffer overlaps the consumer's copy out of it.
package ringbuf
