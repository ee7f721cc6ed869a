package health

import (
	"context"
	"time"

	"github.com/gridstore/gridstore/storage"
)

// The metadata calls: each runs on a goroutine of its own and returns
// within CallTimeout (or the caller's sooner deadline). Their results are
// plain values the goroutine allocates, so a late one needs no release.

// MakeVol creates a volume, within CallTimeout.
func (d *Drive) MakeVol(ctx context.Context, volume string) error {
	const op = "MakeVol"
	return d.runErr(ctx, op, d.cfg.CallTimeout, func(ctx context.Context) error {
		return d.inner.MakeVol(ctx, volume)
	})
}

// StatVol describes a volume, within CallTimeout.
func (d *Drive) StatVol(ctx context.Context, volume string) (storage.VolInfo, error) {
	const op = "StatVol"
	ep, err := d.admit(ctx, op)
	if err != nil {
		return storage.VolInfo{}, err
	}
	return run(d, ctx, ep, op, d.cfg.CallTimeout, nil, func(ctx context.Context) (storage.VolInfo, error) {
		return d.inner.StatVol(ctx, volume)
	})
}

// ListVols lists the volumes, within CallTimeout.
func (d *Drive) ListVols(ctx context.Context) ([]storage.VolInfo, error) {
	const op = "ListVols"
	ep, err := d.admit(ctx, op)
	if err != nil {
		return nil, err
	}
	return run(d, ctx, ep, op, d.cfg.CallTimeout, nil, d.inner.ListVols)
}

// DeleteVol deletes an empty volume, within CallTimeout.
func (d *Drive) DeleteVol(ctx context.Context, volume string) error {
	const op = "DeleteVol"
	return d.runErr(ctx, op, d.cfg.CallTimeout, func(ctx context.Context) error {
		return d.inner.DeleteVol(ctx, volume)
	})
}

// Delete removes a file or directory, within CallTimeout.
func (d *Drive) Delete(ctx context.Context, volume, path string, recursive bool) error {
	const op = "Delete"
	return d.runErr(ctx, op, d.cfg.CallTimeout, func(ctx context.Context) error {
		return d.inner.Delete(ctx, volume, path, recursive)
	})
}

// ListDir lists a directory, within CallTimeout.
func (d *Drive) ListDir(ctx context.Context, volume, dirPath string, count int) ([]string, error) {
	const op = "ListDir"
	ep, err := d.admit(ctx, op)
	if err != nil {
		return nil, err
	}
	return run(d, ctx, ep, op, d.cfg.CallTimeout, nil, func(ctx context.Context) ([]string, error) {
		return d.inner.ListDir(ctx, volume, dirPath, count)
	})
}

// RenameData publishes a version, within CallTimeout. A RenameData that
// times out may still commit when the drive wakes up; the object layer
// treats the drive as having missed the write either way, and healing
// settles it.
func (d *Drive) RenameData(ctx context.Context, srcVolume, srcPath string, fi storage.FileInfo, dstVolume, dstPath string) (storage.RenameDataResult, error) {
	const op = "RenameData"
	ep, err := d.admit(ctx, op)
	if err != nil {
		return storage.RenameDataResult{}, err
	}
	return run(d, ctx, ep, op, d.cfg.CallTimeout, nil, func(ctx context.Context) (storage.RenameDataResult, error) {
		return d.inner.RenameData(ctx, srcVolume, srcPath, fi, dstVolume, dstPath)
	})
}

// ReadVersion reads a version, within CallTimeout.
func (d *Drive) ReadVersion(ctx context.Context, volume, path, versionID string) (storage.FileInfo, error) {
	const op = "ReadVersion"
	ep, err := d.admit(ctx, op)
	if err != nil {
		return storage.FileInfo{}, err
	}
	return run(d, ctx, ep, op, d.cfg.CallTimeout, nil, func(ctx context.Context) (storage.FileInfo, error) {
		return d.inner.ReadVersion(ctx, volume, path, versionID)
	})
}

// ReadMetadata reads an object's record, within CallTimeout.
func (d *Drive) ReadMetadata(ctx context.Context, volume, path string) ([]byte, error) {
	const op = "ReadMetadata"
	ep, err := d.admit(ctx, op)
	if err != nil {
		return nil, err
	}
	return run(d, ctx, ep, op, d.cfg.CallTimeout, nil, func(ctx context.Context) ([]byte, error) {
		return d.inner.ReadMetadata(ctx, volume, path)
	})
}

// WriteMetadata stores a version, within CallTimeout.
func (d *Drive) WriteMetadata(ctx context.Context, volume, path string, fi storage.FileInfo) error {
	const op = "WriteMetadata"
	return d.runErr(ctx, op, d.cfg.CallTimeout, func(ctx context.Context) error {
		return d.inner.WriteMetadata(ctx, volume, path, fi)
	})
}

// DeleteVersion removes a version, within CallTimeout.
func (d *Drive) DeleteVersion(ctx context.Context, volume, path, versionID string) error {
	const op = "DeleteVersion"
	return d.runErr(ctx, op, d.cfg.CallTimeout, func(ctx context.Context) error {
		return d.inner.DeleteVersion(ctx, volume, path, versionID)
	})
}

// verifyMinRate is the slowest a VerifyFile may read the version's bytes
// before it counts as hung: it reads a whole version without telling
// anyone how far it got, so its deadline grows with the size. It is low
// on purpose (a disk busy with everything else, a scanner): a hung disk
// is caught sooner by the other calls, and taking the drive out of
// service fails a VerifyFile still waiting at once.
const verifyMinRate = 4 << 20 // bytes per second

// maxVerifySeconds caps VerifyFile's extra time, whatever size fi claims.
const maxVerifySeconds = 24 * 60 * 60

// VerifyFile checks a version's shards, within CallTimeout plus the time to
// read them at verifyMinRate.
func (d *Drive) VerifyFile(ctx context.Context, volume, path string, fi storage.FileInfo) error {
	const op = "VerifyFile"
	// The shard of this drive is about Size/DataBlocks bytes; Size bounds it.
	size := max(fi.Size, 0) + int64(len(fi.InlineData))
	bound := d.cfg.CallTimeout + time.Duration(min(float64(size)/verifyMinRate, maxVerifySeconds)*float64(time.Second))
	return d.runErr(ctx, op, bound, func(ctx context.Context) error {
		return d.inner.VerifyFile(ctx, volume, path, fi)
	})
}

// runErr is run for a call that returns only an error.
func (d *Drive) runErr(ctx context.Context, op string, bound time.Duration, fn func(context.Context) error) error {
	ep, err := d.admit(ctx, op)
	if err != nil {
		return err
	}
	_, err = run(d, ctx, ep, op, bound, nil, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, fn(ctx)
	})
	return err
}
