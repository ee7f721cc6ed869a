package erasure

import (
	"errors"
	"fmt"
	"io"

	"github.com/minio/highwayhash"
)

// BitrotHashSize is the size of the hash stored before every chunk.
const BitrotHashSize = highwayhash.Size

// BitrotKeySize is the size of the HighwayHash key, fixed per deployment.
const BitrotKeySize = 32

// BitrotError reports a chunk whose content does not match its stored hash.
// It wraps ErrBitrot.
type BitrotError struct {
	Offset     int64 // shard data offset of the chunk's first byte
	DiskOffset int64 // offset of the chunk's record in the shard file
}

func (e *BitrotError) Error() string {
	return fmt.Sprintf("erasure: bitrot detected in chunk at shard offset %d (file offset %d)", e.Offset, e.DiskOffset)
}

func (e *BitrotError) Unwrap() error { return ErrBitrot }

// BitrotDiskOffset returns where the record of the chunk starting at
// shardOffset begins in the shard file. shardOffset must be chunk aligned:
// a reader cannot verify a chunk it does not read from the start.
func BitrotDiskOffset(shardOffset, chunkSize int64) (int64, error) {
	if err := checkChunkSize(chunkSize); err != nil {
		return 0, err
	}
	if shardOffset < 0 || shardOffset%chunkSize != 0 {
		return 0, fmt.Errorf("%w: shard offset %d is not a multiple of chunk size %d", ErrInvalidArgument, shardOffset, chunkSize)
	}
	return bitrotDiskOffset(shardOffset, chunkSize), nil
}

// BitrotDiskSize returns how many bytes of shard file hold shardLength bytes
// of shard data starting at a chunk boundary, hashes included. For a whole
// shard file it is the file size.
func BitrotDiskSize(shardLength, chunkSize int64) (int64, error) {
	if err := checkChunkSize(chunkSize); err != nil {
		return 0, err
	}
	if shardLength < 0 {
		return 0, fmt.Errorf("%w: negative shard length %d", ErrInvalidArgument, shardLength)
	}
	return bitrotDiskSize(shardLength, chunkSize), nil
}

func bitrotDiskOffset(alignedShardOffset, chunkSize int64) int64 {
	return alignedShardOffset / chunkSize * (chunkSize + BitrotHashSize)
}

func bitrotDiskSize(shardLength, chunkSize int64) int64 {
	return ceilDiv(shardLength, chunkSize)*BitrotHashSize + shardLength
}

func checkChunkSize(chunkSize int64) error {
	if chunkSize < 1 || chunkSize > MaxBlockSize {
		return fmt.Errorf("%w: bitrot chunk size %d outside 1..%d", ErrInvalidConfig, chunkSize, MaxBlockSize)
	}
	return nil
}

func checkKey(key []byte) ([BitrotKeySize]byte, error) {
	if len(key) != BitrotKeySize {
		return [BitrotKeySize]byte{}, fmt.Errorf("%w: bitrot key is %d bytes, want %d", ErrInvalidConfig, len(key), BitrotKeySize)
	}
	return [BitrotKeySize]byte(key), nil
}

var errWriteAfterFinalChunk = errors.New("write after the final short chunk")

// BitrotWriter writes a shard file: every chunk of chunkSize bytes is
// preceded by its HighwayHash-256. Only the last chunk may be shorter, so a
// Write whose length is not a multiple of the chunk size ends the stream and
// any later non-empty Write fails. Encode and Heal write exactly one chunk
// per Write (one block's shard), which goes to the underlying writer without
// a copy.
type BitrotWriter struct {
	w         io.Writer
	key       [BitrotKeySize]byte
	chunkSize int
	sum       [BitrotHashSize]byte // a field, not a local, so passing it to w.Write does not allocate
	ended     bool
	err       error
}

// NewBitrotWriter returns a writer of bitrot records to w.
func NewBitrotWriter(w io.Writer, key []byte, chunkSize int64) (*BitrotWriter, error) {
	k, err := checkKey(key)
	if err != nil {
		return nil, err
	}
	if err := checkChunkSize(chunkSize); err != nil {
		return nil, err
	}
	if w == nil {
		return nil, fmt.Errorf("%w: nil writer", ErrInvalidArgument)
	}
	return &BitrotWriter{w: w, key: k, chunkSize: int(chunkSize)}, nil
}

