package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/gridstore/gridstore/storage"
)

// Drives the tests serve: wrappers that fail, stall or serve plain files.

// faultDrive fails every call with err.
type faultDrive struct {
	endpoint string
	err      error
}

func (d *faultDrive) String() string   { return d.endpoint }
func (d *faultDrive) Endpoint() string { return d.endpoint }
func (d *faultDrive) Close() error     { return nil }
func (d *faultDrive) DiskInfo(context.Context) (storage.DiskInfo, error) {
	return storage.DiskInfo{}, d.fail("DiskInfo")
}
func (d *faultDrive) MakeVol(context.Context, string) error { return d.fail("MakeVol") }
func (d *faultDrive) StatVol(context.Context, string) (storage.VolInfo, error) {
	return storage.VolInfo{}, d.fail("StatVol")
}
func (d *faultDrive) ListVols(context.Context) ([]storage.VolInfo, error) {
	return nil, d.fail("ListVols")
}
func (d *faultDrive) DeleteVol(context.Context, string) error { return d.fail("DeleteVol") }
func (d *faultDrive) CreateFile(_ context.Context, _, _ string, _ int64, r io.Reader) error {
	// Read a little first, so the failure comes mid-stream.
	_, _ = io.CopyN(io.Discard, r, 1000)
	return d.fail("CreateFile")
}
func (d *faultDrive) ReadFileStream(context.Context, string, string, int64, int64) (io.ReadCloser, error) {
	return nil, d.fail("ReadFileStream")
}
func (d *faultDrive) Delete(context.Context, string, string, bool) error { return d.fail("Delete") }
func (d *faultDrive) ListDir(context.Context, string, string, int) ([]string, error) {
	return nil, d.fail("ListDir")
}
func (d *faultDrive) RenameData(context.Context, string, string, storage.FileInfo, string, string) (storage.RenameDataResult, error) {
	return storage.RenameDataResult{}, d.fail("RenameData")
}
func (d *faultDrive) ReadVersion(context.Context, string, string, string) (storage.FileInfo, error) {
	return storage.FileInfo{}, d.fail("ReadVersion")
}
func (d *faultDrive) ReadMetadata(context.Context, string, string) ([]byte, error) {
	return nil, d.fail("ReadMetadata")
}
func (d *faultDrive) WriteMetadata(context.Context, string, string, storage.FileInfo) error {
	return d.fail("WriteMetadata")
}
func (d *faultDrive) DeleteVersion(context.Context, string, string, string) error {
	return d.fail("DeleteVersion")
}
func (d *faultDrive) WalkDir(_ context.Context, _ storage.WalkDirOptions, fn func(storage.MetaEntry) error) error {
	if err := fn(storage.MetaEntry{Name: "first"}); err != nil {
		return err
	}
	return d.fail("WalkDir")
}
func (d *faultDrive) VerifyFile(context.Context, string, string, storage.FileInfo) error {
	return d.fail("VerifyFile")
}

func (d *faultDrive) fail(op string) error {
	return fmt.Errorf("%s on %s: %w", op, d.endpoint, d.err)
}

// gateDrive is a drive whose CreateFile does not read its input until the
// gate opens (or its context ends): a congested peer.
type gateDrive struct {
	storage.Drive
	gate    chan struct{} // closed to let CreateFile read
	started chan string   // gets each CreateFile's path once it is blocked
	ended   chan error    // gets each CreateFile's result
}

func newGateDrive(d storage.Drive) *gateDrive {
	return &gateDrive{Drive: d, gate: make(chan struct{}), started: make(chan string, 16), ended: make(chan error, 16)}
}

func (d *gateDrive) CreateFile(ctx context.Context, volume, path string, size int64, r io.Reader) error {
	d.started <- path
	select {
	case <-d.gate:
	case <-ctx.Done():
		err := fmt.Errorf("gated CreateFile: %w", ctx.Err())
		d.ended <- err
		return err
	}
	err := d.Drive.CreateFile(ctx, volume, path, size, r)
	d.ended <- err
	return err
}

// fileDrive serves the files of a directory as volume rangeVolume, through
// ReadFileStream only. Its streams implement FileRange, like the local
// drive's, unless plain is set; lie makes FileRange claim more bytes than
// the range has (a file truncated under the reader).
type fileDrive struct {
	storage.Drive // everything else: a drive that is never called
	endpoint      string
	dir           string
	plain         bool
	lie           int64
	failLeft      int64 // if > 0, streams fail with this many bytes of the range left

	mu      sync.Mutex
	opened  int
	closedN int
}

const rangeVolume = "ranges"

func (d *fileDrive) Endpoint() string { return d.endpoint }
func (d *fileDrive) String() string   { return d.endpoint }

func (d *fileDrive) ReadFileStream(ctx context.Context, volume, path string, offset, length int64) (io.ReadCloser, error) {
	if volume != rangeVolume {
		return nil, fmt.Errorf("read %s/%s: %w", volume, path, storage.ErrVolumeNotFound)
	}
	f, err := os.Open(filepath.Join(d.dir, filepath.Base(path)))
	if err != nil {
		return nil, fmt.Errorf("read %s/%s: %w", volume, path, storage.ErrFileNotFound)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if length == -1 {
		length = st.Size() - offset
	}
	if offset+length > st.Size() {
		f.Close()
		return nil, fmt.Errorf("read %s/%s: %w: past the end", volume, path, storage.ErrFileCorrupt)
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	d.mu.Lock()
	d.opened++
	d.mu.Unlock()
	s := &section{d: d, f: f, r: io.LimitedReader{R: f, N: length}}
	if d.plain {
		return &plainSection{s}, nil
	}
	return s, nil
}

type section struct {
	d *fileDrive
	f *os.File
	r io.LimitedReader
}

func (s *section) Read(p []byte) (int, error) {
	if s.d.failLeft > 0 && s.r.N <= s.d.failLeft {
		return 0, fmt.Errorf("read: %w", storage.ErrFaultyDisk)
	}
	if s.d.failLeft > 0 {
		p = p[:min(int64(len(p)), s.r.N-s.d.failLeft)]
	}
	return s.r.Read(p)
}

func (s *section) FileRange() (*os.File, int64) { return s.f, s.r.N + s.d.lie }

func (s *section) Close() error {
	s.d.mu.Lock()
	s.d.closedN++
	s.d.mu.Unlock()
	return s.f.Close()
}

// plainSection hides FileRange (and any WriterTo): the endpoint's fallback.
type plainSection struct{ s *section }

func (p *plainSection) Read(b []byte) (int, error) { return p.s.Read(b) }
func (p *plainSection) Close() error               { return p.s.Close() }

// errTest is a failure only the tests produce.
var errTest = errors.New("test failure")
