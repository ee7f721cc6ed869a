package endpoint

import (
	"errors"

	"github.com/gridstore/gridstore/node/object/layout"
)

// Sentinel errors. Every error this package returns wraps one of them (test
// with errors.Is); the message adds the argument and what is wrong with it.
var (
	// ErrNoEndpoints: no endpoint argument at all.
	ErrNoEndpoints = errors.New("endpoint: no endpoints given")
	// ErrBadSyntax: malformed ellipsis pattern (unbalanced or nested
	// braces, bounds that are not decimal numbers, "..." missing, zero
	// padding of unequal width, an argument too long).
	ErrBadSyntax = errors.New("endpoint: bad ellipsis syntax")
	// ErrEmptyRange: an ellipsis with a missing bound: {}, {...}, {1...}, {...4}.
	ErrEmptyRange = errors.New("endpoint: empty ellipsis range")
	// ErrDescendingRange: an ellipsis whose start exceeds its end, {4...1}.
	ErrDescendingRange = errors.New("endpoint: descending ellipsis range")
	// ErrTooManyDrives: the arguments expand to more than MaxDrives drives.
	ErrTooManyDrives = errors.New("endpoint: too many drives")
	// ErrBadURL: an endpoint URL that is not http(s)://host:port/path
	// (other scheme, no host, no or bad port, user info, query, fragment),
	// or a local path that looks like a URL with its scheme missing.
	ErrBadURL = errors.New("endpoint: bad endpoint URL")
	// ErrRelativePath: a URL whose path is missing or has "." or ".."
	// elements; drive paths in URLs are absolute on their node.
	ErrRelativePath = errors.New("endpoint: relative path in URL endpoint")
	// ErrBadPath: a drive path that is empty or the root directory.
	ErrBadPath = errors.New("endpoint: bad drive path")
	// ErrMixedForms: URL endpoints and local paths in one list.
	ErrMixedForms = errors.New("endpoint: URLs and local paths mixed")
	// ErrMixedSchemes: http and https endpoints in one list.
	ErrMixedSchemes = errors.New("endpoint: http and https mixed")
	// ErrDuplicateEndpoint: the same drive (node and path) listed twice.
	ErrDuplicateEndpoint = errors.New("endpoint: duplicate endpoint")
	// ErrDuplicatePath: one directory used by two drives on one host: the
	// same path under two ports of a host (two nodes of one machine sharing
	// a drive), or one drive's path inside another's.
	ErrDuplicatePath = errors.New("endpoint: drive path used twice on one host")
	// ErrUnequalDrives: nodes with different numbers of drives.
	ErrUnequalDrives = errors.New("endpoint: nodes have unequal drive counts")
	// ErrNoSetSize: the drive count fits no erasure set size (it must be a
	// multiple of one of 4..16). The same value as layout.ErrNoSetSize.
	ErrNoSetSize = layout.ErrNoSetSize
	// ErrBadSelf: a self address that is not host:port.
	ErrBadSelf = errors.New("endpoint: bad self address")
	// ErrSelfNotFound: no node of the list is this server.
	ErrSelfNotFound = errors.New("endpoint: this server is not in the endpoint list")
	// ErrSelfAmbiguous: several nodes of the list could be this server.
	ErrSelfAmbiguous = errors.New("endpoint: this server matches several nodes")
)
