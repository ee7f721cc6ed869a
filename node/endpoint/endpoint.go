package endpoint

import (
	"fmt"
	"net"
	"net/url"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gridstore/gridstore/node/object/layout"
)

// Endpoint is one drive of the deployment.
type Endpoint struct {
	// URL is the canonical form of the endpoint: "scheme://host:port/path"
	// with the host in lower case and the path cleaned, or the cleaned
	// path for the local form.
	URL string
	// Scheme is "http" or "https"; "" for the local form.
	Scheme string
	// Host is the node, "host:port" ("[::1]:9000" for IPv6); "" for the
	// local form.
	Host string
	// Path is the drive's directory on its node, cleaned. URL paths are
	// absolute; local paths are kept relative if given so.
	Path string
	// Index is the drive's position in the list, the order every node
	// agrees on and the erasure set layout is built from.
	Index int
	// IsLocal is true when the drive is on this server: always for the
	// local form, and after Resolve for the node that is "self".
	IsLocal bool
}

// Node is one server of the deployment and its drives.
type Node struct {
	// Host is the node's "host:port" ("" for the local form).
	Host string
	// Drives are the Index values of the node's endpoints, in list order.
	Drives []int
	// IsLocal is true for this server (see Endpoint.IsLocal).
	IsLocal bool
}

// Topology is the parsed endpoint list of a deployment.
type Topology struct {
	// Endpoints lists every drive in the order of the arguments.
	Endpoints []Endpoint
	// Nodes lists the distinct nodes in order of first appearance.
	Nodes []Node
}

// IsLocalForm reports whether the deployment is the single-node local form
// (plain paths, no URLs).
func (t Topology) IsLocalForm() bool {
	return len(t.Endpoints) > 0 && t.Endpoints[0].Scheme == ""
}

// DriveNodes returns the node of every drive, in endpoint order: the input
// of layout.New.
func (t Topology) DriveNodes() []string {
	out := make([]string, len(t.Endpoints))
	for i, e := range t.Endpoints {
		out[i] = e.Host
	}
	return out
}

// Parse parses the endpoint arguments of `gridstore server`. Each argument
// is expanded (Expand) and the results are concatenated, in order, into the
// one pool of drives. The list must be all URLs (http://host:port/path, one
// scheme) or all local paths (one node, this one), with no drive twice, every
// node with the same number of drives, and a drive count that fits an
// erasure set size. The checks are purely syntactic: no name is resolved.
func Parse(args []string) (Topology, error) {
	if len(args) == 0 {
		return Topology{}, ErrNoEndpoints
	}
	var raw []string
	for _, arg := range args {
		expanded, err := Expand(arg)
		if err != nil {
			return Topology{}, err
		}
		if len(raw)+len(expanded) > MaxDrives {
			return Topology{}, fmt.Errorf("%w: the arguments expand to more than %d drives", ErrTooManyDrives, MaxDrives)
		}
		raw = append(raw, expanded...)
	}
	eps := make([]Endpoint, len(raw))
	for i, s := range raw {
		var err error
		if strings.Contains(s, "://") {
			eps[i], err = parseURL(s)
		} else {
			eps[i], err = parseLocal(s)
		}
		if err != nil {
			return Topology{}, err
		}
		eps[i].Index = i
		if first := eps[0]; (first.Scheme == "") != (eps[i].Scheme == "") {
			return Topology{}, fmt.Errorf("%w: %q and %q: give either http(s)://host:port/path endpoints or local paths for a single node", ErrMixedForms, raw[0], s)
		} else if first.Scheme != eps[i].Scheme {
			return Topology{}, fmt.Errorf("%w: %q and %q", ErrMixedSchemes, raw[0], s)
		}
	}
	if err := checkDuplicates(eps, raw); err != nil {
		return Topology{}, err
	}
	t := Topology{Endpoints: eps, Nodes: nodesOf(eps)}
	for _, n := range t.Nodes {
		if len(n.Drives) != len(t.Nodes[0].Drives) {
			return Topology{}, fmt.Errorf("%w: %s has %d drives, %s has %d; give every node the same number of drives",
				ErrUnequalDrives, t.Nodes[0].Host, len(t.Nodes[0].Drives), n.Host, len(n.Drives))
		}
	}
	if len(layout.CandidateSetSizes(len(eps))) == 0 {
		return Topology{}, fmt.Errorf("%w: %d drives on %s; the drive count must be a multiple of a set size from %d to %d",
			ErrNoSetSize, len(eps), plural(len(t.Nodes), "node"), layout.MinSetSize, layout.MaxSetSize)
	}
	return t, nil
}

func parseURL(s string) (Endpoint, error) {
	u, err := url.Parse(s)
	if err != nil {
		return Endpoint{}, fmt.Errorf("%w: %q: %v", ErrBadURL, s, err)
	}
	scheme := strings.ToLower(u.Scheme)
	switch {
	case scheme != "http" && scheme != "https":
		return Endpoint{}, fmt.Errorf("%w: %q: scheme %q, want http or https", ErrBadURL, s, u.Scheme)
	case u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || u.Opaque != "":
		return Endpoint{}, fmt.Errorf("%w: %q: user info, query and fragment are not allowed", ErrBadURL, s)
	}
	host, err := normalizeHostPort(u.Host)
	if err != nil {
		return Endpoint{}, fmt.Errorf("%w: %q: %v", ErrBadURL, s, err)
	}
	p := u.Path
	if !strings.HasPrefix(p, "/") {
		return Endpoint{}, fmt.Errorf("%w: %q: no drive path after host:port", ErrRelativePath, s)
	}
	for _, elem := range strings.Split(p, "/") {
		if elem == "." || elem == ".." {
			return Endpoint{}, fmt.Errorf("%w: %q: %q elements make the drive ambiguous", ErrRelativePath, s, elem)
		}
	}
	p = path.Clean(p)
	if p == "/" {
		return Endpoint{}, fmt.Errorf("%w: %q: the root directory cannot be a drive", ErrBadPath, s)
	}
	return Endpoint{URL: scheme + "://" + host + p, Scheme: scheme, Host: host, Path: p}, nil
}

