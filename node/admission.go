package node

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"strconv"
	"sync"

	"github.com/gridstore/gridstore/erasure"
	"github.com/gridstore/gridstore/node/object"
	"github.com/gridstore/gridstore/storage/remote"
)

// DefaultMaxRequests is Config.MaxRequests's default.
const DefaultMaxRequests = 1024

// Config.RequestMemory's default is requestMemoryPerCPU for each CPU the
// node may use, at least minRequestMemory and at most a quarter of the
// machine's memory: buffers beyond what the CPUs can keep busy only make
// every request slower and the node bigger (admitting more uploads than
// the node can encode at once does not raise its throughput), while
// refusing them with SlowDown makes clients back off.
const (
	requestMemoryPerCPU = 96 << 20
	minRequestMemory    = 128 << 20
)

// DefaultRequestMemory returns Config.RequestMemory's default on this
// machine.
func DefaultRequestMemory() int64 {
	m := int64(runtime.GOMAXPROCS(0)) * requestMemoryPerCPU
	if total := physicalMemory(); total > 0 {
		m = min(m, total/4)
	}
	return max(m, minRequestMemory)
}

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
	// For sizing the rings of a streamed PUT of known size.
	setSize, data int
	blockSize     int64
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
		setSize: setSize, data: data, blockSize: int64(blockSize),
		putCost: int64(setSize)*remote.ShardBufferSize + 2*block,
		getCost: 2*block + int64(object.DefaultPrefetchDepth+1)*int64(blockSize),
	}
}

// streamedPutCost is what a streamed PUT of size bytes (-1: unknown) may
// take: its shard writers' rings, sized to the shard file as
// storage/remote sizes them, and the encoder's two blocks. A PUT of a few
// hundred KiB then reserves a few MiB, not 2 MiB per drive.
func (a *admission) streamedPutCost(size int64) int64 {
	if size < 0 {
		return a.putCost
	}
	blocks := (size + a.blockSize - 1) / a.blockSize
	// A shard file: its share of the data, and a bitrot hash per chunk.
	shardFile := (size+int64(a.data)-1)/int64(a.data) + (blocks+1)*erasure.BitrotHashSize
	return min(a.putCost, int64(a.setSize)*remote.ShardBufferFor(shardFile)+(a.putCost-int64(a.setSize)*remote.ShardBufferSize))
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
		return a.streamedPutCost(r.ContentLength)
	case http.MethodGet:
		// Until the object is resolved its size is unknown: a GET starts
		// small (a listing stays so) and grows its reservation to what the
		// read takes once it knows (reservation.growForObject), before it
		// sends anything.
		return smallRequestCost
	}
	return smallRequestCost // HEAD, DELETE, and POSTs: small XML bodies
}

// getCostFor is what a GET of an object of size bytes may take: an inline
// object's bytes are in its metadata, a few copies of them; any other is
// decoded through the coder's blocks and the prefetched chunks.
func (a *admission) getCostFor(size int64) int64 {
	if size <= object.InlineLimit {
		return smallRequestCost + smallPutCopies*size
	}
	return a.getCost
}

// admit reserves r's cost, or reports why it cannot. The reservation must
// be released when the request ends.
func (a *admission) admit(r *http.Request) (*reservation, error) {
	c := a.cost(r)
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case a.requests >= a.maxReqs:
		return nil, fmt.Errorf("%d requests in flight, the node's limit", a.requests)
	case a.memory+c > a.maxMemory && a.requests > 0:
		// Always one at a time at least, whatever its cost.
		return nil, fmt.Errorf("requests in flight hold %d MiB of buffers; this one may need %d MiB more, the node's limit is %d MiB",
			a.memory>>20, c>>20, a.maxMemory>>20)
	}
	a.requests++
	a.memory += c
	return &reservation{a: a, cost: c}, nil
}

// reservation is what one admitted request holds of the budget.
type reservation struct {
	a    *admission
	mu   sync.Mutex
	cost int64
}

// grow raises the reservation to total bytes, or reports why the budget
// cannot take it; the request is then to be refused with SlowDown.
func (rs *reservation) grow(total int64) error {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	extra := total - rs.cost
	if extra <= 0 {
		return nil
	}
	a := rs.a
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.memory+extra > a.maxMemory && a.requests > 1 {
		return fmt.Errorf("requests in flight hold %d MiB of buffers; this read may need %d MiB more, the node's limit is %d MiB",
			a.memory>>20, extra>>20, a.maxMemory>>20)
	}
	a.memory += extra
	rs.cost = total
	return nil
}

// growForObject reserves what a GET of an object of size bytes takes.
func (rs *reservation) growForObject(size int64) error {
	return rs.grow(rs.a.getCostFor(size))
}

// release gives the reservation back.
func (rs *reservation) release() {
	rs.mu.Lock()
	c := rs.cost
	rs.cost = 0
	rs.mu.Unlock()
	a := rs.a
	a.mu.Lock()
	a.requests--
	a.memory -= c
	a.mu.Unlock()
}

// reservationKey holds a request's *reservation in its context.
type reservationKey struct{}

// reserveForObject is s3.Config.Reserve: a GET that has resolved its
// object grows its request's reservation to what reading it takes.
func reserveForObject(ctx context.Context, size int64) error {
	rs, ok := ctx.Value(reservationKey{}).(*reservation)
	if !ok {
		return nil // not admitted through ServeHTTP (a test's handler)
	}
	return rs.growForObject(size)
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
