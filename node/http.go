package node

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/gridstore/gridstore/node/admin"
	"github.com/gridstore/gridstore/node/s3/s3err"
	"github.com/gridstore/gridstore/storage/remote"
	"go.uber.org/zap"
)

// reservedBucket is the first path segment of gridstore's own endpoints
// (grid, shard reads, admin API). No S3 bucket may have this name, so that
// no S3 path can be mistaken for them.
const reservedBucket = "gridstore"

// Health and metrics paths.
const (
	PathLive    = "/health/live"
	PathReady   = "/health/ready"
	PathCluster = "/health/cluster"
	PathMetrics = "/metrics"
)

// clusterHealthTimeout bounds the drive probe of /health/cluster.
const clusterHealthTimeout = 5 * time.Second

// ServeHTTP routes a request to the part of the node that serves it (see
// the package documentation).
func (n *Node) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	if path == "/"+reservedBucket || strings.HasPrefix(path, "/"+reservedBucket+"/") {
		n.serveInternal(w, r)
		return
	}
	if !hasS3Signature(r) {
		switch path {
		case PathLive:
			writeHealth(w, r, http.StatusOK, "live")
			return
		case PathReady:
			if n.up.Load() != nil {
				writeHealth(w, r, http.StatusOK, "ready")
			} else {
				writeHealth(w, r, http.StatusServiceUnavailable, "starting")
			}
			return
		case PathCluster:
			n.serveClusterHealth(w, r)
			return
		case PathMetrics:
			n.metrics.Handler().ServeHTTP(w, r)
			return
		}
	}
	rn := n.up.Load()
	if rn == nil {
		s3err.Write(w, r, s3err.Newf(s3err.ServiceUnavailable,
			"The node is starting: it waits for a quorum of nodes and drives to agree on the deployment."), "")
		return
	}
	dr, r := prepareDrain(w, r)
	defer dr.drain()
	res, err := rn.admit.admit(r)
	if err != nil {
		retryAfterHeader(w)
		s3err.Write(w, r, s3err.Newf(s3err.SlowDown, "The node is at its limit of requests in flight; retry in a moment."), "")
		n.metrics.RequestRefused()
		n.log.Debug("request refused: node at its limit", zap.Error(err))
		return
	}
	defer res.release()
	r = r.WithContext(context.WithValue(r.Context(), reservationKey{}, res))
	stall := n.cfg.StallTimeout
	if stall == 0 {
		stall = DefaultStallTimeout
	}
	w, r, done := guardStalls(w, r, stall)
	defer done()
	rn.s3.ServeHTTP(w, r)
}

// serveInternal serves the paths under /gridstore/: the grid and shard
// reads for the other nodes, and the admin API.
func (n *Node) serveInternal(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	rn := n.up.Load()
	switch {
	case n.grid != nil && path == n.cfg.Timing.Grid.Path:
		n.grid.Handler().ServeHTTP(w, r)
	case path == remote.ReadPath && rn != nil && rn.remote != nil:
		rn.remote.HTTPHandler().ServeHTTP(w, r)
	case strings.HasPrefix(path, admin.PathPrefix) && rn != nil:
		rn.admin.ServeHTTP(w, r)
	case rn == nil:
		s3err.Write(w, r, s3err.Newf(s3err.ServiceUnavailable, "The node is starting."), "")
	default:
		s3err.Write(w, r, s3err.Newf(s3err.InvalidBucketName, "The bucket name %q is reserved for gridstore's own endpoints.", reservedBucket), "")
	}
}

// serveClusterHealth answers 200 only while every erasure set would accept
// a write: what a load balancer or an operator's check needs to know.
func (n *Node) serveClusterHealth(w http.ResponseWriter, r *http.Request) {
	rn := n.up.Load()
	if rn == nil {
		writeHealth(w, r, http.StatusServiceUnavailable, "starting")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), clusterHealthTimeout)
	defer cancel()
	if !rn.layer.WriteQuorumAvailable(ctx) {
		writeHealth(w, r, http.StatusServiceUnavailable, "write quorum lost on at least one erasure set")
		return
	}
	writeHealth(w, r, http.StatusOK, "write quorum available on every erasure set")
}

// writeHealth answers a health probe: the status, and a one-line reason for
// people.
func writeHealth(w http.ResponseWriter, r *http.Request, status int, msg string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write([]byte(msg + "\n"))
	}
}

// hasS3Signature reports whether r carries SigV4 (or any AWS) credentials,
// in the header or the presigned form: such a request is always for S3.
func hasS3Signature(r *http.Request) bool {
	return r.Header.Get("Authorization") != "" ||
		strings.Contains(r.URL.RawQuery, "X-Amz-Credential=") ||
		strings.Contains(r.URL.RawQuery, "AWSAccessKeyId=")
}
