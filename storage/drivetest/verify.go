package drivetest

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/gridstore/gridstore/erasure"
	"github.com/gridstore/gridstore/storage"
)

func testVerifyFile(t *testing.T, d storage.Drive) {
	ctx := t.Context()
	makeVol(t, d, "bucket")
	s := stage(t, d, 4, []int64{5000, 3000, 0, 1, 1024}, nil)
	fi := s.version("v1", t0)
	_, err := d.RenameData(ctx, storage.TmpVolume, s.tmpPath, fi, "bucket", "obj")
	noErr(t, "RenameData", err)
	noErr(t, "VerifyFile of a healthy version", d.VerifyFile(ctx, "bucket", "obj", fi))

	// Inline data is verified from the drive's own record.
	small := inline("v2", t0.Add(time.Second), nil)
	small.Size = 700
	small.InlineData = shardFile(t, rand.New(rand.NewPCG(1, 2)), small.Size)
	noErr(t, "WriteMetadata", d.WriteMetadata(ctx, "bucket", "obj", small))
	noErr(t, "VerifyFile of inline data", d.VerifyFile(ctx, "bucket", "obj", small))

	marker := storage.FileInfo{FileVersion: storage.FileVersion{VersionID: "v3", Deleted: true, ModTime: t0.Add(2 * time.Second)}}
	noErr(t, "WriteMetadata", d.WriteMetadata(ctx, "bucket", "obj", marker))
	noErr(t, "VerifyFile of a delete marker", d.VerifyFile(ctx, "bucket", "obj", marker))

	// A part the layout names but the drive does not have.
	missing := fi
	missing.Parts = append(missing.Parts, storage.PartInfo{Number: 9, Size: 100})
	wantErr(t, "VerifyFile with a missing part", d.VerifyFile(ctx, "bucket", "obj", missing), storage.ErrFileNotFound)

	gone := small
	gone.VersionID = "v9"
	wantErr(t, "VerifyFile of a missing inline version", d.VerifyFile(ctx, "bucket", "obj", gone), storage.ErrFileVersionNotFound)
	wantErr(t, "VerifyFile of a missing object", d.VerifyFile(ctx, "bucket", "nope", fi), storage.ErrFileNotFound)
	bad := fi
	bad.Erasure.DataBlocks = 0
	wantErr(t, "VerifyFile with an impossible layout", d.VerifyFile(ctx, "bucket", "obj", bad), storage.ErrInvalidArgument)
}

func testVerifyFileCorrupt(t *testing.T, d storage.Drive) {
	ctx := t.Context()
	makeVol(t, d, "bucket")
	chunk := int(coder(t).ShardSize())
	record := chunk + erasure.BitrotHashSize
	sizes := []int64{5000, 5000}

	for i, c := range []struct {
		name   string
		mangle func(file []byte) []byte
		where  string // what the error message must name
	}{
		{"flipped data byte", func(f []byte) []byte { f[2*record+erasure.BitrotHashSize+7] ^= 1; return f },
			fmt.Sprintf("part.2 at shard offset %d", 2*chunk)},
		{"flipped hash byte", func(f []byte) []byte { f[3*record] ^= 0x80; return f },
			fmt.Sprintf("part.2 at shard offset %d", 3*chunk)},
		{"flipped last byte", func(f []byte) []byte { f[len(f)-1] ^= 1; return f },
			fmt.Sprintf("part.2 at shard offset %d", 4*chunk)},
		{"truncated", func(f []byte) []byte { return f[:len(f)-10] }, "part.2"},
		{"overlong", func(f []byte) []byte { return append(f, 0) }, "part.2"},
		{"empty", func(f []byte) []byte { return nil }, "part.2"},
	} {
		s := stage(t, d, uint64(i), sizes, func(part int, file []byte) []byte {
			if part == 2 {
				return c.mangle(file)
			}
			return file
		})
		object := fmt.Sprintf("obj%d", i)
		fi := s.version("", t0)
		_, err := d.RenameData(ctx, storage.TmpVolume, s.tmpPath, fi, "bucket", object)
		noErr(t, "RenameData", err)
		err = d.VerifyFile(ctx, "bucket", object, fi)
		wantErr(t, c.name, err, storage.ErrFileCorrupt)
		if !strings.Contains(err.Error(), c.where) {
			t.Errorf("%s: error %q does not name %q", c.name, err, c.where)
		}
	}

	rotten := inline("v1", t0, nil)
	rotten.Size = 700
	rotten.InlineData = shardFile(t, rand.New(rand.NewPCG(3, 4)), rotten.Size)
	rotten.InlineData[40] ^= 1
	noErr(t, "WriteMetadata", d.WriteMetadata(ctx, "bucket", "inline", rotten))
	err := d.VerifyFile(ctx, "bucket", "inline", rotten)
	wantErr(t, "rotten inline data", err, storage.ErrFileCorrupt)
	if !strings.Contains(err.Error(), "inline data at shard offset 0") {
		t.Errorf("error %q does not name the inline data's chunk", err)
	}
}
