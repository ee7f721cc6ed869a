package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gridstore/gridstore/storage"
)

// WalkDir walks a volume in lexical order of object names, one directory
// at a time: a directory's entries are read, classified and sorted, then
// visited in order, descending into subdirectories as they come. Memory is
// one directory's entry names per level of depth, never the volume.
//
// An entry is an object if it is a directory holding a record; the walk
// never looks inside an object. Other directories are common prefixes.
// For the order to be that of the full names, a prefix sorts as its name
// plus "/": "a-b" < "a/" < "a0", as "a-b" < "a/x" < "a0".
func (d *Drive) WalkDir(ctx context.Context, opts storage.WalkDirOptions, fn func(storage.MetaEntry) error) (err error) {
	defer d.track(opWalkDir, time.Now(), &err)
	fail := func(err error) error {
		return fmt.Errorf("walk %s/%s: %w", opts.Volume, opts.Prefix, err)
	}
	if err := d.ready(ctx); err != nil {
		return fail(err)
	}
	if err := storage.CheckVolume(opts.Volume); err != nil {
		return fail(err)
	}
	base, filter := "", opts.Prefix
	if i := strings.LastIndexByte(opts.Prefix, '/'); i >= 0 {
		base, filter = opts.Prefix[:i+1], opts.Prefix[i+1:]
		if err := storage.CheckPath(base[:i]); err != nil {
			return fail(err)
		}
	}
	if len(filter) > storage.MaxComponentLength || strings.ContainsAny(filter, "\x00\\") {
		return fail(fmt.Errorf("%w: prefix %q", storage.ErrInvalidPath, filter))
	}
	volDir := volumeDir(d.root, opts.Volume)
	if st, err := os.Stat(volDir); err != nil || !st.IsDir() {
		if err == nil {
			err = errors.New("not a directory")
		}
		return fail(osError("stat volume", opts.Volume, err, storage.ErrVolumeNotFound))
	}
	if base != "" && isRegularFile(filepath.Join(volDir, filepath.FromSlash(base), storage.MetaFileName)) {
		return nil // the inside of an object (its data dirs) is not listed
	}
	w := walker{ctx: ctx, volDir: volDir, opts: opts, fn: fn}
	return w.dir(base, filter)
}

type walker struct {
	ctx    context.Context
	volDir string
	opts   storage.WalkDirOptions
	fn     func(storage.MetaEntry) error
}

type walkItem struct {
	name   string // full name: an object's, or a prefix's with its "/"
	object bool
}

// dir visits the entries of the directory rel ("" or ending in "/") whose
// names start with filter.
func (w *walker) dir(rel, filter string) error {
	f, err := os.Open(filepath.Join(w.volDir, filepath.FromSlash(rel)))
	if err != nil {
		if isNotFound(err) {
			return nil // a prefix that names nothing lists nothing
		}
		return osError("walk", w.opts.Volume+"/"+rel, err, nil)
	}
	entries, err := f.ReadDir(-1) // unsorted: sorted below by the walk's own key
	f.Close()
	if err != nil {
		return osError("walk", w.opts.Volume+"/"+rel, err, nil)
	}
	start := w.opts.StartAfter
	items := make([]walkItem, 0, len(entries))
	for _, e := range entries {
		// Objects and prefixes are directories; files and symbolic
		// links here are not ours to list.
		if !e.IsDir() || !strings.HasPrefix(e.Name(), filter) {
			continue
		}
		prefix := rel + e.Name() + "/"
		if prefix <= start && !strings.HasPrefix(start, prefix) {
			continue // before the marker whatever it is: skip the stat
		}
		item := walkItem{name: prefix}
		if isRegularFile(filepath.Join(w.volDir, filepath.FromSlash(prefix), storage.MetaFileName)) {
			item = walkItem{name: prefix[:len(prefix)-1], object: true}
		}
		if item.name <= start && (item.object || !w.opts.Recursive) {
			continue
		}
		items = append(items, item)
	}
	slices.SortFunc(items, func(a, b walkItem) int { return strings.Compare(a.name, b.name) })

	for _, it := range items {
		if err := w.ctx.Err(); err != nil {
			return err
		}
		switch {
		case it.object:
			raw, err := readMetaFile(filepath.Join(w.volDir, filepath.FromSlash(it.name), storage.MetaFileName))
			switch {
			case isNotFound(err) || errors.Is(err, storage.ErrFileNotFound):
				continue // deleted since the directory was read
			case errors.Is(err, storage.ErrFileCorrupt):
				raw = nil // reported as an object whose record does not decode
			case err != nil:
				return osError("walk: read metadata of", w.opts.Volume+"/"+it.name, err, nil)
			}
			if err := w.fn(storage.MetaEntry{Name: it.name, Metadata: raw}); err != nil {
				return err
			}
		case w.opts.Recursive:
			if err := w.dir(it.name, ""); err != nil {
				return err
			}
		default:
			if err := w.fn(storage.MetaEntry{Name: it.name}); err != nil {
				return err
			}
		}
	}
	return nil
}
