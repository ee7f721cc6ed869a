package local

import (
	"fmt"
	"os"
	"slices"
	"sync"
)

// A write is made durable in two flushes at most, whatever it changed:
// one before its commit rename, covering everything the commit makes
// visible, and one after it, covering the rename, before it reports
// success. How a flush is done depends on the drive:
//
//   - group commit (Linux, the default): one syncfs(2) of the drive's file
//     system flushes everything written to it, every file and directory,
//     by any operation. The operations waiting for a flush share the next
//     one that starts after they ask (groupSync), so that concurrent
//     writes on a drive cost fewer flushes than writes; a shard written
//     to TmpVolume is not synced on its own at all: the flush before its
//     RenameData's commit covers it.
//   - one by one (Options.SyncEachFile, and other systems): each file is
//     fdatasynced as it is written, and each directory whose entries
//     changed is fsynced once per flush (pending).
//
// Either way the rule is the same: nothing becomes visible through a
// rename before what it refers to is durable, and nothing is acknowledged
// before the rename that commits it is.

// pending lists the directories whose entries an operation changed and
// that its next flush must make durable, when files are synced one by one
// (a group flush covers them without being told).
type pending struct{ dirs []string }

func (p *pending) add(dir string) {
	if !slices.Contains(p.dirs, dir) {
		p.dirs = append(p.dirs, dir)
	}
}

// flush makes durable everything the calling operation wrote so far: the
// directories in p (files were synced as they were written), or, with
// group commit, everything on the drive's file system. p is emptied.
func (d *Drive) flush(p *pending) error {
	if d.group != nil {
		p.dirs = p.dirs[:0]
		return d.group.sync(d.root)
	}
	for len(p.dirs) > 0 {
		if err := syncDir(p.dirs[0]); err != nil {
			return err
		}
		p.dirs = p.dirs[1:]
	}
	return nil
}

// syncsEachFile reports whether files must be synced as they are written
// (no group commit to cover them).
func (d *Drive) syncsEachFile() bool { return d.group == nil }

// groupSync is the group commit of a file system: the callers of sync wait
// for a flush of the whole file system that starts after they call, and
// all those waiting share the next one. At most one flush runs at a time;
// it is run by one of its waiters, so nothing runs when nobody writes.
// The drives of a process that are on one file system (folders of one
// disk) share one groupSync (joinGroupSync): one syncfs covers them all.
type groupSync struct {
	flush func(dir string) error // g.flushFS; tests put their own in
	// fs is a directory of the file system, opened by the first flush
	// and kept for the next ones (only one runs at a time): a drive's
	// small writes flush about once each, and opening a directory as an
	// *os.File costs four more system calls than the syncfs itself.
	// Any directory of the file system will do, even one removed since.
	// It is touched by the running flush, or under mu while none runs.
	fs *os.File

	mu      sync.Mutex
	cond    sync.Cond
	started uint64 // flushes begun
	done    uint64 // flushes ended; they end in the order they begin
	running bool
	waiting int // callers waiting for another's flush to end
	// failed is the last flush that failed, err its error. A caller is
	// told of a failure of its flush or of any later one: conservative,
	// and a file system that fails a flush is in trouble anyway.
	failed uint64
	err    error
	// left: no drive uses the group any more (a call still in progress
	// may flush once more); fs is closed after every flush from then on.
	left bool
}

func newGroupSync() *groupSync {
	g := &groupSync{}
	g.flush = g.flushFS
	g.cond.L = &g.mu
	return g
}

// close closes the directory the flushes keep open, now or, if a flush
// is running (a call of a closed drive still in progress), once it ends.
func (g *groupSync) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.left = true
	if !g.running {
		g.closeFS()
	}
}

// closeFS closes fs; g.mu is held and no flush runs.
func (g *groupSync) closeFS() {
	if g.fs != nil {
		_ = g.fs.Close()
		g.fs = nil
	}
}

// fsGroups are the group commits of this process's drives, one per file
// system (by device number), counted by the drives that use them.
var fsGroups = struct {
	sync.Mutex
	m map[uint64]*sharedGroup
}{m: map[uint64]*sharedGroup{}}

type sharedGroup struct {
	g    *groupSync
	refs int
}

// joinGroupSync returns the group commit of the file system root is on,
// and leave, which the drive calls once it no longer flushes.
func joinGroupSync(root string) (g *groupSync, leave func(), err error) {
	dev, err := deviceOf(root)
	if err != nil {
		return nil, nil, fmt.Errorf("file system of %s: %w", root, err)
	}
	fsGroups.Lock()
	defer fsGroups.Unlock()
	sg := fsGroups.m[dev]
	if sg == nil {
		sg = &sharedGroup{g: newGroupSync()}
		fsGroups.m[dev] = sg
	}
	sg.refs++
	var once sync.Once
	return sg.g, func() {
		once.Do(func() {
			fsGroups.Lock()
			defer fsGroups.Unlock()
			if sg.refs--; sg.refs == 0 {
				delete(fsGroups.m, dev)
				sg.g.close()
			}
		})
	}, nil
}

// sync returns once a flush of the file system that began after the call
// has ended, with its error. dir is a directory on the file system, the
// caller's drive: the flush opens it if this caller runs it.
func (g *groupSync) sync(dir string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	// A flush already running may have begun before the caller's writes
	// ended: only the next one is sure to cover them.
	want := g.started + 1
	for g.done < want {
		if g.running {
			g.waiting++
			g.cond.Wait()
			g.waiting--
			continue
		}
		g.running = true
		g.started++
		n := g.started
		g.mu.Unlock()
		err := g.flush(dir)
		g.mu.Lock()
		g.running = false
		if g.left {
			g.closeFS()
		}
		g.done = n
		if err != nil {
			g.failed, g.err = n, err
		}
		g.cond.Broadcast()
	}
	if g.failed >= want {
		return g.err
	}
	return nil
}

// flushFS flushes the whole file system of dir, through the directory the
// group keeps open (opening dir the first time). It runs only as g's
// flush, one at a time.
func (g *groupSync) flushFS(dir string) error {
	if g.fs == nil {
		f, err := openFile(dir, os.O_RDONLY, 0)
		if err != nil {
			return err
		}
		g.fs = f
	}
	trace("flush-start", "")
	counters.flushes.Add(1)
	err := syncfs(g.fs)
	trace("flush-end", "")
	return err
}
