package s3xml

import (
	"encoding/xml"
	"errors"
	"fmt"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gridstore/gridstore/node/s3/s3err"
)

func wantCode(t *testing.T, err error, code s3err.Code) {
	t.Helper()
	if code == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	var e *s3err.Error
	if !errors.Is(err, code) || !errors.As(err, &e) {
		t.Fatalf("error %v, want %s", err, code)
	}
}

func deleteDoc(n int) string {
	var b strings.Builder
	b.WriteString("<Delete>")
	for i := range n {
		fmt.Fprintf(&b, "<Object><Key>k%d</Key></Object>", i)
	}
	b.WriteString("</Delete>")
	return b.String()
}

func TestDecodeDelete(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       s3err.Code
		objects    int
		quiet      bool
	}{
		{"aws example", `<?xml version="1.0" encoding="UTF-8"?>
<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Quiet>true</Quiet>
  <Object><Key>sample1.txt</Key></Object>
  <Object><Key>sample2.txt</Key><VersionId>OYcLXagmS.WaD..oyH4KRguB95_YhLs7</VersionId></Object>
</Delete>`, "", 2, true},
		{"no namespace, comment", "<!-- hi --><Delete><Object><Key>a &amp; b</Key></Object></Delete>\n", "", 1, false},
		{"quiet false", "<Delete><Quiet> false </Quiet><Object><Key>a</Key></Object></Delete>", "", 1, false},
		{"unknown element skipped", "<Delete><Foo><Bar/></Foo><Object><Key>a</Key><ETag>x</ETag></Object></Delete>", "", 1, false},
		{"1000 objects", deleteDoc(1000), "", 1000, false},
		{"1001 objects", deleteDoc(1001), s3err.MalformedXML, 0, false},
		{"no objects", "<Delete><Quiet>true</Quiet></Delete>", s3err.MalformedXML, 0, false},
		{"empty body", "", s3err.MalformedXML, 0, false},
		{"whitespace only", " \n ", s3err.MalformedXML, 0, false},
		{"garbage", "this is not xml", s3err.MalformedXML, 0, false},
		{"truncated", "<Delete><Object><Key>a</Key>", s3err.MalformedXML, 0, false},
		{"mismatched tags", "<Delete><Object><Key>a</Object></Key></Delete>", s3err.MalformedXML, 0, false},
		{"wrong root", "<Remove><Object><Key>a</Key></Object></Remove>", s3err.MalformedXML, 0, false},
		{"other namespace", `<Delete xmlns="urn:other"><Object><Key>a</Key></Object></Delete>`, s3err.MalformedXML, 0, false},
		{"second root", "<Delete><Object><Key>a</Key></Object></Delete><Delete/>", s3err.MalformedXML, 0, false},
		{"text after root", "<Delete><Object><Key>a</Key></Object></Delete>junk", s3err.MalformedXML, 0, false},
		{"text in root", "<Delete>junk<Object><Key>a</Key></Object></Delete>", s3err.MalformedXML, 0, false},
		{"empty key", "<Delete><Object><Key></Key></Object></Delete>", s3err.MalformedXML, 0, false},
		{"bad quiet", "<Delete><Quiet>maybe</Quiet><Object><Key>a</Key></Object></Delete>", s3err.MalformedXML, 0, false},
		{"quiet twice", "<Delete><Quiet>true</Quiet><Quiet>true</Quiet><Object><Key>a</Key></Object></Delete>", s3err.MalformedXML, 0, false},
		{"DTD", `<!DOCTYPE d [<!ENTITY x "y">]><Delete><Object><Key>&x;</Key></Object></Delete>`, s3err.MalformedXML, 0, false},
		{"unknown entity", "<Delete><Object><Key>&x;</Key></Object></Delete>", s3err.MalformedXML, 0, false},
		{"latin-1", `<?xml version="1.0" encoding="ISO-8859-1"?><Delete><Object><Key>a</Key></Object></Delete>`, s3err.MalformedXML, 0, false},
		{"too large", "<Delete>" + strings.Repeat(" ", MaxDeleteBodySize) + "</Delete>", s3err.MaxMessageLengthExceeded, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := DecodeDelete(strings.NewReader(tc.body))
			wantCode(t, err, tc.want)
			if err == nil && (len(d.Objects) != tc.objects || d.Quiet != tc.quiet) {
				t.Fatalf("decoded %+v", d)
			}
		})
	}
	d, _ := DecodeDelete(strings.NewReader("<Delete><Object><Key>a &amp; b</Key><VersionId>v1</VersionId></Object></Delete>"))
	if d.Objects[0] != (ObjectIdentifier{Key: "a & b", VersionID: "v1"}) {
		t.Fatalf("object %+v", d.Objects[0])
	}
}

