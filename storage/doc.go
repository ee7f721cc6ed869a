// Package storage is what the object layer knows about a drive: the Drive
// interface, the types that go in and out of it, the metadata record of an
// object, the rules for names, and the sentinel errors callers branch on.
//
// A Drive is one directory on one disk. storage/local implements it on the
// local file system; the remote drive implements it over the grid with the
// same contract, checked by one conformance suite (storage/drivetest). This
// package imports neither the grid nor any implementation, so both sides of
// the grid can share it.
//
// # On-disk layout
//
// The local drive stores (DESIGN §4; docs/namespace.md has the reasons):
//
//	<drive>/.gridstore.sys/format.json     the drive's format record (storage/local)
//	<drive>/.gridstore.sys/tmp/...         TmpVolume: shards being written; wiped at open
//	<drive>/.gridstore.sys/multipart/...   MultipartVolume: uploads in progress
//	<drive>/.gridstore.sys/staging/...     the drive's own scratch space; wiped at open
//	<drive>/<volume>/<key>%o/.meta          the object's metadata record: every version
//	<drive>/<volume>/<key>%o/.<data-dir>/part.N   shard files of the version with that data dir
//
// <key> is the key's segments (split at "/"), each escaped into a directory
// name (storage/local/keypath.go): "dir/" is "dir/%%o", "a//b" is "a/%/b%o",
// ".." is "%2E.%o". A key's object directory ("%o") holds only its own
// entries, whose names start with "."; the keys that go on past it live
// under the same path without "%o", so "p", "p/" and "p/q" are
// independent objects. Callers name keys as they are (CheckObjectKey); the
// files of a data dir as PartPath and the data dir itself as DataDirPath;
// in the system volumes, paths are the callers' own plain names
// (CheckPath).
//
// # Metadata record
//
// The record is a 14-byte header (magic "GSMT", format version, body
// length, CRC-32C) and an msgp-encoded ObjectMeta: every version of the
// object, newest first by (ModTime, VersionID), each with its erasure
// layout, parts, size, ETag, content type, user and system metadata, data
// dir, delete-marker flag and, for small objects, the shard inline. See
// meta.go for the exact format and DecodeObjectMeta for how damage is
// reported.
//
// # Errors
//
// Every error a Drive returns wraps one of the *Error sentinels of this
// package (errors.Is), with the operation and path as context, and for
// operating system errors the original error too. Each sentinel has a
// stable Code, so that the remote drive can register them all with the
// grid (Sentinels) and errors.Is works across a round trip.
package storage
