package remote

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gridstore/gridstore/grid"
	"github.com/gridstore/gridstore/storage"
)

// Client is a storage.Drive on another node, reached over the grid (and the
// read endpoint for ReadFileStream).
type Client struct {
	m        *grid.Manager
	peer     string
	endpoint string
	conn     *grid.Connection // the peer, on the drive's subroute
	http     *http.Client
	readURL  string
	name     string

	alive func(peer string) bool // WithLiveness; nil: the grid's view only

	closed   atomic.Bool
	lastInfo atomic.Pointer[storage.DiskInfo] // last DiskInfo the drive gave
}

var _ storage.Drive = (*Client)(nil)

// NewClient returns the drive served under endpoint (its Endpoint() on the
// serving node) by peer, a grid address of m. httpClient carries the range
// reads to the peer's read endpoint; nil means DefaultHTTPClient, except with
// OverTLS, which needs a client that presents this node's certificate.
func NewClient(m *grid.Manager, peer, endpoint string, httpClient *http.Client, opts ...Option) (*Client, error) {
	if endpoint == "" || len(endpoint) > maxKeyLen {
		return nil, fmt.Errorf("remote drive %q on %s: endpoint must be 1 to %d bytes", endpoint, peer, maxKeyLen)
	}
	o := applyOptions(opts)
	scheme := "http://"
	if o.tls {
		if httpClient == nil {
			return nil, fmt.Errorf("remote drive %s on %s: reads over TLS need an HTTP client with this node's certificate (NewHTTPClient)", endpoint, peer)
		}
		scheme = "https://"
	}
	known := false
	for _, p := range m.Peers() {
		known = known || p == peer
	}
	if !known {
		return nil, fmt.Errorf("remote drive %s on %s: %w", endpoint, peer, grid.ErrUnknownPeer)
	}
	if httpClient == nil {
		httpClient = DefaultHTTPClient
	}
	name := endpoint
	if !strings.Contains(endpoint, "://") {
		// A bare path says nothing about where it is.
		name = peer + endpoint
	}
	return &Client{
		m:        m,
		peer:     peer,
		endpoint: endpoint,
		conn:     m.Connection(peer).Subroute(endpoint),
		http:     httpClient,
		readURL:  scheme + peer + ReadPath,
		name:     name,
		alive:    o.alive,
	}, nil
}

// DefaultHTTPClient is the client NewClient uses for plain-http range reads
// when given none (see NewHTTPClient).
var DefaultHTTPClient = NewHTTPClient(nil)

// String returns where the drive is, for logs: the endpoint if it is a URL,
// else the peer's address and the endpoint.
func (c *Client) String() string { return c.name }

// Endpoint returns the drive's endpoint as its node serves it.
func (c *Client) Endpoint() string { return c.endpoint }

// Peer returns the grid address of the node serving the drive.
func (c *Client) Peer() string { return c.peer }

// Close marks the client closed: later calls fail with ErrDriveOffline. Calls
// in progress finish normally. The drive itself is its node's to close.
func (c *Client) Close() error {
	c.closed.Store(true)
	return nil
}

// Available reports, without a call, whether the drive can be reached: the
// client is open, the grid connection to its node is up, and the cluster's
// liveness view (WithLiveness) does not hold the node dead. Without a
// liveness view a connected drive cannot tell (known false): a paused node
// keeps its connections until the grid's PeerTimeout, far longer than a
// request should wait, so the caller has to ask it.
func (c *Client) Available() (up, known bool) {
	if c.closed.Load() || c.m.Connection(c.peer).State() != grid.StateConnected {
		return false, true
	}
	if c.alive == nil {
		return true, false
	}
	return c.alive(c.peer), true
}

// ready fails a call that must not start: the client is closed or ctx done.
func (c *Client) ready(ctx context.Context) error {
	if c.closed.Load() {
		return fmt.Errorf("%w: client closed", storage.ErrDriveOffline)
	}
	return ctx.Err()
}

// call performs one typed single request.
func call[Req, Resp grid.Msg](ctx context.Context, c *Client, op string, rpc *grid.SingleRPC[Req, Resp], req Req) (Resp, error) {
	if err := c.ready(ctx); err != nil {
		var zero Resp
		return zero, c.wrap(op, err)
	}
	resp, err := rpc.Call(ctx, c.conn, req)
	// A busy peer refused the call before running it: try again after a
	// short, jittered pause, a few times within ctx. Busy is load, not a
	// dead drive, and must not count as one (the object layer takes an
	// error for a missing answer).
	for pause := busyRetryFirst; errors.Is(err, grid.ErrBusy) && pause <= busyRetryLast; pause *= 4 {
		t := time.NewTimer(pause/2 + rand.N(pause/2+1))
		select {
		case <-ctx.Done():
			t.Stop()
			return resp, c.wrap(op, err)
		case <-t.C:
		}
		resp, err = rpc.Call(ctx, c.conn, req)
	}
	if err != nil {
		return resp, c.wrap(op, err)
	}
	return resp, nil
}

// The pauses between retries of a call the peer refused as busy: 5, 20, 80
// and 320 ms, each jittered by half.
const (
	busyRetryFirst = 5 * time.Millisecond
	busyRetryLast  = 320 * time.Millisecond
)

