package s3

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gridstore/gridstore/node/object"
	"github.com/gridstore/gridstore/node/s3/s3xml"
)

// aclBody is an AccessControlPolicy with owner ownerID and one grant.
func aclBody(ownerID, grantee, permission string) []byte {
	return []byte(`<AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Owner><ID>` + ownerID + `</ID></Owner>` +
		`<AccessControlList><Grant>` + grantee + `<Permission>` + permission + `</Permission></Grant></AccessControlList></AccessControlPolicy>`)
}

func canonicalUser(id string) string {
	return `<Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"><ID>` + id + `</ID></Grantee>`
}

// TestGetACL: a bucket's and an object's ACL is the owner ListBuckets
// shows, with FULL_CONTROL; a missing bucket or key is NoSuchBucket or
// NoSuchKey.
func TestGetACL(t *testing.T) {
	ts := newObjectServer(t)
	ts.mustPut(t, testBucket, "k", []byte("x"), object.PutOptions{})
	for _, tc := range []struct{ path, api string }{{"/" + testBucket + "?acl", "GetBucketAcl"}, {"/" + testBucket + "/k?acl", "GetObjectAcl"},
		{"/" + testBucket + "/k?acl&versionId=null", "GetObjectAcl"}} {
		resp, body := ts.do(t, http.MethodGet, tc.path, nil, nil)
		wantStatus(t, resp, body, http.StatusOK)
		waitObserved(t, ts, tc.api, http.StatusOK)
		var p s3xml.AccessControlPolicy
		decodeXML(t, body, &p)
		g := p.AccessControlList.Grants
		if p.Owner == nil || *p.Owner != (s3xml.Owner{ID: "gridstore", DisplayName: "gridstore"}) || len(g) != 1 ||
			g[0] != (s3xml.Grant{Grantee: s3xml.Grantee{Type: "CanonicalUser", ID: "gridstore", DisplayName: "gridstore"}, Permission: "FULL_CONTROL"}) {
			t.Fatalf("%s: %s", tc.path, body)
		}
		// SDKs find the grantee's type by the attribute's literal name.
		if !strings.Contains(string(body), `xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"`) {
			t.Fatalf("%s: grantee type not as S3 writes it: %s", tc.path, body)
		}
	}
	resp, body := ts.do(t, http.MethodGet, "/"+testBucket+"/missing?acl", nil, nil)
	if doc := wantError(t, resp, body, http.StatusNotFound, "NoSuchKey"); doc.Key != "missing" {
		t.Fatalf("NoSuchKey for key %q", doc.Key)
	}
	resp, body = ts.do(t, http.MethodGet, "/"+testBucket+"/k?acl&versionId=v2", nil, nil)
	wantError(t, resp, body, http.StatusNotFound, "NoSuchVersion")
	for _, path := range []string{"/nobucket?acl", "/nobucket/k?acl"} {
		resp, body := ts.do(t, http.MethodGet, path, nil, nil)
		wantError(t, resp, body, http.StatusNotFound, "NoSuchBucket")
	}
}

// TestPutACL: the private ACL is accepted, as a canned header or as a
// policy granting only the owner FULL_CONTROL; any other grant is
// NotImplemented, whichever way it is asked for.
func TestPutACL(t *testing.T) {
	ts := newObjectServer(t)
	ts.mustPut(t, testBucket, "k", []byte("x"), object.PutOptions{})
	private := aclBody("gridstore", canonicalUser("gridstore"), "FULL_CONTROL")
	for _, tc := range []struct{ path, api string }{{"/" + testBucket + "?acl", "PutBucketAcl"}, {"/" + testBucket + "/k?acl", "PutObjectAcl"}} {
		ok := []struct {
			body []byte
			h    http.Header
		}{
			{nil, hdr("x-amz-acl", "private")},
			{private, hdr("Content-MD5", contentMD5(private))},
			// Without the type, and without an owner: still only the owner.
			{[]byte(`<AccessControlPolicy><AccessControlList><Grant><Grantee><ID>gridstore</ID></Grantee><Permission>FULL_CONTROL</Permission></Grant></AccessControlList></AccessControlPolicy>`), nil},
		}
		for _, c := range ok {
			resp, body := ts.do(t, http.MethodPut, tc.path, c.body, c.h)
			wantStatus(t, resp, body, http.StatusOK)
			waitObserved(t, ts, tc.api, http.StatusOK)
		}
		refused := []struct {
			body []byte
			h    http.Header
			code string
		}{
			{nil, hdr("x-amz-acl", "public-read"), "NotImplemented"},
			{nil, hdr("x-amz-grant-read", `uri="http://acs.amazonaws.com/groups/global/AllUsers"`), "NotImplemented"},
			{nil, hdr("x-amz-acl", "private", "x-amz-grant-full-control", `id="someone"`), "NotImplemented"},
			{aclBody("gridstore", `<Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Group"><URI>http://acs.amazonaws.com/groups/global/AllUsers</URI></Grantee>`, "READ"), nil, "NotImplemented"},
			{aclBody("gridstore", canonicalUser("someone"), "FULL_CONTROL"), nil, "NotImplemented"},
			{aclBody("gridstore", canonicalUser("gridstore"), "READ"), nil, "NotImplemented"},
			{aclBody("someone", canonicalUser("gridstore"), "FULL_CONTROL"), nil, "NotImplemented"},
			{[]byte(`<AccessControlPolicy><AccessControlList/></AccessControlPolicy>`), nil, "NotImplemented"},
			{private, hdr("x-amz-acl", "private"), "InvalidRequest"},
			{nil, nil, "MissingRequestBodyError"},
			{[]byte("<AccessControlPolicy>"), nil, "MalformedXML"},
			{private, hdr("Content-MD5", contentMD5([]byte("other"))), "BadDigest"},
		}
		for _, c := range refused {
			resp, body := ts.do(t, http.MethodPut, tc.path, c.body, c.h)
			status := http.StatusBadRequest
			if c.code == "NotImplemented" {
				status = http.StatusNotImplemented
			}
			wantError(t, resp, body, status, c.code)
		}
	}
	resp, body := ts.do(t, http.MethodPut, "/"+testBucket+"/missing?acl", nil, hdr("x-amz-acl", "private"))
	wantError(t, resp, body, http.StatusNotFound, "NoSuchKey")
	resp, body = ts.do(t, http.MethodPut, "/nobucket?acl", nil, hdr("x-amz-acl", "private"))
	wantError(t, resp, body, http.StatusNotFound, "NoSuchBucket")

	// The canned private ACL on a write is what it gets anyway.
	ts.mustPutHTTP(t, "/"+testBucket+"/with-acl", []byte("y"), hdr("x-amz-acl", "private"))
}
