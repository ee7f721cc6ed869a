package remote

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"go.uber.org/zap"

	"github.com/gridstore/gridstore/grid"
	"github.com/gridstore/gridstore/proto"
	"github.com/gridstore/gridstore/storage"
)

// maxKeyLen is the longest drive key: a grid subroute is at most 255 bytes.
const maxKeyLen = 255

// Server serves a node's drives to its peers: grid handlers for every Drive
// method, on one subroute per drive, and an HTTP handler for bulk reads.
type Server struct {
	m    *grid.Manager
	log  *zap.Logger
	opts options

	mu         sync.RWMutex
	drives     map[string]storage.Drive // by key (Endpoint()); nil: not served now
	registered map[string]bool          // keys whose grid handlers exist
}

// NewServer registers the grid handlers of every drive on m, each drive under
// its Endpoint() as subroute. Mount HTTPHandler at ReadPath on the HTTP server
// that serves m.Handler(). log may be nil. With OverTLS, reads must arrive
// over TLS with a verified client certificate.
func NewServer(m *grid.Manager, drives []storage.Drive, log *zap.Logger, opts ...Option) (*Server, error) {
	if log == nil {
		log = zap.NewNop()
	}
	s := &Server{m: m, log: log, opts: applyOptions(opts), drives: map[string]storage.Drive{}, registered: map[string]bool{}}
	seen := map[string]bool{}
	for _, d := range drives {
		key := d.Endpoint()
		if seen[key] {
			return nil, fmt.Errorf("remote server: two drives with endpoint %q", key)
		}
		seen[key] = true
		if err := s.AddDrive(d); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// AddDrive serves d under d.Endpoint(), replacing a drive served under the
// same endpoint (a drive reopened after a replacement, say). The grid cannot
// unregister handlers, so a key's handlers, once registered, stay; what they
// serve is looked up on every call.
func (s *Server) AddDrive(d storage.Drive) error {
	key := d.Endpoint()
	if key == "" || len(key) > maxKeyLen {
		return fmt.Errorf("remote server: drive endpoint %q: must be 1 to %d bytes (it is a grid subroute)", key, maxKeyLen)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.registered[key] {
		if err := s.register(key); err != nil {
			return fmt.Errorf("remote server: drive %s: %w", key, err)
		}
		s.registered[key] = true
	}
	s.drives[key] = d
	return nil
}

// RemoveDrive stops serving the drive with that endpoint: calls to it get
// storage.ErrDriveOffline. It does not close the drive.
func (s *Server) RemoveDrive(endpoint string) {
	s.mu.Lock()
	delete(s.drives, endpoint)
	s.mu.Unlock()
}

// drive returns the drive served under key.
func (s *Server) drive(key string) (storage.Drive, error) {
	s.mu.RLock()
	d := s.drives[key]
	s.mu.RUnlock()
	if d == nil {
		return nil, fmt.Errorf("%w: drive %q is not served by %s", storage.ErrDriveOffline, key, s.m.Self())
	}
	return d, nil
}

// serve registers one typed single handler for the drive under key.
func serve[Req, Resp grid.Msg](s *Server, key string, rpc *grid.SingleRPC[Req, Resp], fn func(ctx context.Context, d storage.Drive, req Req) (Resp, error)) error {
	return rpc.Register(s.m, func(ctx context.Context, req Req) (Resp, error) {
		d, err := s.drive(key)
		if err != nil {
			var zero Resp
			return zero, err
		}
		return fn(ctx, d, req)
	}, key)
}

// register registers every handler of the drive under key. Requests are
// decoded by the grid (ErrBadRequest for a payload that does not decode);
// names are checked by the drive itself, as for a local caller.
func (s *Server) register(key string) error {
	return errors.Join(
		serve(s, key, rpcDiskInfo, func(ctx context.Context, d storage.Drive, _ *emptyMsg) (*storage.DiskInfo, error) {
			info, err := d.DiskInfo(ctx)
			if err != nil {
				return nil, err
			}
			return &info, nil
		}),
		serve(s, key, rpcMakeVol, func(ctx context.Context, d storage.Drive, r *volReq) (*emptyMsg, error) {
			return empty, d.MakeVol(ctx, r.Volume)
		}),
		serve(s, key, rpcStatVol, func(ctx context.Context, d storage.Drive, r *volReq) (*storage.VolInfo, error) {
			vi, err := d.StatVol(ctx, r.Volume)
			if err != nil {
				return nil, err
			}
			return &vi, nil
		}),
		serve(s, key, rpcListVols, func(ctx context.Context, d storage.Drive, _ *emptyMsg) (*volList, error) {
			vols, err := d.ListVols(ctx)
			if err != nil {
				return nil, err
			}
			return &volList{Vols: vols}, nil
		}),
		serve(s, key, rpcDeleteVol, func(ctx context.Context, d storage.Drive, r *volReq) (*emptyMsg, error) {
			return empty, d.DeleteVol(ctx, r.Volume)
		}),
		serve(s, key, rpcDelete, func(ctx context.Context, d storage.Drive, r *deleteReq) (*emptyMsg, error) {
			return empty, d.Delete(ctx, r.Volume, r.Path, r.Recursive)
		}),
		serve(s, key, rpcListDir, func(ctx context.Context, d storage.Drive, r *listDirReq) (*nameList, error) {
			names, err := d.ListDir(ctx, r.Volume, r.Dir, r.Count)
			if err != nil {
				return nil, err
			}
			return &nameList{Names: names}, nil
		}),
		serve(s, key, rpcRenameData, func(ctx context.Context, d storage.Drive, r *renameDataReq) (*storage.RenameDataResult, error) {
			res, err := d.RenameData(ctx, r.SrcVolume, r.SrcPath, r.FI, r.DstVolume, r.DstPath)
			if err != nil {
				return nil, err
			}
			return &res, nil
		}),
		serve(s, key, rpcReadVersion, func(ctx context.Context, d storage.Drive, r *versionReq) (*storage.FileInfo, error) {
			fi, err := d.ReadVersion(ctx, r.Volume, r.Path, r.VersionID)
			if err != nil {
				return nil, err
			}
			return &fi, nil
		}),
		serve(s, key, rpcReadMetadata, func(ctx context.Context, d storage.Drive, r *pathReq) (*blob, error) {
			b, err := d.ReadMetadata(ctx, r.Volume, r.Path)
			if err != nil {
				return nil, err
			}
			return &blob{Data: b}, nil
		}),
		serve(s, key, rpcWriteMetadata, func(ctx context.Context, d storage.Drive, r *fileInfoReq) (*emptyMsg, error) {
			return empty, d.WriteMetadata(ctx, r.Volume, r.Path, r.FI)
		}),
		serve(s, key, rpcDeleteVersion, func(ctx context.Context, d storage.Drive, r *versionReq) (*emptyMsg, error) {
			return empty, d.DeleteVersion(ctx, r.Volume, r.Path, r.VersionID)
		}),
		serve(s, key, rpcVerifyFile, func(ctx context.Context, d storage.Drive, r *fileInfoReq) (*emptyMsg, error) {
			return empty, d.VerifyFile(ctx, r.Volume, r.Path, r.FI)
		}),
		s.m.RegisterStream(proto.HandlerDriveCreateFile, grid.StreamHandler{
			InCapacity: createWindowMsgs,
			InBytes:    createWindowBytes,
			Handle:     s.createFileHandler(key),
		}, key),
		streamWalkDir.RegisterSend(s.m, s.walkDirHandler(key), key),
	)
}

// HTTPHandler returns the bulk read endpoint; the node mounts it at ReadPath
// on the HTTP server that serves the grid.
func (s *Server) HTTPHandler() http.Handler { return http.HandlerFunc(s.serveRead) }
