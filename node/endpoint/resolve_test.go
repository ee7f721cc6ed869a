package endpoint

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
)

func mustParse(t *testing.T, args ...string) Topology {
	t.Helper()
	topo, err := Parse(args)
	if err != nil {
		t.Fatal(err)
	}
	return topo
}

func TestResolve(t *testing.T) {
	topo := mustParse(t, "http://node{1...4}:9000/d{1...2}")
	shared := mustParse(t, "http://127.0.0.1:9001/n1/d{1...2}", "http://127.0.0.1:9002/n2/d{1...2}")
	v6 := mustParse(t, "http://[::1]:9001/n1/d{1...2}", "http://[::1]:9002/n2/d{1...2}")
	tests := []struct {
		name  string
		topo  Topology
		self  string
		local []int // indexes of the local endpoints
		err   error
	}{
		{"node2", topo, "node2:9000", []int{2, 3}, nil},
		{"case-insensitive host", topo, "NODE3:9000", []int{4, 5}, nil},
		{"port picks the node on a shared host", shared, "127.0.0.1:9002", []int{2, 3}, nil},
		{"ipv6", v6, "[0::1]:9001", []int{0, 1}, nil},
		{"unknown host", topo, "node5:9000", nil, ErrSelfNotFound},
		{"wrong port", topo, "node1:9001", nil, ErrSelfNotFound},
		{"no host", topo, ":9000", nil, ErrBadSelf},
		{"no port", topo, "node1", nil, ErrBadSelf},
		{"empty", topo, "", nil, ErrBadSelf},
		{"bad port", topo, "node1:x", nil, ErrBadSelf},
	}
	for _, tc := range tests {
		got, err := tc.topo.Resolve(tc.self)
		if !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.err)
			continue
		}
		if err != nil {
			continue
		}
		var local []int
		for _, e := range got.Endpoints {
			if e.IsLocal {
				local = append(local, e.Index)
			}
		}
		if fmt.Sprint(local) != fmt.Sprint(tc.local) {
			t.Errorf("%s: local %v, want %v", tc.name, local, tc.local)
		}
		nLocal := 0
		for _, n := range got.Nodes {
			if n.IsLocal {
				nLocal++
				if fmt.Sprint(n.Drives) != fmt.Sprint(tc.local) {
					t.Errorf("%s: local node drives %v", tc.name, n.Drives)
				}
			}
		}
		if nLocal != 1 {
			t.Errorf("%s: %d local nodes", tc.name, nLocal)
		}
		// The input is not modified.
		for _, e := range tc.topo.Endpoints {
			if e.IsLocal {
				t.Fatalf("%s: Resolve modified its input", tc.name)
			}
		}
	}
}

func TestResolveLocalForm(t *testing.T) {
	topo := mustParse(t, "/mnt/d{1...4}")
	got, err := topo.Resolve("whatever")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range got.Endpoints {
		if !e.IsLocal {
			t.Fatalf("%s not local", e.URL)
		}
	}
	if !got.Nodes[0].IsLocal || !got.IsLocalForm() {
		t.Fatal("local form node not local")
	}
	if self, err := GuessSelf(context.Background(), topo.Endpoints, "9000", nil, nil); self != "" || err != nil {
		t.Fatalf("GuessSelf on the local form: %q, %v", self, err)
	}
}

func TestGuessSelf(t *testing.T) {
	topo := mustParse(t, "http://node{1...4}:9000/d", "http://10.0.0.9:9000/d{1...1}", "http://10.0.0.9:9001/d2",
		"http://both:9000/d", "http://broken:9000/d")
	dns := map[string][]net.IP{
		"node1": {net.ParseIP("10.0.0.1")},
		"node2": {net.ParseIP("10.0.0.2"), net.ParseIP("fd00::2")},
		"node3": {net.ParseIP("10.0.0.3")},
		"node4": {net.ParseIP("10.0.0.4")},
		"both":  {net.ParseIP("10.0.0.3")},
	}
	var lookups []string
	lookup := func(_ context.Context, host string) ([]net.IP, error) {
		lookups = append(lookups, host)
		if ips, ok := dns[host]; ok {
			return ips, nil
		}
		return nil, fmt.Errorf("no such host %s", host)
	}
	tests := []struct {
		name  string
		port  string
		local []string
		want  string
		err   error
	}{
		{"by name", "9000", []string{"127.0.0.1", "10.0.0.2"}, "node2:9000", nil},
		{"by second address", "9000", []string{"fd00::2"}, "node2:9000", nil},
		{"ip literal host", "9000", []string{"10.0.0.9"}, "10.0.0.9:9000", nil},
		{"port selects among one host's nodes", "9001", []string{"10.0.0.9"}, "10.0.0.9:9001", nil},
		{"two names for this machine", "9000", []string{"10.0.0.3"}, "", ErrSelfAmbiguous},
		{"not here", "9000", []string{"192.168.1.1"}, "", ErrSelfNotFound},
		{"other port", "9999", []string{"10.0.0.1"}, "", ErrSelfNotFound},
	}
	for _, tc := range tests {
		var ips []net.IP
		for _, s := range tc.local {
			ips = append(ips, net.ParseIP(s))
		}
		got, err := GuessSelf(context.Background(), topo.Endpoints, tc.port, ips, lookup)
		if got != tc.want || !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
			t.Errorf("%s: %q, %v; want %q, %v", tc.name, got, err, tc.want, tc.err)
		}
		if errors.Is(err, ErrSelfNotFound) && tc.port == "9000" && !strings.Contains(err.Error(), "no such host broken") {
			t.Errorf("%s: lookup failure not reported: %v", tc.name, err)
		}
	}
	// Deterministic: nodes are looked up in list order, IP literals never.
	lookups = nil
	_, _ = GuessSelf(context.Background(), topo.Endpoints, "9000", nil, lookup)
	if got := strings.Join(lookups, " "); got != "node1 node2 node3 node4 both broken" {
		t.Errorf("lookups %q", got)
	}
	// Without a lookup function only IP literals can match.
	if got, err := GuessSelf(context.Background(), topo.Endpoints, "9000", []net.IP{net.ParseIP("10.0.0.9")}, nil); got != "10.0.0.9:9000" || err != nil {
		t.Errorf("nil lookup: %q, %v", got, err)
	}
}

// TestFindSelf uses the real interfaces and resolver, lightly: 127.0.0.1 is
// an interface address wherever tests run, and IP literals need no DNS.
func TestFindSelf(t *testing.T) {
	ips, err := LocalIPs()
	if err != nil {
		t.Skipf("no interface addresses: %v", err)
	}
	hasLoopback := false
	for _, ip := range ips {
		hasLoopback = hasLoopback || ip.Equal(net.IPv4(127, 0, 0, 1))
	}
	if !hasLoopback {
		t.Skip("no 127.0.0.1 interface address")
	}
	topo := mustParse(t, "http://127.0.0.1:9001/n1/d{1...2}", "http://192.0.2.1:9001/n2/d{1...2}")
	got, err := FindSelf(context.Background(), topo.Endpoints, "9001")
	if err != nil || got != "127.0.0.1:9001" {
		t.Fatalf("FindSelf = %q, %v", got, err)
	}
}
