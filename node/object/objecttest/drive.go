package objecttest

import (
	"context"
	"io"
	"sync/atomic"

	"github.com/gridstore/gridstore/storage"
)

// switchDrive is a local drive that can be switched off: every call then
// fails with storage.ErrDriveOffline, as a failed disk's would.
type switchDrive struct {
	storage.Drive
	off *atomic.Bool
}

func (d *switchDrive) check() error {
	if d.off.Load() {
		return storage.ErrDriveOffline
	}
	return nil
}

func (d *switchDrive) DiskInfo(ctx context.Context) (storage.DiskInfo, error) {
	if err := d.check(); err != nil {
		return storage.DiskInfo{Endpoint: d.Endpoint()}, err
	}
	return d.Drive.DiskInfo(ctx)
}

func (d *switchDrive) MakeVol(ctx context.Context, volume string) error {
	if err := d.check(); err != nil {
		return err
	}
	return d.Drive.MakeVol(ctx, volume)
}

func (d *switchDrive) StatVol(ctx context.Context, volume string) (storage.VolInfo, error) {
	if err := d.check(); err != nil {
		return storage.VolInfo{}, err
	}
	return d.Drive.StatVol(ctx, volume)
}

func (d *switchDrive) ListVols(ctx context.Context) ([]storage.VolInfo, error) {
	if err := d.check(); err != nil {
		return nil, err
	}
	return d.Drive.ListVols(ctx)
}

func (d *switchDrive) DeleteVol(ctx context.Context, volume string) error {
	if err := d.check(); err != nil {
		return err
	}
	return d.Drive.DeleteVol(ctx, volume)
}

func (d *switchDrive) CreateFile(ctx context.Context, volume, path string, size int64, r io.Reader) error {
	if err := d.check(); err != nil {
		return err
	}
	return d.Drive.CreateFile(ctx, volume, path, size, r)
}

func (d *switchDrive) ReadFileStream(ctx context.Context, volume, path string, offset, length int64) (io.ReadCloser, error) {
	if err := d.check(); err != nil {
		return nil, err
	}
	return d.Drive.ReadFileStream(ctx, volume, path, offset, length)
}

func (d *switchDrive) Delete(ctx context.Context, volume, path string, recursive bool) error {
	if err := d.check(); err != nil {
		return err
	}
	return d.Drive.Delete(ctx, volume, path, recursive)
}

func (d *switchDrive) ListDir(ctx context.Context, volume, dirPath string, count int) ([]string, error) {
	if err := d.check(); err != nil {
		return nil, err
	}
	return d.Drive.ListDir(ctx, volume, dirPath, count)
}

func (d *switchDrive) RenameData(ctx context.Context, srcVolume, srcPath string, fi storage.FileInfo, dstVolume, dstPath string) (storage.RenameDataResult, error) {
	if err := d.check(); err != nil {
		return storage.RenameDataResult{}, err
	}
	return d.Drive.RenameData(ctx, srcVolume, srcPath, fi, dstVolume, dstPath)
}

func (d *switchDrive) ReadVersion(ctx context.Context, volume, path, versionID string) (storage.FileInfo, error) {
	if err := d.check(); err != nil {
		return storage.FileInfo{}, err
	}
	return d.Drive.ReadVersion(ctx, volume, path, versionID)
}

func (d *switchDrive) ReadMetadata(ctx context.Context, volume, path string) ([]byte, error) {
	if err := d.check(); err != nil {
		return nil, err
	}
	return d.Drive.ReadMetadata(ctx, volume, path)
}

func (d *switchDrive) WriteMetadata(ctx context.Context, volume, path string, fi storage.FileInfo) error {
	if err := d.check(); err != nil {
		return err
	}
	return d.Drive.WriteMetadata(ctx, volume, path, fi)
}

func (d *switchDrive) DeleteVersion(ctx context.Context, volume, path, versionID string) error {
	if err := d.check(); err != nil {
		return err
	}
	return d.Drive.DeleteVersion(ctx, volume, path, versionID)
}

func (d *switchDrive) WalkDir(ctx context.Context, opts storage.WalkDirOptions, fn func(storage.MetaEntry) error) error {
	if err := d.check(); err != nil {
		return err
	}
	return d.Drive.WalkDir(ctx, opts, fn)
}

func (d *switchDrive) VerifyFile(ctx context.Context, volume, path string, fi storage.FileInfo) error {
	if err := d.check(); err != nil {
		return err
	}
	return d.Drive.VerifyFile(ctx, volume, path, fi)
}
