package s3xml

import (
	"encoding/xml"
	"errors"
	"io"
	"strconv"
	"strings"

	"github.com/gridstore/gridstore/node/s3/s3err"
)

// Limits of the request decoders.
const (
	// MaxDeleteObjects is the most objects one DeleteObjects may name.
	MaxDeleteObjects = 1000
	// MaxParts is the most parts of a multipart upload (and part numbers
	// run from 1 to MaxParts).
	MaxParts = 10000
	// MaxDeleteBodySize bounds a DeleteObjects body: 1000 keys of up to
	// 1024 bytes and their markup, with room for escaping.
	MaxDeleteBodySize = 2 << 20
	// MaxCompleteBodySize bounds a CompleteMultipartUpload body: 10000
	// parts of about 170 bytes each with a SHA-256 checksum, and
	// indentation.
	MaxCompleteBodySize = 4 << 20
	// MaxConfigBodySize bounds small configuration bodies
	// (CreateBucketConfiguration, AccessControlPolicy).
	MaxConfigBodySize = 64 << 10
	// MaxGrants is the most grants an access control list may hold, as
	// S3.
	MaxGrants = 100
)

// errTooLarge marks a body that went past its limit.
var errTooLarge = errors.New("s3xml: body over its size limit")

// limitReader fails with errTooLarge once more than n bytes were offered.
type limitReader struct {
	r io.Reader
	n int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n < 0 {
		return 0, errTooLarge
	}
	if int64(len(p)) > l.n+1 {
		p = p[:l.n+1]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	if l.n < 0 {
		return n, errTooLarge
	}
	return n, err
}

// decoder reads one document of a known root element.
type decoder struct {
	d     *xml.Decoder
	root  string
	limit int64
}

func newDecoder(r io.Reader, limit int64, root string) *decoder {
	d := xml.NewDecoder(&limitReader{r: r, n: limit})
	d.Strict = true
	// Only UTF-8 (and its US-ASCII subset): a declared other encoding
	// has no reader and fails as MalformedXML.
	return &decoder{d: d, root: root, limit: limit}
}

// fail turns a decoding error into the S3 error the client gets.
func (dec *decoder) fail(err error) error {
	var e *s3err.Error
	switch {
	case errors.As(err, &e):
		return err
	case errors.Is(err, errTooLarge):
		return s3err.Newf(s3err.MaxMessageLengthExceeded, "The %s document is larger than %d bytes.", dec.root, dec.limit).WithCause(err)
	}
	return s3err.Wrap(s3err.MalformedXML, err)
}

func malformed(format string, args ...any) error {
	return s3err.Newf(s3err.MalformedXML, "The XML you provided was not well-formed or did not validate against our published schema: "+format, args...)
}

// errEmpty is returned by start for a body without any element.
var errEmpty = errors.New("s3xml: empty body")

// start reads up to the root element, which must be dec.root in S3's
// namespace or none. Only whitespace, comments and processing instructions
// may come before it.
func (dec *decoder) start() error {
	for {
		tok, err := dec.d.Token()
		if err == io.EOF {
			return errEmpty
		}
		if err != nil {
			return dec.fail(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Local != dec.root || (t.Name.Space != "" && t.Name.Space != Namespace) {
				return malformed("the root element is %s, not %s", t.Name.Local, dec.root)
			}
			return nil
		case xml.CharData:
			if strings.TrimSpace(string(t)) != "" {
				return malformed("text before the root element")
			}
		case xml.Directive:
			return malformed("DTDs and directives are not accepted")
		}
	}
}

// children calls f for each child element of the root, then checks that
// nothing but whitespace, comments and processing instructions follows the
// root. f must consume the element (DecodeElement or Skip).
func (dec *decoder) children(f func(xml.StartElement) error) error {
	for {
		tok, err := dec.d.Token()
		if err != nil {
			return dec.fail(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if err := f(t); err != nil {
				return dec.fail(err)
			}
		case xml.EndElement:
			return dec.end()
		case xml.CharData:
			if strings.TrimSpace(string(t)) != "" {
				return malformed("text in %s", dec.root)
			}
		case xml.Directive:
			return malformed("DTDs and directives are not accepted")
		}
	}
}

func (dec *decoder) end() error {
	for {
		tok, err := dec.d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return dec.fail(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return malformed("a second root element %s", t.Name.Local)
		case xml.CharData:
			if strings.TrimSpace(string(t)) != "" {
				return malformed("text after the root element")
			}
		case xml.Directive:
			return malformed("DTDs and directives are not accepted")
		}
	}
}

// DecodeCreateBucketConfiguration reads the optional body of CreateBucket:
// an empty body gives a zero configuration.
func DecodeCreateBucketConfiguration(r io.Reader) (*CreateBucketConfiguration, error) {
	dec := newDecoder(r, MaxConfigBodySize, "CreateBucketConfiguration")
	var c CreateBucketConfiguration
	if err := dec.start(); err != nil {
		if err == errEmpty {
			return &c, nil
		}
		return nil, err
	}
	err := dec.children(func(t xml.StartElement) error {
		if t.Name.Local == "LocationConstraint" {
			return dec.d.DecodeElement(&c.LocationConstraint, &t)
		}
		return dec.d.Skip()
	})
	if err != nil {
		return nil, err
	}
	c.LocationConstraint = strings.TrimSpace(c.LocationConstraint)
	return &c, nil
}

// DecodeAccessControlPolicy reads the body of PutBucketAcl or
// PutObjectAcl: at most one Owner and one AccessControlList of at most
// MaxGrants grants. An empty body gives nil (the ACL may come in the
// x-amz-acl header instead). Whether the policy can be honoured is the
// handler's to judge.
func DecodeAccessControlPolicy(r io.Reader) (*AccessControlPolicy, error) {
	dec := newDecoder(r, MaxConfigBodySize, "AccessControlPolicy")
	if err := dec.start(); err != nil {
		if err == errEmpty {
			return nil, nil
		}
		return nil, err
	}
	var p AccessControlPolicy
	hasOwner, hasACL := false, false
	err := dec.children(func(t xml.StartElement) error {
		switch t.Name.Local {
		case "Owner":
			if hasOwner {
				return malformed("Owner is given twice")
			}
			hasOwner = true
			p.Owner = &Owner{}
			return dec.d.DecodeElement(p.Owner, &t)
		case "AccessControlList":
			if hasACL {
				return malformed("AccessControlList is given twice")
			}
			hasACL = true
			if err := dec.d.DecodeElement(&p.AccessControlList, &t); err != nil {
				return err
			}
			if n := len(p.AccessControlList.Grants); n > MaxGrants {
				return malformed("%d grants, more than %d", n, MaxGrants)
			}
			return nil
		}
		return dec.d.Skip()
	})
	if err != nil {
		return nil, err
	}
	if !hasACL {
		return nil, malformed("no AccessControlList")
	}
	return &p, nil
}

// DecodeDelete reads a DeleteObjects body: 1 to MaxDeleteObjects objects,
// each with a Key. Keys are returned as sent; their validity is the
// handler's to judge, object by object.
func DecodeDelete(r io.Reader) (*Delete, error) {
	dec := newDecoder(r, MaxDeleteBodySize, "Delete")
	if err := dec.start(); err != nil {
		if err == errEmpty {
			return nil, malformed("the body is empty")
		}
		return nil, err
	}
	var del Delete
	quiet := false
	err := dec.children(func(t xml.StartElement) error {
		switch t.Name.Local {
		case "Quiet":
			if quiet {
				return malformed("Quiet is given twice")
			}
			quiet = true
			var s string
			if err := dec.d.DecodeElement(&s, &t); err != nil {
				return err
			}
			b, err := strconv.ParseBool(strings.TrimSpace(s))
			if err != nil {
				return malformed("Quiet is %q, not a boolean", clip(s))
			}
			del.Quiet = b
			return nil
		case "Object":
			if len(del.Objects) == MaxDeleteObjects {
				return malformed("more than %d objects", MaxDeleteObjects)
			}
			var o ObjectIdentifier
			if err := dec.d.DecodeElement(&o, &t); err != nil {
				return err
			}
			if o.Key == "" {
				return malformed("an Object without a Key")
			}
			del.Objects = append(del.Objects, o)
			return nil
		}
		return dec.d.Skip()
	})
	if err != nil {
		return nil, err
	}
	if len(del.Objects) == 0 {
		return nil, malformed("no Object to delete")
	}
	return &del, nil
}

// DecodeCompleteMultipartUpload reads a CompleteMultipartUpload body: 1 to
// MaxParts parts, part numbers 1 to MaxParts (InvalidArgument) in strictly
// ascending order (InvalidPartOrder), each with an ETag.
func DecodeCompleteMultipartUpload(r io.Reader) (*CompleteMultipartUpload, error) {
	dec := newDecoder(r, MaxCompleteBodySize, "CompleteMultipartUpload")
	if err := dec.start(); err != nil {
		if err == errEmpty {
			return nil, malformed("the body is empty")
		}
		return nil, err
	}
	var c CompleteMultipartUpload
	err := dec.children(func(t xml.StartElement) error {
		if t.Name.Local != "Part" {
			return dec.d.Skip()
		}
		if len(c.Parts) == MaxParts {
			return malformed("more than %d parts", MaxParts)
		}
		var p CompletedPart
		if err := dec.d.DecodeElement(&p, &t); err != nil {
			return err
		}
		switch {
		case p.PartNumber < 1 || p.PartNumber > MaxParts:
			return s3err.Newf(s3err.InvalidArgument, "Part number must be an integer between 1 and %d, inclusive; got %d", MaxParts, p.PartNumber)
		case len(c.Parts) > 0 && p.PartNumber <= c.Parts[len(c.Parts)-1].PartNumber:
			return s3err.New(s3err.InvalidPartOrder)
		case strings.TrimSpace(p.ETag) == "":
			return malformed("part %d has no ETag", p.PartNumber)
		}
		c.Parts = append(c.Parts, p)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(c.Parts) == 0 {
		return nil, malformed("no Part to complete the upload with")
	}
	return &c, nil
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}
