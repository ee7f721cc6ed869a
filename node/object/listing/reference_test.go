package listing

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestAgainstReference lists random buckets with random requests, page by
// page (by marker and by continuation token, with random page sizes), and
// compares every page with a naive model of S3 listing over the sorted
// list of visible keys. The buckets mix objects on all drives, on a bare
// quorum, on one drive (invisible) and under delete markers (invisible), so
// that directories exist that lead to nothing; the requests mix prefixes
// that end anywhere, delimiters "/" (the drives group) and others (grouped
// here), and markers inside and outside common prefixes.
func TestAgainstReference(t *testing.T) {
	for sets := 1; sets <= 3; sets++ {
		t.Run(fmt.Sprintf("sets=%d", sets), func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(uint64(sets), 42))
			c := newCluster(t, sets, 4)
			visible := seedRandom(t, c, rng, 150)
			l := c.lister(t, nil)
			for q := range 60 {
				opts := ListOptions{
					Bucket:    testBucket,
					Prefix:    randomPrefix(rng, visible),
					Delimiter: []string{"", "/", "/", "-", "a", "b/", "."}[rng.IntN(7)],
					Marker:    randomPrefix(rng, visible),
					MaxKeys:   1 + rng.IntN(12),
				}
				if rng.IntN(2) == 0 {
					opts.Marker = ""
				}
				useToken := rng.IntN(2) == 0
				for page := 0; ; page++ {
					want := reference(visible, opts)
					got, err := l.List(t.Context(), opts)
					if err != nil {
						t.Fatalf("query %d page %d %+v: %v", q, page, opts, err)
					}
					if diff := comparePages(got, want); diff != "" {
						t.Fatalf("query %d page %d %+v: %s", q, page, opts, diff)
					}
					if !got.IsTruncated {
						break
					}
					if useToken {
						opts.ContinuationToken = got.NextContinuationToken
					} else {
						opts.Marker = got.NextMarker
					}
				}
			}
		})
	}
}

// seedRandom writes n random objects and returns the sorted names a
// listing must show.
func seedRandom(t *testing.T, c *cluster, rng *rand.Rand, n int) []string {
	t.Helper()
	var names []string
	seen := map[string]bool{}
	for len(names) < n {
		name := randomName(rng)
		if seen[name] || conflicts(name, names) {
			continue
		}
		seen[name] = true
		names = append(names, name)
	}
	var visible []string
	for _, name := range names {
		switch r := rng.IntN(20); {
		case r < 14:
			c.put(t, name, ver{mod: t0})
			visible = append(visible, name)
		case r < 16: // a bare quorum, on random drives
			p := rng.Perm(4)
			c.put(t, name, ver{mod: t0}, p[0], p[1])
			visible = append(visible, name)
		case r < 18: // a half-written object
			c.put(t, name, ver{mod: t0}, rng.IntN(4))
		default: // deleted in a versioned bucket
			c.put(t, name, ver{id: "v1", mod: t0})
			c.put(t, name, ver{id: "dm", mod: t0.Add(time.Second), deleted: true})
		}
	}
	slices.Sort(visible)
	return visible
}

// randomName builds 1 to 3 components of 1 to 3 characters from a small
// alphabet, so that names share prefixes and directories often.
func randomName(rng *rand.Rand) string {
	const alphabet = "ab-.c"
	var parts []string
	for range 1 + rng.IntN(3) {
		for {
			var b strings.Builder
			for range 1 + rng.IntN(3) {
				b.WriteByte(alphabet[rng.IntN(len(alphabet))])
			}
			if s := b.String(); s != "." && s != ".." {
				parts = append(parts, s)
				break
			}
		}
	}
	return strings.Join(parts, "/")
}

// conflicts reports whether name and one of names cannot both be objects:
// one is a directory of the other.
func conflicts(name string, names []string) bool {
	for _, o := range names {
		if strings.HasPrefix(o, name+"/") || strings.HasPrefix(name, o+"/") {
			return true
		}
	}
	return false
}

// randomPrefix is a random start of a visible name, or a random string.
func randomPrefix(rng *rand.Rand, names []string) string {
	if len(names) == 0 || rng.IntN(5) == 0 {
		return randomName(rng)[:1]
	}
	n := names[rng.IntN(len(names))]
	return n[:rng.IntN(len(n)+1)]
}

// reference is S3 listing by its definition: every visible key in order,
// rolled up, filtered by the marker, cut at MaxKeys.
func reference(keys []string, opts ListOptions) ListResult {
	marker := opts.Marker
	if opts.ContinuationToken != "" {
		marker, _ = decodeToken(opts.ContinuationToken)
	}
	var entries []string // common prefixes end with the delimiter; marked by isCP
	isCP := map[string]bool{}
	for _, k := range keys {
		if !strings.HasPrefix(k, opts.Prefix) {
			continue
		}
		e := k
		if opts.Delimiter != "" {
			if i := strings.Index(k[len(opts.Prefix):], opts.Delimiter); i >= 0 {
				e = k[:len(opts.Prefix)+i+len(opts.Delimiter)]
				isCP[e] = true
			}
		}
		if e <= marker || (len(entries) > 0 && entries[len(entries)-1] == e) {
			continue
		}
		entries = append(entries, e)
	}
	var res ListResult
	if len(entries) > opts.MaxKeys {
		entries = entries[:opts.MaxKeys]
		res.IsTruncated = true
		res.NextMarker = entries[len(entries)-1]
	}
	for _, e := range entries {
		if isCP[e] {
			res.CommonPrefixes = append(res.CommonPrefixes, e)
		} else {
			res.Objects = append(res.Objects, ObjectInfo{Name: e})
		}
	}
	return res
}

func comparePages(got, want ListResult) string {
	names := func(objs []ObjectInfo) []string {
		var s []string
		for _, o := range objs {
			s = append(s, o.Name)
		}
		return s
	}
	switch {
	case !slices.Equal(names(got.Objects), names(want.Objects)):
		return fmt.Sprintf("objects\n got %q\nwant %q", names(got.Objects), names(want.Objects))
	case !slices.Equal(got.CommonPrefixes, want.CommonPrefixes):
		return fmt.Sprintf("common prefixes\n got %q\nwant %q", got.CommonPrefixes, want.CommonPrefixes)
	case got.IsTruncated != want.IsTruncated || got.NextMarker != want.NextMarker:
		return fmt.Sprintf("truncated %v next %q, want %v %q", got.IsTruncated, got.NextMarker, want.IsTruncated, want.NextMarker)
	}
	return ""
}
