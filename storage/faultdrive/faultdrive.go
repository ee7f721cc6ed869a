package faultdrive

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gridstore/gridstore/storage"
)

// Op names a Drive method whose calls a rule applies to.
type Op string

// The operations faults can be injected into: every Drive method that takes
// a context. String, Endpoint and Close always pass through.
const (
	OpDiskInfo       Op = "DiskInfo"
	OpMakeVol        Op = "MakeVol"
	OpStatVol        Op = "StatVol"
	OpListVols       Op = "ListVols"
	OpDeleteVol      Op = "DeleteVol"
	OpCreateFile     Op = "CreateFile"
	OpReadFileStream Op = "ReadFileStream"
	OpDelete         Op = "Delete"
	OpListDir        Op = "ListDir"
	OpRenameData     Op = "RenameData"
	OpReadVersion    Op = "ReadVersion"
	OpReadMetadata   Op = "ReadMetadata"
	OpWriteMetadata  Op = "WriteMetadata"
	OpDeleteVersion  Op = "DeleteVersion"
	OpWalkDir        Op = "WalkDir"
	OpVerifyFile     Op = "VerifyFile"
)

// Ops lists every operation, in the order of the Drive interface.
var Ops = []Op{
	OpDiskInfo, OpMakeVol, OpStatVol, OpListVols, OpDeleteVol, OpCreateFile, OpReadFileStream,
	OpDelete, OpListDir, OpRenameData, OpReadVersion, OpReadMetadata, OpWriteMetadata,
	OpDeleteVersion, OpWalkDir, OpVerifyFile,
}

// allOps is the key of the rule for every operation.
const allOps Op = ""

type kind int

const (
	kindFail kind = iota + 1
	kindDelay
	kindHang
	kindHangAfter
	kindSlow
)

// Fault is what a rule does to the calls it applies to; see the package
// documentation. The zero Fault does nothing.
type Fault struct {
	kind kind
	err  error
	d    time.Duration
	n    int64 // bytes (or entries) before a HangAfter hangs; bytes per second of Slow
}

// Fail makes calls fail with err (wrapped with the operation and drive)
// without reaching the drive. A stream's Read fails too while it is set.
func Fail(err error) Fault { return Fault{kind: kindFail, err: err} }

// Delay makes calls sleep d before they proceed, whatever their context.
func Delay(d time.Duration) Fault { return Fault{kind: kindDelay, d: d} }

// Hang makes calls, and the Reads of open streams, block until the rule is
// cleared, whatever their context.
func Hang() Fault { return Fault{kind: kindHang} }

// HangAfter lets a streaming call move n bytes (WalkDir: deliver n entries)
// and then blocks it until the rule is cleared: CreateFile in its reading of
// the input, ReadFileStream's stream in its Read, WalkDir before calling its
// callback again. Other calls block at once, as with Hang.
func HangAfter(n int64) Fault { return Fault{kind: kindHangAfter, n: max(n, 0)} }

// Slow makes CreateFile read its input, and ReadFileStream's stream yield
// its bytes, at bytesPerSecond: each Read sleeps for the bytes it moved,
// whatever the context, as a Read from a slow disk takes the time of its
// transfer. Other calls are not affected.
func Slow(bytesPerSecond int64) Fault { return Fault{kind: kindSlow, n: max(bytesPerSecond, 1)} }

// rule is a Fault in force. release is closed when the rule is cleared or
// replaced, which lets the calls it hung go on.
type rule struct {
	f       Fault
	release chan struct{}
}

// Drive is a storage.Drive with injected faults. Its methods are safe for
// concurrent use, as are the rule setters.
type Drive struct {
	inner storage.Drive

	mu    sync.Mutex
	rules map[Op]*rule

	calls   map[Op]*atomic.Int64 // fixed at New: read without the lock
	blocked atomic.Int64
	streams atomic.Int64
}

var _ storage.Drive = (*Drive)(nil)

// New wraps inner. Without rules, every call goes straight to inner.
func New(inner storage.Drive) *Drive {
	d := &Drive{inner: inner, rules: make(map[Op]*rule), calls: make(map[Op]*atomic.Int64, len(Ops))}
	for _, op := range Ops {
		d.calls[op] = new(atomic.Int64)
	}
	return d
}

// Inner returns the wrapped drive.
func (d *Drive) Inner() storage.Drive { return d.inner }

