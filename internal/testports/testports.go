// Package testports picks loopback ports for tests that start gridstore
// nodes. A node's gossip listens at its port + 10000 (node/cluster's
// GossipPort), which every peer assumes, so a test must know both ports
// free before the node listens. Ports the kernel hands out (127.0.0.1:0)
// lie in its ephemeral range (32768 and up on Linux), and so would their
// gossip ports, where any outgoing connection of any process may take one
// between the pick and the node's listen: the ports here are picked below
// that range instead, gossip ports included.
package testports

import (
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
)

// Low and High bound the ports Pairs picks: [Low, High), and their
// partners at most High+offset-1, below Linux's ephemeral range for the
// offset of 10000.
const (
	Low  = 10000
	High = 22000
)

// Pairs returns n distinct ports p in [Low, High) such that p and p+offset
// are free on 127.0.0.1, TCP and UDP, at the moment of the call, none of
// them shared between two pairs. Nothing is held: the caller listens
// at once (another test may pick the same port later).
func Pairs(n, offset int) ([]int, error) {
	var ports []int
	seen := map[int]bool{}
	for tries := 0; len(ports) < n; tries++ {
		if tries > 1000 {
			return nil, fmt.Errorf("no free loopback port pair (p, p+%d) in [%d, %d) after %d tries", offset, Low, High, tries)
		}
		p := Low + rand.IntN(High-Low)
		if seen[p] || seen[p+offset] || !Free(p) || !Free(p+offset) {
			continue
		}
		seen[p], seen[p+offset] = true, true
		ports = append(ports, p)
	}
	return ports, nil
}

// Free reports whether TCP and UDP port p can be bound on 127.0.0.1 now.
func Free(p int) bool {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(p))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	_ = ln.Close()
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return false
	}
	_ = pc.Close()
	return true
}
