package endpoint_test

import (
	"fmt"

	"github.com/gridstore/gridstore/node/endpoint"
	"github.com/gridstore/gridstore/node/object/layout"
)

func ExampleParse() {
	topo, err := endpoint.Parse([]string{"http://node{1...4}:9000/data{1...2}"})
	if err != nil {
		fmt.Println(err)
		return
	}
	topo, err = topo.Resolve("node2:9000") // this server's --address
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, n := range topo.Nodes {
		fmt.Println(n.Host, n.Drives, n.IsLocal)
	}
	l, _ := layout.New(topo.DriveNodes(), layout.Config{})
	fmt.Println(l)
	// Output:
	// node1:9000 [0 1] false
	// node2:9000 [2 3] true
	// node3:9000 [4 5] false
	// node4:9000 [6 7] false
	// 1 set of 8 drives on 4 nodes, EC 4+4, quorum read 4 write 5, node-fault tolerant
}

func ExampleExpand() {
	names, _ := endpoint.Expand("/mnt/disk{01...03}")
	fmt.Println(names)
	// Output: [/mnt/disk01 /mnt/disk02 /mnt/disk03]
}
