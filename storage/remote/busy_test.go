package remote

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gridstore/gridstore/grid"
	"github.com/gridstore/gridstore/storage"
)

// slowDrive answers ReadVersion after a pause, so that calls pile up on the
// serving node.
type slowDrive struct {
	faultDrive
	pause time.Duration
}

func (d *slowDrive) ReadVersion(context.Context, string, string, string) (storage.FileInfo, error) {
	time.Sleep(d.pause)
	return storage.FileInfo{}, storage.ErrFileNotFound
}

// A node serving as many calls as its grid allows refuses more as busy;
// the client retries those, so a burst beyond the limit is slower, not
// failed: busy is load, and the object layer would count a failed call
// as a drive that did not answer.
func TestBusyPeerIsRetried(t *testing.T) {
	d := &slowDrive{faultDrive: faultDrive{endpoint: "/slow"}, pause: 20 * time.Millisecond}
	c := startTestClusterWith(t, nil, func(cfg *grid.Config) { cfg.MaxServed = 2 }, d)
	rc := c.remote("/slow")
	const calls = 8
	var wg sync.WaitGroup
	errs := make(chan error, calls)
	for range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_, err := rc.ReadVersion(ctx, "bucket", "object", "")
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if !errors.Is(err, storage.ErrFileNotFound) {
			t.Errorf("a call beyond the peer's limit: %v, want the drive's answer (ErrFileNotFound)", err)
		}
	}
}