// DiskInfo asks the drive. When it cannot be reached (ErrDriveOffline), the
// last figures it gave are returned with Online false, together with the
// error.
func (c *Client) DiskInfo(ctx context.Context) (storage.DiskInfo, error) {
	info, err := call(ctx, c, "DiskInfo", rpcDiskInfo, empty)
	if err != nil {
		if !errors.Is(err, storage.ErrDriveOffline) {
			return storage.DiskInfo{}, err
		}
		var last storage.DiskInfo
		if p := c.lastInfo.Load(); p != nil {
			last = *p
			last.Latency = maps.Clone(p.Latency)
		}
		last.Endpoint, last.Online = c.endpoint, false
		return last, err
	}
	last := *info
	last.Latency = maps.Clone(info.Latency) // the caller may change its copy
	c.lastInfo.Store(&last)
	return *info, nil
}

// MakeVol creates a volume on the remote drive.
func (c *Client) MakeVol(ctx context.Context, volume string) error {
	_, err := call(ctx, c, "MakeVol", rpcMakeVol, &volReq{Volume: volume})
	return err
}

// StatVol describes a volume of the remote drive.
func (c *Client) StatVol(ctx context.Context, volume string) (storage.VolInfo, error) {
	vi, err := call(ctx, c, "StatVol", rpcStatVol, &volReq{Volume: volume})
	if err != nil {
		return storage.VolInfo{}, err
	}
	return *vi, nil
}

// ListVols lists the volumes of the remote drive.
func (c *Client) ListVols(ctx context.Context) ([]storage.VolInfo, error) {
	l, err := call(ctx, c, "ListVols", rpcListVols, empty)
	if err != nil {
		return nil, err
	}
	return l.Vols, nil
}

// DeleteVol deletes an empty volume of the remote drive.
func (c *Client) DeleteVol(ctx context.Context, volume string) error {
	_, err := call(ctx, c, "DeleteVol", rpcDeleteVol, &volReq{Volume: volume})
	return err
}

// Delete removes a file or directory on the remote drive.
func (c *Client) Delete(ctx context.Context, volume, path string, recursive bool) error {
	_, err := call(ctx, c, "Delete", rpcDelete, &deleteReq{Volume: volume, Path: path, Recursive: recursive})
	return err
}

// ListDir lists a directory of the remote drive.
func (c *Client) ListDir(ctx context.Context, volume, dirPath string, count int) ([]string, error) {
	l, err := call(ctx, c, "ListDir", rpcListDir, &listDirReq{Volume: volume, Dir: dirPath, Count: count})
	if err != nil {
		return nil, err
	}
	return l.Names, nil
}

// RenameData publishes a version on the remote drive.
func (c *Client) RenameData(ctx context.Context, srcVolume, srcPath string, fi storage.FileInfo, dstVolume, dstPath string) (storage.RenameDataResult, error) {
	res, err := call(ctx, c, "RenameData", rpcRenameData,
		&renameDataReq{SrcVolume: srcVolume, SrcPath: srcPath, FI: fi, DstVolume: dstVolume, DstPath: dstPath})
	if err != nil {
		return storage.RenameDataResult{}, err
	}
	return *res, nil
}

// ReadVersion reads a version from the remote drive.
func (c *Client) ReadVersion(ctx context.Context, volume, path, versionID string) (storage.FileInfo, error) {
	fi, err := call(ctx, c, "ReadVersion", rpcReadVersion, &versionReq{Volume: volume, Path: path, VersionID: versionID})
	if err != nil {
		return storage.FileInfo{}, err
	}
	return *fi, nil
}

// ReadMetadata reads an object's raw record from the remote drive.
func (c *Client) ReadMetadata(ctx context.Context, volume, path string) ([]byte, error) {
	b, err := call(ctx, c, "ReadMetadata", rpcReadMetadata, &pathReq{Volume: volume, Path: path})
	if err != nil {
		return nil, err
	}
	return b.Data, nil
}

// WriteMetadata stores a version's metadata on the remote drive.
func (c *Client) WriteMetadata(ctx context.Context, volume, path string, fi storage.FileInfo) error {
	_, err := call(ctx, c, "WriteMetadata", rpcWriteMetadata, &fileInfoReq{Volume: volume, Path: path, FI: fi})
	return err
}

// DeleteVersion removes a version on the remote drive.
func (c *Client) DeleteVersion(ctx context.Context, volume, path, versionID string) error {
	_, err := call(ctx, c, "DeleteVersion", rpcDeleteVersion, &versionReq{Volume: volume, Path: path, VersionID: versionID})
	return err
}

// VerifyFile verifies a version's shards on the remote drive, where they are:
// only the verdict crosses the network. The grid gives a call without a
// deadline one minute; verifying a very large object needs the caller's own.
func (c *Client) VerifyFile(ctx context.Context, volume, path string, fi storage.FileInfo) error {
	_, err := call(ctx, c, "VerifyFile", rpcVerifyFile, &fileInfoReq{Volume: volume, Path: path, FI: fi})
	return err
}
