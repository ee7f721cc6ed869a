package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gridstore/gridstore/grid"
	"github.com/gridstore/gridstore/proto"
	"github.com/gridstore/gridstore/storage"
)

// allCalls calls every Drive method and returns what each returned.
func allCalls(ctx context.Context, d storage.Drive) map[string]error {
	fi := storage.FileInfo{FileVersion: storage.FileVersion{VersionID: "v1", ModTime: time.Unix(1, 0).UTC()}}
	errs := map[string]error{
		"MakeVol":       d.MakeVol(ctx, "bucket"),
		"DeleteVol":     d.DeleteVol(ctx, "bucket"),
		"CreateFile":    d.CreateFile(ctx, storage.TmpVolume, "f", 3<<20, bytes.NewReader(make([]byte, 3<<20))),
		"Delete":        d.Delete(ctx, "bucket", "obj", true),
		"WriteMetadata": d.WriteMetadata(ctx, "bucket", "obj", fi),
		"DeleteVersion": d.DeleteVersion(ctx, "bucket", "obj", "v1"),
		"VerifyFile":    d.VerifyFile(ctx, "bucket", "obj", fi),
		"WalkDir":       d.WalkDir(ctx, storage.WalkDirOptions{Volume: "bucket"}, func(storage.MetaEntry) error { return nil }),
	}
	_, errs["DiskInfo"] = d.DiskInfo(ctx)
	_, errs["StatVol"] = d.StatVol(ctx, "bucket")
	_, errs["ListVols"] = d.ListVols(ctx)
	var rc io.ReadCloser
	if rc, errs["ReadFileStream"] = d.ReadFileStream(ctx, "bucket", "obj/part.1", 0, -1); rc != nil {
		rc.Close()
	}
	_, errs["ListDir"] = d.ListDir(ctx, "bucket", "", -1)
	_, errs["RenameData"] = d.RenameData(ctx, storage.TmpVolume, "x", fi, "bucket", "obj")
	_, errs["ReadVersion"] = d.ReadVersion(ctx, "bucket", "obj", "")
	_, errs["ReadMetadata"] = d.ReadMetadata(ctx, "bucket", "obj")
	return errs
}

// TestSentinelsSurvive: every storage sentinel returned by the serving drive,
// from every method (grid single requests, both streams and the HTTP read
// endpoint), is the same sentinel on the client, with the drive's message.
func TestSentinelsSurvive(t *testing.T) {
	c := newTestCluster(t)
	for _, sentinel := range storage.Sentinels() {
		d := c.serve(t, &faultDrive{endpoint: "/fault/" + sentinel.Code(), err: sentinel})
		for method, err := range allCalls(t.Context(), d) {
			if !errors.Is(err, sentinel) {
				t.Errorf("%s returning %s: client got %v", method, sentinel.Code(), err)
				continue
			}
			if !strings.Contains(err.Error(), "on /fault/") {
				t.Errorf("%s: the drive's message is lost: %v", method, err)
			}
		}
	}

	// The details of a CorruptError travel in the message.
	d := c.serve(t, &faultDrive{endpoint: "/fault/corrupt", err: &storage.CorruptError{Volume: "v", Path: "p", Part: 3, Offset: 4096, Reason: "hash mismatch"}})
	err := d.VerifyFile(t.Context(), "v", "p", storage.FileInfo{})
	if !errors.Is(err, storage.ErrFileCorrupt) || !strings.Contains(err.Error(), "part.3 at shard offset 4096") {
		t.Fatalf("VerifyFile: %v", err)
	}
	_, err = d.ReadFileStream(t.Context(), "v", "p", 0, 1)
	if !errors.Is(err, storage.ErrFileCorrupt) || !strings.Contains(err.Error(), "part.3 at shard offset 4096") {
		t.Fatalf("ReadFileStream: %v", err)
	}

	// An error without a sentinel is still reported, as a plain remote error.
	d = c.serve(t, &faultDrive{endpoint: "/fault/plain", err: errTest})
	err = d.MakeVol(t.Context(), "bucket")
	var re *grid.RemoteErr
	if !errors.As(err, &re) || !strings.Contains(err.Error(), errTest.Error()) {
		t.Fatalf("plain error: %v", err)
	}
}