func completeDoc(numbers ...int) string {
	var b strings.Builder
	b.WriteString("<CompleteMultipartUpload>")
	for _, n := range numbers {
		fmt.Fprintf(&b, `<Part><PartNumber>%d</PartNumber><ETag>"etag%d"</ETag></Part>`, n, n)
	}
	b.WriteString("</CompleteMultipartUpload>")
	return b.String()
}

func seq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i + 1
	}
	return out
}

func TestDecodeCompleteMultipartUpload(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       s3err.Code
		parts      int
	}{
		{"aws example", `<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Part><PartNumber>1</PartNumber><ETag>"a54357aff0632cce46d942af68356b38"</ETag></Part>
  <Part><PartNumber>2</PartNumber><ETag>"0c78aef83f66abc1fa1e8477f296d394"</ETag><ChecksumCRC32>AAAAAA==</ChecksumCRC32></Part>
  <Part><PartNumber>3</PartNumber><ETag>"acbd18db4cc2f85cedef654fccc4a4d8"</ETag></Part>
</CompleteMultipartUpload>`, "", 3},
		{"gaps allowed", completeDoc(1, 5, 10000), "", 3},
		{"10000 parts", completeDoc(seq(10000)...), "", 10000},
		{"10001 parts", completeDoc(append(seq(10000), 10001)...), s3err.MalformedXML, 0},
		{"descending", completeDoc(2, 1), s3err.InvalidPartOrder, 0},
		{"duplicate", completeDoc(1, 1), s3err.InvalidPartOrder, 0},
		{"part 0", completeDoc(0), s3err.InvalidArgument, 0},
		{"part 10001", completeDoc(10001), s3err.InvalidArgument, 0},
		{"negative part", completeDoc(-1), s3err.InvalidArgument, 0},
		{"no parts", "<CompleteMultipartUpload/>", s3err.MalformedXML, 0},
		{"non-numeric part", "<CompleteMultipartUpload><Part><PartNumber>one</PartNumber><ETag>x</ETag></Part></CompleteMultipartUpload>", s3err.MalformedXML, 0},
		{"huge part number", "<CompleteMultipartUpload><Part><PartNumber>99999999999999999999</PartNumber><ETag>x</ETag></Part></CompleteMultipartUpload>", s3err.MalformedXML, 0},
		{"no etag", "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>", s3err.MalformedXML, 0},
		{"empty", "", s3err.MalformedXML, 0},
		{"garbage", "\x00\x01\x02", s3err.MalformedXML, 0},
		{"too large", "<CompleteMultipartUpload>" + strings.Repeat("<!---->", MaxCompleteBodySize/7+1) + "</CompleteMultipartUpload>", s3err.MaxMessageLengthExceeded, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := DecodeCompleteMultipartUpload(strings.NewReader(tc.body))
			wantCode(t, err, tc.want)
			if err == nil && len(c.Parts) != tc.parts {
				t.Fatalf("%d parts", len(c.Parts))
			}
		})
	}
	c, _ := DecodeCompleteMultipartUpload(strings.NewReader(completeDoc(7)))
	if c.Parts[0].PartNumber != 7 || UnquoteETag(c.Parts[0].ETag) != "etag7" {
		t.Fatalf("part %+v", c.Parts[0])
	}
}

func TestDecodeCreateBucketConfiguration(t *testing.T) {
	for _, tc := range []struct {
		name, body, location string
		want                 s3err.Code
	}{
		{"empty body", "", "", ""},
		{"aws example", `<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>`, "eu-west-1", ""},
		{"no constraint", "<CreateBucketConfiguration/>", "", ""},
		{"unknown elements", "<CreateBucketConfiguration><Bucket><Type>Directory</Type></Bucket><LocationConstraint> us-east-1 </LocationConstraint></CreateBucketConfiguration>", "us-east-1", ""},
		{"garbage", "<<<", "", s3err.MalformedXML},
		{"wrong root", "<Delete/>", "", s3err.MalformedXML},
		{"too large", "<CreateBucketConfiguration>" + strings.Repeat(" ", MaxConfigBodySize) + "</CreateBucketConfiguration>", "", s3err.MaxMessageLengthExceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := DecodeCreateBucketConfiguration(strings.NewReader(tc.body))
			wantCode(t, err, tc.want)
			if err == nil && c.LocationConstraint != tc.location {
				t.Fatalf("location %q", c.LocationConstraint)
			}
		})
	}
}