// Set makes f the rule of the named operations, or with none of every
// operation that has no rule of its own. A rule it replaces is cleared:
// the calls that rule hung go on.
func (d *Drive) Set(f Fault, ops ...Op) {
	if len(ops) == 0 {
		ops = []Op{allOps}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, op := range ops {
		if old := d.rules[op]; old != nil {
			close(old.release)
		}
		d.rules[op] = &rule{f: f, release: make(chan struct{})}
	}
}

// Clear removes the rules of the named operations, or with none the rule for
// every operation (not the operations' own). The calls they hung go on.
func (d *Drive) Clear(ops ...Op) {
	if len(ops) == 0 {
		ops = []Op{allOps}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, op := range ops {
		if r := d.rules[op]; r != nil {
			close(r.release)
			delete(d.rules, op)
		}
	}
}

// Release removes every rule and lets every hung call go on.
func (d *Drive) Release() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for op, r := range d.rules {
		close(r.release)
		delete(d.rules, op)
	}
}

// Calls returns how many calls of op have been made, faulted or not.
func (d *Drive) Calls(op Op) int64 {
	if c := d.calls[op]; c != nil {
		return c.Load()
	}
	return 0
}

// Blocked returns how many calls (and stream Reads) are hung right now.
func (d *Drive) Blocked() int { return int(d.blocked.Load()) }

// OpenStreams returns how many streams ReadFileStream returned that are not
// closed yet.
func (d *Drive) OpenStreams() int { return int(d.streams.Load()) }

// rule returns the rule in force for op, or nil.
func (d *Drive) rule(op Op) *rule {
	d.mu.Lock()
	defer d.mu.Unlock()
	if r := d.rules[op]; r != nil {
		return r
	}
	return d.rules[allOps]
}

// block waits until r is cleared. It ignores every context: that is the
// point.
func (d *Drive) block(r *rule) {
	d.blocked.Add(1)
	defer d.blocked.Add(-1)
	<-r.release
}

// enter applies op's rule at the start of a call.
func (d *Drive) enter(op Op) error {
	d.calls[op].Add(1)
	r := d.rule(op)
	if r == nil {
		return nil
	}
	switch r.f.kind {
	case kindFail:
		return d.fail(op, r)
	case kindDelay:
		time.Sleep(r.f.d)
	case kindHang:
		d.block(r)
	case kindHangAfter:
		if op != OpCreateFile && op != OpReadFileStream && op != OpWalkDir {
			d.block(r)
		}
	}
	return nil
}

func (d *Drive) fail(op Op, r *rule) error {
	return fmt.Errorf("faultdrive: %s on %s: %w", op, d.inner, r.f.err)
}

// dataReader applies op's rule to the data of a streaming call: the input
// of CreateFile, the output of ReadFileStream.
type dataReader struct {
	d   *Drive
	op  Op
	r   io.Reader
	pos int64
}

func (x *dataReader) Read(p []byte) (int, error) {
	r := x.d.rule(x.op)
	if r != nil {
		switch r.f.kind {
		case kindFail:
			return 0, x.d.fail(x.op, r)
		case kindHang:
			x.d.block(r)
		case kindHangAfter:
			if x.pos >= r.f.n {
				x.d.block(r)
			} else if rest := r.f.n - x.pos; int64(len(p)) > rest {
				// Stop exactly at n, so the hang comes after n bytes.
				p = p[:rest]
			}
		}
	}
	n, err := x.r.Read(p)
	x.pos += int64(n)
	if r != nil && r.f.kind == kindSlow && n > 0 {
		time.Sleep(time.Duration(float64(n) / float64(r.f.n) * float64(time.Second)))
	}
	return n, err
}

// stream is a ReadFileStream stream with faults. It hides the wrapped
// stream's other methods (WriterTo, FileRange) on purpose: they would move
// the bytes without passing through Read and its faults.
type stream struct {
	dataReader
	c      io.Closer
	closed atomic.Bool
}

func (s *stream) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.d.streams.Add(-1)
	return s.c.Close()
}

// String returns the wrapped drive's.
func (d *Drive) String() string { return d.inner.String() }

// Endpoint returns the wrapped drive's.
func (d *Drive) Endpoint() string { return d.inner.Endpoint() }

// Close closes the wrapped drive. It is never faulted.
func (d *Drive) Close() error { return d.inner.Close() }

// DiskInfo applies the DiskInfo rule.
func (d *Drive) DiskInfo(ctx context.Context) (storage.DiskInfo, error) {
	if err := d.enter(OpDiskInfo); err != nil {
		return storage.DiskInfo{}, err
	}
	return d.inner.DiskInfo(ctx)
}

// MakeVol applies the MakeVol rule.
func (d *Drive) MakeVol(ctx context.Context, volume string) error {
	if err := d.enter(OpMakeVol); err != nil {
		return err
	}
	return d.inner.MakeVol(ctx, volume)
}

// StatVol applies the StatVol rule.
func (d *Drive) StatVol(ctx context.Context, volume string) (storage.VolInfo, error) {
	if err := d.enter(OpStatVol); err != nil {
		return storage.VolInfo{}, err
	}
	return d.inner.StatVol(ctx, volume)
}

