package layout

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/bits"
)

// DeploymentID is the 16-byte identity of a deployment (a UUID), the key of
// the object-to-set hash.
type DeploymentID [16]byte

// ParseDeploymentID parses the canonical UUID form
// "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (hex digits of either case) that
// format records store.
func ParseDeploymentID(s string) (DeploymentID, error) {
	var id DeploymentID
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return id, fmt.Errorf("%w: deployment ID %q is not a UUID", ErrBadArgument, s)
	}
	digits := s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:36]
	if _, err := hex.Decode(id[:], []byte(digits)); err != nil {
		return DeploymentID{}, fmt.Errorf("%w: deployment ID %q is not a UUID: %v", ErrBadArgument, s, err)
	}
	return id, nil
}

// ObjectKey is the string whose hash places an object: "bucket/object".
func ObjectKey(bucket, object string) string { return bucket + "/" + object }

// SetIndex returns the set, among setCount, that holds object in bucket:
//
//	SipHash-2-4(k0, k1, "bucket/object") mod setCount
//
// with k0 and k1 the little-endian halves of the deployment ID (the scheme
// MinIO uses, keyed by the deployment so that nobody can aim many names at
// one set without knowing the ID). This mapping is FROZEN: every existing
// object is found through it, so changing anything here loses every object
// of every deployment. TestPlacementPinned pins known outputs.
func SetIndex(id DeploymentID, bucket, object string, setCount int) (int, error) {
	if setCount < 1 {
		return 0, fmt.Errorf("%w: %d sets", ErrBadArgument, setCount)
	}
	k0 := binary.LittleEndian.Uint64(id[0:8])
	k1 := binary.LittleEndian.Uint64(id[8:16])
	return int(sipHash24(k0, k1, []byte(ObjectKey(bucket, object))) % uint64(setCount)), nil
}

// ObjectSet is SetIndex over the layout's sets.
func (l *Layout) ObjectSet(id DeploymentID, bucket, object string) int {
	i, _ := SetIndex(id, bucket, object, len(l.Sets)) // a Layout has at least one set
	return i
}

// sipHash24 is SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast
// short-input PRF", 2012) with the 128-bit key k0 || k1, each the
// little-endian reading of 8 key bytes. Small enough to keep here rather
// than add a module for; checked against the paper's vectors.
func sipHash24(k0, k1 uint64, msg []byte) uint64 {
	v0 := k0 ^ 0x736f6d6570736575
	v1 := k1 ^ 0x646f72616e646f6d
	v2 := k0 ^ 0x6c7967656e657261
	v3 := k1 ^ 0x7465646279746573
	round := func() {
		v0 += v1
		v1 = bits.RotateLeft64(v1, 13)
		v1 ^= v0
		v0 = bits.RotateLeft64(v0, 32)
		v2 += v3
		v3 = bits.RotateLeft64(v3, 16)
		v3 ^= v2
		v0 += v3
		v3 = bits.RotateLeft64(v3, 21)
		v3 ^= v0
		v2 += v1
		v1 = bits.RotateLeft64(v1, 17)
		v1 ^= v2
		v2 = bits.RotateLeft64(v2, 32)
	}
	length := len(msg)
	for ; len(msg) >= 8; msg = msg[8:] {
		m := binary.LittleEndian.Uint64(msg)
		v3 ^= m
		round()
		round()
		v0 ^= m
	}
	// The last block: the remaining bytes, little-endian, with the message
	// length (mod 256) in the top byte.
	last := uint64(length) << 56
	for i, c := range msg {
		last |= uint64(c) << (8 * i)
	}
	v3 ^= last
	round()
	round()
	v0 ^= last
	v2 ^= 0xff
	round()
	round()
	round()
	round()
	return v0 ^ v1 ^ v2 ^ v3
}
