package health

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/google/uuid"

	"github.com/gridstore/gridstore/storage"
)

// probeSize is the size of the probe's file: small, but more than one
// page, so the write and the read each reach the disk's data path.
const probeSize = 8 << 10

var errStopped = errors.New("health: drive closed during the probe")

// probe checks that the wrapped drive works: DiskInfo, then a small file
// written to the tmp volume, read back, compared and deleted. It returns
// within ProbeTimeout (or at Close); a probe stuck in the drive is left
// behind, marked by d.probing until it returns, so that no second probe
// piles up behind it.
func (d *Drive) probe() error {
	d.probing.Store(true)
	c := d.newCall("probe", d.cfg.ProbeTimeout)
	res := make(chan error, 1)
	ctx, cancel := context.WithTimeout(context.Background(), d.cfg.ProbeTimeout)
	go func() {
		err := d.probeOnce(ctx)
		cancel()
		d.probing.Store(false)
		if c.finish() {
			res <- err
			return
		}
		d.lateReturn(c, err)
	}()
	t := time.NewTimer(d.cfg.ProbeTimeout)
	defer t.Stop()
	why := errStopped
	select {
	case err := <-res:
		return err
	case <-t.C:
		why = fmt.Errorf("probe: %w: no answer within %v", storage.ErrDriveTimeout, d.cfg.ProbeTimeout)
	case <-d.stop:
	}
	if !d.abandon(c, whyProbe) {
		return <-res
	}
	cancel()
	return why
}

// probeOnce is the probe's work, on its own goroutine. It uses only memory
// of its own, so abandoning it is safe.
func (d *Drive) probeOnce(ctx context.Context) error {
	if _, err := d.inner.DiskInfo(ctx); err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	id := uuid.New()
	data := bytes.Repeat(id[:], probeSize/len(id))
	name := "health-probe-" + id.String()
	if err := d.inner.CreateFile(ctx, storage.TmpVolume, name, int64(len(data)), bytes.NewReader(data)); err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	got, err := readAll(ctx, d.inner, name)
	if derr := d.inner.Delete(ctx, storage.TmpVolume, name, false); err == nil && derr != nil {
		err = derr
	}
	if err == nil && !bytes.Equal(got, data) {
		err = fmt.Errorf("%w: the probe file reads back %d bytes that differ from the %d written",
			storage.ErrFaultyDisk, len(got), len(data))
	}
	if err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	return nil
}

func readAll(ctx context.Context, d storage.Drive, name string) ([]byte, error) {
	rc, err := d.ReadFileStream(ctx, storage.TmpVolume, name, 0, -1)
	if err != nil {
		return nil, err
	}
	got, err := io.ReadAll(rc)
	if cerr := rc.Close(); err == nil {
		err = cerr
	}
	return got, err
}