// aclDoc is an AccessControlPolicy with one grant to a grantee of type
// typ with ID id, as aws-sdk-go-v2 writes it.
func aclDoc(typ, id, permission string) string {
	return `<AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Owner><ID>` + id + `</ID></Owner><AccessControlList><Grant>` +
		`<Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="` + typ + `"><ID>` + id + `</ID></Grantee>` +
		`<Permission>` + permission + `</Permission></Grant></AccessControlList></AccessControlPolicy>`
}

func TestDecodeAccessControlPolicy(t *testing.T) {
	grants := func(n int) string {
		return `<AccessControlPolicy><AccessControlList>` + strings.Repeat(`<Grant><Grantee><ID>x</ID></Grantee><Permission>READ</Permission></Grant>`, n) +
			`</AccessControlList></AccessControlPolicy>`
	}
	for _, tc := range []struct {
		name, body string
		want       s3err.Code
		grants     int
	}{
		{"sdk private", aclDoc("CanonicalUser", "owner", "FULL_CONTROL"), "", 1},
		{"aws example", `<?xml version="1.0" encoding="UTF-8"?>
<AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Owner><ID>852b113e7a2f25102679df27bb0ae12b3f85be6</ID><DisplayName>CustomersName@amazon.com</DisplayName></Owner>
  <AccessControlList>
    <Grant>
      <Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser">
        <ID>852b113e7a2f25102679df27bb0ae12b3f85be6</ID><DisplayName>CustomersName@amazon.com</DisplayName>
      </Grantee>
      <Permission>FULL_CONTROL</Permission>
    </Grant>
    <Grant>
      <Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Group"><URI>http://acs.amazonaws.com/groups/global/AllUsers</URI></Grantee>
      <Permission>READ</Permission>
    </Grant>
  </AccessControlList>
</AccessControlPolicy>`, "", 2},
		{"no grants", `<AccessControlPolicy><AccessControlList/></AccessControlPolicy>`, "", 0},
		{"100 grants", grants(100), "", 100},
		{"101 grants", grants(101), s3err.MalformedXML, 0},
		{"no list", `<AccessControlPolicy><Owner><ID>o</ID></Owner></AccessControlPolicy>`, s3err.MalformedXML, 0},
		{"two owners", `<AccessControlPolicy><Owner><ID>a</ID></Owner><Owner><ID>b</ID></Owner><AccessControlList/></AccessControlPolicy>`, s3err.MalformedXML, 0},
		{"two lists", `<AccessControlPolicy><AccessControlList/><AccessControlList/></AccessControlPolicy>`, s3err.MalformedXML, 0},
		{"wrong root", "<Delete/>", s3err.MalformedXML, 0},
		{"unclosed", "<AccessControlPolicy><AccessControlList>", s3err.MalformedXML, 0},
		{"too large", "<AccessControlPolicy>" + strings.Repeat(" ", MaxConfigBodySize) + "</AccessControlPolicy>", s3err.MaxMessageLengthExceeded, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := DecodeAccessControlPolicy(strings.NewReader(tc.body))
			wantCode(t, err, tc.want)
			if err == nil && len(p.AccessControlList.Grants) != tc.grants {
				t.Fatalf("%d grants", len(p.AccessControlList.Grants))
			}
		})
	}
	if p, err := DecodeAccessControlPolicy(strings.NewReader(" \n<!-- nothing -->")); p != nil || err != nil {
		t.Fatalf("empty body: %+v, %v", p, err)
	}
	p, err := DecodeAccessControlPolicy(strings.NewReader(aclDoc("CanonicalUser", "me", "FULL_CONTROL")))
	if err != nil {
		t.Fatal(err)
	}
	want := Grant{Grantee: Grantee{Type: "CanonicalUser", ID: "me"}, Permission: "FULL_CONTROL"}
	if p.Owner == nil || p.Owner.ID != "me" || p.AccessControlList.Grants[0] != want {
		t.Fatalf("decoded %+v", p)
	}
	// The type under an xsi prefix nobody declared is still the type; in
	// another namespace it is not.
	for body, typ := range map[string]string{
		`<AccessControlPolicy><AccessControlList><Grant><Grantee xsi:type="Group"/></Grant></AccessControlList></AccessControlPolicy>`:                   "Group",
		`<AccessControlPolicy><AccessControlList><Grant><Grantee xmlns:o="urn:other" o:type="Group"/></Grant></AccessControlList></AccessControlPolicy>`: "",
	} {
		p, err := DecodeAccessControlPolicy(strings.NewReader(body))
		if err != nil || p.AccessControlList.Grants[0].Grantee.Type != typ {
			t.Fatalf("%s: %+v, %v", body, p, err)
		}
	}
}