// Write writes p as one record per chunk. It returns how many bytes of p
// went out in complete records.
func (bw *BitrotWriter) Write(p []byte) (int, error) {
	if bw.err != nil {
		return 0, bw.err
	}
	written := 0
	for len(p) > 0 {
		if bw.ended {
			bw.err = fmt.Errorf("bitrot writer: %w", errWriteAfterFinalChunk)
			return written, bw.err
		}
		chunk := p[:min(len(p), bw.chunkSize)]
		if len(chunk) < bw.chunkSize {
			bw.ended = true
		}
		bw.sum = highwayhash.Sum(chunk, bw.key[:])
		if err := writeAll(bw.w, bw.sum[:]); err != nil {
			bw.err = fmt.Errorf("bitrot writer: hash: %w", err)
			return written, bw.err
		}
		if err := writeAll(bw.w, chunk); err != nil {
			bw.err = fmt.Errorf("bitrot writer: chunk: %w", err)
			return written, bw.err
		}
		written += len(chunk)
		p = p[len(chunk):]
	}
	return written, nil
}

// writeAll turns a short write without error, which io.Writer forbids but
// buggy writers do, into an error rather than a silent hole in the stream.
func writeAll(w io.Writer, p []byte) error {
	n, err := w.Write(p)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	return err
}

// OpenFunc opens diskLength bytes of a shard file starting at diskOffset,
// for example a drive's ReadFileStream.
type OpenFunc func(diskOffset, diskLength int64) (io.ReadCloser, error)

// BitrotReader reads the shard data [offset, offset+length) back from a
// stream of bitrot records, verifying each chunk before it returns any of
// its bytes. Offsets (BitrotError.Offset, the constructor's) are shard
// data offsets, hashes excluded.
type BitrotReader struct {
	src    io.Reader // nil until opened when lazy
	closer io.Closer
	open   OpenFunc

	key       [BitrotKeySize]byte
	chunkSize int64
	start     int64 // first shard data offset the reader may return
	end       int64 // shard data offset after the last byte to return
	next      int64 // shard data offset of the next record to read from src

	// chunk holds the verified data of the last record when the caller's
	// buffer was too small to take it whole; chunk[off:] is still unread.
	chunk   []byte
	off     int
	scratch []byte

	want [BitrotHashSize]byte
	err  error // sticky: a stream that failed once is not trusted again
}

// NewBitrotReader reads a stream that starts at the record of shard data
// offset offset (chunk aligned) and verifies length bytes of shard data
// from it. offset+length must be chunk aligned or the end of the shard
// file, as ShardRange returns. Reading past the end returns io.EOF; a stream
// that ends early is an error wrapping io.ErrUnexpectedEOF, never short data.
func NewBitrotReader(src io.Reader, key []byte, chunkSize, offset, length int64) (*BitrotReader, error) {
	if src == nil {
		return nil, fmt.Errorf("%w: nil reader", ErrInvalidArgument)
	}
	r, err := newBitrotReader(key, chunkSize, offset, length)
	if err != nil {
		return nil, err
	}
	r.src = src
	r.closer, _ = src.(io.Closer)
	return r, nil
}

// NewLazyBitrotReader is NewBitrotReader over a stream that is opened only
// on the first Read, at the position reached by then. A shard that Decode
// never needs is never opened; one it needs from block k on is opened at
// block k.
func NewLazyBitrotReader(open OpenFunc, key []byte, chunkSize, offset, length int64) (*BitrotReader, error) {
	if open == nil {
		return nil, fmt.Errorf("%w: nil open function", ErrInvalidArgument)
	}
	r, err := newBitrotReader(key, chunkSize, offset, length)
	if err != nil {
		return nil, err
	}
	r.open = open
	return r, nil
}

func newBitrotReader(key []byte, chunkSize, offset, length int64) (*BitrotReader, error) {
	k, err := checkKey(key)
	if err != nil {
		return nil, err
	}
	if err := checkChunkSize(chunkSize); err != nil {
		return nil, err
	}
	if offset < 0 || offset%chunkSize != 0 {
		return nil, fmt.Errorf("%w: bitrot reader offset %d is not a multiple of chunk size %d", ErrInvalidArgument, offset, chunkSize)
	}
	if length < 0 || length > maxInt64-offset {
		return nil, fmt.Errorf("%w: bitrot reader length %d at offset %d", ErrInvalidArgument, length, offset)
	}
	return &BitrotReader{key: k, chunkSize: chunkSize, start: offset, end: offset + length, next: offset}, nil
}

const maxInt64 = 1<<63 - 1

// pos returns the shard data offset of the next byte Read returns.
func (r *BitrotReader) pos() int64 {
	return r.next - int64(len(r.chunk)-r.off)
}

