// Package endpoint parses the cluster topology given to `gridstore server
// [flags] ENDPOINTS...` (DESIGN §6): which drives exist, on which node, in
// which order. Every node is started with the same list and finds itself in
// it; the order of the list is the order the erasure set layout is built
// from (package node/object/layout), so it must be the same everywhere.
//
// # Forms
//
// URLs, one per drive, as an ellipsis pattern or listed one by one:
//
//	gridstore server http://node{1...4}:9000/data{1...2}
//	gridstore server http://127.0.0.1:9001/tmp/n1 http://127.0.0.1:9002/tmp/n2 ...
//
// Local paths, all drives of a single node (this one):
//
//	gridstore server /mnt/d{1...4}
//	gridstore server ./data{1...4}
//
// # Ellipses
//
// {A...B} stands for every decimal number from A to B (Expand). A leading
// zero keeps the width: {01...16} gives 01, 02, ... 16. Several ranges
// expand as a cartesian product, host-major: the leftmost range varies
// slowest, so http://node{1...2}:9000/data{1...2} lists node1/data1,
// node1/data2, node2/data1, node2/data2, each node's drives adjacent.
//
// Several arguments are expanded in turn and concatenated into one pool of
// drives; there is one pool (MinIO reads each ellipsis argument as a server
// pool; gridstore does not have pools, and a future syntax for them will
// have to be explicit). This is what lets several nodes share a host on
// different ports and folders:
//
//	http://127.0.0.1:9001/tmp/n1/d{1...4} http://127.0.0.1:9002/tmp/n2/d{1...4}
//
// # Rules
//
// Parse refuses, each with its own sentinel error:
//   - an empty list (ErrNoEndpoints); malformed braces or bounds, zero
//     padding of unequal width (ErrBadSyntax); {} or a missing bound
//     (ErrEmptyRange); {4...1} (ErrDescendingRange);
//   - more than MaxDrives (1024) drives, checked before expanding
//     (ErrTooManyDrives);
//   - URLs that are not http(s)://host:port/path: other schemes, a missing
//     port, user info, query or fragment (ErrBadURL); a missing path or "."
//     and ".." elements (ErrRelativePath); the root directory (ErrBadPath);
//   - URLs mixed with local paths (ErrMixedForms), http mixed with https
//     (ErrMixedSchemes);
//   - a drive listed twice, also as /data and /data/ (ErrDuplicateEndpoint);
//     one directory used twice on a host, under two ports or nested one in
//     another (ErrDuplicatePath);
//   - nodes with different numbers of drives (ErrUnequalDrives). Refused
//     rather than warned about: sets are dealt round-robin over nodes, and
//     unequal nodes put more of some sets on the larger nodes, so one node
//     failure could cost a set more than its parity; and the capacity of
//     the extra drives could not be used evenly anyway;
//   - a drive count that no erasure set size (4 to 16) divides
//     (ErrNoSetSize).
//
// Host names are compared as written (lower-cased): no DNS at parse time, so
// the result is the same on every node and in tests.
//
// # Finding this node
//
// Topology.Resolve(self) marks the drives of the node whose host:port equals
// self, the address given to the server (--address), as local; it is a pure
// string comparison. GuessSelf and FindSelf are a best-effort alternative
// that match the nodes on this server's port against this machine's
// interface addresses through DNS.
package endpoint
