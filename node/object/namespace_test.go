package object_test

// Keys are independent of one another (DESIGN §4 and §7): every key S3
// accepts can be stored, whatever its characters or its relation to other
// keys ("p" beside "p/q", "dir/" beside "dir/f", "a//b", "x/../y"), no
// operation on one key changes another key's object, and listings keep S3
// order (binary UTF-8 order of whole keys) with prefixes and delimiters.
// Issue 10: two racing PUTs of "rN" and "rN/c" were both acknowledged, and
// the DELETE of "rN" then took "rN/c" with it.
//
// The tests run the object layer on in-process clusters (objecttest): one
// node of 4 local drives and 4 nodes of 2 drives over loopback grids. They
// record every failure and report them together at the end, so that a run
// shows how many rounds went wrong and how.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gridstore/gridstore/node/object"
	"github.com/gridstore/gridstore/node/object/layout"
	"github.com/gridstore/gridstore/node/object/objecttest"
)

// nsUUID looks like the name of a data dir (DESIGN §4:
// <data-dir-uuid>/part.N).
const nsUUID = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"

// nsStaticKeys are keys S3 accepts that a path-per-key drive cannot take as
// they are, or only one of a related pair of; all of them coexist in one
// bucket.
func nsStaticKeys() []string {
	seg300 := strings.Repeat("s", 300)
	key1024 := "long/" + strings.Repeat("k", 1024-len("long/"))
	return []string{
		"dir/", "dir/f", "dir//", "a", "a/", "a//", "a//b", "a/b",
		"x", "x/./y", "x/../y", "x/y", "y", "..", ".", "../x", "./x", "x/..", "x/.", "...",
		"/lead", "//", "/", "///", "trail/", "trail",
		"p", "p/", "p/q", "p/q/", "p//q",
		seg300, seg300 + "/c", "seg/" + seg300,
		key1024,
		"ctl\x01", "ctl\n", "ctl\x7f", "ctl\r\n\t", "\x01",
		"%", "%2F", "%2f/x", "%00", "a%2Fb",
		".meta", "meta", "x/meta", "meta/x", "part.1", "x/part.1",
		"x/" + nsUUID + "/part.1", "x/" + nsUUID, nsUUID,
		"back\\slash", "\\", "a\\..\\b",
		".gridstore.sys", ".gridstore.sys/tmp/x", "tmp/x",
		"ü", "ü/ሴ", "😀", "é", "e\u0301", "Case", "case", "\u00ff", "\u0080",
		" ", "sp ace/ ", "q?x#y&z=1+2",
	}
}

// nsFamily returns the keys of round n: a base and keys below it, each a
// prefix of or prefixed by another. The bases go through the awkward cases:
// trailing, leading and double slashes, dot segments, control characters,
// percent signs, names of the drive's own files, data-dir-like names,
// unicode, a 300-byte segment, and a base padded so that the longest key of
// the family has exactly 1024 bytes. Families of different rounds share no
// key.
func nsFamily(n int) []string {
	var b string
	switch n % 18 {
	case 0:
		b = fmt.Sprintf("r%d", n)
	case 1:
		b = fmt.Sprintf("dir%d/", n) // members "dir1//c", "dir1//"
	case 2:
		b = fmt.Sprintf("a%d//b", n)
	case 3:
		b = fmt.Sprintf("x%d/./y", n)
	case 4:
		b = fmt.Sprintf("x%d/../y", n)
	case 5:
		b = fmt.Sprintf("%d/..", n) // members "5/../c", ...
	case 6:
		b = fmt.Sprintf("%d/.", n)
	case 7:
		b = fmt.Sprintf("/lead%d", n)
	case 8:
		b = fmt.Sprintf("//%d", n)
	case 9:
		b = fmt.Sprintf("ctl\x01%d\n\x7f", n)
	case 10:
		b = fmt.Sprintf("pct%%%d%%2F", n)
	case 11:
		b = fmt.Sprintf("m%d/meta", n)
	case 12:
		b = fmt.Sprintf("m%d/.meta", n)
	case 13:
		b = fmt.Sprintf("u%d/%s/part.1", n, nsUUID)
	case 14:
		b = fmt.Sprintf("ü%d/ሴ/😀", n)
	case 15:
		b = fmt.Sprintf("bs%d\\..", n)
	case 16:
		b = strings.Repeat("s", 300) + fmt.Sprint(n)
	case 17:
		tail := "/" + nsUUID + "/part.1" // the longest member's suffix
		head := fmt.Sprintf("k%d-", n)
		b = head + strings.Repeat("k", 1024-len(tail)-len(head))
	}
	return []string{
		b,                            // 0
		b + "/c",                     // 1
		b + "/c/d",                   // 2
		b + "/x",                     // 3
		b + "/",                      // 4
		b + "/meta",                  // 5
		b + "/" + nsUUID + "/part.1", // 6
	}
}

