package node

import (
	"fmt"
	"net/http"
	"strconv"
	"sync"

	"github.com/gridstore/gridstore/erasure"
	"github.com/gridstore/gridstore/node/object"
	"github.com/gridstore/gridstore/storage/ringbuf"
)

// Defaults of Config.MaxRequests and Config.RequestMemory.
const (
	DefaultMaxRequests   = 1024
	DefaultRequestMemory = 1 << 30
)

// admission is the node's budget of S3 requests in flight and of the buffer
// memory they may take. A request that does not fit is refused at once
// with 503 SlowDown and Retry-After, rather than queued without bound:
// under overload a node answers fast, keeps its memory, and lets the
// clients' backoff spread the load (a queue would only turn the same
// overload into timeouts).
//
// Each request reserves its worst case before it runs (cost): a streamed
// PUT or part holds a 2 MiB ring buffer per drive of its set plus the
// encoder's two blocks; a GET the decoder's two blocks and the prefetch
// chunks; a small PUT a few copies of its body; anything else a little.
// So the buffers of requests in flight stay within RequestMemory; the
// node's RSS is that plus the Go runtime's overhead and the metadata
// caches (docs/configuration.md).
type admission struct {
	mu        sync.Mutex
	requests  int
	memory    int64
	maxReqs   int
	maxMemory int64

	putCost, getCost int64
}

// Request costs that do not depend on the deployment.
const (
	smallRequestCost = 256 << 10 // listings, deletes, bucket calls, HEAD
	smallPutCopies   = 4         // body, inline shards, metadata record, slack
)

// newAdmission sizes the costs for sets of setSize drives with parity
// parity and blocks of blockSize bytes.
func newAdmission(maxReqs int, maxMemory int64, setSize, parity, blockSize int) *admission {
	if blockSize <= 0 {
		blockSize = erasure.DefaultBlockSize
	}
	data := max(setSize-parity, 1)
	block := int64(blockSize) * int64(setSize) / int64(data) // a block with its parity
	return &admission{
		maxReqs: maxReqs, maxMemory: maxMemory,
		putCost: int64(setSize)*ringbuf.DefaultSize + 2*block,
		getCost: 2*block + int64(object.DefaultPrefetchDepth+1)*int64(blockSize),
	}
}

// cost is what r may take at most.
func (a *admission) cost(r *http.Request) int64 {
	switch r.Method {
	case http.MethodPut:
		switch {
		case r.Header.Get("X-Amz-Copy-Source") != "":
			return a.getCost + a.putCost // a copy is a GET streamed into a PUT
		case r.ContentLength >= 0 && r.ContentLength <= object.InlineLimit:
			return smallRequestCost + smallPutCopies*r.ContentLength
		}
		return a.putCost
	case http.MethodGet:
		return a.getCost
	}
	return smallRequestCost // HEAD, DELETE, and POSTs: small XML bodies
}

// admit reserves r's cost, or reports why it cannot. release must be
// called with the returned cost when the request ends.
func (a *admission) admit(r *http.Request) (int64, error) {
	c := a.cost(r)
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case a.requests >= a.maxReqs:
		return 0, fmt.Errorf("%d requests in flight, the node's limit", a.requests)
	case a.memory+c > a.maxMemory && a.requests > 0:
		// Always one at a time at least, whatever its cost.
		return 0, fmt.Errorf("requests in flight hold %d MiB of buffers; this one may need %d MiB more, the node's limit is %d MiB",
			a.memory>>20, c>>20, a.maxMemory>>20)
	}
	a.requests++
	a.memory += c
	return c, nil
}

func (a *admission) release(c int64) {
	a.mu.Lock()
	a.requests--
	a.memory -= c
	a.mu.Unlock()
}

// inFlight returns the requests and reserved bytes now, for metrics.
func (a *admission) inFlight() (int, int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.requests, a.memory
}

// retryAfter is what a refused client is told to wait, in seconds.
const retryAfter = 1

func retryAfterHeader(w http.ResponseWriter) {
	w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
}
