package clusterproc

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"math"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Issue 12 point 6: under far more load than a node's budget admits, every
// request succeeds or is refused at once with 503 SlowDown, memory stays
// within the documented bound, and goodput does not collapse. The servers
// run without the race detector (it multiplies memory several times); the
// test's clients still run under it.

// overloadBucket holds the objects of the overload tests.
const overloadBucket = "overload"

// refusal is a 503 of the admission budget: what an overloaded node must
// answer instead of queueing.
func refusal(err error) bool {
	r := minio.ToErrorResponse(err)
	return r.StatusCode == http.StatusServiceUnavailable && (r.Code == "SlowDown" || r.Code == "ServiceUnavailable")
}

// putLoad is clients PUTting objects of one size in a loop to the nodes of
// c (client i to node i mod n), each PUT of a fresh key, until stopped. A
// refused PUT is retried after a short pause, as an SDK's backoff would.
type putLoad struct {
	c       *Cluster
	size    int
	clients int
	body    []byte // shared and read-only: one random object
	// expectContinue sends "Expect: 100-continue" with every PUT, as the
	// AWS SDKs do for large bodies: a refused PUT then sends no body.
	expectContinue bool

	ok, refused atomic.Int64
	mu          sync.Mutex
	failures    map[string]int // other outcomes, by error
	latencies   []time.Duration
	slowest     time.Duration
}

func newPutLoad(c *Cluster, size, clients int) *putLoad {
	body := make([]byte, size)
	_, _ = rand.Read(body)
	return &putLoad{c: c, size: size, clients: clients, body: body, failures: map[string]int{}}
}

// run drives the load for d and returns the goodput in MiB/s.
func (l *putLoad) run(t *testing.T, prefix string, d time.Duration) float64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	clients := make([]*minio.Client, l.c.Nodes())
	for i := range clients {
		if l.expectContinue {
			clients[i] = expectContinueClient(t, l.c, i)
		} else {
			clients[i] = l.c.Client(i)
		}
	}
	var wg sync.WaitGroup
	start := time.Now()
	okBefore := l.ok.Load()
	for i := range l.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mc := clients[i%len(clients)]
			for n := 0; ctx.Err() == nil; n++ {
				key := fmt.Sprintf("%s/%03d/%06d", prefix, i, n)
				// The request itself gets no deadline of the load's: a PUT
				// still running when the load ends finishes, so that the
				// figures count it rather than a cut connection.
				rctx, rcancel := context.WithTimeout(context.Background(), 2*time.Minute)
				began := time.Now()
				_, err := mc.PutObject(rctx, overloadBucket, key, bytes.NewReader(l.body), int64(l.size),
					minio.PutObjectOptions{DisableMultipart: true, DisableContentSha256: true, ContentType: "application/octet-stream"})
				took := time.Since(began)
				rcancel()
				l.record(err, took)
				if refusal(err) {
					select {
					case <-ctx.Done():
					case <-time.After(50*time.Millisecond + time.Duration(i%8)*25*time.Millisecond):
					}
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	done := l.ok.Load() - okBefore
	return float64(done) * float64(l.size) / (1 << 20) / elapsed.Seconds()
}

func (l *putLoad) record(err error, took time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.slowest = max(l.slowest, took)
	switch {
	case err == nil:
		l.ok.Add(1)
		l.latencies = append(l.latencies, took)
	case refusal(err):
		l.refused.Add(1)
	default:
		msg := err.Error()
		if r := minio.ToErrorResponse(err); r.Code != "" {
			msg = fmt.Sprintf("%d %s: %s", r.StatusCode, r.Code, r.Message)
		}
		l.failures[msg]++
	}
}

// summary is one line of figures of the phase.
func (l *putLoad) summary(goodput float64) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	lat := append([]time.Duration(nil), l.latencies...)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(math.Ceil(p*float64(len(lat))))-1)]
	}
	var fails []string
	for msg, n := range l.failures {
		fails = append(fails, fmt.Sprintf("%d × %s", n, msg))
	}
	sort.Strings(fails)
	return fmt.Sprintf("%3d clients × %s PUTs: %5d ok, %6d refused (503), %d failed; goodput %6.1f MiB/s; ok p50 %v p99 %v, slowest request %v%s",
		l.clients, size(l.size), l.ok.Load(), l.refused.Load(), len(fails), goodput,
		pct(0.5).Round(time.Millisecond), pct(0.99).Round(time.Millisecond), l.slowest.Round(time.Millisecond),
		func() string {
			if len(fails) == 0 {
				return ""
			}
			return "\n  failures: " + strings.Join(fails, "\n  ")
		}())
}

// failed reports the requests that neither succeeded nor were refused.
func (l *putLoad) failed() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, k := range l.failures {
		n += k
	}
	return n
}

// expectContinueClient is Cluster.Client whose PUTs ask "Expect:
// 100-continue" before sending their body.
func expectContinueClient(t *testing.T, c *Cluster, i int) *minio.Client {
	t.Helper()
	tr := &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       30 * time.Second,
		DisableCompression:    true,
		ExpectContinueTimeout: 5 * time.Second,
	}
	t.Cleanup(tr.CloseIdleConnections)
	user, password := c.Credentials()
	mc, err := minio.New(c.Addr(i), &minio.Options{
		Creds:        credentials.NewStaticV4(user, password, ""),
		Region:       "us-east-1",
		BucketLookup: minio.BucketLookupPath,
		Transport:    expectContinue{tr},
		MaxRetries:   1,
	})
	if err != nil {
		t.Fatal(err)
	}
	return mc
}

