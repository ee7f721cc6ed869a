package s3

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gridstore/gridstore/node/object"
	"github.com/gridstore/gridstore/node/s3/limits"
	"github.com/gridstore/gridstore/node/s3/s3err"
	"github.com/gridstore/gridstore/node/s3/s3xml"
)

// storageClassStandard is the storage class listings show. Objects of
// other classes differ only in parity, which a listing does not read.
const storageClassStandard = "STANDARD"

// listKind is which listing a request asks for: they share one query
// parser, one layer listing and one encoder, and differ in their marker
// parameters and in how they describe a page.
type listKind int

const (
	kindV1       listKind = iota // ListObjects
	kindV2                       // ListObjectsV2
	kindVersions                 // ListObjectVersions
)

// listQuery is the query of a ListObjects (v1), ListObjectsV2 or
// ListObjectVersions request.
type listQuery struct {
	prefix, delimiter string
	// encodingType is "" or "url".
	encodingType string
	// marker is v1's marker, v2's start-after or the versions' key-marker.
	marker string
	// versionIDMarker is the versions' version-id-marker: "" or "null".
	versionIDMarker string
	// token is v2's continuation-token.
	token string
	// maxKeys is max-keys as asked (echoed in the answer); the layer is
	// asked for at most limits.MaxListKeys.
	maxKeys int
	// fetchOwner is v2's fetch-owner=true.
	fetchOwner bool
}

// parseListQuery reads the parameters of a listing of the given kind.
func parseListQuery(q url.Values, kind listKind) (listQuery, error) {
	lq := listQuery{prefix: q.Get("prefix"), delimiter: q.Get("delimiter")}
	var err error
	if lq.encodingType, err = s3xml.ParseEncodingType(q.Get("encoding-type")); err != nil {
		return lq, err
	}
	if lq.maxKeys, err = intParam(q, "max-keys", limits.MaxListKeys); err != nil {
		return lq, err
	}
	switch kind {
	case kindV1:
		lq.marker = q.Get("marker")
	case kindV2:
		lq.marker = q.Get("start-after")
		lq.fetchOwner = strings.EqualFold(q.Get("fetch-owner"), "true")
		// An empty token is no token: SDKs that build the query from an
		// unset field send "continuation-token=" on the first page, and S3
		// lists from the start (or from start-after) for them.
		lq.token = q.Get("continuation-token")
	case kindVersions:
		lq.marker = q.Get("key-marker")
		lq.versionIDMarker = q.Get("version-id-marker")
		if lq.versionIDMarker == "" {
			break
		}
		if lq.marker == "" {
			return lq, s3err.Newf(s3err.InvalidArgument, "A version-id marker cannot be specified without a key marker.")
		}
		// Buckets are unversioned: a key's one version is "null", so a
		// listing continued from it goes on with the next key, as one
		// from the key marker alone does.
		if lq.versionIDMarker != nullVersionID {
			return lq, s3err.Newf(s3err.InvalidArgument, "Invalid version id specified: %q (buckets are unversioned; only null exists).", clip(lq.versionIDMarker))
		}
	}
	return lq, nil
}

// intParam reads a non-negative integer query parameter; def if absent.
// S3 answers InvalidArgument for anything else.
func intParam(q url.Values, name string, def int) (int, error) {
	if !q.Has(name) {
		return def, nil
	}
	v := q.Get(name)
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, s3err.Newf(s3err.InvalidArgument, "Provided %s is not a non-negative integer: %q.", name, clip(v))
	}
	return n, nil
}

// options is the layer's view of the query.
func (lq listQuery) options() object.ListOptions {
	return object.ListOptions{
		Prefix: lq.prefix, Delimiter: lq.delimiter, Marker: lq.marker,
		ContinuationToken: lq.token, MaxKeys: min(lq.maxKeys, limits.MaxListKeys),
	}
}

// list runs the listing, or answers max-keys=0 with an empty page: the
// layer takes 0 for the default, and S3 lists nothing, not even to find
// out whether there would be more. The bucket must exist either way.
func (s *Server) list(r *http.Request, rq *request, lq listQuery) (object.ListResult, error) {
	if lq.maxKeys == 0 {
		return object.ListResult{}, s.bucketExists(r, rq)
	}
	res, err := s.cfg.Objects.ListObjects(r.Context(), rq.bucket, lq.options())
	if err != nil {
		return res, fmt.Errorf("list objects: %w", err)
	}
	return res, nil
}

