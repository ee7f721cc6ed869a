package local

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/gridstore/gridstore/erasure"
	"github.com/gridstore/gridstore/storage"
)

// VerifyFile checks every bitrot chunk of a version's shards. The layout
// (erasure coding, parts, data dir) is fi's, as the caller's quorum agreed
// it; the bytes are this drive's: its part files, or for a version without
// a data dir, the inline data of its own record.
func (d *Drive) VerifyFile(ctx context.Context, volume, path string, fi storage.FileInfo) (err error) {
	defer d.track(opVerifyFile, time.Now(), &err)
	fail := func(err error) error {
		return fmt.Errorf("verify %s/%s version %q: %w", volume, path, fi.VersionID, err)
	}
	if err := d.ready(ctx); err != nil {
		return fail(err)
	}
	v := fi.FileVersion
	if err := checkObject(volume, path, &v); err != nil {
		return fail(err)
	}
	if v.Deleted {
		return nil // a delete marker has nothing to rot
	}
	if algo := v.Erasure.ChecksumAlgo; algo != "" && algo != storage.BitrotHighwayHash256S {
		return fail(fmt.Errorf("%w: bitrot algorithm %q", storage.ErrInvalidArgument, algo))
	}
	coder, err := erasure.NewCoder(erasure.Config{
		DataShards:   v.Erasure.DataBlocks,
		ParityShards: v.Erasure.ParityBlocks,
		BlockSize:    int(v.Erasure.BlockSize),
	})
	if err != nil {
		return fail(fmt.Errorf("%w: %w", storage.ErrInvalidArgument, err))
	}
	vf := shardVerifier{ctx: ctx, coder: coder, key: d.format.BitrotKey, volume: volume, path: path}

	if v.DataDir == "" {
		meta, err := d.loadRecord(volume, path)
		if err != nil {
			return fail(err)
		}
		i := meta.Find(v.VersionID)
		if i < 0 {
			return fail(storage.ErrFileVersionNotFound)
		}
		inline := meta.Versions[i].InlineData
		return vf.verify(bytes.NewReader(inline), int64(len(inline)), v.Size, 0)
	}
	for _, part := range v.Parts {
		name := storage.PartPath(path, v.DataDir, part.Number)
		f, err := openFile(filepath.Join(d.objectDir(volume, path), dataDirName(v.DataDir), storage.PartFileName(part.Number)), os.O_RDONLY, 0)
		if err != nil {
			return fail(d.fileError("open", volume, name, err))
		}
		st, err := f.Stat()
		if err == nil {
			err = vf.verify(f, st.Size(), part.Size, part.Number)
		}
		f.Close()
		if err != nil {
			return fail(err)
		}
	}
	return nil
}

// shardVerifier checks shard files of one version.
type shardVerifier struct {
	ctx          context.Context
	coder        *erasure.Coder
	key          []byte
	volume, path string
	buf          []byte // one chunk, shared by the parts
}

// verify reads a shard of diskSize bytes that should hold the shard of
// size bytes of object data, and checks every chunk.
func (vf *shardVerifier) verify(r io.Reader, diskSize, size int64, part int) error {
	corrupt := func(offset int64, reason string) error {
		return &storage.CorruptError{Volume: vf.volume, Path: vf.path, Part: part, Offset: offset, Reason: reason}
	}
	if want := vf.coder.ShardDiskSize(size); diskSize != want {
		return corrupt(-1, fmt.Sprintf("%d bytes, want %d", diskSize, want))
	}
	chunk := vf.coder.ShardSize()
	br, err := erasure.NewBitrotReader(r, vf.key, chunk, 0, vf.coder.ShardFileSize(size))
	if err != nil {
		return fmt.Errorf("%w: %w", storage.ErrInvalidArgument, err)
	}
	if int64(len(vf.buf)) < chunk {
		// A buffer of a whole chunk lets the reader verify into it
		// directly, without a copy through its own scratch buffer.
		vf.buf = make([]byte, chunk)
	}
	var offset int64
	for {
		if err := vf.ctx.Err(); err != nil {
			return err
		}
		n, err := br.Read(vf.buf)
		offset += int64(n)
		var rot *erasure.BitrotError
		switch {
		case err == io.EOF:
			return nil
		case errors.As(err, &rot):
			return corrupt(rot.Offset, "bitrot")
		case errors.Is(err, io.ErrUnexpectedEOF):
			return corrupt(offset, "truncated")
		case err != nil:
			return osError("verify", fmt.Sprintf("%s/%s part %d", vf.volume, vf.path, part), err, nil)
		}
	}
}
