package erasure_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/gridstore/gridstore/erasure"
)

// The object layer's use: PUT through bitrot writers, GET a range through
// lazily opened bitrot readers with two drives gone.
func Example() {
	key := bytes.Repeat([]byte{7}, erasure.BitrotKeySize) // fixed per deployment
	coder, err := erasure.NewCoder(erasure.Config{DataShards: 4, ParityShards: 2, BlockSize: 64})
	if err != nil {
		panic(err)
	}
	object := strings.Repeat("gridstore ", 30)
	size := int64(len(object))

	// PUT: one bitrot writer per drive (here: in memory).
	drives := make([]*bytes.Buffer, coder.TotalShards())
	writers := make([]io.Writer, coder.TotalShards())
	for i := range drives {
		drives[i] = new(bytes.Buffer)
		writers[i], _ = erasure.NewBitrotWriter(drives[i], key, coder.ShardSize())
	}
	n, _, err := coder.Encode(context.Background(), writers, strings.NewReader(object), size, coder.WriteQuorum())
	fmt.Println("encoded", n, err, "shard file size", drives[0].Len() == int(coder.ShardDiskSize(size)))

	// GET bytes [100, 150) with drives 0 and 5 offline.
	offset, length := int64(100), int64(50)
	shardOffset, shardLength, _ := coder.ShardRange(offset, length, size)
	readers := make([]io.Reader, coder.TotalShards())
	for i := 1; i < 5; i++ {
		file := drives[i].Bytes()
		open := func(diskOffset, diskLength int64) (io.ReadCloser, error) { // e.g. a drive's ReadFileStream
			return io.NopCloser(bytes.NewReader(file[diskOffset : diskOffset+diskLength])), nil
		}
		readers[i], _ = erasure.NewLazyBitrotReader(open, key, coder.ShardSize(), shardOffset, shardLength)
	}
	var out bytes.Buffer
	_, shardErrs, err := coder.Decode(context.Background(), &out, readers, offset, length, size)
	fmt.Println(out.String() == object[offset:offset+length], err)
	fmt.Println("heal shard 0:", shardErrs[0] != nil)
	// Output:
	// encoded 300 <nil> shard file size true
	// true <nil>
	// heal shard 0: true
}