// listObjectsV1 answers ListObjects (version 1).
func (s *Server) listObjectsV1(w http.ResponseWriter, r *http.Request, rq *request) error {
	lq, err := parseListQuery(rq.query, kindV1)
	if err != nil {
		return err
	}
	res, err := s.list(r, rq, lq)
	if err != nil {
		return err
	}
	out := &s3xml.ListBucketResult{
		Name: rq.bucket, Prefix: lq.prefix, Marker: lq.marker, MaxKeys: lq.maxKeys,
		Delimiter: lq.delimiter, IsTruncated: res.IsTruncated, EncodingType: lq.encodingType,
		Contents:       s.listedObjects(res.Objects, true),
		CommonPrefixes: commonPrefixes(res.CommonPrefixes),
	}
	// AWS gives NextMarker only with a delimiter: without one, the last
	// key is the next marker, and clients use it.
	if res.IsTruncated && lq.delimiter != "" {
		out.NextMarker = res.NextMarker
	}
	out.ApplyEncodingType()
	return writeXML(w, out)
}

// listObjectsV2 answers ListObjectsV2 (list-type=2).
func (s *Server) listObjectsV2(w http.ResponseWriter, r *http.Request, rq *request) error {
	lq, err := parseListQuery(rq.query, kindV2)
	if err != nil {
		return err
	}
	res, err := s.list(r, rq, lq)
	if err != nil {
		return err
	}
	out := &s3xml.ListBucketResultV2{
		Name: rq.bucket, Prefix: lq.prefix, MaxKeys: lq.maxKeys, Delimiter: lq.delimiter,
		KeyCount:    len(res.Objects) + len(res.CommonPrefixes),
		IsTruncated: res.IsTruncated, ContinuationToken: lq.token, StartAfter: lq.marker,
		EncodingType:   lq.encodingType,
		Contents:       s.listedObjects(res.Objects, lq.fetchOwner),
		CommonPrefixes: commonPrefixes(res.CommonPrefixes),
	}
	if res.IsTruncated {
		out.NextContinuationToken = res.NextContinuationToken
	}
	out.ApplyEncodingType()
	return writeXML(w, out)
}

// listObjectVersions answers ListObjectVersions (GET ?versions). Buckets
// are unversioned, so this is the object listing with each object shown
// as its one version, "null" and the latest.
func (s *Server) listObjectVersions(w http.ResponseWriter, r *http.Request, rq *request) error {
	lq, err := parseListQuery(rq.query, kindVersions)
	if err != nil {
		return err
	}
	res, err := s.list(r, rq, lq)
	if err != nil {
		return err
	}
	out := &s3xml.ListVersionsResult{
		Name: rq.bucket, Prefix: lq.prefix, KeyMarker: lq.marker, VersionIDMarker: lq.versionIDMarker,
		MaxKeys: lq.maxKeys, Delimiter: lq.delimiter, IsTruncated: res.IsTruncated, EncodingType: lq.encodingType,
		Versions:       s.listedVersions(res.Objects),
		CommonPrefixes: commonPrefixes(res.CommonPrefixes),
	}
	if res.IsTruncated {
		out.NextKeyMarker = res.NextMarker
		// A page that ends on a common prefix has no version to continue
		// from; the key marker alone skips the whole prefix.
		if n := len(res.Objects); n > 0 && res.Objects[n-1].Name == res.NextMarker {
			out.NextVersionIDMarker = nullVersionID
		}
	}
	out.ApplyEncodingType()
	return writeXML(w, out)
}

// nullVersionID is the ID of the one version an object of an unversioned
// bucket has.
const nullVersionID = "null"

// listedVersions describes the objects of a page as their one version.
func (s *Server) listedVersions(objs []object.ObjectInfo) []s3xml.ObjectVersion {
	if len(objs) == 0 {
		return nil
	}
	owner := s.owner() // shared by every entry: written, never changed
	out := make([]s3xml.ObjectVersion, len(objs))
	for i, o := range objs {
		out[i] = s3xml.ObjectVersion{
			Key: o.Name, VersionID: nullVersionID, IsLatest: true, LastModified: s3xml.Time(o.ModTime),
			ETag: s3xml.QuoteETag(o.ETag), Size: o.Size, Owner: owner, StorageClass: storageClassStandard,
		}
	}
	return out
}

// listedObjects describes the objects of a page as S3 lists them.
func (s *Server) listedObjects(objs []object.ObjectInfo, withOwner bool) []s3xml.Object {
	if len(objs) == 0 {
		return nil
	}
	var owner *s3xml.Owner
	if withOwner {
		owner = s.owner() // shared by every entry: written, never changed
	}
	out := make([]s3xml.Object, len(objs))
	for i, o := range objs {
		out[i] = s3xml.Object{
			Key: o.Name, LastModified: s3xml.Time(o.ModTime), ETag: s3xml.QuoteETag(o.ETag),
			Size: o.Size, Owner: owner, StorageClass: storageClassStandard,
		}
	}
	return out
}

func commonPrefixes(prefixes []string) []s3xml.CommonPrefix {
	if len(prefixes) == 0 {
		return nil
	}
	out := make([]s3xml.CommonPrefix, len(prefixes))
	for i, p := range prefixes {
		out[i].Prefix = p
	}
	return out
}
