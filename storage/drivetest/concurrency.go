package drivetest

import (
	"bytes"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gridstore/gridstore/storage"
)

const writers = 8

func testConcurrentWritersSameVersion(t *testing.T, d storage.Drive) {
	ctx := t.Context()
	makeVol(t, d, "bucket")
	// Every writer replaces the null version. They are serialised: the
	// record ends up with exactly one of them, and every other data dir is
	// handed back exactly once as replaced.
	stagedDirs := make([]staged, writers)
	for i := range stagedDirs {
		stagedDirs[i] = stage(t, d, uint64(i), []int64{3000}, nil)
	}
	results := make([]storage.RenameDataResult, writers)
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			fi := stagedDirs[i].version("", t0.Add(time.Duration(i)*time.Second))
			results[i], errs[i] = d.RenameData(ctx, storage.TmpVolume, stagedDirs[i].tmpPath, fi, "bucket", "obj")
		})
	}
	wg.Wait()
	for i, err := range errs {
		noErr(t, fmt.Sprintf("writer %d", i), err)
	}
	got, err := d.ReadVersion(ctx, "bucket", "obj", "")
	noErr(t, "ReadVersion", err)
	if got.NumVersions != 1 {
		t.Fatalf("%d versions of one version ID", got.NumVersions)
	}
	winner := slices.IndexFunc(stagedDirs, func(s staged) bool { return s.dataDir == got.DataDir })
	if winner < 0 {
		t.Fatalf("the record names data dir %s that no writer wrote", got.DataDir)
	}
	checkVersion(t, got, stagedDirs[winner].version("", t0.Add(time.Duration(winner)*time.Second)), "bucket", "obj")
	if b := readFile(t, d, "bucket", "obj/"+got.DataDir+"/part.1"); !bytes.Equal(b, stagedDirs[winner].files[0]) {
		t.Fatal("the winner's data does not match its record")
	}
	var replaced []string
	for _, r := range results {
		if r.OldDataDir != "" {
			replaced = append(replaced, r.OldDataDir)
		}
	}
	var losers []string
	for i, s := range stagedDirs {
		if i != winner {
			losers = append(losers, s.dataDir)
		}
	}
	slices.Sort(replaced)
	slices.Sort(losers)
	if !slices.Equal(replaced, losers) {
		t.Fatalf("replaced data dirs %v, want every loser once: %v", replaced, losers)
	}
}

func testConcurrentWritersNewVersions(t *testing.T, d storage.Drive) {
	ctx := t.Context()
	makeVol(t, d, "bucket")
	// Distinct versions written at once: none may be lost to a concurrent
	// read-modify-write of the record.
	stagedDirs := make([]staged, writers)
	for i := range stagedDirs {
		stagedDirs[i] = stage(t, d, uint64(i), []int64{100}, nil)
	}
	errs := make([]error, 2*writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			fi := stagedDirs[i].version(fmt.Sprintf("v%d", i), t0.Add(time.Duration(i)*time.Second))
			_, errs[i] = d.RenameData(ctx, storage.TmpVolume, stagedDirs[i].tmpPath, fi, "bucket", "obj")
		})
		wg.Go(func() {
			fi := inline(fmt.Sprintf("i%d", i), t0.Add(time.Duration(i)*time.Second), []byte("x"))
			errs[writers+i] = d.WriteMetadata(ctx, "bucket", "obj", fi)
		})
	}
	wg.Wait()
	for i, err := range errs {
		noErr(t, fmt.Sprintf("writer %d", i), err)
	}
	raw, err := d.ReadMetadata(ctx, "bucket", "obj")
	noErr(t, "ReadMetadata", err)
	meta, err := storage.DecodeObjectMeta(raw)
	noErr(t, "DecodeObjectMeta", err)
	if len(meta.Versions) != 2*writers {
		t.Fatalf("%d versions after %d concurrent writes", len(meta.Versions), 2*writers)
	}
}

func testReadersWhileWriting(t *testing.T, d storage.Drive) {
	ctx := t.Context()
	makeVol(t, d, "bucket")
	const versions = 12
	stagedDirs := make([]staged, versions)
	byDataDir := map[string][]byte{}
	for i := range stagedDirs {
		stagedDirs[i] = stage(t, d, uint64(i), []int64{int64(1000 + 100*i)}, nil)
		byDataDir[stagedDirs[i].dataDir] = stagedDirs[i].files[0]
	}
	first := stagedDirs[0].version("", t0)
	_, err := d.RenameData(ctx, storage.TmpVolume, stagedDirs[0].tmpPath, first, "bucket", "obj")
	noErr(t, "RenameData", err)

	done := make(chan struct{})
	var wg sync.WaitGroup
	readErrs := make(chan error, 4)
	for range 3 {
		wg.Go(func() {
			for reads := 0; ; reads++ {
				select {
				case <-done:
					if reads > 0 {
						return
					}
				default:
				}
				// Whatever version a reader sees is whole: its record
				// decodes and its data dir holds its data.
				fi, err := d.ReadVersion(ctx, "bucket", "obj", "")
				if err != nil {
					readErrs <- fmt.Errorf("ReadVersion: %w", err)
					return
				}
				b, err := readRange(ctx, d, "bucket", "obj/"+fi.DataDir+"/part.1", 0, -1)
				if err != nil {
					readErrs <- fmt.Errorf("read data of %s: %w", fi.DataDir, err)
					return
				}
				if want, ok := byDataDir[fi.DataDir]; !ok || !bytes.Equal(b, want) || fi.ETag != etag(want) {
					readErrs <- fmt.Errorf("version with data dir %s reads other data", fi.DataDir)
					return
				}
			}
		})
	}
	for i := 1; i < versions; i++ {
		fi := stagedDirs[i].version("", t0.Add(time.Duration(i)*time.Second))
		if _, err := d.RenameData(ctx, storage.TmpVolume, stagedDirs[i].tmpPath, fi, "bucket", "obj"); err != nil {
			t.Errorf("RenameData %d: %v", i, err)
			break
		}
	}
	close(done)
	wg.Wait()
	close(readErrs)
	for err := range readErrs {
		t.Error(err)
	}
}
