package remote

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/gridstore/gridstore/storage"
)

// offlineCtx bounds calls that must fail at once: far longer than any of them
// takes, so a call that waits for a timeout instead fails the test with
// DeadlineExceeded rather than passing slowly.
func offlineCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func wantOffline(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, storage.ErrDriveOffline) || errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("%s: %v, want ErrDriveOffline at once", what, err)
	}
}

// TestNodeDown: when the serving node stops, calls in flight and new calls
// fail with ErrDriveOffline, from the grid's connection state and the read
// endpoint's refused dial, without waiting for any timeout.
func TestNodeDown(t *testing.T) {
	c := newTestCluster(t)
	d := c.serve(t, newLocalDrive(t))
	gd := newGateDrive(newLocalDrive(t))
	gated := c.serve(t, gd)
	bd := &blockDrive{faultDrive: faultDrive{endpoint: "/block", err: errTest}, entered: make(chan time.Time, 1), ended: make(chan error, 1)}
	blocked := c.serve(t, bd)
	ctx := offlineCtx(t)

	if err := d.MakeVol(ctx, "bucket"); err != nil {
		t.Fatal(err)
	}
	if err := d.CreateFile(ctx, storage.TmpVolume, "f", 3, bytes.NewReader([]byte("abc"))); err != nil {
		t.Fatal(err)
	}
	info, err := d.DiskInfo(ctx)
	if err != nil || !info.Online {
		t.Fatalf("DiskInfo: %+v, %v", info, err)
	}
	// A large range being read when the node goes: more than the socket
	// buffers hold, so the server is still sending.
	dir := t.TempDir()
	writeTestFile(t, dir, "big", 32<<20)
	ranged := c.serve(t, &fileDrive{endpoint: "/files", dir: dir})
	rc, err := ranged.ReadFileStream(ctx, rangeVolume, "big", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, err := io.ReadFull(rc, make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}

	// Calls in flight: an upload its drive is not reading, a request its
	// drive is sitting on.
	upload := make(chan error, 1)
	go func() { upload <- gated.CreateFile(ctx, storage.TmpVolume, "g", -1, zeros{}) }()
	<-gd.started
	request := make(chan error, 1)
	go func() { request <- blocked.DeleteVol(ctx, "bucket") }()
	<-bd.entered

	c.server.Close()

	wantOffline(t, "CreateFile in flight", <-upload)
	wantOffline(t, "DeleteVol in flight", <-request)
	for method, err := range allCalls(ctx, d) {
		wantOffline(t, method, err)
	}
	// DiskInfo still says what it last knew, marked offline.
	info2, err := d.DiskInfo(ctx)
	wantOffline(t, "DiskInfo", err)
	if info2.Online || info2.Total != info.Total || info2.DriveID != info.DriveID || info2.Endpoint != d.Endpoint() {
		t.Errorf("DiskInfo of an offline drive: %+v, last known %+v", info2, info)
	}
	// The range being read fails; it is never silently short.
	if n, err := io.Copy(io.Discard, rc); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("range in flight: read %d more bytes, then %v; want io.ErrUnexpectedEOF", n, err)
	}
}

// TestReadRefusedIsOffline: a read endpoint that refuses the connection, with
// the grid still up, is an offline drive too.
func TestReadRefusedIsOffline(t *testing.T) {
	c := newTestCluster(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := ln.Addr().String()
	ln.Close()
	tr := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, closedAddr)
	}}
	t.Cleanup(tr.CloseIdleConnections)
	ld := newLocalDrive(t)
	c.serve(t, ld)
	d, err := NewClient(c.client.m, c.server.addr, ld.Endpoint(), &http.Client{Transport: tr})
	if err != nil {
		t.Fatal(err)
	}
	_, err = d.ReadFileStream(offlineCtx(t), storage.TmpVolume, "f", 0, -1)
	wantOffline(t, "ReadFileStream with the connection refused", err)
	// The grid side of the same drive still works.
	if _, err := d.ListVols(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// TestClientClosed: a closed client is offline for every call, whatever the
// node's state.
func TestClientClosed(t *testing.T) {
	c := newTestCluster(t)
	d := c.serve(t, newLocalDrive(t))
	d.Close()
	for method, err := range allCalls(offlineCtx(t), d) {
		wantOffline(t, method, err)
	}
}