func TestNamespaceFamilies(t *testing.T) {
	seen := map[string]int{}
	for n := range 200 {
		for _, k := range nsFamily(n) {
			if len(k) > 1024 {
				t.Fatalf("round %d: key of %d bytes", n, len(k))
			}
			if m, ok := seen[k]; ok {
				t.Fatalf("rounds %d and %d share key %q", m, n, k)
			}
			seen[k] = n
		}
	}
	if k := nsFamily(17)[6]; len(k) != 1024 {
		t.Fatalf("the long family's longest key has %d bytes, want 1024", len(k))
	}
}

// nsState is what the test knows of one key.
type nsState struct {
	present bool   // acknowledged PUT, copy or complete not since deleted
	data    []byte // its bytes when present
	unknown bool   // an operation on it failed: either outcome is allowed
}

// nsRun drives the operations of a prefix test on a cluster and keeps the
// model of what every key must hold.
type nsRun struct {
	t *testing.T
	c *objecttest.Cluster

	mu     sync.Mutex
	model  map[string]*nsState
	fails  map[string][]string // by phase: what went wrong
	counts map[string]int      // named counters for the report
}

func newNSRun(t *testing.T, c *objecttest.Cluster) *nsRun {
	return &nsRun{t: t, c: c, model: map[string]*nsState{}, fails: map[string][]string{}, counts: map[string]int{}}
}

func (r *nsRun) layer(i int) *object.Layer { return r.c.Nodes[i%len(r.c.Nodes)].Layer() }

func (r *nsRun) fail(phase, format string, args ...any) {
	msg := nsGraphic(fmt.Sprintf(format, args...))
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fails[phase] = append(r.fails[phase], msg)
}

func (r *nsRun) count(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.counts[name]++
}

func (r *nsRun) set(key string, present bool, data []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.model[key] = &nsState{present: present, data: data}
}

func (r *nsRun) setUnknown(key string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.model[key] = &nsState{unknown: true}
}

func (r *nsRun) state(key string) nsState {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s, ok := r.model[key]; ok {
		return *s
	}
	return nsState{}
}

// nsClasses name the kinds of failure the report counts.
var nsClasses = []struct{ name, marker string }{
	{"refused as an invalid name", "invalid object name"},
	{"refused as a name conflict", "conflicts with an existing object"},
	{"acknowledged object lost", "lost:"},
	{"content changed", "differ from"},
	{"deleted object back", "after an acknowledged delete"},
}

// report fails the test with everything recorded: per phase, how many
// failures of each kind, and the first few.
func (r *nsRun) report() {
	r.t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	phases := make([]string, 0, len(r.fails))
	for p := range r.fails {
		phases = append(phases, p)
	}
	slices.Sort(phases)
	for _, p := range phases {
		msgs := r.fails[p]
		byClass := map[string]int{}
		var firsts []string
		for _, m := range msgs {
			class := "other"
			for _, c := range nsClasses {
				if strings.Contains(m, c.marker) {
					class = c.name
					break
				}
			}
			if byClass[class] == 0 {
				firsts = append(firsts, class+": "+m)
			}
			byClass[class]++
		}
		r.t.Errorf("%s: %d failures %v; the first of each kind:\n  %s", p, len(msgs), byClass, strings.Join(firsts, "\n  "))
	}
	r.t.Logf("counters: %v", r.counts)
}

// nsPair runs a and b at once: both start together (a barrier, not a sleep)
// and nsPair returns when both have returned.
func nsPair(a, b func() error) (errA, errB error) {
	start := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); <-start; errA = a() }()
	go func() { defer wg.Done(); <-start; errB = b() }()
	close(start)
	wg.Wait()
	return errA, errB
}

// putOp PUTs data to key through node. A PUT refused for want of a write
// quorum is sent again, twice at most, as an S3 client retries a 503: on
// a machine loaded by the race detector and parallel tests a drive may
// fall more than the write grace behind and be left behind (healed
// later), and one more slow drive then takes the PUT below its quorum.
// That is the system shedding load, not what this test is about; the
// retries are counted in the report.
func (r *nsRun) putOp(ctx context.Context, node int, key string, data []byte) func() error {
	return func() error {
		for attempt := 0; ; attempt++ {
			_, err := r.layer(node).PutObject(ctx, bucket, key, bytes.NewReader(data), int64(len(data)), object.PutOptions{})
			if !errors.Is(err, object.ErrWriteQuorum) || attempt == 2 {
				return err
			}
			r.count("PUT retried after ErrWriteQuorum")
			time.Sleep(100 * time.Millisecond)
		}
	}
}

func (r *nsRun) deleteOp(ctx context.Context, node int, key string) func() error {
	return func() error { return r.layer(node).DeleteObject(ctx, bucket, key) }
}

// applyPut records the outcome of a PUT (or copy, or complete) of key.
func (r *nsRun) applyPut(phase string, round int, key string, data []byte, err error) {
	if err != nil {
		r.fail(phase, "round %d: write %q: %v", round, nsShow(key), err)
		r.setUnknown(key)
		return
	}
	r.set(key, true, data)
}

