package listing

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gridstore/gridstore/storage"
)

// TestScenarios runs the scenarios of testdata/*.txt. A scenario is a set of
// objects, written on all or some drives of their set, optional faults, and
// list requests each followed by the page it must return:
//
//	== name                       starts a scenario
//	sets 1 2                      set counts to run it with (default 1 2 3; 4 drives each)
//	put <key> [v=<id>] [t=<seconds after t0>] [size=<n>] [parity=<n>] [deleted] [on=<pos>,...]
//	fault <pos> fail=<n> | offline | novolume
//	                              position pos of every set: its walks fail with
//	                              ErrFaultyDisk after n entries / it is nil / its
//	                              walks say ErrVolumeNotFound
//	list [prefix=] [delim=] [marker=<s>|$next] [token=$next] [max=<n>] [trustdirs]
//	want [obj=<key>[@<version>]]... [cp=<prefix>]... [truncated] [next=<marker>] [err=quorum|bucket|token]
//
// Values may be Go-quoted ("a b", "\n"); $next is the previous page's
// NextMarker (marker=) or NextContinuationToken (token=). Every want checks
// the whole page: objects, prefixes, truncation and, when truncated, the
// next marker (next= pins it). Each scenario runs once per set count, with
// the objects placed by the deployment's hash, and must give the same pages.
func TestScenarios(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenario files: %v", err)
	}
	for _, file := range files {
		for _, sc := range parseScenarios(t, file) {
			for _, sets := range sc.sets {
				t.Run(fmt.Sprintf("%s/%s/sets=%d", strings.TrimSuffix(filepath.Base(file), ".txt"), sc.name, sets), func(t *testing.T) {
					t.Parallel()
					sc.run(t, sets)
				})
			}
		}
	}
}

type scenario struct {
	name  string
	sets  []int
	steps []step // in file order
}

type step struct {
	line int
	verb string
	args []string
}