var testTime = Time(time.Date(2009, 10, 12, 17, 50, 30, 123456789, time.FixedZone("x", 3600)))

func TestEncodeGolden(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    any
		want string
	}{
		{"ListBucketResult", &ListBucketResult{Name: "bucket", MaxKeys: 1000, Contents: []Object{
			{Key: "my-image.jpg", LastModified: testTime, ETag: QuoteETag("fba9dede5f27731c9771645a39863328"), Size: 434234, StorageClass: "STANDARD"}}},
			`<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>bucket</Name><Prefix></Prefix><Marker></Marker>` +
				`<MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated><Contents><Key>my-image.jpg</Key>` +
				`<LastModified>2009-10-12T16:50:30.123Z</LastModified><ETag>&#34;fba9dede5f27731c9771645a39863328&#34;</ETag>` +
				`<Size>434234</Size><StorageClass>STANDARD</StorageClass></Contents></ListBucketResult>`},
		{"ListBucketResultV2", &ListBucketResultV2{Name: "b", Prefix: "p/", KeyCount: 1, MaxKeys: 2, Delimiter: "/", IsTruncated: true,
			NextContinuationToken: "tok", CommonPrefixes: []CommonPrefix{{"p/q/"}}},
			`<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Prefix>p/</Prefix><KeyCount>1</KeyCount>` +
				`<MaxKeys>2</MaxKeys><Delimiter>/</Delimiter><IsTruncated>true</IsTruncated><NextContinuationToken>tok</NextContinuationToken>` +
				`<CommonPrefixes><Prefix>p/q/</Prefix></CommonPrefixes></ListBucketResult>`},
		{"ListAllMyBucketsResult empty", &ListAllMyBucketsResult{Owner: &Owner{ID: "id"}},
			`<ListAllMyBucketsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Owner><ID>id</ID></Owner><Buckets></Buckets></ListAllMyBucketsResult>`},
		{"ListVersionsResult", &ListVersionsResult{Name: "b", MaxKeys: 1, IsTruncated: true, NextKeyMarker: "k", NextVersionIDMarker: "null",
			Versions: []ObjectVersion{{Key: "k", VersionID: "null", IsLatest: true, LastModified: testTime, ETag: `"e"`, Size: 3,
				Owner: &Owner{ID: "o", DisplayName: "o"}, StorageClass: "STANDARD"}}},
			`<ListVersionsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Prefix></Prefix><KeyMarker></KeyMarker>` +
				`<VersionIdMarker></VersionIdMarker><NextKeyMarker>k</NextKeyMarker><NextVersionIdMarker>null</NextVersionIdMarker>` +
				`<MaxKeys>1</MaxKeys><IsTruncated>true</IsTruncated><Version><Key>k</Key><VersionId>null</VersionId><IsLatest>true</IsLatest>` +
				`<LastModified>2009-10-12T16:50:30.123Z</LastModified><ETag>&#34;e&#34;</ETag><Size>3</Size>` +
				`<Owner><ID>o</ID><DisplayName>o</DisplayName></Owner><StorageClass>STANDARD</StorageClass></Version></ListVersionsResult>`},
		{"VersioningConfiguration", &VersioningConfiguration{},
			`<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"></VersioningConfiguration>`},
		{"AccessControlPolicy", &AccessControlPolicy{Owner: &Owner{ID: "o", DisplayName: "o"}, AccessControlList: AccessControlList{Grants: []Grant{
			{Grantee: Grantee{Type: "CanonicalUser", ID: "o", DisplayName: "o"}, Permission: "FULL_CONTROL"}}}},
			`<AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Owner><ID>o</ID><DisplayName>o</DisplayName></Owner>` +
				`<AccessControlList><Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser">` +
				`<ID>o</ID><DisplayName>o</DisplayName></Grantee><Permission>FULL_CONTROL</Permission></Grant></AccessControlList></AccessControlPolicy>`},
		{"LocationConstraint", &LocationConstraint{Location: "eu-west-1"},
			`<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/">eu-west-1</LocationConstraint>`},
		{"LocationConstraint us-east-1", &LocationConstraint{},
			`<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/"></LocationConstraint>`},
		{"DeleteResult", &DeleteResult{Deleted: []DeletedObject{{Key: "a"}}, Errors: []DeleteError{{Key: "b", Code: "AccessDenied", Message: "Access Denied"}}},
			`<DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Deleted><Key>a</Key></Deleted>` +
				`<Error><Key>b</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error></DeleteResult>`},
		{"InitiateMultipartUploadResult", &InitiateMultipartUploadResult{Bucket: "b", Key: "k", UploadID: "u"},
			`<InitiateMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>b</Bucket><Key>k</Key><UploadId>u</UploadId></InitiateMultipartUploadResult>`},
		{"CopyObjectResult", &CopyObjectResult{LastModified: testTime, ETag: `"e"`},
			`<CopyObjectResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LastModified>2009-10-12T16:50:30.123Z</LastModified><ETag>&#34;e&#34;</ETag></CopyObjectResult>`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Marshal(tc.v)
			if err != nil {
				t.Fatal(err)
			}
			if got := string(b); got != xml.Header+tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, xml.Header+tc.want)
			}
		})
	}
}

