package clusterproc

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gridstore/gridstore/storage"
	"github.com/gridstore/gridstore/storage/local"
)

// DriveDirs returns the drive folders of node i, in endpoint order.
func (c *Cluster) DriveDirs(i int) []string {
	var dirs []string
	for j := range c.opts.DrivesPerNode {
		dirs = append(dirs, filepath.Join(c.dir, fmt.Sprintf("node%d", i), fmt.Sprintf("d%d", j)))
	}
	return dirs
}

// AllDriveDirs returns every drive folder of the cluster, in endpoint
// order.
func (c *Cluster) AllDriveDirs() []string {
	var dirs []string
	for i := range c.nodes {
		dirs = append(dirs, c.DriveDirs(i)...)
	}
	return dirs
}

// copyOf is what one drive holds of a key: the identity of its latest
// version (empty when it holds none, or a delete marker) and the sizes of
// its shard data, read from the drive's files without asking any server.
type copyOf struct {
	version string  // "" for absent or deleted
	shards  []int64 // per part file, or the inline shard's size
	err     error   // what could not be read (a torn or corrupt record, a part file missing)
}

// readCopy reads key's record and shard files on the drive at root.
func readCopy(root, bucket, key string) copyOf {
	raw, err := os.ReadFile(local.RecordFile(root, bucket, key))
	if errors.Is(err, fs.ErrNotExist) {
		return copyOf{}
	}
	if err != nil {
		return copyOf{err: err}
	}
	m, err := storage.DecodeObjectMeta(raw)
	if err != nil {
		return copyOf{err: err}
	}
	v := m.Versions[0]
	if v.Deleted {
		return copyOf{}
	}
	c := copyOf{version: fmt.Sprintf("%s/%s/%s/%d", v.VersionID, v.ModTime.UTC().Format(time.RFC3339Nano), v.DataDir, v.Size)}
	if v.DataDir == "" {
		c.shards = []int64{int64(len(v.InlineData))}
		if v.Size > 0 && len(v.InlineData) == 0 {
			c.err = errors.New("inline object without its shard")
		}
		return c
	}
	dir := local.DataDirFile(root, bucket, key, v.DataDir)
	for _, p := range v.Parts {
		st, err := os.Stat(filepath.Join(dir, storage.PartFileName(p.Number)))
		if err != nil {
			c.err = fmt.Errorf("part %d: %w", p.Number, err)
			return c
		}
		c.shards = append(c.shards, st.Size())
	}
	return c
}

// Unredundant returns, for each key that is not held in full by every
// drive of roots, why: the drives must agree on its latest version (all
// of them holding it, or none) and each must have its shard of every part,
// of the same size as the others'. It knows the on-disk layout, not the
// servers' opinion of it, so a heal that says it worked but left a drive
// short shows. It assumes every drive of roots is in the keys' erasure set
// (the harness's default cluster: one set of 8 drives).
func Unredundant(roots []string, bucket string, keys []string) map[string]string {
	short := map[string]string{}
	for _, key := range keys {
		copies := make([]copyOf, len(roots))
		for i, root := range roots {
			copies[i] = readCopy(root, bucket, key)
		}
		if why := disagreement(copies); why != "" {
			short[key] = why
		}
	}
	return short
}

// disagreement says how copies differ from one full set, "" if they do not.
func disagreement(copies []copyOf) string {
	for i, c := range copies {
		if c.err != nil {
			return fmt.Sprintf("drive %d: %v", i, c.err)
		}
	}
	for i, c := range copies[1:] {
		if c.version != copies[0].version {
			return fmt.Sprintf("drive 0 holds version %q, drive %d %q", copies[0].version, i+1, c.version)
		}
		if !slices.Equal(c.shards, copies[0].shards) {
			return fmt.Sprintf("drive 0 holds shards of %v bytes, drive %d %v", copies[0].shards, i+1, c.shards)
		}
	}
	return ""
}

// WaitRedundant polls Unredundant every half second until every key is held
// in full or timeout passes, and returns how long it waited and what was
// still short at the end (nil on success).
func WaitRedundant(roots []string, bucket string, keys []string, timeout time.Duration) (time.Duration, map[string]string) {
	start := time.Now()
	for {
		short := Unredundant(roots, bucket, keys)
		if len(short) == 0 {
			return time.Since(start), nil
		}
		if time.Since(start) > timeout {
			return time.Since(start), short
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// DescribeCopies says, drive by drive, what roots hold of key: every
// version of its record, newest first (ID, modification time, data dir,
// parts), with the shard files each data dir holds, and the entries of
// the object's folder that no version names. It is for failure messages
// about redundancy: a drive's record naming a shard it lacks says little
// without the versions around it.
func DescribeCopies(roots []string, bucket, key string) string {
	var b strings.Builder
	for i, root := range roots {
		fmt.Fprintf(&b, "drive %d: %s\n", i, describeCopy(root, bucket, key))
	}
	return b.String()
}

func describeCopy(root, bucket, key string) string {
	dir := local.ObjectDir(root, bucket, key)
	entries, derr := os.ReadDir(dir)
	raw, err := os.ReadFile(local.RecordFile(root, bucket, key))
	if err != nil {
		return fmt.Sprintf("record: %v; folder: %s", err, names(entries, derr))
	}
	m, err := storage.DecodeObjectMeta(raw)
	if err != nil {
		return fmt.Sprintf("record: %v; folder: %s", err, names(entries, derr))
	}
	named := map[string]bool{filepath.Base(local.RecordFile(root, bucket, key)): true}
	var vs []string
	for _, v := range m.Versions {
		s := fmt.Sprintf("%.8s %s", v.VersionID, v.ModTime.UTC().Format("15:04:05.000000"))
		switch {
		case v.Deleted:
			s += " delete marker"
		case v.DataDir == "":
			s += fmt.Sprintf(" inline %d B", v.Size)
		default:
			dd := local.DataDirFile(root, bucket, key, v.DataDir)
			named[filepath.Base(dd)] = true
			var parts []string
			for _, p := range v.Parts {
				parts = append(parts, strconv.Itoa(p.Number))
			}
			files, ferr := os.ReadDir(dd)
			s += fmt.Sprintf(" data dir %.8s parts [%s] holds %s", v.DataDir, strings.Join(parts, " "), names(files, ferr))
		}
		vs = append(vs, s)
	}
	var other []os.DirEntry
	for _, e := range entries {
		if !named[e.Name()] {
			other = append(other, e)
		}
	}
	out := strings.Join(vs, "; ")
	if len(other) > 0 {
		out += "; also " + names(other, nil)
	}
	return out
}

// names lists directory entries, or says why they could not be read.
func names(entries []os.DirEntry, err error) string {
	if err != nil {
		return fmt.Sprintf("(%v)", err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return "[" + strings.Join(out, " ") + "]"
}

// LogLinesAbout returns the last max lines of node i's log that mention
// what (an object key, say), for a failure message.
func (c *Cluster) LogLinesAbout(i int, what string, max int) []string {
	raw, err := os.ReadFile(c.LogPath(i))
	if err != nil {
		return []string{err.Error()}
	}
	var out []string
	for line := range strings.Lines(string(raw)) {
		if strings.Contains(line, what) {
			out = append(out, strings.TrimRight(line, "\n"))
		}
	}
	if len(out) > max {
		out = out[len(out)-max:]
	}
	return out
}
