package drivetest

import (
	"slices"
	"testing"

	"github.com/gridstore/gridstore/storage"
)

func testVolumes(t *testing.T, d storage.Drive) {
	ctx := t.Context()
	vols, err := d.ListVols(ctx)
	noErr(t, "ListVols of a new drive", err)
	if len(vols) != 0 {
		t.Fatalf("new drive has volumes %v", vols)
	}
	for _, v := range []string{"zeta", "alpha", "mid-1.x"} {
		makeVol(t, d, v)
	}
	wantErr(t, "MakeVol twice", d.MakeVol(ctx, "alpha"), storage.ErrVolumeExists)

	info, err := d.StatVol(ctx, "alpha")
	noErr(t, "StatVol", err)
	if info.Name != "alpha" || info.Created.IsZero() {
		t.Fatalf("StatVol = %+v", info)
	}
	_, err = d.StatVol(ctx, "missing")
	wantErr(t, "StatVol of a missing volume", err, storage.ErrVolumeNotFound)

	vols, err = d.ListVols(ctx)
	noErr(t, "ListVols", err)
	var names []string
	for _, v := range vols {
		names = append(names, v.Name)
	}
	if want := []string{"alpha", "mid-1.x", "zeta"}; !slices.Equal(names, want) {
		t.Fatalf("ListVols = %v, want %v (sorted, no system volumes)", names, want)
	}

	// Only an empty volume can be deleted.
	publish(t, d, "alpha", "obj", "", t0, 10)
	wantErr(t, "DeleteVol of a volume with an object", d.DeleteVol(ctx, "alpha"), storage.ErrVolumeNotEmpty)
	noErr(t, "DeleteVersion", d.DeleteVersion(ctx, "alpha", "obj", storage.NullVersionID))
	noErr(t, "DeleteVol once empty", d.DeleteVol(ctx, "alpha"))
	wantErr(t, "DeleteVol twice", d.DeleteVol(ctx, "alpha"), storage.ErrVolumeNotFound)
	_, err = d.StatVol(ctx, "alpha")
	wantErr(t, "StatVol of a deleted volume", err, storage.ErrVolumeNotFound)
}

func testVolumeNames(t *testing.T, d storage.Drive) {
	ctx := t.Context()
	for _, v := range []string{"", "ab", "a/b", "..", ".", ".gridstore.sys", "Upper", "a..b", "-ab", "ab-",
		"lost+found", "a\x00b", `a\b`, string(make([]byte, 64))} {
		wantErr(t, "MakeVol "+v, d.MakeVol(ctx, v), storage.ErrInvalidVolume)
		_, err := d.StatVol(ctx, v)
		wantErr(t, "StatVol "+v, err, storage.ErrInvalidVolume)
		wantErr(t, "DeleteVol "+v, d.DeleteVol(ctx, v), storage.ErrInvalidVolume)
	}
	// System volumes exist on every drive and cannot be made or deleted.
	for _, v := range []string{storage.TmpVolume, storage.MultipartVolume} {
		wantErr(t, "MakeVol "+v, d.MakeVol(ctx, v), storage.ErrInvalidVolume)
		wantErr(t, "DeleteVol "+v, d.DeleteVol(ctx, v), storage.ErrInvalidVolume)
		_, err := d.StatVol(ctx, v)
		noErr(t, "StatVol "+v, err)
	}
}