// Every response type survives a round trip through its own XML.
func TestResponseRoundTrip(t *testing.T) {
	when := Time(time.Date(2026, 3, 14, 15, 9, 26, 535000000, time.UTC))
	owner := &Owner{ID: "o", DisplayName: "Owner"}
	for _, v := range []any{
		&ListAllMyBucketsResult{Owner: owner, Buckets: Buckets{Bucket: []Bucket{{"a", when}, {"b", when}}}, ContinuationToken: "t", Prefix: "p"},
		&ListBucketResult{Name: "b", Prefix: "p", Marker: "m", NextMarker: "n", MaxKeys: 5, Delimiter: "/", IsTruncated: true, EncodingType: "url",
			Contents: []Object{{Key: "k", LastModified: when, ETag: `"e"`, Size: 5, Owner: owner, StorageClass: "STANDARD"}}, CommonPrefixes: []CommonPrefix{{"c/"}}},
		&ListBucketResultV2{Name: "b", KeyCount: 1, MaxKeys: 1, ContinuationToken: "c", NextContinuationToken: "n", StartAfter: "s",
			Contents: []Object{{Key: "k", LastModified: when, ETag: `"e"`}}},
		&InitiateMultipartUploadResult{Bucket: "b", Key: "k", UploadID: "u"},
		&CompleteMultipartUploadResult{Location: "http://h/b/k", Bucket: "b", Key: "k", ETag: `"e-2"`, ChecksumCRC32: "AAAAAA=="},
		&ListPartsResult{Bucket: "b", Key: "k", UploadID: "u", Initiator: owner, Owner: owner, StorageClass: "STANDARD", PartNumberMarker: 1,
			NextPartNumberMarker: 3, MaxParts: 2, IsTruncated: true, Parts: []Part{{PartNumber: 2, LastModified: when, ETag: `"e"`, Size: 5 << 20}}},
		&ListMultipartUploadsResult{Bucket: "b", KeyMarker: "k", UploadIDMarker: "u", NextKeyMarker: "nk", NextUploadIDMarker: "nu", MaxUploads: 1,
			Uploads: []Upload{{Key: "k", UploadID: "u", Initiator: owner, Initiated: when}}, CommonPrefixes: []CommonPrefix{{"p/"}}},
		&CopyObjectResult{LastModified: when, ETag: `"e"`},
		&CopyPartResult{LastModified: when, ETag: `"e"`},
		&DeleteResult{Deleted: []DeletedObject{{Key: "k", VersionID: "v", DeleteMarker: true, DeleteMarkerVersionID: "d"}}},
		&LocationConstraint{Location: "x"},
		&ListVersionsResult{Name: "b", Prefix: "p", KeyMarker: "k", VersionIDMarker: "null", NextKeyMarker: "n", NextVersionIDMarker: "null",
			MaxKeys: 2, Delimiter: "/", IsTruncated: true, EncodingType: "url", CommonPrefixes: []CommonPrefix{{"c/"}},
			Versions: []ObjectVersion{{Key: "k", VersionID: "null", IsLatest: true, LastModified: when, ETag: `"e"`, Size: 1, Owner: owner, StorageClass: "STANDARD"}}},
		&VersioningConfiguration{Status: "Enabled"},
		&AccessControlPolicy{Owner: owner, AccessControlList: AccessControlList{Grants: []Grant{
			{Grantee: Grantee{Type: "CanonicalUser", ID: "o", DisplayName: "Owner"}, Permission: "FULL_CONTROL"},
			{Grantee: Grantee{Type: "Group", URI: "http://acs.amazonaws.com/groups/global/AllUsers"}, Permission: "READ"},
			{Grantee: Grantee{EmailAddress: "a@b"}, Permission: "WRITE"}}}},
		&Delete{Quiet: true, Objects: []ObjectIdentifier{{Key: "k", VersionID: "v"}}},
		&CompleteMultipartUpload{Parts: []CompletedPart{{PartNumber: 1, ETag: "e", ChecksumSHA256: "x"}}},
		&CreateBucketConfiguration{LocationConstraint: "eu"},
	} {
		b, err := Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		back := reflect.New(reflect.TypeOf(v).Elem()).Interface()
		if err := xml.Unmarshal(b, back); err != nil {
			t.Fatalf("%T: %v", v, err)
		}
		clearXMLName(v)
		clearXMLName(back)
		if !reflect.DeepEqual(v, back) {
			t.Errorf("%T round trip:\n%+v\n%+v\n%s", v, v, back, b)
		}
	}
}