// Read implements io.Reader. Verified bytes only: a chunk that fails its
// hash yields a *BitrotError and none of its bytes.
func (r *BitrotReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if r.off < len(r.chunk) {
		n := copy(p, r.chunk[r.off:])
		r.off += n
		return n, nil
	}
	if r.next >= r.end {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	n := int(min(r.chunkSize, r.end-r.next))
	// A caller buffer that holds the whole chunk is filled directly; p may
	// be used as scratch even when Read returns an error (io.Reader).
	direct := len(p) >= n
	dst := p[:min(len(p), n)]
	if !direct {
		if cap(r.scratch) < n {
			r.scratch = make([]byte, r.chunkSize)
		}
		dst = r.scratch[:n]
	}
	if err := r.readChunk(dst); err != nil {
		r.err = err
		r.chunk, r.off = nil, 0
		return 0, err
	}
	r.next += int64(n)
	if direct {
		r.chunk, r.off = nil, 0
		return n, nil
	}
	r.chunk = dst
	r.off = copy(p, dst)
	return r.off, nil
}

// readChunk reads and verifies the record of the chunk at r.next into dst.
func (r *BitrotReader) readChunk(dst []byte) error {
	if err := r.ensureOpen(); err != nil {
		return err
	}
	diskOffset := bitrotDiskOffset(r.next, r.chunkSize)
	if _, err := io.ReadFull(r.src, r.want[:]); err != nil {
		return r.streamError("hash", diskOffset, err)
	}
	if _, err := io.ReadFull(r.src, dst); err != nil {
		return r.streamError("chunk", diskOffset, err)
	}
	if highwayhash.Sum(dst, r.key[:]) != r.want {
		return &BitrotError{Offset: r.next, DiskOffset: diskOffset}
	}
	return nil
}

func (r *BitrotReader) streamError(part string, diskOffset int64, err error) error {
	if err == io.EOF {
		// The record was promised by offset+length: a stream that ends
		// before it is truncated, not finished.
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("bitrot reader: %s of chunk at shard offset %d (file offset %d): %w", part, r.next, diskOffset, err)
}

func (r *BitrotReader) ensureOpen() error {
	if r.src != nil {
		return nil
	}
	diskOffset := bitrotDiskOffset(r.next, r.chunkSize)
	diskLength := bitrotDiskSize(r.end-r.next, r.chunkSize)
	rc, err := r.open(diskOffset, diskLength)
	if err != nil {
		return fmt.Errorf("bitrot reader: open at file offset %d: %w", diskOffset, err)
	}
	if rc == nil {
		return fmt.Errorf("bitrot reader: open at file offset %d returned no stream: %w", diskOffset, ErrShardMissing)
	}
	r.src, r.closer = rc, rc
	return nil
}

// Skip passes over the next n bytes of shard data, which must end on a
// chunk boundary or at the end of the range. Before the first Read it only
// moves the position, so a lazy reader then opens its stream there;
// afterwards it reads past the skipped records without verifying them,
// since none of their bytes are returned. Decode uses it to bring a parity
// reader up to the block where it is first needed.
func (r *BitrotReader) Skip(n int64) error {
	if r.err != nil {
		return r.err
	}
	from := r.pos()
	if n < 0 || n > r.end-from || ((from+n)%r.chunkSize != 0 && from+n != r.end) {
		return fmt.Errorf("%w: skip %d bytes from shard offset %d: not forward to a chunk boundary within [%d, %d]", ErrInvalidArgument, n, from, r.start, r.end)
	}
	target := from + n
	if n == 0 {
		return nil
	}
	// An aligned target past the current position is never inside the
	// chunk already read, so the buffered rest of it is dropped.
	r.chunk, r.off = nil, 0
	if r.src == nil {
		r.next = target
		return nil
	}
	skip := bitrotDiskSize(target-r.next, r.chunkSize)
	if _, err := io.CopyN(io.Discard, r.src, skip); err != nil {
		r.err = r.streamError(fmt.Sprintf("skip of %d bytes", skip), bitrotDiskOffset(r.next, r.chunkSize), err)
		return r.err
	}
	r.next = target
	return nil
}

// Close closes the underlying stream if it is an io.Closer. Later Reads fail.
func (r *BitrotReader) Close() error {
	if r.err == nil {
		r.err = fmt.Errorf("bitrot reader: %w", errReaderClosed)
	}
	if r.closer == nil {
		return nil
	}
	c := r.closer
	r.closer = nil
	return c.Close()
}

var errReaderClosed = errors.New("read after close")
