package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/gridstore/gridstore/storage"
)

// SweepStats counts what a Sweep looked at and removed.
type SweepStats struct {
	Objects  int // object directories looked into
	DataDirs int // data dirs that no record names, removed
	Other    int // other leftovers of the drive's own, removed
	Dirs     int // empty directories removed
}

// Sweep removes from every bucket what no object refers to: data dirs
// that their object's record does not name (left by a crash between the
// steps of a commit or a delete, or by a removal that failed), entries of
// the drive's own that are neither records nor data dirs, and directories
// left empty. It walks the buckets one directory at a time and takes each
// object's lock while it looks into its directory, so that it never sees
// a commit half done: it may run while the drive serves.
//
// What a record names is never removed, even when the record does not
// decode: a corrupt record is the object layer's to heal, and what it
// named is found again when it is.
func (d *Drive) Sweep(ctx context.Context) (stats SweepStats, err error) {
	if err := d.ready(ctx); err != nil {
		return stats, fmt.Errorf("sweep: %w", err)
	}
	vols, err := d.ListVols(ctx)
	if err != nil {
		return stats, fmt.Errorf("sweep: %w", err)
	}
	for _, v := range vols {
		s := sweeper{d: d, ctx: ctx, volume: v.Name, volDir: volumeDir(d.root, v.Name), stats: &stats}
		if err := s.dir("", "", ""); err != nil {
			return stats, fmt.Errorf("sweep %s: %w", v.Name, err)
		}
	}
	return stats, nil
}

type sweeper struct {
	d      *Drive
	ctx    context.Context
	volume string
	volDir string
	stats  *SweepStats
}

// dir sweeps the directory rel (relative to the volume's, "" or ending in
// "/"). below is what the keys under it start with: "" at the top, the
// key and "/" in a key's prefix directory; in the directory of a piece of
// a long segment, lead is what the pieces spell so far.
func (s *sweeper) dir(rel, below, lead string) error {
	if err := s.ctx.Err(); err != nil {
		return err
	}
	full := filepath.Join(s.volDir, filepath.FromSlash(rel))
	entries, err := os.ReadDir(full)
	if err != nil {
		if isNotFound(err) {
			return nil
		}
		return osError("sweep", s.volume+"/"+storage.ClipName(below+lead), err, nil)
	}
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() || name[0] == internalMark {
			continue // not the drive's: left alone
		}
		piece, kind, ok := decodeName(name)
		switch {
		case !ok:
			continue
		case kind == pieceName:
			err = s.dir(rel+name+"/", below, lead+piece)
		case kind == objectName:
			s.object(filepath.Join(full, name), below+lead+piece)
		default:
			err = s.dir(rel+name+"/", below+lead+piece+"/", "")
		}
		if err != nil {
			return err
		}
	}
	if rel != "" {
		if err := syscall.Rmdir(full); err == nil {
			s.stats.Dirs++
		}
	}
	return nil
}

// object removes what the record of key, in its object directory dir,
// does not name, under the object's lock, and the directory if that
// leaves it empty.
func (s *sweeper) object(dir, key string) {
	unlock := s.d.lockObject(s.volume, key)
	defer unlock()
	s.stats.Objects++
	raw, err := readMetaFile(filepath.Join(dir, recordName))
	var meta *storage.ObjectMeta
	switch {
	case err == nil:
		if meta, err = storage.DecodeObjectMeta(raw); err != nil {
			return // not ours to judge: healing rewrites it
		}
	case errors.Is(err, os.ErrNotExist):
		meta = &storage.ObjectMeta{}
	default:
		return
	}
	f, err := os.Open(dir)
	if err != nil {
		return
	}
	names, _ := f.Readdirnames(-1)
	f.Close()
	for _, name := range names {
		switch {
		case name[0] != internalMark, name == recordName:
			// Not the drive's, or the record itself.
		case isDataDirName(name):
			if !meta.UsesDataDir(name[1:]) && s.d.discard(filepath.Join(dir, name)) == nil {
				s.stats.DataDirs++
			}
		default:
			if s.d.discard(filepath.Join(dir, name)) == nil {
				s.stats.Other++
			}
		}
	}
	if syscall.Rmdir(dir) == nil {
		s.stats.Dirs++
	}
}
