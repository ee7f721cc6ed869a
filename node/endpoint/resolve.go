package endpoint

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
)

// Resolve marks the endpoints of node self as local and returns the result as
// new slices (t is not modified). self is the "host:port" under which the
// endpoint list names this server (the --address hint); it is compared with
// each node's Host after the same normalization (lower-case host, bracketed
// IPv6), without any name lookup, so the answer depends on the strings alone.
// A self that names no node is ErrSelfNotFound. In the local form every
// drive is already local and self is ignored.
func (t Topology) Resolve(self string) (Topology, error) {
	eps, err := Resolve(t.Endpoints, self)
	if err != nil {
		return Topology{}, err
	}
	return Topology{Endpoints: eps, Nodes: nodesOf(eps)}, nil
}

// Resolve is Topology.Resolve on a bare endpoint list.
func Resolve(endpoints []Endpoint, self string) ([]Endpoint, error) {
	out := slices.Clone(endpoints)
	if len(out) > 0 && out[0].Scheme == "" {
		return out, nil
	}
	want, err := normalizeHostPort(self)
	if err != nil {
		return nil, fmt.Errorf("%w: %q: %v (give the host:port under which the endpoints name this server)", ErrBadSelf, self, err)
	}
	found := false
	for i := range out {
		out[i].IsLocal = out[i].Host == want
		found = found || out[i].IsLocal
	}
	if !found {
		return nil, fmt.Errorf("%w: no endpoint has host %s (nodes: %s)", ErrSelfNotFound, want, strings.Join(hosts(endpoints), ", "))
	}
	return out, nil
}

func hosts(eps []Endpoint) []string {
	var out []string
	for _, n := range nodesOf(eps) {
		out = append(out, n.Host)
	}
	return out
}

// LookupFunc resolves a host name to its addresses, as
// net.DefaultResolver.LookupIP(ctx, "ip", host) does.
type LookupFunc func(ctx context.Context, host string) ([]net.IP, error)

// GuessSelf finds this server in the endpoint list when no self address was
// given: the one node whose port is port (the port this server listens on)
// and whose host is, or resolves to, one of localIPs. It is best effort:
// DNS may be slow, wrong or absent, and one machine running several nodes on
// one port cannot be told apart, so an explicit self address (Resolve) is
// what deployments should use. Zero matches is ErrSelfNotFound (joined with
// any lookup errors), several ErrSelfAmbiguous. Nodes are examined in list
// order; lookup is called once per host name that is not an IP address (a
// nil lookup matches IP addresses only).
func GuessSelf(ctx context.Context, endpoints []Endpoint, port string, localIPs []net.IP, lookup LookupFunc) (string, error) {
	if len(endpoints) > 0 && endpoints[0].Scheme == "" {
		return "", nil // the local form: nothing to find
	}
	var matches []string
	var lookupErrs []error
	for _, h := range hosts(endpoints) {
		name, p, _ := net.SplitHostPort(h) // normalized by Parse
		if p != port {
			continue
		}
		ips := []net.IP{net.ParseIP(name)}
		if ips[0] == nil {
			if lookup == nil {
				continue
			}
			var err error
			if ips, err = lookup(ctx, name); err != nil {
				lookupErrs = append(lookupErrs, fmt.Errorf("resolving %s: %w", name, err))
				continue
			}
		}
		if slices.ContainsFunc(ips, func(ip net.IP) bool {
			return slices.ContainsFunc(localIPs, ip.Equal)
		}) {
			matches = append(matches, h)
		}
	}
	switch len(matches) {
	case 1:
		return matches[0], nil
	case 0:
		return "", errors.Join(fmt.Errorf("%w: no node on port %s resolves to an address of this machine", ErrSelfNotFound, port), errors.Join(lookupErrs...))
	default:
		return "", fmt.Errorf("%w: %s all resolve to this machine on port %s; give the self address explicitly", ErrSelfAmbiguous, strings.Join(matches, ", "), port)
	}
}

// LocalIPs returns the addresses of this machine's network interfaces, for
// GuessSelf.
func LocalIPs() ([]net.IP, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, fmt.Errorf("listing interface addresses: %w", err)
	}
	var ips []net.IP
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			ips = append(ips, n.IP)
		}
	}
	return ips, nil
}

// FindSelf is GuessSelf with this machine's interface addresses and the
// system resolver.
func FindSelf(ctx context.Context, endpoints []Endpoint, port string) (string, error) {
	ips, err := LocalIPs()
	if err != nil {
		return "", err
	}
	return GuessSelf(ctx, endpoints, port, ips, func(ctx context.Context, host string) ([]net.IP, error) {
		return net.DefaultResolver.LookupIP(ctx, "ip", host)
	})
}
