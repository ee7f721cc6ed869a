package missedlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"time"
	"unicode/utf8"

	"github.com/gridstore/gridstore/storage"
)

// A log file is a header (magic) and then records, each framed as
//
//	[4: payload length, little endian][4: CRC-32C of the payload][payload]
//
// and the payload is
//
//	kind (1 byte)
//	id (uvarint)
//	kindMissed only: time (varint, Unix nanoseconds), bucket, object,
//	  version ID (each a uvarint length and bytes), the number of drive
//	  positions (uvarint) and the positions (uvarint each, ascending)
//
// A record is valid only whole and with its checksum: a record cut short
// by a crash at the end of the file was never acknowledged and is ignored.

// magic starts every log file: a file without it is not ours.
const magic = "gridstore missed-writes v1\n"

// Record kinds.
const (
	// kindMissed: an object some drives missed.
	kindMissed byte = 1
	// kindDone: the missed record with this id is healed.
	kindDone byte = 2
	// kindLost: records may be missing from here on (one could not be
	// written, or too many were waiting): a walk must make up for them.
	kindLost byte = 3
)

// Bounds of a record: no valid object name or layout exceeds them, so a
// larger one is damage.
const (
	frameHeader     = 8
	maxPositions    = 64
	maxPayload      = 1 + 2*binary.MaxVarintLen64 + 3*binary.MaxVarintLen64 + 63 + storage.MaxKeyLength + storage.MaxVersionIDLength + binary.MaxVarintLen64 + maxPositions*binary.MaxVarintLen64
	maxBucketLength = 63
)

// Entry is a write that missed some drives, waiting to be healed there.
type Entry struct {
	// ID orders entries and names one for Done.
	ID                        uint64
	Time                      time.Time
	Bucket, Object, VersionID string
	// Drives are the set positions that missed the write, ascending.
	Drives []int
}

// record is one decoded record.
type record struct {
	kind  byte
	entry Entry // ID only for kindDone and kindLost
}