// ListVols applies the ListVols rule.
func (d *Drive) ListVols(ctx context.Context) ([]storage.VolInfo, error) {
	if err := d.enter(OpListVols); err != nil {
		return nil, err
	}
	return d.inner.ListVols(ctx)
}

// DeleteVol applies the DeleteVol rule.
func (d *Drive) DeleteVol(ctx context.Context, volume string) error {
	if err := d.enter(OpDeleteVol); err != nil {
		return err
	}
	return d.inner.DeleteVol(ctx, volume)
}

// CreateFile applies the CreateFile rule at the call and to every read of r.
func (d *Drive) CreateFile(ctx context.Context, volume, path string, size int64, r io.Reader) error {
	if err := d.enter(OpCreateFile); err != nil {
		return err
	}
	return d.inner.CreateFile(ctx, volume, path, size, &dataReader{d: d, op: OpCreateFile, r: r})
}

// ReadFileStream applies the ReadFileStream rule at the call and to every
// Read of the stream.
func (d *Drive) ReadFileStream(ctx context.Context, volume, path string, offset, length int64) (io.ReadCloser, error) {
	if err := d.enter(OpReadFileStream); err != nil {
		return nil, err
	}
	rc, err := d.inner.ReadFileStream(ctx, volume, path, offset, length)
	if err != nil {
		return nil, err
	}
	d.streams.Add(1)
	return &stream{dataReader: dataReader{d: d, op: OpReadFileStream, r: rc}, c: rc}, nil
}

// Delete applies the Delete rule.
func (d *Drive) Delete(ctx context.Context, volume, path string, recursive bool) error {
	if err := d.enter(OpDelete); err != nil {
		return err
	}
	return d.inner.Delete(ctx, volume, path, recursive)
}

// ListDir applies the ListDir rule.
func (d *Drive) ListDir(ctx context.Context, volume, dirPath string, count int) ([]string, error) {
	if err := d.enter(OpListDir); err != nil {
		return nil, err
	}
	return d.inner.ListDir(ctx, volume, dirPath, count)
}

// RenameData applies the RenameData rule.
func (d *Drive) RenameData(ctx context.Context, srcVolume, srcPath string, fi storage.FileInfo, dstVolume, dstPath string) (storage.RenameDataResult, error) {
	if err := d.enter(OpRenameData); err != nil {
		return storage.RenameDataResult{}, err
	}
	return d.inner.RenameData(ctx, srcVolume, srcPath, fi, dstVolume, dstPath)
}

// ReadVersion applies the ReadVersion rule.
func (d *Drive) ReadVersion(ctx context.Context, volume, path, versionID string) (storage.FileInfo, error) {
	if err := d.enter(OpReadVersion); err != nil {
		return storage.FileInfo{}, err
	}
	return d.inner.ReadVersion(ctx, volume, path, versionID)
}

// ReadMetadata applies the ReadMetadata rule.
func (d *Drive) ReadMetadata(ctx context.Context, volume, path string) ([]byte, error) {
	if err := d.enter(OpReadMetadata); err != nil {
		return nil, err
	}
	return d.inner.ReadMetadata(ctx, volume, path)
}

// WriteMetadata applies the WriteMetadata rule.
func (d *Drive) WriteMetadata(ctx context.Context, volume, path string, fi storage.FileInfo) error {
	if err := d.enter(OpWriteMetadata); err != nil {
		return err
	}
	return d.inner.WriteMetadata(ctx, volume, path, fi)
}

// DeleteVersion applies the DeleteVersion rule.
func (d *Drive) DeleteVersion(ctx context.Context, volume, path, versionID string) error {
	if err := d.enter(OpDeleteVersion); err != nil {
		return err
	}
	return d.inner.DeleteVersion(ctx, volume, path, versionID)
}

// WalkDir applies the WalkDir rule at the call and before every entry.
func (d *Drive) WalkDir(ctx context.Context, opts storage.WalkDirOptions, fn func(storage.MetaEntry) error) error {
	if err := d.enter(OpWalkDir); err != nil {
		return err
	}
	var delivered int64
	return d.inner.WalkDir(ctx, opts, func(e storage.MetaEntry) error {
		if r := d.rule(OpWalkDir); r != nil {
			switch r.f.kind {
			case kindFail:
				return d.fail(OpWalkDir, r)
			case kindHang:
				d.block(r)
			case kindHangAfter:
				if delivered >= r.f.n {
					d.block(r)
				}
			}
		}
		delivered++
		return fn(e)
	})
}

// VerifyFile applies the VerifyFile rule.
func (d *Drive) VerifyFile(ctx context.Context, volume, path string, fi storage.FileInfo) error {
	if err := d.enter(OpVerifyFile); err != nil {
		return err
	}
	return d.inner.VerifyFile(ctx, volume, path, fi)
}