func clearXMLName(v any) {
	if f := reflect.ValueOf(v).Elem().FieldByName("XMLName"); f.IsValid() {
		f.Set(reflect.Zero(f.Type()))
	}
}

func TestTime(t *testing.T) {
	b, _ := testTime.MarshalText()
	if string(b) != "2009-10-12T16:50:30.123Z" {
		t.Fatalf("%s", b)
	}
	var got Time
	for _, s := range []string{"2009-10-12T16:50:30.123Z", "2009-10-12T17:50:30.123+01:00", " 2009-10-12T16:50:30.123Z "} {
		if err := got.UnmarshalText([]byte(s)); err != nil || !time.Time(got).Equal(time.Time(testTime).Truncate(time.Millisecond)) {
			t.Fatalf("%q: %v %v", s, time.Time(got), err)
		}
	}
	if got.UnmarshalText([]byte("yesterday")) == nil {
		t.Fatal("a bad time parsed")
	}
}

func TestEncodeKey(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"photos/2026/a.jpg", "photos/2026/a.jpg"},
		{"a b", "a%20b"},
		{" ", "%20"},
		{"a+b", "a%2Bb"},
		{"a +b", "a%20%2Bb"},
		{"tilde~star*", "tilde~star%2A"},
		{"100%", "100%25"},
		{"%20", "%2520"},
		{"ሴ", "%E1%88%B4"},
		{"dé", "d%C3%A9"},
		{"ctl\x00\x01\n\x7f", "ctl%00%01%0A%7F"},
		{"q?a=1&b=2#f", "q%3Fa%3D1%26b%3D2%23f"},
		{"-_.~/", "-_.~/"},
		{`<'">`, "%3C%27%22%3E"},
		{"dir with spaces/ x", "dir%20with%20spaces/%20x"},
		{"\xff\xfe", "%FF%FE"},
		{"a:b;c,d@e$f!g(h)i", "a%3Ab%3Bc%2Cd%40e%24f%21g%28h%29i"},
	} {
		got := EncodeKey(tc.in)
		if got != tc.want {
			t.Errorf("EncodeKey(%q) = %q, want %q", tc.in, got, tc.want)
		}
		// Whichever way a client unescapes, it gets the key back.
		if back, err := url.PathUnescape(got); err != nil || back != tc.in {
			t.Errorf("PathUnescape(%q) = %q, %v", got, back, err)
		}
		if back, err := url.QueryUnescape(got); err != nil || back != tc.in {
			t.Errorf("QueryUnescape(%q) = %q, %v", got, back, err)
		}
	}
	for in, want := range map[string]string{"": "", "url": "url", "URL": "url"} {
		if got, err := ParseEncodingType(in); err != nil || got != want {
			t.Errorf("ParseEncodingType(%q) = %q, %v", in, got, err)
		}
	}
	_, err := ParseEncodingType("base64")
	wantCode(t, err, s3err.InvalidArgument)
}