// normalizeHostPort checks "host:port" and returns it with the host in lower
// case (DNS names are case insensitive, so Node1 and node1 are one node), IP
// addresses in their canonical form and IPv6 addresses bracketed. The port is required: a default of 80 would
// rarely be what a storage node listens on, and guessing would let two
// spellings of one node look like two nodes.
func normalizeHostPort(hostport string) (string, error) {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return "", fmt.Errorf("want host:port: %v", err)
	}
	if host == "" {
		return "", fmt.Errorf("no host in %q", hostport)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 || strings.Trim(port, "0123456789") != "" || port[0] == '0' {
		return "", fmt.Errorf("port %q, want 1 to 65535", port)
	}
	host = strings.ToLower(host)
	if ip := net.ParseIP(host); ip != nil {
		host = ip.String() // one spelling per address: [0:0::1] is [::1]
	} else if !validHostname(host) {
		return "", fmt.Errorf("host %q is neither an IP address nor a host name", host)
	}
	return net.JoinHostPort(host, port), nil
}

// validHostname accepts DNS names and the underscores container runtimes
// allow in service names: letters, digits, '-', '_' and '.'.
func validHostname(h string) bool {
	if len(h) > 253 {
		return false
	}
	for _, c := range h {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func parseLocal(s string) (Endpoint, error) {
	if s == "" {
		return Endpoint{}, fmt.Errorf("%w: empty path", ErrBadPath)
	}
	// "node1:9000/data" is far more likely a URL without its scheme than a
	// relative directory named "node1:9000".
	if first, _, _ := strings.Cut(s, "/"); strings.Contains(first, ":") && !filepath.IsAbs(s) {
		return Endpoint{}, fmt.Errorf("%w: %q looks like a URL without http://; write http://host:port/path, or ./%s for a local directory", ErrBadURL, s, s)
	}
	p := filepath.Clean(s)
	if p == string(filepath.Separator) || p == filepath.VolumeName(p)+string(filepath.Separator) {
		return Endpoint{}, fmt.Errorf("%w: %q: the root directory cannot be a drive", ErrBadPath, s)
	}
	return Endpoint{URL: p, Path: p, IsLocal: true}, nil
}

// checkDuplicates refuses a drive listed twice and a directory used by two
// drives of one host: the same path on two ports of one host name (two node
// processes of one machine writing into one directory), or nested paths. Host
// names are compared as written, so "localhost" and "127.0.0.1" are not
// recognised as one machine.
func checkDuplicates(eps []Endpoint, raw []string) error {
	byDrive := make(map[string]int, len(eps))
	byMachinePath := make(map[string]int, len(eps))
	for i, e := range eps {
		if j, dup := byDrive[e.URL]; dup {
			return fmt.Errorf("%w: %q and %q are the same drive %s", ErrDuplicateEndpoint, raw[j], raw[i], e.URL)
		}
		byDrive[e.URL] = i
	}
	machine := func(e Endpoint) string {
		if e.Host == "" {
			return ""
		}
		h, _, _ := net.SplitHostPort(e.Host) // normalized: cannot fail
		return h
	}
	for i, e := range eps {
		key := machine(e) + "\x00" + e.Path
		if j, dup := byMachinePath[key]; dup {
			return fmt.Errorf("%w: %q and %q are one directory of host %q", ErrDuplicatePath, raw[j], raw[i], machine(e))
		}
		byMachinePath[key] = i
	}
	for i, e := range eps {
		// Walk up the ancestors: one map lookup per level rather than
		// comparing every pair.
		for dir := parentDir(e); dir != ""; dir = parentDir(Endpoint{Scheme: e.Scheme, Path: dir}) {
			if j, nested := byMachinePath[machine(e)+"\x00"+dir]; nested {
				return fmt.Errorf("%w: %q is inside %q", ErrDuplicatePath, raw[i], raw[j])
			}
		}
	}
	return nil
}

// parentDir returns the directory above e.Path, "" at the top.
func parentDir(e Endpoint) string {
	dir, clean := path.Dir, path.Clean
	if e.Scheme == "" {
		dir, clean = filepath.Dir, filepath.Clean
	}
	d := clean(dir(e.Path))
	if d == e.Path || d == "." || d == "/" || d == string(filepath.Separator) {
		return ""
	}
	return d
}

// nodesOf groups endpoints by Host in order of first appearance.
func nodesOf(eps []Endpoint) []Node {
	index := map[string]int{}
	var nodes []Node
	for _, e := range eps {
		i, ok := index[e.Host]
		if !ok {
			i = len(nodes)
			index[e.Host] = i
			nodes = append(nodes, Node{Host: e.Host, IsLocal: e.IsLocal})
		}
		nodes[i].Drives = append(nodes[i].Drives, e.Index)
	}
	return nodes
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
