package erasure

import (
	"errors"
	"testing"
)

func TestNewCoderConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"1+1", Config{DataShards: 1, ParityShards: 1}, true},
		{"2+2 data==parity", Config{DataShards: 2, ParityShards: 2}, true},
		{"4+2", Config{DataShards: 4, ParityShards: 2}, true},
		{"8+8 sixteen", Config{DataShards: 8, ParityShards: 8}, true},
		{"12+4", Config{DataShards: 12, ParityShards: 4}, true},
		{"15+1", Config{DataShards: 15, ParityShards: 1}, true},
		{"tiny block", Config{DataShards: 4, ParityShards: 2, BlockSize: 1}, true},
		{"max block", Config{DataShards: 4, ParityShards: 2, BlockSize: MaxBlockSize}, true},
		{"no data", Config{DataShards: 0, ParityShards: 1}, false},
		{"negative data", Config{DataShards: -3, ParityShards: 1}, false},
		{"no parity", Config{DataShards: 4, ParityShards: 0}, false},
		{"negative parity", Config{DataShards: 4, ParityShards: -1}, false},
		{"parity > data", Config{DataShards: 2, ParityShards: 3}, false},
		{"17 shards", Config{DataShards: 9, ParityShards: 8}, false},
		{"huge counts", Config{DataShards: 1 << 30, ParityShards: 1 << 30}, false},
		{"negative block", Config{DataShards: 4, ParityShards: 2, BlockSize: -1}, false},
		{"block too big", Config{DataShards: 4, ParityShards: 2, BlockSize: MaxBlockSize + 1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewCoder(tt.cfg)
			if tt.ok {
				if err != nil {
					t.Fatalf("NewCoder(%+v): %v", tt.cfg, err)
				}
				if c.TotalShards() != tt.cfg.DataShards+tt.cfg.ParityShards {
					t.Errorf("TotalShards = %d", c.TotalShards())
				}
				return
			}
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("NewCoder(%+v) = %v, want ErrInvalidConfig", tt.cfg, err)
			}
		})
	}
}

func TestDefaultBlockSize(t *testing.T) {
	c := mustCoder(t, 4, 2, 0)
	if c.BlockSize() != DefaultBlockSize || c.Config().BlockSize != DefaultBlockSize {
		t.Fatalf("BlockSize = %d, want %d", c.BlockSize(), DefaultBlockSize)
	}
}

func TestShardSizeMath(t *testing.T) {
	const MiB, GiB = 1 << 20, 1 << 30
	tests := []struct {
		name                  string
		data, parity, block   int
		size                  int64
		blocks, shard, onDisk int64 // onDisk -1: does not fit in int64
	}{
		{"4+2 empty", 4, 2, 0, 0, 0, 0, 0},
		{"4+2 one byte", 4, 2, 0, 1, 1, 1, 33},
		{"4+2 one block", 4, 2, 0, MiB, 1, 256 << 10, 256<<10 + 32},
		{"4+2 block minus 1", 4, 2, 0, MiB - 1, 1, 256 << 10, 256<<10 + 32},
		{"4+2 block plus 1", 4, 2, 0, MiB + 1, 2, 256<<10 + 1, 256<<10 + 1 + 64},
		{"4+2 5 GiB", 4, 2, 0, 5 * GiB, 5120, 5120 * (256 << 10), 5120 * (256<<10 + 32)},
		{"4+2 5 GiB plus 1", 4, 2, 0, 5*GiB + 1, 5121, 5120*(256<<10) + 1, 5120*(256<<10+32) + 33},
		// 1 MiB does not divide by 12: full shards are padded to 87382.
		{"12+4 one byte", 12, 4, 0, 1, 1, 1, 33},
		{"12+4 one block", 12, 4, 0, MiB, 1, 87382, 87382 + 32},
		{"12+4 block plus 1", 12, 4, 0, MiB + 1, 2, 87383, 87383 + 64},
		{"12+4 5 GiB", 12, 4, 0, 5 * GiB, 5120, 5120 * 87382, 5120 * (87382 + 32)},
		{"3+2 short tail", 3, 2, 10, 25, 3, 4 + 4 + 2, 10 + 3*32},
		{"3+2 tail of 1", 3, 2, 10, 21, 3, 4 + 4 + 1, 9 + 3*32},
		{"block smaller than data", 8, 4, 3, 7, 3, 1 + 1 + 1, 3 + 3*32},
		{"negative size", 4, 2, 0, -5, 0, 0, 0},
		{"largest size", 1, 1, 0, 1<<63 - 1, 1 << 43, 1<<63 - 1, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustCoder(t, tt.data, tt.parity, tt.block)
			if got := c.BlockCount(tt.size); got != tt.blocks {
				t.Errorf("BlockCount(%d) = %d, want %d", tt.size, got, tt.blocks)
			}
			if got := c.ShardFileSize(tt.size); got != tt.shard {
				t.Errorf("ShardFileSize(%d) = %d, want %d", tt.size, got, tt.shard)
			}
			if got := c.ShardDiskSize(tt.size); tt.onDisk >= 0 && got != tt.onDisk {
				t.Errorf("ShardDiskSize(%d) = %d, want %d", tt.size, got, tt.onDisk)
			}
			// The shard data must hold the object: data shards * shard
			// size covers it, with less than one byte per shard per
			// block of padding.
			if tt.size > 0 {
				padding := int64(tt.data)*tt.shard - tt.size
				if padding < 0 || padding >= int64(tt.data)*tt.blocks {
					t.Errorf("padding %d outside [0, %d)", padding, int64(tt.data)*tt.blocks)
				}
			}
		})
	}
}

