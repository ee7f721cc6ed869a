package loadgen

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"
)

func TestSourceIsRandom(t *testing.T) {
	s := newSource(1, 7)
	if len(s.buf) != minSourceSize {
		t.Fatalf("source of %d bytes", len(s.buf))
	}
	// Incompressible data has every byte value about equally often.
	var counts [256]int
	for _, b := range s.buf {
		counts[b]++
	}
	want := len(s.buf) / 256
	for v, c := range counts {
		if c < want*9/10 || c > want*11/10 {
			t.Fatalf("byte %d appears %d times, want about %d", v, c, want)
		}
	}
	if s2 := newSource(1, 7); !bytes.Equal(s.buf, s2.buf) {
		t.Error("same seed, different data")
	}
}

// A payload reads the source from its offset, wrapping around at the end;
// ReadAt and Seek agree with Read, and checksum is the bytes' xxh3.
func TestPayloadWrapsAround(t *testing.T) {
	s := newSource(1, 9)
	n := int64(len(s.buf))
	size := n + 1000 // longer than the source: wraps more than once
	offset := n - 10
	want := make([]byte, 0, size)
	want = append(want, s.buf[offset:]...)
	for int64(len(want)) < size {
		want = append(want, s.buf[:min(n, size-int64(len(want)))]...)
	}
	var p payload
	p.reset(s, offset, size)
	if err := iotest.TestReader(&p, want); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Seek(5, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(&p)
	if err != nil || !bytes.Equal(got, want[5:]) {
		t.Fatalf("after Seek(5): %d bytes, %v", len(got), err)
	}
	o := &object{name: "o", size: size, offset: offset, sum: s.checksum(offset, size)}
	if _, err := readObject(bytes.NewReader(want), o, true); err != nil {
		t.Fatalf("the payload's own bytes do not verify: %v", err)
	}
}

// A GET whose data differs in one bit, or is short, is an ErrVerify when
// verified; unverified, every byte is still read and the length checked.
func TestReadObjectDetectsCorruption(t *testing.T) {
	s := newSource(1<<20, 11)
	o := &object{name: "obj", size: 700 << 10, offset: 12345}
	o.sum = s.checksum(o.offset, o.size)
	good := make([]byte, o.size)
	var p payload
	p.reset(s, o.offset, o.size)
	if _, err := io.ReadFull(&p, good); err != nil {
		t.Fatal(err)
	}
	if n, err := readObject(bytes.NewReader(good), o, true); err != nil || n != o.size {
		t.Fatalf("good data: %d, %v", n, err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	for range 20 {
		bad := bytes.Clone(good)
		bad[rng.IntN(len(bad))] ^= 1 << rng.IntN(8)
		if _, err := readObject(iotest.HalfReader(bytes.NewReader(bad)), o, true); !errors.Is(err, ErrVerify) {
			t.Fatalf("flipped bit: err %v, want ErrVerify", err)
		}
		if _, err := readObject(bytes.NewReader(bad), o, false); err != nil {
			t.Fatalf("unverified read of full-length data: %v", err)
		}
	}
	for _, r := range []io.Reader{bytes.NewReader(good[:len(good)-1]), io.MultiReader(bytes.NewReader(good), bytes.NewReader([]byte{0}))} {
		if _, err := readObject(r, o, false); !errors.Is(err, ErrVerify) {
			t.Errorf("wrong length unverified: err %v, want ErrVerify", err)
		}
	}
	failing := io.MultiReader(bytes.NewReader(good[:100]), iotest.ErrReader(io.ErrUnexpectedEOF))
	if _, err := readObject(failing, o, true); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("read error: %v", err)
	}
}

// take never hands out an object being read, and removes what it hands out.
func TestPoolTakeSkipsObjectsInUse(t *testing.T) {
	var p pool
	objs := make([]*object, 10)
	for i := range objs {
		objs[i] = &object{size: int64(i)}
		p.add(objs[i])
	}
	rng := rand.New(rand.NewPCG(5, 6))
	held := map[*object]int{}
	for range 30 {
		if o := p.acquire(rng); o != nil {
			held[o]++
		}
	}
	taken := map[*object]bool{}
	for o := p.take(rng); o != nil || p.len() > len(held); o = p.take(rng) {
		if o == nil {
			continue // every try hit a held object; try again
		}
		if held[o] > 0 {
			t.Fatalf("took object %d while it is read", o.size)
		}
		taken[o] = true
	}
	if len(taken)+len(held) != len(objs) || p.len() != len(held) {
		t.Fatalf("taken %d, held %d, left %d", len(taken), len(held), p.len())
	}
	for o, n := range held {
		for range n {
			p.release(o)
		}
	}
	for p.len() > 0 {
		if p.take(rng) == nil {
			t.Fatal("take found nothing with free objects left")
		}
	}
}