func parseScenarios(t *testing.T, file string) []*scenario {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []*scenario
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		if name, ok := strings.CutPrefix(line, "== "); ok {
			out = append(out, &scenario{name: strings.ReplaceAll(strings.TrimSpace(name), " ", "_"), sets: []int{1, 2, 3}})
			continue
		}
		if len(out) == 0 {
			t.Fatalf("%s:%d: %q before the first scenario", file, n, line)
		}
		fields, err := splitFields(line)
		if err != nil {
			t.Fatalf("%s:%d: %v", file, n, err)
		}
		s := out[len(out)-1]
		if fields[0] == "sets" {
			s.sets = nil
			for _, f := range fields[1:] {
				v, err := strconv.Atoi(f)
				if err != nil {
					t.Fatalf("%s:%d: %v", file, n, err)
				}
				s.sets = append(s.sets, v)
			}
			continue
		}
		s.steps = append(s.steps, step{line: n, verb: fields[0], args: fields[1:]})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// splitFields splits a line at spaces; a field, or the value after "key=",
// may be a Go-quoted string. A "#" outside quotes starts a comment.
func splitFields(line string) ([]string, error) {
	var out []string
	for {
		line = strings.TrimLeft(line, " \t")
		if line == "" || line[0] == '#' {
			return out, nil
		}
		key := ""
		if i := strings.IndexAny(line, "= \t\""); i >= 0 && line[i] == '=' && i+1 < len(line) && line[i+1] == '"' {
			key, line = line[:i+1], line[i+1:]
		}
		if line[0] == '"' {
			q, err := strconv.QuotedPrefix(line)
			if err != nil {
				return nil, fmt.Errorf("bad quoted string in %q: %w", line, err)
			}
			v, _ := strconv.Unquote(q)
			out = append(out, key+v)
			line = line[len(q):]
			continue
		}
		end := strings.IndexAny(line, " \t")
		if end < 0 {
			end = len(line)
		}
		out = append(out, key+line[:end])
		line = line[end:]
	}
}

// kv splits the arguments of a step into flags and key=value pairs;
// repeated keys keep every value.
func kv(args []string) map[string][]string {
	m := map[string][]string{}
	for _, a := range args {
		k, v, _ := strings.Cut(a, "=")
		m[k] = append(m[k], v)
	}
	return m
}

func (sc *scenario) run(t *testing.T, sets int) {
	c := newCluster(t, sets, 4)
	faults := map[int]*faultDrive{}
	offline := map[int]bool{}
	var res ListResult
	var listErr error
	listed := false
	for _, st := range sc.steps {
		where := fmt.Sprintf("line %d: %s %q", st.line, st.verb, st.args)
		a := kv(st.args[min(1, len(st.args)):])
		switch st.verb {
		case "put":
			v := ver{mod: t0}
			var on []int
			for k, vals := range a {
				val := vals[0]
				switch k {
				case "v":
					v.id = val
				case "t":
					v.mod = t0.Add(time.Duration(atoi(t, where, val)) * time.Second)
				case "size":
					v.size = int64(atoi(t, where, val))
				case "parity":
					v.parity = atoi(t, where, val)
				case "deleted":
					v.deleted = true
				case "on":
					for _, p := range strings.Split(val, ",") {
						on = append(on, atoi(t, where, p))
					}
				default:
					t.Fatalf("%s: unknown argument %s", where, k)
				}
			}
			c.put(t, st.args[0], v, on...)
		case "fault":
			pos := atoi(t, where, st.args[0])
			switch {
			case a["offline"] != nil:
				offline[pos] = true
			case a["novolume"] != nil:
				faults[pos] = &faultDrive{failAfter: 0, err: fmt.Errorf("walk: %w", storage.ErrVolumeNotFound)}
			case a["fail"] != nil:
				faults[pos] = &faultDrive{failAfter: atoi(t, where, a["fail"][0])}
			default:
				t.Fatalf("%s: unknown fault", where)
			}
		case "list":
			l := c.lister(t, func(_, pos int, d storage.Drive) storage.Drive {
				if offline[pos] {
					return nil
				}
				if f := faults[pos]; f != nil {
					return &faultDrive{Drive: d, failAfter: f.failAfter, err: f.err}
				}
				return d
			})
			a := kv(st.args)
			opts := ListOptions{Bucket: testBucket}
			for k, vals := range a {
				val := vals[0]
				switch k {
				case "prefix":
					opts.Prefix = val
				case "delim":
					opts.Delimiter = val
				case "marker":
					if val == "$next" {
						val = res.NextMarker
					}
					opts.Marker = val
				case "token":
					if val == "$next" {
						val = res.NextContinuationToken
					}
					opts.ContinuationToken = val
				case "max":
					opts.MaxKeys = atoi(t, where, val)
				case "trustdirs":
					opts.TrustDirectories = true
				default:
					t.Fatalf("%s: unknown argument %s", where, k)
				}
			}
			res, listErr = l.List(t.Context(), opts)
			listed = true
		case "want":
			if !listed {
				t.Fatalf("%s: want without list", where)
			}
			checkPage(t, where, kv(st.args), res, listErr)
		default:
			t.Fatalf("%s: unknown verb", where)
		}
	}
}

func atoi(t *testing.T, where, s string) int {
	t.Helper()
	v, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	return v
}

func checkPage(t *testing.T, where string, want map[string][]string, got ListResult, err error) {
	t.Helper()
	if e := want["err"]; e != nil {
		sentinel := map[string]error{"quorum": ErrListQuorum, "bucket": storage.ErrVolumeNotFound, "token": ErrInvalidContinuationToken}[e[0]]
		if sentinel == nil {
			t.Fatalf("%s: unknown error %q", where, e[0])
		}
		if !errors.Is(err, sentinel) {
			t.Errorf("%s: error %v, want %v", where, err, sentinel)
		}
		return
	}
	if err != nil {
		t.Errorf("%s: %v", where, err)
		return
	}
	var objs []string
	checkVersions := false
	for _, o := range want["obj"] {
		checkVersions = checkVersions || strings.Contains(o, "@")
		objs = append(objs, o)
	}
	var gotObjs []string
	for _, o := range got.Objects {
		if checkVersions {
			gotObjs = append(gotObjs, o.Name+"@"+o.VersionID)
		} else {
			gotObjs = append(gotObjs, o.Name)
		}
	}
	if !slices.Equal(gotObjs, objs) {
		t.Errorf("%s: objects\n got %q\nwant %q", where, gotObjs, objs)
	}
	if !slices.Equal(got.CommonPrefixes, want["cp"]) {
		t.Errorf("%s: common prefixes\n got %q\nwant %q", where, got.CommonPrefixes, want["cp"])
	}
	truncated := want["truncated"] != nil
	if got.IsTruncated != truncated {
		t.Errorf("%s: truncated %v, want %v", where, got.IsTruncated, truncated)
	}
	switch {
	case !got.IsTruncated && (got.NextMarker != "" || got.NextContinuationToken != ""):
		t.Errorf("%s: next marker %q, token %q on the last page", where, got.NextMarker, got.NextContinuationToken)
	case got.IsTruncated && want["next"] != nil && got.NextMarker != want["next"][0]:
		t.Errorf("%s: next marker %q, want %q", where, got.NextMarker, want["next"][0])
	case got.IsTruncated:
		// The next marker is the page's last entry.
		last := ""
		if n := len(got.Objects); n > 0 {
			last = got.Objects[n-1].Name
		}
		if n := len(got.CommonPrefixes); n > 0 && got.CommonPrefixes[n-1] > last {
			last = got.CommonPrefixes[n-1]
		}
		if got.NextMarker != last {
			t.Errorf("%s: next marker %q, want the last entry %q", where, got.NextMarker, last)
		}
	}
}
