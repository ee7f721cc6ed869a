package node

import (
	"time"

	"github.com/gridstore/gridstore/node/s3"
	"go.uber.org/zap"
)

// DefaultSlowRequest is Config.SlowRequest's default: the longest a
// request may take under the cluster's targets (no request over 5 s with a
// peer paused or dead; see docs/operations.md).
const DefaultSlowRequest = 5 * time.Second

// slowRequestLogger returns what logs an S3 request that took longer than
// the configured threshold, once, when it ends; nil when that is off.
func (n *Node) slowRequestLogger() func(s3.RequestInfo) {
	limit := n.cfg.SlowRequest
	if limit == 0 {
		limit = DefaultSlowRequest
	}
	if limit < 0 {
		return nil
	}
	log := n.log.Named("s3")
	return func(ri s3.RequestInfo) {
		if ri.Duration < limit {
			return
		}
		fields := []zap.Field{
			zap.String("api", ri.API), zap.String("request_id", ri.ID),
			zap.String("bucket", ri.Bucket), zap.String("key", ri.Key),
			zap.Int("status", ri.Status), zap.Duration("took", ri.Duration),
			zap.Duration("first_byte", ri.FirstByte),
			zap.Int64("bytes_in", ri.BytesIn), zap.Int64("bytes_out", ri.BytesOut),
			// Time the client took: a slow reader or uploader, not us.
			zap.Duration("body_read", ri.BodyRead), zap.Duration("response_write", ri.ResponseWrite),
		}
		if ri.Steps != "" {
			fields = append(fields, zap.String("steps", ri.Steps))
		}
		log.Warn("slow request", fields...)
	}
}