// Decoding errors. errTorn is a record cut short by the end of the data;
// errCorrupt one that is whole but wrong.
var (
	errTorn    = errors.New("record cut short")
	errCorrupt = errors.New("record corrupt")
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// appendRecord appends r, framed, to b.
func appendRecord(b []byte, r record) []byte {
	start := len(b)
	b = append(b, make([]byte, frameHeader)...)
	b = append(b, r.kind)
	b = binary.AppendUvarint(b, r.entry.ID)
	if r.kind == kindMissed {
		e := &r.entry
		b = binary.AppendVarint(b, e.Time.UnixNano())
		for _, s := range []string{e.Bucket, e.Object, e.VersionID} {
			b = binary.AppendUvarint(b, uint64(len(s)))
			b = append(b, s...)
		}
		b = binary.AppendUvarint(b, uint64(len(e.Drives)))
		for _, p := range e.Drives {
			b = binary.AppendUvarint(b, uint64(p))
		}
	}
	payload := b[start+frameHeader:]
	binary.LittleEndian.PutUint32(b[start:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(b[start+4:], crc32.Checksum(payload, castagnoli))
	return b
}

// checkEntry refuses an entry no valid write produces.
func checkEntry(e *Entry) error {
	switch {
	case len(e.Bucket) == 0 || len(e.Bucket) > maxBucketLength:
		return fmt.Errorf("bucket name of %d bytes", len(e.Bucket))
	case len(e.Object) == 0 || len(e.Object) > storage.MaxKeyLength || !utf8.ValidString(e.Object):
		return fmt.Errorf("object name of %d bytes", len(e.Object))
	case len(e.VersionID) > storage.MaxVersionIDLength:
		return fmt.Errorf("version ID of %d bytes", len(e.VersionID))
	case len(e.Drives) == 0 || len(e.Drives) > maxPositions:
		return fmt.Errorf("%d drive positions", len(e.Drives))
	}
	for i, p := range e.Drives {
		if p < 0 || p >= maxPositions || (i > 0 && p <= e.Drives[i-1]) {
			return fmt.Errorf("drive positions %v not ascending within 0..%d", e.Drives, maxPositions-1)
		}
	}
	return nil
}

// decodeRecord decodes the record at the start of b and returns it and its
// framed length. A frame cut short by the end of b is errTorn; a frame
// whose checksum or content is wrong is errCorrupt.
func decodeRecord(b []byte) (record, int, error) {
	if len(b) < frameHeader {
		return record{}, 0, errTorn
	}
	n := binary.LittleEndian.Uint32(b)
	if n == 0 || n > maxPayload {
		return record{}, 0, fmt.Errorf("%w: payload of %d bytes", errCorrupt, n)
	}
	if uint64(len(b)-frameHeader) < uint64(n) {
		return record{}, 0, errTorn
	}
	payload := b[frameHeader : frameHeader+int(n)]
	if crc32.Checksum(payload, castagnoli) != binary.LittleEndian.Uint32(b[4:]) {
		return record{}, 0, fmt.Errorf("%w: checksum mismatch", errCorrupt)
	}
	r, err := decodePayload(payload)
	if err != nil {
		return record{}, 0, fmt.Errorf("%w: %w", errCorrupt, err)
	}
	return r, frameHeader + int(n), nil
}

func decodePayload(p []byte) (record, error) {
	d := decoder{b: p}
	r := record{kind: d.byte()}
	r.entry.ID = d.uvarint()
	switch r.kind {
	case kindDone, kindLost:
	case kindMissed:
		e := &r.entry
		e.Time = time.Unix(0, d.varint()).UTC()
		e.Bucket = d.string(maxBucketLength)
		e.Object = d.string(storage.MaxKeyLength)
		e.VersionID = d.string(storage.MaxVersionIDLength)
		count := d.uvarint()
		if d.err == nil && count > maxPositions {
			d.err = fmt.Errorf("%d drive positions", count)
		}
		for range count {
			if d.err != nil {
				break
			}
			e.Drives = append(e.Drives, int(d.uvarint()&0xffff))
		}
		if d.err == nil {
			d.err = checkEntry(e)
		}
	default:
		return record{}, fmt.Errorf("unknown kind %d", r.kind)
	}
	if d.err == nil && len(d.b) > 0 {
		d.err = fmt.Errorf("%d bytes after the record", len(d.b))
	}
	return r, d.err
}

// decoder reads a payload; the first error sticks.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) byte() byte {
	if d.err != nil || len(d.b) == 0 {
		d.fail()
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) string(limit int) string {
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if n > uint64(limit) || n > uint64(len(d.b)) {
		d.err = fmt.Errorf("string of %d bytes", n)
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) fail() {
	if d.err == nil {
		d.err = errors.New("payload cut short")
	}
}

// decodeAll decodes the records of a log file's content after the magic.
// It returns the records before the first that is not valid, the offset
// where that one starts (len(b) if all are), and why it is not: nil, errTorn
// for a record cut short by the end of the data or whole but wrong where
// it is the last one (a crash during its append: it was never
// acknowledged), errCorrupt for damage with data after it (acknowledged
// records may be lost).
func decodeAll(b []byte) ([]record, int, error) {
	var out []record
	off := 0
	for off < len(b) {
		r, n, err := decodeRecord(b[off:])
		if err != nil {
			if errors.Is(err, errCorrupt) && isLastFrame(b[off:]) {
				err = fmt.Errorf("%w: %w", errTorn, err)
			}
			return out, off, err
		}
		out = append(out, r)
		off += n
	}
	return out, off, nil
}

// isLastFrame reports whether b holds no more than one frame by its length
// field, or nothing after it but zeros (a file system may extend a file
// before the bytes land).
func isLastFrame(b []byte) bool {
	if len(b) < frameHeader {
		return true
	}
	n := uint64(binary.LittleEndian.Uint32(b))
	if n > maxPayload || frameHeader+n >= uint64(len(b)) {
		// A length that is garbage says nothing about what follows: it is
		// the last frame only if nothing but zeros follows the header.
		if n > maxPayload {
			return allZero(b[frameHeader:])
		}
		return true
	}
	return allZero(b[frameHeader+n:])
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