func (r *nsRun) applyDelete(phase string, round int, key string, err error) {
	if err != nil {
		r.fail(phase, "round %d: delete %q: %v", round, nsShow(key), err)
		r.setUnknown(key)
		return
	}
	r.set(key, false, nil)
}

// check reads every key of keys through node and compares it with the
// model: an acknowledged object reads back byte-exact, an acknowledged
// delete stays deleted. It returns how many keys it verified.
func (r *nsRun) check(ctx context.Context, phase string, node int, keys []string) int {
	verified := 0
	for _, k := range keys {
		st := r.state(k)
		if st.unknown {
			continue
		}
		got, err := get(ctx, r.layer(node), k)
		switch {
		case st.present && err != nil:
			r.fail(phase, "node %d: acknowledged %q (%d bytes) lost: %v", node%len(r.c.Nodes), nsShow(k), len(st.data), err)
			r.count("lost")
		case st.present && !bytes.Equal(got, st.data):
			r.fail(phase, "node %d: %q reads %d bytes that differ from the %d acknowledged", node%len(r.c.Nodes), nsShow(k), len(got), len(st.data))
			r.count("changed")
		case !st.present && err == nil:
			r.fail(phase, "node %d: %q reads %d bytes after an acknowledged delete (or never written)", node%len(r.c.Nodes), nsShow(k), len(got))
			r.count("resurrected")
		case !st.present && !errors.Is(err, object.ErrObjectNotFound):
			r.fail(phase, "node %d: deleted %q: %v, want ErrObjectNotFound", node%len(r.c.Nodes), nsShow(k), err)
		default:
			verified++
		}
	}
	return verified
}

// checkAll is check of keys from every node, 8 reads at a time.
func (r *nsRun) checkAll(ctx context.Context, phase string, keys []string) int {
	var verified atomic.Int64
	nsEach(len(r.c.Nodes)*len(keys), func(i int) {
		node, k := i/len(keys), keys[i%len(keys)]
		verified.Add(int64(r.check(ctx, fmt.Sprintf("%s from node %d", phase, node), node, []string{k})))
	})
	return int(verified.Load())
}

// nsEach calls fn(0..n-1), 8 calls at a time.
func nsEach(n int, fn func(i int)) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			fn(i)
		}()
	}
	wg.Wait()
}

