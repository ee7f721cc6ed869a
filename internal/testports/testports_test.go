package testports

import (
	"net"
	"testing"
)

func TestPairs(t *testing.T) {
	const offset = 10000
	ports, err := Pairs(4, offset)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if p < Low || p >= High {
			t.Errorf("port %d outside [%d, %d)", p, Low, High)
		}
		for _, q := range []int{p, p + offset} {
			if seen[q] {
				t.Errorf("port %d handed out twice in %v", q, ports)
			}
			seen[q] = true
			if q >= 32768 {
				t.Errorf("port %d in Linux's ephemeral range", q)
			}
		}
	}
}

func TestFreeSeesAPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	p := ln.Addr().(*net.TCPAddr).Port
	if Free(p) {
		t.Errorf("Free(%d) with a listener on it", p)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	u := pc.LocalAddr().(*net.UDPAddr).Port
	// TCP port u is most likely free: Free must look at UDP too.
	if Free(u) {
		t.Errorf("Free(%d) with a UDP socket on it", u)
	}
}
