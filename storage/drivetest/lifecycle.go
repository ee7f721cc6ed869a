package drivetest

import (
	"bytes"
	"context"
	"testing"

	"github.com/gridstore/gridstore/storage"
)

func testDiskInfo(t *testing.T, d storage.Drive) {
	ctx := t.Context()
	makeVol(t, d, "bucket")
	publish(t, d, "bucket", "obj", "", t0, 10)
	_, err := d.ReadVersion(ctx, "bucket", "obj", "")
	noErr(t, "ReadVersion", err)

	info, err := d.DiskInfo(ctx)
	noErr(t, "DiskInfo", err)
	if info.Total == 0 || info.Free > info.Total || info.Used > info.Total || info.TotalInodes == 0 || info.FreeInodes > info.TotalInodes {
		t.Errorf("capacity figures %+v", info)
	}
	if !info.Online || info.Endpoint != d.Endpoint() || info.DriveID == "" || info.Healing {
		t.Errorf("identity %+v, endpoint %q", info, d.Endpoint())
	}
	if d.String() == "" {
		t.Error("String() is empty")
	}
	for _, op := range []string{"MakeVol", "CreateFile", "RenameData", "ReadVersion"} {
		l, ok := info.Latency[op]
		if !ok || l.Count == 0 || l.Avg < 0 || l.Last < 0 || l.Errors != 0 {
			t.Errorf("latency of %s: %+v (present %v)", op, l, ok)
		}
	}
}

// allCalls calls every method once with valid arguments and returns what
// each returned.
func allCalls(ctx context.Context, d storage.Drive) map[string]error {
	fi := inline("v1", t0, []byte("x"))
	errs := map[string]error{
		"MakeVol":       d.MakeVol(ctx, "other"),
		"DeleteVol":     d.DeleteVol(ctx, "bucket"),
		"CreateFile":    d.CreateFile(ctx, storage.TmpVolume, "f", 1, bytes.NewReader([]byte("x"))),
		"Delete":        d.Delete(ctx, "bucket", "obj", true),
		"WriteMetadata": d.WriteMetadata(ctx, "bucket", "obj2", fi),
		"DeleteVersion": d.DeleteVersion(ctx, "bucket", "obj", storage.NullVersionID),
		"VerifyFile":    d.VerifyFile(ctx, "bucket", "obj", fi),
		"WalkDir":       d.WalkDir(ctx, storage.WalkDirOptions{Volume: "bucket"}, func(storage.MetaEntry) error { return nil }),
	}
	_, errs["DiskInfo"] = d.DiskInfo(ctx)
	_, errs["StatVol"] = d.StatVol(ctx, "bucket")
	_, errs["ListVols"] = d.ListVols(ctx)
	_, errs["ReadFileStream"] = d.ReadFileStream(ctx, storage.TmpVolume, "f", 0, -1)
	_, errs["ListDir"] = d.ListDir(ctx, "bucket", "", -1)
	_, errs["RenameData"] = d.RenameData(ctx, "", "", fi, "bucket", "obj3")
	_, errs["ReadVersion"] = d.ReadVersion(ctx, "bucket", "obj", "")
	_, errs["ReadMetadata"] = d.ReadMetadata(ctx, "bucket", "obj")
	return errs
}

func testCanceled(t *testing.T, d storage.Drive) {
	makeVol(t, d, "bucket")
	publish(t, d, "bucket", "obj", "", t0, 10)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	for method, err := range allCalls(ctx, d) {
		wantErr(t, method+" with a canceled context", err, context.Canceled)
	}
	// Nothing happened.
	if _, err := d.ReadVersion(t.Context(), "bucket", "obj", ""); err != nil {
		t.Fatalf("object lost to canceled calls: %v", err)
	}
}

func testClosed(t *testing.T, d storage.Drive) {
	makeVol(t, d, "bucket")
	publish(t, d, "bucket", "obj", "", t0, 10)
	noErr(t, "Close", d.Close())
	for method, err := range allCalls(t.Context(), d) {
		wantErr(t, method+" on a closed drive", err, storage.ErrDriveOffline)
	}
	_ = d.Close() // closing twice must not panic
}