func TestShardRange(t *testing.T) {
	// 4+2 with 100-byte blocks: 25-byte shards; a 250-byte object has a
	// 50-byte last block with 13-byte shards.
	c := mustCoder(t, 4, 2, 100)
	const size = 250
	tests := []struct {
		name                     string
		offset, length           int64
		shardOffset, shardLength int64
		err                      bool
	}{
		{"whole", 0, size, 0, 63, false},
		{"empty", 10, 0, 0, 0, false},
		{"empty at end", size, 0, 0, 0, false},
		{"first byte", 0, 1, 0, 25, false},
		{"last byte of block 0", 99, 1, 0, 25, false},
		{"first byte of block 1", 100, 1, 25, 25, false},
		{"straddles 0 and 1", 99, 2, 0, 50, false},
		{"last byte", size - 1, 1, 50, 13, false},
		{"tail block", 200, 50, 50, 13, false},
		{"blocks 1 to end", 150, 100, 25, 38, false},
		{"negative offset", -1, 1, 0, 0, true},
		{"negative length", 0, -1, 0, 0, true},
		{"past end", 200, 51, 0, 0, true},
		{"offset past end", size + 1, 0, 0, 0, true},
		{"overflow", 1, 1<<63 - 1, 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			so, sl, err := c.ShardRange(tt.offset, tt.length, size)
			if tt.err {
				if !errors.Is(err, ErrInvalidArgument) {
					t.Fatalf("ShardRange = %v, want ErrInvalidArgument", err)
				}
				return
			}
			if err != nil || so != tt.shardOffset || sl != tt.shardLength {
				t.Fatalf("ShardRange(%d, %d) = %d, %d, %v; want %d, %d", tt.offset, tt.length, so, sl, err, tt.shardOffset, tt.shardLength)
			}
		})
	}
}

func TestQuorums(t *testing.T) {
	tests := []struct{ data, parity, read, write int }{
		{2, 2, 2, 3},
		{4, 2, 4, 4},
		{4, 4, 4, 5},
		{12, 4, 12, 12},
	}
	for _, tt := range tests {
		c := mustCoder(t, tt.data, tt.parity, 0)
		if c.ReadQuorum() != tt.read || c.WriteQuorum() != tt.write {
			t.Errorf("%d+%d: quorums read %d write %d, want %d %d", tt.data, tt.parity, c.ReadQuorum(), c.WriteQuorum(), tt.read, tt.write)
		}
	}
}
