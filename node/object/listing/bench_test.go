package listing

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/gridstore/gridstore/storage"
)

// benchList lists a bucket of n objects (names from names) on sets of 4
// drives, whole, in pages of pageSize, once per iteration, and reports
// objects/s beside the allocations per listing of the whole bucket.
func benchList(b *testing.B, sets int, names []string, pageSize int, delim string, trustDirs bool) {
	c := newCluster(b, sets, 4)
	c.seed(b, names)
	l := c.lister(b, nil)
	b.ReportAllocs()
	objects := 0
	for b.Loop() {
		opts := ListOptions{Bucket: testBucket, MaxKeys: pageSize, Delimiter: delim, TrustDirectories: trustDirs}
		for {
			res, err := l.List(b.Context(), opts)
			if err != nil {
				b.Fatal(err)
			}
			objects += len(res.Objects) + len(res.CommonPrefixes)
			if !res.IsTruncated {
				break
			}
			opts.ContinuationToken = res.NextContinuationToken
		}
	}
	b.ReportMetric(float64(objects)/b.Elapsed().Seconds(), "objects/s")
}

// BenchmarkList10k: 10,000 objects in directories of 1000, pages of 1000.
func BenchmarkList10k(b *testing.B) {
	for _, sets := range []int{1, 2} {
		b.Run(fmt.Sprintf("sets=%d", sets), func(b *testing.B) {
			benchList(b, sets, bucketNames(10_000), 1000, "", false)
		})
	}
}

// BenchmarkList10kFlat: the same objects in one directory. Every page
// makes each local drive read (and stat) the whole directory again: the
// drive's cost, not the listing's (see BENCHMARKS.txt).
func BenchmarkList10kFlat(b *testing.B) {
	names := make([]string, 10_000)
	for i := range names {
		names[i] = fmt.Sprintf("o%05d", i)
	}
	benchList(b, 1, names, 1000, "", false)
}

// BenchmarkList10kDelimiter lists the 10 directories of the 10k bucket
// with delimiter "/": each common prefix costs a probe, unless trusted.
func BenchmarkList10kDelimiter(b *testing.B) {
	for _, trust := range []bool{false, true} {
		b.Run(fmt.Sprintf("trustdirs=%v", trust), func(b *testing.B) {
			benchList(b, 1, bucketNames(10_000), 1000, "/", trust)
		})
	}
}

// BenchmarkList100kPage100 lists 100,000 objects in pages of 100: the
// memory test's case, as a benchmark (setup takes several seconds).
func BenchmarkList100kPage100(b *testing.B) {
	benchList(b, 1, bucketNames(100_000), 100, "", false)
}

// memDrive is a drive whose recursive walks come from memory: sorted names
// and their records. It isolates the listing's own cost (merge, decode,
// resolve, paging) from the local drive's directory reads and stats.
type memDrive struct {
	storage.Drive // nil: only WalkDir and String are used
	names         []string
	records       [][]byte
}

func (m *memDrive) String() string { return "mem" }

func (m *memDrive) WalkDir(ctx context.Context, opts storage.WalkDirOptions, fn func(storage.MetaEntry) error) error {
	if !opts.Recursive {
		return fmt.Errorf("memDrive: %w: non-recursive walk", storage.ErrInvalidArgument)
	}
	i, _ := slices.BinarySearch(m.names, max(opts.Prefix, opts.StartAfter+"\x00"))
	for ; i < len(m.names) && strings.HasPrefix(m.names[i], opts.Prefix); i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(storage.MetaEntry{Name: m.names[i], Metadata: m.records[i]}); err != nil {
			return err
		}
	}
	return nil
}

// BenchmarkListMemory10k: BenchmarkList10k's listing over in-memory drives.
func BenchmarkListMemory10k(b *testing.B) {
	names := bucketNames(10_000)
	var cfg Config
	set := Set{ReadQuorum: 2}
	for pos := range 4 {
		d := &memDrive{names: names}
		for _, name := range names {
			m := storage.ObjectMeta{Versions: []storage.FileVersion{ver{id: storage.NullVersionID, mod: t0, size: 10}.fileInfo(name, 4, pos).FileVersion}}
			rec, err := m.Encode()
			if err != nil {
				b.Fatal(err)
			}
			d.records = append(d.records, rec)
		}
		set.Drives = append(set.Drives, d)
	}
	cfg.Sets = []Set{set}
	l, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	objects := 0
	for b.Loop() {
		opts := ListOptions{Bucket: testBucket, MaxKeys: 1000}
		for {
			res, err := l.List(b.Context(), opts)
			if err != nil {
				b.Fatal(err)
			}
			objects += len(res.Objects)
			if !res.IsTruncated {
				break
			}
			opts.ContinuationToken = res.NextContinuationToken
		}
	}
	if objects%len(names) != 0 {
		b.Fatalf("listed %d objects, not a multiple of %d", objects, len(names))
	}
	b.ReportMetric(float64(objects)/b.Elapsed().Seconds(), "objects/s")
}