// nsGraphic escapes the control characters of s (keys inside error
// messages), so that a failure report keeps one line per failure.
func nsGraphic(s string) string {
	var b strings.Builder
	for _, c := range s {
		if c < 0x20 || c == 0x7f {
			fmt.Fprintf(&b, "\\x%02x", c)
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// nsShow makes a key printable in a failure message: control characters
// quoted, long runs shortened.
func nsShow(k string) string {
	if len(k) > 60 {
		k = fmt.Sprintf("%s…(%d bytes)…%s", k[:24], len(k), k[len(k)-24:])
	}
	q := fmt.Sprintf("%q", k)
	return q[1 : len(q)-1]
}

// race runs phases 1 and 2 of a round: PUT k ‖ PUT c (c below k), then
// DELETE k ‖ PUT d (d below c), and checks k, c and d.
func (r *nsRun) race(ctx context.Context, n int, k, c, d string, dk, dc, dd []byte) {
	a, b, chk := n, n+1, n+2
	const p1, p2 = "1 PUT k ‖ PUT k/c", "2 DELETE k ‖ PUT k/c/d"
	ek, ec := nsPair(r.putOp(ctx, a, k, dk), r.putOp(ctx, b, c, dc))
	r.applyPut(p1, n, k, dk, ek)
	r.applyPut(p1, n, c, dc, ec)
	both := ek == nil && ec == nil
	if both {
		r.count("phase1 both acknowledged")
	}
	ek, ed := nsPair(r.deleteOp(ctx, a, k), r.putOp(ctx, b, d, dd))
	r.applyDelete(p2, n, k, ek)
	r.applyPut(p2, n, d, dd, ed)
	if both {
		if _, err := get(ctx, r.layer(chk), c); err != nil {
			r.count("phase2 k/c gone after DELETE k") // issue 10's symptom
		}
	}
	r.check(ctx, p2+" (check)", chk, []string{k, c, d})
}

// round runs the phases of one round over its family of keys:
//
//  1. PUT k0 ‖ PUT k0/c                 both must be acknowledged
//  2. DELETE k0 ‖ PUT k0/c/d            k0/c must survive the delete
//  3. Copy k0/c onto k0 ‖ PUT k0/x
//  4. Complete a multipart k0/ ‖ DELETE k0
//  5. DELETE k0/c ‖ PUT k0/meta         a middle key goes, below and beside stay
//  6. PUT k0/<uuid>/part.1 ‖ PUT k0     k0 over its own data-dir-like name
//
// after which every key of the family is checked. Most objects are inline
// (cheap under -race); every third round writes k0 and k0/c with data dirs,
// and k0/ is always a multipart object (parts in a data dir), so that
// deletes of both kinds run beside the other keys.
func (r *nsRun) round(ctx context.Context, n int) {
	k := nsFamily(n)
	a, b, chk := n, n+1, n+2 // the nodes of the two sides and of the check
	size := func(i int) int {
		if n%3 == 2 && i < 2 {
			return object.InlineLimit + 1 + 97*i // a data dir
		}
		return 1 + 101*i
	}
	data := func(i int) []byte { return body(uint64(n)<<8|uint64(i), size(i)) }

	r.race(ctx, n, k[0], k[1], k[2], data(0), data(1), data(2))

	// 3
	d3 := data(3)
	e0, e3 := nsPair(func() error {
		_, err := r.layer(a).CopyObject(ctx, bucket, k[1], bucket, k[0], object.CopyOptions{})
		return err
	}, r.putOp(ctx, b, k[3], d3))
	if st := r.state(k[1]); st.present {
		r.applyPut("3 COPY k/c→k ‖ PUT k/x", n, k[0], st.data, e0)
	} else if e0 == nil {
		r.fail("3 COPY k/c→k ‖ PUT k/x", "round %d: copy of %q succeeded, but its source is not known to exist", n, nsShow(k[1]))
		r.setUnknown(k[0])
	} else {
		r.setUnknown(k[0])
	}
	r.applyPut("3 COPY k/c→k ‖ PUT k/x", n, k[3], d3, e3)

	// 4: the upload and its parts first, then the complete races a delete.
	const p4 = "4 COMPLETE k/ ‖ DELETE k"
	l := r.layer(b)
	id, err := l.NewMultipartUpload(ctx, bucket, k[4], object.PutOptions{})
	if err != nil {
		r.fail(p4, "round %d: new upload of %q: %v", n, nsShow(k[4]), err)
		r.setUnknown(k[4])
	} else {
		parts := [][]byte{data(40), data(41)}
		var done []object.CompletePart
		var whole []byte
		for i, p := range parts {
			info, err := l.PutObjectPart(ctx, bucket, k[4], id, i+1, bytes.NewReader(p), int64(len(p)), object.PartOptions{})
			if err != nil {
				r.fail(p4, "round %d: part %d of %q: %v", n, i+1, nsShow(k[4]), err)
				break
			}
			done = append(done, object.CompletePart{Number: i + 1, ETag: info.ETag})
			whole = append(whole, p...)
		}
		if len(done) == len(parts) {
			e4, e0 := nsPair(func() error {
				_, err := l.CompleteMultipartUpload(ctx, bucket, k[4], id, done, object.CompleteOptions{})
				return err
			}, r.deleteOp(ctx, a, k[0]))
			r.applyPut(p4, n, k[4], whole, e4)
			r.applyDelete(p4, n, k[0], e0)
		} else {
			_ = l.AbortMultipartUpload(ctx, bucket, k[4], id)
			r.setUnknown(k[4])
		}
	}

	// 5
	d5 := data(5)
	e1, e5 := nsPair(r.deleteOp(ctx, a, k[1]), r.putOp(ctx, b, k[5], d5))
	r.applyDelete("5 DELETE k/c ‖ PUT k/meta", n, k[1], e1)
	r.applyPut("5 DELETE k/c ‖ PUT k/meta", n, k[5], d5, e5)

	// 6
	d6, d0 := data(6), data(7)
	e6, e0 := nsPair(r.putOp(ctx, a, k[6], d6), r.putOp(ctx, b, k[0], d0))
	r.applyPut("6 PUT k/<uuid>/part.1 ‖ PUT k", n, k[6], d6, e6)
	r.applyPut("6 PUT k/<uuid>/part.1 ‖ PUT k", n, k[0], d0, e0)

	if r.check(ctx, "end of round (check)", chk, k[:]) > 0 {
		r.count("rounds checked")
	}
}

// putStatic writes every static key, 8 at a time (prefix pairs racing
// each other) and records the outcome.
func (r *nsRun) putStatic(ctx context.Context, keys []string) {
	nsEach(len(keys), func(i int) {
		data := body(uint64(1<<40+i), 1+i*37%3000)
		if i%7 == 3 {
			data = body(uint64(1<<40+i), object.InlineLimit+i)
		}
		err := r.putOp(ctx, i, keys[i], data)()
		r.applyPut("0 static keys, PUT 8 at a time", -1, keys[i], data, err)
	})
}

// finish checks every key from every node, the listing against the model,
// then deletes everything and checks that the bucket can go and that the
// drives keep nothing of it.
func (r *nsRun) finish(ctx context.Context, minVerified int) {
	t := r.t
	t.Helper()
	var keys []string
	r.mu.Lock()
	for k := range r.model {
		keys = append(keys, k)
	}
	r.mu.Unlock()
	slices.Sort(keys)
	if verified := r.checkAll(ctx, "final check", keys); verified < minVerified {
		t.Errorf("only %d key checks passed, want at least %d: the test did not exercise what it should", verified, minVerified)
	}

	// The listing: every present key, no deleted one; everything listed
	// readable.
	listed := listAll(t, r.layer(0), "", 1000)
	if len(listed) == 0 {
		t.Error("the final listing is empty")
	}
	inList := map[string]bool{}
	for _, k := range listed {
		inList[k] = true
		if st := r.state(k); !st.present && !st.unknown {
			r.fail("final listing", "%q listed, but it was deleted or never written", nsShow(k))
		}
	}
	nsEach(len(listed), func(i int) {
		if _, err := get(ctx, r.layer(i), listed[i]); err != nil {
			r.fail("final listing", "%q listed but not readable: %v", nsShow(listed[i]), err)
		}
	})
	for _, k := range keys {
		if st := r.state(k); st.present && !inList[k] {
			r.fail("final listing", "acknowledged %q missing from the listing", nsShow(k))
		}
	}
	if !slices.IsSorted(listed) {
		r.fail("final listing", "not in binary order")
	}

	// Delete everything listed, and whatever the model holds; the bucket
	// must then be empty and deletable.
	all := slices.Clone(listed)
	for _, k := range keys {
		if !inList[k] {
			all = append(all, k)
		}
	}
	nsEach(len(all), func(i int) {
		if err := r.layer(i).DeleteObject(ctx, bucket, all[i]); err != nil && !errors.Is(err, object.ErrInvalidObjectName) {
			r.fail("final delete", "%q: %v", nsShow(all[i]), err)
		}
	})
	if left := listAll(t, r.layer(2), "", 1000); len(left) != 0 {
		r.fail("final delete", "%d keys listed after deleting everything: %q", len(left), left[:min(len(left), 5)])
	}
	nsNoFilesUnder(t, r.c, bucket)
	if err := r.layer(3).DeleteBucket(ctx, bucket); err != nil {
		r.fail("final delete", "DeleteBucket after deleting every key: %v", err)
	}
}

// nsNoFilesUnder fails the test if a drive of c still holds a file in the
// bucket's directory: a local walk of each drive's directory, written here
// for this test only (nothing at all must be left once every key of the
// bucket is deleted).
func nsNoFilesUnder(t *testing.T, c *objecttest.Cluster, bucket string) {
	t.Helper()
	for d := 0; ; d++ {
		dir, ok := nsDriveDir(c, d)
		if !ok {
			return
		}
		var files []string
		_ = filepath.WalkDir(filepath.Join(dir, bucket), func(p string, e fs.DirEntry, err error) error {
			if err == nil && !e.IsDir() {
				files = append(files, p)
			}
			return nil
		})
		if len(files) > 0 {
			t.Errorf("drive %d holds %d files in bucket %s after every key was deleted, e.g. %q", d, len(files), bucket, files[:min(len(files), 3)])
		}
	}
}

// nsDriveDir returns the directory of drive index d, if there is one.
func nsDriveDir(c *objecttest.Cluster, d int) (dir string, ok bool) {
	total := 0
	for _, s := range c.Layout.Sets {
		total += len(s.Drives)
	}
	if d >= total {
		return "", false
	}
	dir = c.DriveDir(d)
	_, err := os.Stat(dir)
	return dir, err == nil
}

// nsWorkers runs rounds on workers goroutines, each round alone on its own
// keys.
func nsWorkers(rounds []int, workers int, fn func(n int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range next {
				fn(n)
			}
		}()
	}
	for _, n := range rounds {
		next <- n
	}
	close(next)
	wg.Wait()
}

// nsTopologies are the clusters the prefix tests run on: one node of 4
// local drives (EC 2+2), where the drives' own races show, and four nodes
// of 2 drives in one set of 8 (EC 4+4), where every key shares the set and
// goes to remote drives under the cluster's locks. Writes cost tens of
// milliseconds each under -race on 2 cores (syncs to disk, erasure coding),
// hence the round counts.
var nsTopologies = []struct {
	name string
	opts objecttest.Options
}{
	{"1x4", objecttest.Options{Nodes: 1, DrivesPerNode: 4}},
	{"4x2", objecttest.Options{Nodes: 4, DrivesPerNode: 2}},
}

func newNSCluster(t *testing.T, opts objecttest.Options) *objecttest.Cluster {
	t.Helper()
	opts.Set.MinPartSize = 1 << 10
	c := newCluster(t, opts)
	if len(c.Layout.Sets) != 1 {
		t.Fatalf("%d sets, want 1: the keys must share their drives", len(c.Layout.Sets))
	}
	return c
}

// nsRounds returns the rounds to run: 0..n-1, every stride-th from first,
// fewer with -short.
func nsRounds(n, first, stride int) []int {
	if testing.Short() {
		n = max(n/4, 1)
	}
	out := make([]int, n)
	for i := range out {
		out[i] = first + i*stride
	}
	return out
}

// TestPrefixKeysRace is issue 10 itself, many times: PUT k ‖ PUT k/c, both
// acknowledged every round, then DELETE k ‖ PUT k/c/d; k/c must read back
// byte-exact, k must be gone, k/c/d there. The keys go through every kind
// of base of nsFamily (r7, dir7/, a7//b, x7/../y, 7/.., …).
func TestPrefixKeysRace(t *testing.T) {
	for _, tc := range nsTopologies {
		t.Run(tc.name, func(t *testing.T) {
			rounds := nsRounds(200, 0, 1)
			if tc.name == "4x2" {
				rounds = nsRounds(30, 0, 1)
			}
			c := newNSCluster(t, tc.opts)
			ctx := testCtx(t)
			r := newNSRun(t, c)
			nsWorkers(rounds, 4, func(n int) {
				k := nsFamily(n)
				r.race(ctx, n, k[0], k[1], k[2], body(uint64(n)<<8, 1+n%50), body(uint64(n)<<8|1, 100+n%50), body(uint64(n)<<8|2, 7))
			})
			r.mu.Lock()
			both, gone := r.counts["phase1 both acknowledged"], r.counts["phase2 k/c gone after DELETE k"]
			r.mu.Unlock()
			if both != len(rounds) {
				t.Errorf("both PUTs of k and k/c acknowledged in %d of %d rounds", both, len(rounds))
			}
			if gone != 0 {
				t.Errorf("k/c gone after DELETE k in %d of the %d rounds where both PUTs were acknowledged", gone, both)
			}
			var keys []string
			for _, n := range rounds {
				keys = append(keys, nsFamily(n)[:3]...)
			}
			verified := r.checkAll(ctx, "final check", keys)
			if want := len(c.Nodes) * len(keys); verified != want {
				t.Errorf("%d of %d final key checks passed", verified, want)
			}
			r.report()
		})
	}
}

// TestPrefixKeysIndependent: keys that are prefixes of one another, and the
// keys a path-per-key drive cannot hold, are stored and stay independent
// under concurrent PUT, DELETE, CopyObject and CompleteMultipartUpload:
// every acknowledged write reads back byte-exact from every node unless it
// was deleted since, every acknowledged delete stays, the listing shows
// exactly the objects there are, and once everything is deleted the bucket
// goes and the drives keep nothing of it. Rounds run 6 phases (see round)
// over the 7 keys of a family; every base kind of nsFamily comes up.
func TestPrefixKeysIndependent(t *testing.T) {
	for _, tc := range nsTopologies {
		t.Run(tc.name, func(t *testing.T) {
			// Every base kind of nsFamily twice on one node; every other
			// one once on four (dir1/, x3/./y, 5/.., /lead7, ctl9,
			// m11/meta, u13/<uuid>/part.1, bs15\.., the 1024-byte keys).
			rounds := nsRounds(36, 0, 1)
			if tc.name == "4x2" {
				rounds = nsRounds(9, 1, 2)
			}
			c := newNSCluster(t, tc.opts)
			ctx := testCtx(t)
			r := newNSRun(t, c)
			start := time.Now()
			static := nsStaticKeys()
			r.putStatic(ctx, static)
			tStatic := time.Since(start)
			nsWorkers(rounds, 3, func(n int) { r.round(ctx, n) })
			tRounds := time.Since(start) - tStatic

			r.mu.Lock()
			both, gone := r.counts["phase1 both acknowledged"], r.counts["phase2 k/c gone after DELETE k"]
			r.mu.Unlock()
			if both != len(rounds) {
				t.Errorf("both PUTs of k and k/c acknowledged in %d of %d rounds", both, len(rounds))
			}
			if gone != 0 {
				t.Errorf("k/c gone after DELETE k in %d of the %d rounds where both PUTs were acknowledged", gone, both)
			}
			// Every family has 7 keys, checked from every node at the
			// end, and so are the static keys.
			r.finish(ctx, len(c.Nodes)*(len(static)+len(rounds)*7))
			t.Logf("static keys %v, %d rounds %v, final checks %v", tStatic.Round(time.Millisecond), len(rounds), tRounds.Round(time.Millisecond), (time.Since(start) - tStatic - tRounds).Round(time.Millisecond))
			r.report()
		})
	}
}

// TestPrefixKeysNUL: a key with a NUL is either refused as an invalid
// name, or stored like any other key, independent of its neighbours.
func TestPrefixKeysNUL(t *testing.T) {
	c := newCluster(t, objecttest.Options{Nodes: 1, DrivesPerNode: 4})
	ctx := testCtx(t)
	l := c.Nodes[0].Layer()
	mustPut(t, l, "nul", []byte("plain"))
	_, err := put(ctx, l, "nul\x00", []byte("with a NUL"))
	if errors.Is(err, object.ErrInvalidObjectName) {
		t.Logf("a NUL is refused: %v", err)
		return
	}
	if err != nil {
		t.Fatalf("PUT of a key with a NUL: %v, want success or ErrInvalidObjectName", err)
	}
	mustPut(t, l, "nul\x00/c", []byte("below"))
	mustGet(t, 0, l, "nul\x00", []byte("with a NUL"))
	mustGet(t, 0, l, "nul\x00/c", []byte("below"))
	mustGet(t, 0, l, "nul", []byte("plain"))
	if got := listAll(t, l, "nul", 10); !slices.Equal(got, []string{"nul", "nul\x00", "nul\x00/c"}) {
		t.Fatalf("listing %q", got)
	}
}

// nsListingKeys are the keys of the listing model: the static keys and the
// ones whose order a walk of directories gets wrong, with bytes below and
// around '/' and segments beyond 255 bytes.
func nsListingKeys() []string {
	seg255 := strings.Repeat("g", 255)
	seg260 := strings.Repeat("h", 260)
	keys := append(nsStaticKeys(),
		"p", "p/", "p/q", "p-q", "p.q", "p0", "p/q/", "p!", "p!/q", "p-/q", "p.q/r", "p/q-r", "p/q.r", "p/q/r", "p//", "p/-", "p/.",
		"a", "a/", "a//", "a//b", "a!b", "a-b", "a.b", "a/-", "a/!", "a0", "a/b-c/d", "a/b/c-d",
		seg255+"x", seg255+"y", seg255+"x/1", seg255, seg255+"/", "g/"+seg255+"xz",
		seg260+strings.Repeat("a", 40), seg260+strings.Repeat("b", 40), seg260+strings.Repeat("a", 40)+"/c", seg260+strings.Repeat("a", 39)+"-",
		"-", "!", ".", "-/x", "!/x", "0", "0/",
		"n-1", "n-1-2", "n-", "n--", "n-/-",
	)
	slices.Sort(keys)
	return slices.Compact(keys)
}

// nsEntry is one entry of a listing: a key, or a common prefix.
type nsEntry struct {
	name string
	cp   bool
}

func (e nsEntry) String() string {
	if e.cp {
		return "P:" + nsShow(e.name)
	}
	return "K:" + nsShow(e.name)
}

// nsReference is S3 listing by definition over sorted keys: the keys with
// the prefix, each rolled up to prefix + up to the first delimiter after
// it, repeats dropped, those not after marker dropped.
func nsReference(sorted []string, prefix, delim, marker string) []nsEntry {
	var out []nsEntry
	for _, k := range sorted {
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		e := nsEntry{name: k}
		if delim != "" {
			if i := strings.Index(k[len(prefix):], delim); i >= 0 {
				e = nsEntry{name: k[:len(prefix)+i+len(delim)], cp: true}
			}
		}
		if e.name <= marker || (len(out) > 0 && out[len(out)-1] == e) {
			continue
		}
		out = append(out, e)
	}
	return out
}

// nsPage merges a page's objects and prefixes in binary order.
func nsPage(res object.ListResult) []nsEntry {
	var out []nsEntry
	for _, o := range res.Objects {
		out = append(out, nsEntry{name: o.Name})
	}
	for _, p := range res.CommonPrefixes {
		out = append(out, nsEntry{name: p, cp: true})
	}
	slices.SortFunc(out, func(a, b nsEntry) int { return strings.Compare(a.name, b.name) })
	return out
}

// TestListingTrickyKeys stores keys whose binary order a walk of
// directories easily gets wrong, and compares the layer's listings, page
// by page and all pages together, v1 (markers) and v2 (tokens), with a
// reference computed from the keys sorted as Go strings, for many prefixes,
// delimiters, markers and page sizes. Two sets, so that the listing merges.
func TestListingTrickyKeys(t *testing.T) {
	c := newCluster(t, objecttest.Options{Nodes: 2, DrivesPerNode: 4, Layout: layout.Config{SetSize: 4}})
	if len(c.Layout.Sets) != 2 {
		t.Fatalf("%d sets, want 2", len(c.Layout.Sets))
	}
	ctx := testCtx(t)
	keys := nsListingKeys()
	// One at a time, in order, so that which of two conflicting keys a
	// path-per-key drive takes does not depend on timing.
	var stored, refused []string
	for i, k := range keys {
		if _, err := put(ctx, c.Nodes[i%2].Layer(), k, []byte(k)); err != nil {
			refused = append(refused, nsGraphic(fmt.Sprintf("%q: %v", nsShow(k), err)))
			continue
		}
		stored = append(stored, k)
	}
	slices.Sort(stored)
	slices.Sort(refused)
	if len(refused) > 0 {
		t.Errorf("%d of %d keys refused or failed; first %d:\n  %s", len(refused), len(keys), min(len(refused), 8), strings.Join(refused[:min(len(refused), 8)], "\n  "))
	}
	if len(stored) == 0 {
		t.Fatal("no key stored: nothing to list")
	}
	sets := map[int]bool{}
	for _, k := range stored {
		sets[c.Nodes[0].Layer().SetIndex(bucket, k)] = true
	}
	if len(sets) != 2 {
		t.Fatalf("the stored keys are all in one set")
	}

	seg255, seg260 := strings.Repeat("g", 255), strings.Repeat("h", 260)
	prefixes := []string{
		"", "p", "p/", "p/q", "p/q/", "p-", "p.", "p!", "a", "a/", "a//", "a/b", "x", "x/", "x/.", "x/..", "x/./",
		"dir", "dir/", "/", "//", ".", "..", "../", "ctl", "%", "%2", "m", "meta", "u", "ü", "e", "\u00ff", "\\",
		seg255, seg255 + "x", "g", seg260, seg260 + "a", "h", "long/", "s", "n-", "n", "nothing", "~",
	}
	delims := []string{"", "/", "-", "//", ".", "x"}
	rng := rand.New(rand.NewPCG(10, 10))
	l := c.Nodes[1].Layer()
	listings, nonEmpty, failed := 0, 0, 0
	for _, prefix := range prefixes {
		for _, delim := range delims {
			markers := []string{""}
			for range 2 { // a stored key and a random cut of one
				m := stored[rng.IntN(len(stored))]
				markers = append(markers, m, m[:rng.IntN(len(m)+1)])
			}
			if strings.HasPrefix(prefix, "p") || prefix == "" {
				markers = append(markers, "p/", "p.q", "p/q")
			}
			for mi, marker := range markers {
				want := nsReference(stored, prefix, delim, marker)
				// Every marker with one page of up to 1000; the first
				// marker also in small pages, v1 and v2.
				type mode struct {
					max   int
					token bool
				}
				modes := []mode{{1000, false}}
				if mi == 0 {
					modes = append(modes, mode{1 + rng.IntN(3), false}, mode{2 + rng.IntN(4), true})
				}
				for _, md := range modes {
					listings++
					got, err := nsListPaged(ctx, l, prefix, delim, marker, md.max, md.token, stored)
					if err == nil && !slices.Equal(got, want) {
						err = fmt.Errorf("listed %v\n   want %v", nsShort(got), nsShort(want))
					}
					if err != nil {
						failed++
						if failed <= 10 {
							t.Errorf("prefix %q delim %q marker %q max %d token %v: %v", nsShow(prefix), delim, nsShow(marker), md.max, md.token, err)
						}
						continue
					}
					if len(got) > 0 {
						nonEmpty++
					}
				}
			}
		}
	}
	if failed > 10 {
		t.Errorf("... %d listings of %d wrong in all", failed, listings)
	}
	// Not vacuous: most listings returned something.
	if nonEmpty < listings/3 {
		t.Errorf("only %d of %d listings returned entries", nonEmpty, listings)
	}
	t.Logf("%d keys stored, %d listings compared, %d non-empty, %d wrong", len(stored), listings, nonEmpty, failed)
}

// nsShort shortens a listing for a message.
func nsShort(es []nsEntry) string {
	if len(es) <= 12 {
		return fmt.Sprint(es)
	}
	return fmt.Sprintf("%v … %v (%d entries)", es[:6], es[len(es)-6:], len(es))
}

// nsListPaged lists all pages of a listing, checking each page against the
// reference as it goes (size, order, truncation, next marker), and returns
// the entries of all pages.
func nsListPaged(ctx context.Context, l *object.Layer, prefix, delim, marker string, maxKeys int, token bool, sorted []string) ([]nsEntry, error) {
	opts := object.ListOptions{Prefix: prefix, Delimiter: delim, Marker: marker, MaxKeys: maxKeys}
	var all []nsEntry
	cur := marker // where the page must start, by the reference
	for page := 0; ; page++ {
		if page > len(sorted)+2 {
			return nil, errors.New("the listing does not end")
		}
		res, err := l.ListObjects(ctx, bucket, opts)
		if err != nil {
			return nil, fmt.Errorf("page %d: %w", page, err)
		}
		got := nsPage(res)
		ref := nsReference(sorted, prefix, delim, cur)
		wantTrunc := len(ref) > maxKeys
		if wantTrunc {
			ref = ref[:maxKeys]
		}
		switch {
		case !slices.Equal(got, ref):
			return nil, fmt.Errorf("page %d after %q: %v, want %v", page, nsShow(cur), nsShort(got), nsShort(ref))
		case res.IsTruncated != wantTrunc:
			return nil, fmt.Errorf("page %d after %q: truncated %v, want %v", page, nsShow(cur), res.IsTruncated, wantTrunc)
		case wantTrunc && !token && res.NextMarker != ref[len(ref)-1].name:
			return nil, fmt.Errorf("page %d: next marker %q, want %q", page, nsShow(res.NextMarker), nsShow(ref[len(ref)-1].name))
		}
		all = append(all, got...)
		if !res.IsTruncated {
			return all, nil
		}
		cur = ref[len(ref)-1].name
		if token {
			opts.ContinuationToken = res.NextContinuationToken
		} else {
			opts.Marker = res.NextMarker
		}
	}
}