func TestApplyEncodingType(t *testing.T) {
	v1 := &ListBucketResult{Prefix: "a b", Marker: "m+", NextMarker: "n~", Delimiter: " ", EncodingType: "url",
		Contents: []Object{{Key: "a b/c"}}, CommonPrefixes: []CommonPrefix{{"a b/"}}}
	v1.ApplyEncodingType()
	if v1.Prefix != "a%20b" || v1.Marker != "m%2B" || v1.NextMarker != "n~" || v1.Delimiter != "%20" ||
		v1.Contents[0].Key != "a%20b/c" || v1.CommonPrefixes[0].Prefix != "a%20b/" {
		t.Errorf("v1 %+v", v1)
	}
	v2 := &ListBucketResultV2{Prefix: "a b", StartAfter: "s t", ContinuationToken: "c d", EncodingType: "url", Contents: []Object{{Key: "x y"}}}
	v2.ApplyEncodingType()
	if v2.Prefix != "a%20b" || v2.StartAfter != "s%20t" || v2.ContinuationToken != "c d" || v2.Contents[0].Key != "x%20y" {
		t.Errorf("v2 %+v", v2)
	}
	plain := &ListBucketResultV2{Prefix: "a b"}
	plain.ApplyEncodingType()
	if plain.Prefix != "a b" {
		t.Errorf("encoded without encoding-type: %+v", plain)
	}
	lv := &ListVersionsResult{Prefix: "a b", KeyMarker: "k m", NextKeyMarker: "n+", VersionIDMarker: "v m", NextVersionIDMarker: "n v",
		Delimiter: " ", EncodingType: "url", Versions: []ObjectVersion{{Key: "x y"}}, CommonPrefixes: []CommonPrefix{{"c d "}}}
	lv.ApplyEncodingType()
	if lv.Prefix != "a%20b" || lv.KeyMarker != "k%20m" || lv.NextKeyMarker != "n%2B" || lv.Delimiter != "%20" || lv.Versions[0].Key != "x%20y" ||
		lv.CommonPrefixes[0].Prefix != "c%20d%20" || lv.VersionIDMarker != "v m" || lv.NextVersionIDMarker != "n v" {
		t.Errorf("versions %+v", lv)
	}
	mu := &ListMultipartUploadsResult{KeyMarker: "k m", UploadIDMarker: "u m", EncodingType: "url", Uploads: []Upload{{Key: "a b", UploadID: "u u"}}}
	mu.ApplyEncodingType()
	if mu.KeyMarker != "k%20m" || mu.UploadIDMarker != "u m" || mu.Uploads[0].Key != "a%20b" || mu.Uploads[0].UploadID != "u u" {
		t.Errorf("uploads %+v", mu)
	}
}

func TestWrite(t *testing.T) {
	w := httptest.NewRecorder()
	if err := Write(w, 200, &LocationConstraint{}); err != nil {
		t.Fatal(err)
	}
	if w.Code != 200 || w.Header().Get("Content-Type") != "application/xml" || w.Header().Get("Content-Length") != fmt.Sprint(w.Body.Len()) {
		t.Fatalf("%d %v", w.Code, w.Header())
	}
	if err := Write(httptest.NewRecorder(), 200, make(chan int)); err == nil {
		t.Fatal("a channel was marshalled")
	}
	if QuoteETag("abc") != `"abc"` || QuoteETag(`"abc"`) != `"abc"` || UnquoteETag(` "abc" `) != "abc" || UnquoteETag("abc") != "abc" {
		t.Fatal("ETag quoting")
	}
}