// expectContinue adds "Expect: 100-continue" to requests with a body.
type expectContinue struct{ rt http.RoundTripper }

func (e expectContinue) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.ContentLength > 0 {
		r = r.Clone(r.Context())
		r.Header.Set("Expect", "100-continue")
	}
	return e.rt.RoundTrip(r)
}

func size(n int) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d KiB", n>>10)
}

// rssSampler records the largest RSS of every node until stopped.
type rssSampler struct {
	stop chan struct{}
	done chan struct{}
	peak []int64
}

func sampleRSS(c *Cluster) *rssSampler {
	s := &rssSampler{stop: make(chan struct{}), done: make(chan struct{}), peak: make([]int64, c.Nodes())}
	go func() {
		defer close(s.done)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			for i := range s.peak {
				if st, err := c.Stats(i); err == nil {
					s.peak[i] = max(s.peak[i], st.RSS)
				}
			}
			select {
			case <-s.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

func (s *rssSampler) finish() []int64 {
	close(s.stop)
	<-s.done
	return s.peak
}

func makeOverloadBucket(t *testing.T, c *Cluster) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Client(0).MakeBucket(ctx, overloadBucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("make bucket: %v", err)
	}
}

// TestOverloadMemoryBound: 96 clients PUTting 16 MiB objects to 4 nodes
// whose budget admits about 6 such PUTs each (128 MiB of request memory,
// 20 MiB reserved per PUT). Every PUT succeeds or is refused with 503, and
// no node's RSS passes the bound docs/configuration.md ("Overload") states:
// the request memory, plus what the node serves for its peers' requests,
// plus the runtime's base.
func TestOverloadMemoryBound(t *testing.T) {
	skipUnlessChaos(t)
	const budgetMiB = 128
	c := Start(t, Options{NoRace: true, Args: []string{"--request-memory-mib", fmt.Sprint(budgetMiB)}})
	makeOverloadBucket(t, c)
	idle := sampleRSS(c)
	time.Sleep(200 * time.Millisecond)
	base := idle.finish()

	load := newPutLoad(c, 16<<20, 96)
	rss := sampleRSS(c)
	goodput := load.run(t, "mem", 20*time.Second)
	peak := rss.finish()
	t.Logf("%s", load.summary(goodput))
	bound := int64(rssBoundMiB(budgetMiB)) << 20
	for i := range peak {
		t.Logf("node %d: RSS idle %d MiB, peak %d MiB (bound %d MiB)", i, base[i]>>20, peak[i]>>20, bound>>20)
		if peak[i] > bound {
			t.Errorf("node %d: RSS reached %d MiB, over the documented bound of %d MiB for a %d MiB budget", i, peak[i]>>20, bound>>20, budgetMiB)
		}
	}
	if n := load.failed(); n > 0 {
		t.Errorf("%d PUTs neither succeeded nor were refused with 503", n)
	}
	if load.refused.Load() == 0 {
		t.Errorf("no PUT was refused: the load did not exceed the budget, so the test shows nothing")
	}
	if load.ok.Load() == 0 {
		t.Errorf("no PUT succeeded")
	}
	if load.slowest > maxRequest {
		t.Errorf("slowest PUT took %v (> %v): a hang, not a fast refusal", load.slowest, maxRequest)
	}
}

// rssBoundMiB is the documented bound of a node's RSS for a request memory
// budget of budget MiB (docs/configuration.md, "Overload"): the budget
// twice — its own requests' buffers, and at most as much again in the
// shard streams it serves for its peers' requests, each bounded by the
// same budget on its sender and spread over the receivers — and a base of
// 128 MiB for the runtime, the grid's connections and metadata.
func rssBoundMiB(budget int) int { return 2*budget + 128 }

// TestOverloadGoodput: 256 clients PUTting 4 MiB objects to 4 nodes with
// the default budget (96 MiB a CPU). Every request succeeds or gets a fast 503, and the
// goodput is compared with that of 64 clients (issue 12: within 80 % of it;
// printed, not asserted: timing is no pass/fail matter on a shared
// machine).
func TestOverloadGoodput(t *testing.T) {
	skipUnlessChaos(t)
	c := Start(t, Options{NoRace: true})
	makeOverloadBucket(t, c)
	const phase = 20 * time.Second

	base := newPutLoad(c, 4<<20, 64)
	base.expectContinue = true
	baseGoodput := base.run(t, "g64", phase)
	t.Logf("%s", base.summary(baseGoodput))

	over := newPutLoad(c, 4<<20, 256)
	over.body, over.expectContinue = base.body, true
	rss := sampleRSS(c)
	overGoodput := over.run(t, "g256", phase)
	peak := rss.finish()
	t.Logf("%s", over.summary(overGoodput))
	ratio := overGoodput / baseGoodput
	verdict := "meets"
	if ratio < 0.8 {
		verdict = "MISSES"
	}
	t.Logf("goodput with 256 clients is %.0f %% of that with 64 (%s the 80 %% target); peak RSS %v MiB", 100*ratio, verdict, mib(peak))
	for _, l := range []*putLoad{base, over} {
		if n := l.failed(); n > 0 {
			t.Errorf("%d clients: %d PUTs neither succeeded nor were refused with 503", l.clients, n)
		}
		if l.slowest > maxRequest {
			t.Errorf("%d clients: slowest PUT took %v (> %v)", l.clients, l.slowest, maxRequest)
		}
		if l.ok.Load() == 0 {
			t.Errorf("%d clients: no PUT succeeded", l.clients)
		}
	}
}

func mib(v []int64) []int64 {
	out := make([]int64, len(v))
	for i, x := range v {
		out[i] = x >> 20
	}
	return out
}
