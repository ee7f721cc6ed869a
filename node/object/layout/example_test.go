package layout_test

import (
	"fmt"

	"github.com/gridstore/gridstore/node/object/layout"
)

func ExampleNew() {
	// 4 nodes × 2 drives, in endpoint order (node-major).
	drives := []string{"n1", "n1", "n2", "n2", "n3", "n3", "n4", "n4"}
	l, err := layout.New(drives, layout.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(l)
	fmt.Println(l.Sets[0].Drives) // round-robin across nodes
	// Output:
	// 1 set of 8 drives on 4 nodes, EC 4+4, quorum read 4 write 5, node-fault tolerant
	// [0 2 4 6 1 3 5 7]
}

func ExampleShuffleDrives() {
	drives := []string{"d0", "d1", "d2", "d3"} // a set, in position order
	dist, _ := layout.Distribution("bucket", "object", len(drives))
	byShard, _ := layout.ShuffleDrives(drives, dist)
	back, _ := layout.UnshuffleShards(byShard, dist)
	fmt.Println(dist, byShard, back)
	// Output: [3 4 1 2] [d2 d3 d0 d1] [d0 d1 d2 d3]
}

func ExampleAdjustParity() {
	// A set of 16 with parity 4 and 3 drives offline: write with parity 7.
	fmt.Println(layout.AdjustParity(16, 4, 3))
	// A set of 4 with 2 drives offline cannot take writes.
	fmt.Println(layout.AdjustParity(4, 2, 2))
	// Output:
	// 7 true
	// 2 false
}
