package erasure

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
)

// healInto heals the shards in targets from files (nil = missing) into
// fresh bitrot writers, returning the rebuilt files.
func healInto(t *testing.T, c *Coder, files [][]byte, targets []int, size int64, wrap func(i int, w io.Writer) io.Writer) ([][]byte, []error, []error, error) {
	t.Helper()
	total := c.TotalShards()
	readers := make([]io.Reader, total)
	for i, f := range files {
		if f != nil {
			r, err := NewBitrotReader(bytes.NewReader(f), testKey, c.ShardSize(), 0, c.ShardFileSize(size))
			if err != nil {
				t.Fatal(err)
			}
			readers[i] = r
		}
	}
	bufs := make([]*bytes.Buffer, total)
	writers := make([]io.Writer, total)
	for _, i := range targets {
		bufs[i] = new(bytes.Buffer)
		var w io.Writer = bufs[i]
		if wrap != nil {
			w = wrap(i, w)
		}
		bw, err := NewBitrotWriter(w, testKey, c.ShardSize())
		if err != nil {
			t.Fatal(err)
		}
		writers[i] = bw
	}
	werrs, rerrs, err := c.Heal(context.Background(), writers, readers, size)
	out := make([][]byte, total)
	for _, i := range targets {
		out[i] = bufs[i].Bytes()
	}
	return out, werrs, rerrs, err
}

func TestHealRebuildsShardFiles(t *testing.T) {
	layouts := []struct{ data, parity int }{{4, 2}, {8, 4}, {3, 3}}
	for _, l := range layouts {
		c := mustCoder(t, l.data, l.parity, 1000)
		for _, size := range []int{0, 1, 1000, 4321} {
			object := randomBytes(uint64(size), size)
			files := encodeFiles(t, c, object)
			total := c.TotalShards()
			targetSets := [][]int{{0}, {total - 1}, {1, total - 1}}
			all := make([]int, l.parity) // as many as parity: the first data shards
			for i := range all {
				all[i] = i
			}
			targetSets = append(targetSets, all)
			for _, targets := range targetSets {
				t.Run(fmt.Sprintf("%d+%d/size%d/targets%v", l.data, l.parity, size, targets), func(t *testing.T) {
					sources := append([][]byte(nil), files...)
					for _, i := range targets {
						sources[i] = nil
					}
					healed, werrs, rerrs, err := healInto(t, c, sources, targets, int64(size), nil)
					if err != nil {
						t.Fatalf("Heal: %v", err)
					}
					for _, i := range targets {
						if werrs[i] != nil || rerrs[i] != nil {
							t.Fatalf("target %d: writer %v, reader %v", i, werrs[i], rerrs[i])
						}
						if !bytes.Equal(healed[i], files[i]) {
							t.Fatalf("shard %d healed to %d bytes that differ from the original %d", i, len(healed[i]), len(files[i]))
						}
					}
				})
			}
		}
	}
}

func TestHealFromCorruptSource(t *testing.T) {
	c := mustCoder(t, 4, 2, 1000)
	object := randomBytes(40, 3500)
	files := encodeFiles(t, c, object)
	sources := append([][]byte(nil), files...)
	sources[0] = nil                                              // the target
	sources[2] = corrupt(sources[2], 2*(c.ShardSize()+32)+32+100) // bitrot in block 2
	healed, werrs, rerrs, err := healInto(t, c, sources, []int{0}, int64(len(object)), nil)
	if err != nil || werrs[0] != nil {
		t.Fatalf("Heal: %v, writer %v", err, werrs[0])
	}
	if !bytes.Equal(healed[0], files[0]) {
		t.Fatal("healed shard differs")
	}
	if !errors.Is(rerrs[2], ErrBitrot) {
		t.Fatalf("source 2 reported %v, want bitrot so it gets healed too", rerrs[2])
	}
}

func TestHealFailures(t *testing.T) {
	c := mustCoder(t, 4, 2, 1000)
	object := randomBytes(41, 3500)
	files := encodeFiles(t, c, object)
	size := int64(len(object))

	t.Run("too few sources", func(t *testing.T) {
		sources := append([][]byte(nil), files...)
		sources[0], sources[1], sources[4] = nil, nil, nil
		if _, _, _, err := healInto(t, c, sources, []int{0}, size, nil); !errors.Is(err, ErrReadQuorum) {
			t.Fatalf("err %v, want ErrReadQuorum", err)
		}
	})
	t.Run("source lost mid-stream", func(t *testing.T) {
		sources := append([][]byte(nil), files...)
		sources[0], sources[5] = nil, nil
		sources[3] = sources[3][:2*(c.ShardSize()+32)]
		_, _, rerrs, err := healInto(t, c, sources, []int{0}, size, nil)
		if !errors.Is(err, ErrReadQuorum) || !errors.Is(rerrs[3], io.ErrUnexpectedEOF) {
			t.Fatalf("err %v, source 3 %v", err, rerrs[3])
		}
	})
	t.Run("one of two targets fails", func(t *testing.T) {
		sources := append([][]byte(nil), files...)
		sources[1], sources[4] = nil, nil
		fail := func(i int, w io.Writer) io.Writer {
			if i == 4 {
				return &failingWriter{w: w, limit: 100}
			}
			return w
		}
		healed, werrs, _, err := healInto(t, c, sources, []int{1, 4}, size, fail)
		if err != nil || !errors.Is(werrs[4], errInjected) || werrs[1] != nil {
			t.Fatalf("err %v, writer errors %v", err, werrs)
		}
		if !bytes.Equal(healed[1], files[1]) {
			t.Fatal("the healthy target's shard differs")
		}
	})
	t.Run("every target fails", func(t *testing.T) {
		sources := append([][]byte(nil), files...)
		sources[1] = nil
		fail := func(int, io.Writer) io.Writer { return &failingWriter{w: io.Discard, limit: 300} }
		if _, werrs, _, err := healInto(t, c, sources, []int{1}, size, fail); !errors.Is(err, ErrWriteQuorum) || !errors.Is(werrs[1], errInjected) {
			t.Fatalf("err %v, writer %v", err, werrs[1])
		}
	})
	t.Run("no targets", func(t *testing.T) {
		if _, _, _, err := healInto(t, c, files, nil, size, nil); err != nil {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("invalid arguments", func(t *testing.T) {
		w := make([]io.Writer, 6)
		r := make([]io.Reader, 6)
		if _, _, err := c.Heal(context.Background(), w[:5], r, size); !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("short writers: %v", err)
		}
		if _, _, err := c.Heal(context.Background(), w, r, -1); !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("negative size: %v", err)
		}
	})
}
