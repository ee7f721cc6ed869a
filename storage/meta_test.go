package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var t0 = time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.UTC)

// sampleMeta is a record that uses every field.
func sampleMeta() *ObjectMeta {
	return &ObjectMeta{Versions: []FileVersion{
		{
			VersionID:    "v2",
			DataDir:      "0b9e3d4c-56f7-4a8b-9c0d-1e2f3a4b5c6d",
			ModTime:      t0.Add(time.Second),
			Size:         12 << 20,
			ETag:         "d41d8cd98f00b204e9800998ecf8427e-2",
			ContentType:  "video/mp4",
			UserMetadata: map[string]string{"x-amz-meta-owner": "ada"},
			SysMetadata:  map[string]string{"heal": "ok"},
			Erasure: ErasureInfo{DataBlocks: 4, ParityBlocks: 2, BlockSize: 1 << 20, Index: 3,
				Distribution: []int{3, 4, 5, 6, 1, 2}, ChecksumAlgo: BitrotHighwayHash256S},
			Parts: []PartInfo{
				{Number: 1, Size: 8 << 20, ActualSize: 8 << 20, ETag: "a", ModTime: t0},
				{Number: 2, Size: 4 << 20, ActualSize: 4 << 20, ETag: "b", ModTime: t0},
			},
		},
		{VersionID: "v1", Deleted: true, ModTime: t0},
		{VersionID: NullVersionID, ModTime: t0.Add(-time.Hour), Size: 5, InlineData: []byte("hello"),
			Erasure: ErasureInfo{DataBlocks: 2, ParityBlocks: 2, BlockSize: 1 << 20, Index: 1, Distribution: []int{1, 2, 3, 4}}},
	}}
}

func TestObjectMetaRoundTrip(t *testing.T) {
	m := sampleMeta()
	b, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if string(b[:4]) != "GSMT" || binary.BigEndian.Uint16(b[4:]) != MetaFormatVersion {
		t.Fatalf("header % x", b[:metaHeaderSize])
	}
	got, err := DecodeObjectMeta(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, m) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, m)
	}
	// Encoding is deterministic: the same record compares equal across
	// drives (ReadMetadata for quorum comparison).
	again, err := got.Encode()
	if err != nil || !bytes.Equal(again, b) {
		t.Fatalf("re-encoding differs (%v)", err)
	}
}

func TestDecodeRejectsDamage(t *testing.T) {
	b, err := sampleMeta().Encode()
	if err != nil {
		t.Fatal(err)
	}
	// Every truncation, including a torn write that kept the header.
	for n := range len(b) {
		if _, err := DecodeObjectMeta(b[:n]); !errors.Is(err, ErrFileCorrupt) {
			t.Fatalf("truncated to %d bytes: %v", n, err)
		}
	}
	if _, err := DecodeObjectMeta(append(slices.Clone(b), 0)); !errors.Is(err, ErrFileCorrupt) {
		t.Fatalf("trailing byte: %v", err)
	}
	// Every single bit flip: caught by the magic, length or checksum;
	// one in the version field reads as another format.
	for i := range len(b) * 8 {
		c := slices.Clone(b)
		c[i/8] ^= 1 << (i % 8)
		_, err := DecodeObjectMeta(c)
		if !errors.Is(err, ErrFileCorrupt) && !(i/8 >= 4 && i/8 < 6 && errors.Is(err, ErrUnknownFormat)) {
			t.Fatalf("bit %d flipped: %v", i, err)
		}
	}
}

func TestDecodeNewerFormat(t *testing.T) {
	b, err := sampleMeta().Encode()
	if err != nil {
		t.Fatal(err)
	}
	binary.BigEndian.PutUint16(b[4:], MetaFormatVersion+1)
	b = b[:7] // a newer format may have any layout after the version
	if _, err := DecodeObjectMeta(b); !errors.Is(err, ErrUnknownFormat) || errors.Is(err, ErrFileCorrupt) {
		t.Fatalf("newer format: %v", err)
	}
	binary.BigEndian.PutUint16(b[4:], 0)
	if _, err := DecodeObjectMeta(b); !errors.Is(err, ErrFileCorrupt) {
		t.Fatalf("format version 0: %v", err)
	}
}

// withHeader frames body as a record with a valid checksum, to reach the
// body checks.
func withHeader(body []byte) []byte {
	b := make([]byte, metaHeaderSize, metaHeaderSize+len(body))
	b = append(b, body...)
	copy(b, metaMagic)
	binary.BigEndian.PutUint16(b[4:], MetaFormatVersion)
	binary.BigEndian.PutUint32(b[6:], uint32(len(body)))
	binary.BigEndian.PutUint32(b[10:], recordChecksum(b))
	return b
}