// TestWalkDirCallbackError: the callback's error stops the walk and comes
// back as is, even from the first batch.
func TestWalkDirCallbackError(t *testing.T) {
	c := newTestCluster(t)
	d := c.serve(t, &faultDrive{endpoint: "/fault/walk", err: storage.ErrFaultyDisk})
	stop := errors.New("stop")
	if err := d.WalkDir(t.Context(), storage.WalkDirOptions{Volume: "bucket"}, func(storage.MetaEntry) error { return stop }); err != stop {
		t.Fatalf("WalkDir = %v, want the callback's error", err)
	}
}

// TestWalkDirLarge walks enough objects for several growing batches and
// checks the order and the records.
func TestWalkDirLarge(t *testing.T) {
	c := newTestCluster(t)
	ld := newLocalDrive(t)
	d := c.serve(t, ld)
	ctx := t.Context()
	if err := d.MakeVol(ctx, "bucket"); err != nil {
		t.Fatal(err)
	}
	const n = 700
	for i := range n {
		fi := storage.FileInfo{FileVersion: storage.FileVersion{VersionID: storage.NullVersionID, ModTime: time.Unix(int64(i), 0).UTC(),
			Size: 1, InlineData: []byte{byte(i)}, Erasure: storage.ErasureInfo{DataBlocks: 1, ParityBlocks: 1, BlockSize: 1024, Index: 1, Distribution: []int{1, 2}}}}
		if err := ld.WriteMetadata(ctx, "bucket", objName(i), fi); err != nil {
			t.Fatal(err)
		}
	}
	want := make([]string, n)
	for i := range want {
		want[i] = objName(i)
	}
	slices.Sort(want)
	var got []string
	err := d.WalkDir(ctx, storage.WalkDirOptions{Volume: "bucket", Recursive: true}, func(e storage.MetaEntry) error {
		if _, err := storage.DecodeObjectMeta(e.Metadata); err != nil {
			t.Errorf("%s: %v", e.Name, err)
		}
		got = append(got, e.Name)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("walked %v..., want %v...", got[:5], want[:5])
	}
}

func objName(i int) string {
	return fmt.Sprintf("dir%c/obj-%04d", 'a'+i%3, i)
}

// blockDrive's DeleteVol blocks until its context ends and reports that
// context: the deadline it saw and why it ended.
type blockDrive struct {
	faultDrive
	entered chan time.Time // the deadline, once blocked
	ended   chan error
}

func (d *blockDrive) DeleteVol(ctx context.Context, _ string) error {
	dl, _ := ctx.Deadline()
	d.entered <- dl
	<-ctx.Done()
	d.ended <- ctx.Err()
	return ctx.Err()
}

// TestContextPropagates: the caller's deadline reaches the serving drive,
// and cancelling the caller cancels the drive's call.
func TestContextPropagates(t *testing.T) {
	c := newTestCluster(t)
	bd := &blockDrive{faultDrive: faultDrive{endpoint: "/block", err: errTest}, entered: make(chan time.Time, 1), ended: make(chan error, 1)}
	d := c.serve(t, bd)
	deadline := time.Now().Add(time.Hour)
	ctx, cancel := context.WithDeadline(t.Context(), deadline)
	done := make(chan error, 1)
	go func() { done <- d.DeleteVol(ctx, "bucket") }()
	got := <-bd.entered
	// The deadline travels in milliseconds left; a minute's slack only
	// allows for a very slow machine.
	if diff := got.Sub(deadline); diff > time.Minute || diff < -time.Minute {
		t.Errorf("drive saw deadline %v, caller set %v", got, deadline)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled call returned %v", err)
	}
	if err := <-bd.ended; !errors.Is(err, context.Canceled) {
		t.Errorf("drive's context ended with %v, want Canceled", err)
	}
}

// TestBadPayloads: requests that do not decode are refused with
// ErrBadRequest by every handler, a drive that is not served is offline, and
// the server goes on serving.
func TestBadPayloads(t *testing.T) {
	c := newTestCluster(t)
	ld := newLocalDrive(t)
	d := c.serve(t, ld)
	ctx := t.Context()
	conn := c.client.m.Connection(c.server.addr).Subroute(ld.Endpoint())

	valid, err := (&renameDataReq{SrcVolume: "a", SrcPath: "b", DstVolume: "c", DstPath: "d"}).MarshalMsg(nil)
	if err != nil {
		t.Fatal(err)
	}
	garbage := map[string][]byte{
		"reserved byte": {0xc1},
		"truncated":     valid[:len(valid)/2],
		"huge array":    {0x81, 0xa1, 'v', 0xdd, 0xff, 0xff, 0xff, 0xff}, // {"v": array of 2^32-1}
		"huge map":      {0xdf, 0xff, 0xff, 0xff, 0xff},
	}
	singles := []proto.HandlerID{
		proto.HandlerDriveMakeVol, proto.HandlerDriveStatVol, proto.HandlerDriveDeleteVol,
		proto.HandlerDriveDelete, proto.HandlerDriveListDir, proto.HandlerDriveRenameData, proto.HandlerDriveReadVersion,
		proto.HandlerDriveReadMetadata, proto.HandlerDriveWriteMetadata, proto.HandlerDriveDeleteVersion, proto.HandlerDriveVerifyFile,
	}
	for what, payload := range garbage {
		for _, id := range singles {
			if _, err := conn.Request(ctx, id, payload); !errors.Is(err, grid.ErrBadRequest) {
				t.Errorf("%v with %s payload: %v, want ErrBadRequest", id, what, err)
			}
		}
		for _, id := range []proto.HandlerID{proto.HandlerDriveCreateFile, proto.HandlerDriveWalkDir} {
			st, err := conn.NewStream(ctx, id, payload)
			if err == nil {
				err = endOf(st)
			}
			if !errors.Is(err, grid.ErrBadRequest) {
				t.Errorf("stream %v with %s payload: %v, want ErrBadRequest", id, what, err)
			}
		}
	}

	// A known field of the wrong type.
	if _, err := conn.Request(ctx, proto.HandlerDriveMakeVol, []byte{0x81, 0xa1, 'v', 0xcb, 0, 0, 0, 0, 0, 0, 0, 0}); !errors.Is(err, grid.ErrBadRequest) {
		t.Errorf("MakeVol with a float volume: %v, want ErrBadRequest", err)
	}

	// A drive the node does not serve.
	nope := c.remote("/not/served")
	for method, err := range allCalls(ctx, nope) {
		if !errors.Is(err, storage.ErrDriveOffline) {
			t.Errorf("%s on a drive not served: %v, want ErrDriveOffline", method, err)
		}
	}

	// Still serving.
	if err := d.MakeVol(ctx, "bucket"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.StatVol(ctx, "bucket"); err != nil {
		t.Fatal(err)
	}
}

// TestServerConfig: drives whose endpoint cannot be a subroute, or two drives
// with one endpoint, are refused.
func TestServerConfig(t *testing.T) {
	c := newTestCluster(t)
	for _, ep := range []string{"", strings.Repeat("x", 256)} {
		if err := c.rs.AddDrive(&faultDrive{endpoint: ep}); err == nil {
			t.Errorf("AddDrive with endpoint of %d bytes accepted", len(ep))
		}
		if _, err := NewClient(c.client.m, c.server.addr, ep, nil); err == nil {
			t.Errorf("NewClient with endpoint of %d bytes accepted", len(ep))
		}
	}
	if _, err := NewServer(c.server.m, []storage.Drive{&faultDrive{endpoint: "/a"}, &faultDrive{endpoint: "/a"}}, nil); err == nil {
		t.Error("NewServer accepted two drives with one endpoint")
	}
	if _, err := NewClient(c.client.m, "127.0.0.1:1", "/a", nil); !errors.Is(err, grid.ErrUnknownPeer) {
		t.Errorf("NewClient for an unknown peer: %v", err)
	}
	// Replacing a served drive: calls reach the new one.
	if err := c.rs.AddDrive(&faultDrive{endpoint: "/swap", err: storage.ErrFaultyDisk}); err != nil {
		t.Fatal(err)
	}
	d := c.remote("/swap")
	if err := d.MakeVol(t.Context(), "bucket"); !errors.Is(err, storage.ErrFaultyDisk) {
		t.Fatalf("first drive: %v", err)
	}
	if err := c.rs.AddDrive(&faultDrive{endpoint: "/swap", err: storage.ErrDiskFull}); err != nil {
		t.Fatal(err)
	}
	if err := d.MakeVol(t.Context(), "bucket"); !errors.Is(err, storage.ErrDiskFull) {
		t.Fatalf("replaced drive: %v", err)
	}
	c.rs.RemoveDrive("/swap")
	if err := d.MakeVol(t.Context(), "bucket"); !errors.Is(err, storage.ErrDriveOffline) {
		t.Fatalf("removed drive: %v", err)
	}
}
