package s3xml

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"net/http"
	"strconv"

	"github.com/gridstore/gridstore/node/s3/s3err"
)

// Marshal returns v as an XML document with its declaration.
func Marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	if err := xml.NewEncoder(&b).Encode(v); err != nil {
		return nil, fmt.Errorf("s3xml: marshal %T: %w", v, err)
	}
	return b.Bytes(), nil
}

// Write sends v as the response body with status, Content-Type
// application/xml and its Content-Length. The document is built before the
// status is sent, so that an encoding failure can still be answered with
// an error (it is returned, nothing is written).
func Write(w http.ResponseWriter, status int, v any) error {
	body, err := Marshal(v)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "application/xml")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, err = w.Write(body)
	return err
}

// EncodingTypeURL is the only encoding-type S3 knows.
const EncodingTypeURL = "url"

// ParseEncodingType validates the encoding-type request parameter: "" or
// "url" (in any case); anything else is InvalidArgument.
func ParseEncodingType(s string) (string, error) {
	switch {
	case s == "":
		return "", nil
	case len(s) == 3 && (s[0]|0x20) == 'u' && (s[1]|0x20) == 'r' && (s[2]|0x20) == 'l':
		return EncodingTypeURL, nil
	}
	return "", s3err.Newf(s3err.InvalidArgument, "Invalid Encoding Method specified in Request")
}

// EncodeKey encodes a key (prefix, delimiter, marker) for a listing asked
// for with encoding-type=url, as S3 does: every byte but the unreserved
// characters of RFC 3986 (A-Z a-z 0-9 - _ . ~) and '/' as %XX, a space
// included. A space is never '+': clients decode with a path unescape as
// often as with a query one, and only %20 means a space to both. It lets a
// listing carry keys that XML 1.0 cannot hold (control characters).
func EncodeKey(s string) string {
	const hex = "0123456789ABCDEF"
	n := 0
	for i := 0; i < len(s); i++ {
		if !keepInKey(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		if c := s[i]; keepInKey(c) {
			b = append(b, c)
		} else {
			b = append(b, '%', hex[c>>4], hex[c&15])
		}
	}
	return string(b)
}

func keepInKey(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '~' || c == '/'
}

// ApplyEncodingType encodes the keys, prefixes, delimiter and markers of
// the result with EncodeKey if EncodingType is "url"; otherwise it does
// nothing. Call it once, just before writing.
func (l *ListBucketResult) ApplyEncodingType() {
	if l.EncodingType != EncodingTypeURL {
		return
	}
	for _, s := range []*string{&l.Prefix, &l.Marker, &l.NextMarker, &l.Delimiter} {
		*s = EncodeKey(*s)
	}
	encodeObjects(l.Contents, l.CommonPrefixes)
}

// ApplyEncodingType is ListBucketResult's, for version 2: continuation
// tokens are opaque and stay as they are.
func (l *ListBucketResultV2) ApplyEncodingType() {
	if l.EncodingType != EncodingTypeURL {
		return
	}
	for _, s := range []*string{&l.Prefix, &l.StartAfter, &l.Delimiter} {
		*s = EncodeKey(*s)
	}
	encodeObjects(l.Contents, l.CommonPrefixes)
}

// ApplyEncodingType is ListBucketResult's, for multipart uploads: upload
// ID markers are opaque and stay as they are.
func (l *ListMultipartUploadsResult) ApplyEncodingType() {
	if l.EncodingType != EncodingTypeURL {
		return
	}
	for _, s := range []*string{&l.Prefix, &l.KeyMarker, &l.NextKeyMarker, &l.Delimiter} {
		*s = EncodeKey(*s)
	}
	for i := range l.Uploads {
		l.Uploads[i].Key = EncodeKey(l.Uploads[i].Key)
	}
	encodeObjects(nil, l.CommonPrefixes)
}

// ApplyEncodingType is ListBucketResult's, for object versions: version
// ID markers are opaque and stay as they are.
func (l *ListVersionsResult) ApplyEncodingType() {
	if l.EncodingType != EncodingTypeURL {
		return
	}
	for _, s := range []*string{&l.Prefix, &l.KeyMarker, &l.NextKeyMarker, &l.Delimiter} {
		*s = EncodeKey(*s)
	}
	for i := range l.Versions {
		l.Versions[i].Key = EncodeKey(l.Versions[i].Key)
	}
	encodeObjects(nil, l.CommonPrefixes)
}

func encodeObjects(objects []Object, prefixes []CommonPrefix) {
	for i := range objects {
		objects[i].Key = EncodeKey(objects[i].Key)
	}
	for i := range prefixes {
		prefixes[i].Prefix = EncodeKey(prefixes[i].Prefix)
	}
}
