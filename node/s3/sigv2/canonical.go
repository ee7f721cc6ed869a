package sigv2

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gridstore/gridstore/node/s3/s3err"
)

// subresources are the query parameters that belong to the canonicalized
// resource, in the sorted order they are written in (see the package
// documentation for where the list comes from). It must stay sorted.
var subresources = []string{
	"acl",
	"cors",
	"delete",
	"lifecycle",
	"location",
	"logging",
	"notification",
	"partNumber",
	"policy",
	"replication",
	"requestPayment",
	"response-cache-control",
	"response-content-disposition",
	"response-content-encoding",
	"response-content-language",
	"response-content-type",
	"response-expires",
	"select",
	"select-type",
	"tagging",
	"torrent",
	"uploadId",
	"uploads",
	"versionId",
	"versioning",
	"versions",
	"website",
}

// requestPath is the path of r as the client sent it on the request line:
// SigV2 signs it encoded as it was sent, and decoding and encoding again
// would not always give back the client's spelling ("%c3" against "%C3",
// a '{' left raw).
func requestPath(r *http.Request) string {
	if p := r.RequestURI; strings.HasPrefix(p, "/") {
		if i := strings.IndexByte(p, '?'); i >= 0 {
			p = p[:i]
		}
		return p
	}
	// A request built in-process, or an absolute-form request line.
	if p := r.URL.EscapedPath(); p != "" {
		return p
	}
	return "/"
}

// appendResource appends the canonicalized resource: "/" + hostBucket when
// the bucket comes from the host, the path as sent, then the sub-resources
// present, sorted, "name" or "name=value" with the value decoded.
func appendResource(b []byte, r *http.Request, hostBucket string, q url.Values) ([]byte, error) {
	if hostBucket != "" {
		b = append(b, '/')
		b = append(b, hostBucket...)
	}
	b = append(b, requestPath(r)...)
	sep := byte('?')
	for _, name := range subresources {
		vs, ok := q[name]
		if !ok {
			continue
		}
		if len(vs) > 1 {
			// Which of them would the operation use? Signing one and
			// serving another must not be possible.
			return b, s3err.Newf(s3err.InvalidArgument, "The query parameter %s is given %d times", name, len(vs))
		}
		b = append(b, sep)
		sep = '&'
		b = append(b, name...)
		if vs[0] != "" {
			b = append(b, '=')
			b = append(b, vs[0]...)
		}
	}
	return b, nil
}

// amzHeader is one x-amz-* header: lower-case name and values.
type amzHeader struct {
	name, key string
	values    []string
}

// appendAmzHeaders appends CanonicalizedAmzHeaders: each x-amz-* header as
// "name:value,value\n", the name lower case, the values trimmed and in the
// order received, sorted by name.
func appendAmzHeaders(b []byte, h http.Header) []byte {
	var hs []amzHeader
	for k, vs := range h {
		if len(k) >= 6 && strings.EqualFold(k[:6], "x-amz-") {
			hs = append(hs, amzHeader{strings.ToLower(k), k, vs})
		}
	}
	// By name, then by the key as stored: a hand-built Header may hold one
	// name under two spellings, merged below in a fixed order.
	slices.SortFunc(hs, func(x, y amzHeader) int {
		if c := strings.Compare(x.name, y.name); c != 0 {
			return c
		}
		return strings.Compare(x.key, y.key)
	})
	for i, hd := range hs {
		if i == 0 || hs[i-1].name != hd.name {
			if i > 0 {
				b = append(b, '\n')
			}
			b = append(b, hd.name...)
			b = append(b, ':')
		} else {
			b = append(b, ',')
		}
		for j, v := range hd.values {
			if j > 0 {
				b = append(b, ',')
			}
			b = append(b, strings.Trim(v, " \t")...)
		}
	}
	if len(hs) > 0 {
		b = append(b, '\n')
	}
	return b
}

// appendStringToSign appends the string to sign of r; dateLine is the Date
// header, "" when x-amz-date is sent, or a presigned URL's Expires.
func appendStringToSign(b []byte, r *http.Request, dateLine, hostBucket string, q url.Values) ([]byte, error) {
	md5, err := singleHeader(r, headerContentMD5)
	if err != nil {
		return b, err
	}
	ctype, err := singleHeader(r, headerContentType)
	if err != nil {
		return b, err
	}
	b = append(b, r.Method...)
	b = append(b, '\n')
	b = append(b, md5...)
	b = append(b, '\n')
	b = append(b, ctype...)
	b = append(b, '\n')
	b = append(b, dateLine...)
	b = append(b, '\n')
	b = appendAmzHeaders(b, r.Header)
	return appendResource(b, r, hostBucket, q)
}

// signature is base64(HMAC-SHA1(secret, stringToSign)).
func signature(secret string, stringToSign []byte) [28]byte {
	m := hmac.New(sha1.New, []byte(secret))
	m.Write(stringToSign)
	var sum [sha1.Size]byte
	var out [28]byte
	base64.StdEncoding.Encode(out[:], m.Sum(sum[:0]))
	return out
}

// singleHeader returns the one value of a header, "" if absent; a header
// given twice is refused rather than guessed at.
func singleHeader(r *http.Request, name string) (string, error) {
	vs := r.Header.Values(name)
	switch len(vs) {
	case 0:
		return "", nil
	case 1:
		return vs[0], nil
	}
	return "", s3err.Newf(s3err.InvalidArgument, "the header %s is given %d times", name, len(vs))
}