func TestDecodeChecksInvariants(t *testing.T) {
	valid := sampleMeta()
	for name, mutate := range map[string]func(m *ObjectMeta){
		"no versions":         func(m *ObjectMeta) { m.Versions = nil },
		"out of order":        func(m *ObjectMeta) { m.Versions[0], m.Versions[1] = m.Versions[1], m.Versions[0] },
		"duplicate ID":        func(m *ObjectMeta) { m.Versions[2].VersionID = "v2" },
		"empty ID":            func(m *ObjectMeta) { m.Versions[0].VersionID = "" },
		"traversing data dir": func(m *ObjectMeta) { m.Versions[0].DataDir = "../../x" },
		"marker with data":    func(m *ObjectMeta) { m.Versions[1].InlineData = []byte("x") },
		"negative size":       func(m *ObjectMeta) { m.Versions[0].Size = -1 },
		"parts out of order":  func(m *ObjectMeta) { m.Versions[0].Parts[1].Number = 1 },
		"data dir and inline": func(m *ObjectMeta) { m.Versions[0].InlineData = []byte("x") },
	} {
		m := sampleMeta()
		mutate(m)
		if _, err := m.Encode(); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%s: Encode = %v, want ErrInvalidArgument", name, err)
		}
		body, err := m.MarshalMsg(nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := DecodeObjectMeta(withHeader(body)); !errors.Is(err, ErrFileCorrupt) {
			t.Errorf("%s: Decode = %v, want ErrFileCorrupt", name, err)
		}
	}
	if _, err := valid.Encode(); err != nil {
		t.Fatalf("the valid sample: %v", err)
	}
	// A body that is not msgp, and one with bytes after the body.
	for name, body := range map[string][]byte{"garbage": []byte("not msgp"), "empty": nil} {
		if _, err := DecodeObjectMeta(withHeader(body)); !errors.Is(err, ErrFileCorrupt) {
			t.Errorf("%s body: %v", name, err)
		}
	}
	body, _ := valid.MarshalMsg(nil)
	if _, err := DecodeObjectMeta(withHeader(append(body, 0xc0))); !errors.Is(err, ErrFileCorrupt) {
		t.Errorf("trailing msgp: %v", err)
	}
}

func TestEncodeBounds(t *testing.T) {
	m := &ObjectMeta{}
	for i := range MaxVersions + 1 {
		m.Versions = append(m.Versions, FileVersion{VersionID: fmt.Sprintf("v%05d", MaxVersions-i), ModTime: t0})
	}
	if _, err := m.Encode(); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("%d versions: %v", len(m.Versions), err)
	}
	huge := &ObjectMeta{Versions: []FileVersion{{VersionID: "v", InlineData: make([]byte, MaxMetaSize)}}}
	if _, err := huge.Encode(); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("record over MaxMetaSize: %v", err)
	}
}

func TestPutOrdersAndReplaces(t *testing.T) {
	m := &ObjectMeta{}
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	for _, v := range []FileVersion{
		{VersionID: "b", ModTime: at(2)},
		{VersionID: "a", ModTime: at(1)},
		{VersionID: "d", ModTime: at(2)},
		{VersionID: "", ModTime: at(0)},
		{VersionID: "c", ModTime: at(3)},
	} {
		if _, replaced := m.Put(v); replaced {
			t.Fatalf("%s replaced something", v.VersionID)
		}
	}
	ids := func() []string {
		var out []string
		for _, v := range m.Versions {
			out = append(out, v.VersionID)
		}
		return out
	}
	if want := []string{"c", "d", "b", "a", NullVersionID}; !slices.Equal(ids(), want) {
		t.Fatalf("order %v, want %v", ids(), want)
	}
	// Replacing moves the version to its new place.
	dir := uuid.NewString()
	old, replaced := m.Put(FileVersion{VersionID: "a", ModTime: at(9), DataDir: dir})
	if !replaced || !old.ModTime.Equal(at(1)) {
		t.Fatalf("replace returned %+v, %v", old, replaced)
	}
	if want := []string{"a", "c", "d", "b", NullVersionID}; !slices.Equal(ids(), want) {
		t.Fatalf("order after replace %v, want %v", ids(), want)
	}
	if !m.UsesDataDir(dir) || m.UsesDataDir("") || m.UsesDataDir(uuid.NewString()) {
		t.Fatal("UsesDataDir")
	}
	if m.Find("") != 0 || m.Find("d") != 2 || m.Find("zz") != -1 {
		t.Fatal("Find")
	}
	if _, ok := m.Remove(""); ok {
		t.Fatal(`Remove("") removed the latest`)
	}
	if v, ok := m.Remove("d"); !ok || v.VersionID != "d" || m.Find("d") != -1 || len(m.Versions) != 4 {
		t.Fatal("Remove")
	}
	fi := m.FileInfo("vol", "obj", 1)
	if fi.Volume != "vol" || fi.Name != "obj" || fi.IsLatest || fi.NumVersions != 4 || fi.VersionID != "c" {
		t.Fatalf("FileInfo %+v", fi)
	}
	if _, err := m.Encode(); err != nil {
		t.Fatalf("Put kept the record valid: %v", err)
	}
}
