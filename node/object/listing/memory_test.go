package listing

import (
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"
)

// bucketNames returns n object names in directories of 1000:
// d000/o0000 ... A local drive reads a whole directory per walk step
// (storage/local), so directories of a fixed size keep the drive's part
// of a page's cost fixed too, and what grows with the bucket is only the
// listing's own.
func bucketNames(n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("d%03d/o%04d", i/1000, i%1000)
	}
	return names
}

// pagingStats is what listing a whole bucket page by page cost.
type pagingStats struct {
	objects, pages int
	elapsed        time.Duration
	bytesPerPage   float64 // allocated, all goroutines
	peakHeapInuse  uint64  // HeapInuse sampled after each page, above the baseline
}

// listAllPages lists the bucket with pages of pageSize objects, chaining
// continuation tokens, and checks that every object comes once, in order.
func listAllPages(t testing.TB, l *Lister, names []string, pageSize int) pagingStats {
	t.Helper()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	baseHeap, baseAlloc := ms.HeapInuse, ms.TotalAlloc
	var st pagingStats
	start := time.Now()
	opts := ListOptions{Bucket: testBucket, MaxKeys: pageSize}
	for {
		res, err := l.List(t.Context(), opts)
		if err != nil {
			t.Fatalf("page %d: %v", st.pages, err)
		}
		for _, o := range res.Objects {
			if st.objects >= len(names) || o.Name != names[st.objects] {
				t.Fatalf("page %d: object %d is %q, want %q", st.pages, st.objects, o.Name, names[min(st.objects, len(names)-1)])
			}
			st.objects++
		}
		st.pages++
		runtime.ReadMemStats(&ms)
		if ms.HeapInuse > baseHeap {
			st.peakHeapInuse = max(st.peakHeapInuse, ms.HeapInuse-baseHeap)
		}
		if !res.IsTruncated {
			break
		}
		opts.ContinuationToken = res.NextContinuationToken
	}
	st.elapsed = time.Since(start)
	runtime.ReadMemStats(&ms)
	st.bytesPerPage = float64(ms.TotalAlloc-baseAlloc) / float64(st.pages)
	if st.objects != len(names) {
		t.Fatalf("listed %d objects, want %d", st.objects, len(names))
	}
	return st
}

// TestMemoryPerPageIsBounded lists a bucket of 10,000 objects on a 4-drive
// set in pages of 100, and one of 100,000 (not with -short or -race, where
// seeding alone takes too long for the test budget; set
// GRIDSTORE_LISTING_100K=1 to force it), and checks that a page costs the
// same memory whatever the size of the bucket: nothing is materialised
// beyond a page, the drives' read-ahead buffers and the drives' one
// directory at a time.
func TestMemoryPerPageIsBounded(t *testing.T) {
	sizes := []int{10_000}
	if force := os.Getenv("GRIDSTORE_LISTING_100K") != ""; force || (!testing.Short() && !raceEnabled) {
		sizes = append(sizes, 100_000)
	}
	var stats []pagingStats
	for _, n := range sizes {
		c := newCluster(t, 1, 4)
		names := bucketNames(n)
		setup := c.seed(t, names)
		st := listAllPages(t, c.lister(t, nil), names, 100)
		t.Logf("%d objects: setup %v; %d pages of 100 in %v (%.0f objects/s), %.0f KiB allocated per page, peak HeapInuse +%.1f MiB",
			n, setup.Round(time.Millisecond), st.pages, st.elapsed.Round(time.Millisecond), float64(st.objects)/st.elapsed.Seconds(),
			st.bytesPerPage/1024, float64(st.peakHeapInuse)/(1<<20))
		stats = append(stats, st)
	}
	// Absolute bound: a page of 100 small objects over 4 drives, plus one
	// directory of 1000 names read per drive, is well under a few MiB.
	for i, st := range stats {
		if st.bytesPerPage > 4<<20 {
			t.Errorf("%d objects: %.0f KiB allocated per page", sizes[i], st.bytesPerPage/1024)
		}
	}
	if len(stats) == 2 {
		ratio := stats[1].bytesPerPage / stats[0].bytesPerPage
		t.Logf("bytes per page, 100k/10k: %.2f", ratio)
		if ratio > 1.5 {
			t.Errorf("a page of the 100k bucket allocates %.2fx what one of the 10k bucket does", ratio)
		}
	}
}
