package s3

import (
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/gridstore/gridstore/node/s3/s3err"
	"github.com/gridstore/gridstore/node/s3/s3xml"
)

// Access control: there is one user, the root one, who owns everything and
// alone may do anything. The ACL operations say so (the owner with
// FULL_CONTROL, which is S3's "private" canned ACL) and accept being told
// so; any other grant is refused rather than stored and not enforced.

// permissionFullControl is the one permission gridstore's ACLs grant.
const permissionFullControl = "FULL_CONTROL"

// privatePolicy is the ACL of every bucket and object.
func (s *Server) privatePolicy() *s3xml.AccessControlPolicy {
	owner := s.owner()
	return &s3xml.AccessControlPolicy{
		Owner: owner,
		AccessControlList: s3xml.AccessControlList{Grants: []s3xml.Grant{{
			Grantee:    s3xml.Grantee{Type: "CanonicalUser", ID: owner.ID, DisplayName: owner.DisplayName},
			Permission: permissionFullControl,
		}}},
	}
}

// getBucketACL answers GetBucketAcl.
func (s *Server) getBucketACL(w http.ResponseWriter, r *http.Request, rq *request) error {
	if err := s.bucketExists(r, rq); err != nil {
		return err
	}
	return writeXML(w, s.privatePolicy())
}

// getObjectACL answers GetObjectAcl.
func (s *Server) getObjectACL(w http.ResponseWriter, r *http.Request, rq *request) error {
	if err := s.objectExists(r, rq); err != nil {
		return err
	}
	return writeXML(w, s.privatePolicy())
}

// putBucketACL answers PutBucketAcl: only the private ACL is accepted, and
// changes nothing.
func (s *Server) putBucketACL(w http.ResponseWriter, r *http.Request, rq *request) error {
	if err := s.bucketExists(r, rq); err != nil {
		return err
	}
	if err := s.checkPutACL(r, rq); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// putObjectACL answers PutObjectAcl, as putBucketACL.
func (s *Server) putObjectACL(w http.ResponseWriter, r *http.Request, rq *request) error {
	if err := s.objectExists(r, rq); err != nil {
		return err
	}
	if err := s.checkPutACL(r, rq); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// objectExists fails with NoSuchKey (or NoSuchBucket, NoSuchVersion, or
// the layer's error) unless the request's object exists.
func (s *Server) objectExists(r *http.Request, rq *request) error {
	if err := checkVersionID(rq); err != nil {
		return err
	}
	if _, err := s.cfg.Objects.GetObjectInfo(r.Context(), rq.bucket, rq.key); err != nil {
		return fmt.Errorf("object %s: %w", clip(rq.key), err)
	}
	return nil
}

// checkACLHeaders refuses the ACL headers of a request that asks for more
// than the private ACL: a canned ACL other than private, or x-amz-grant-*
// headers.
func checkACLHeaders(h http.Header) error {
	if acl := h.Get("X-Amz-Acl"); acl != "" && acl != "private" {
		return s3err.Newf(s3err.NotImplemented, "gridstore does not implement ACLs: only the private canned ACL is accepted.")
	}
	for name := range h {
		if strings.HasPrefix(strings.ToLower(name), "x-amz-grant-") {
			return s3err.Newf(s3err.NotImplemented, "gridstore does not implement ACLs (%s).", name)
		}
	}
	return nil
}

// checkPutACL judges the ACL a PutBucketAcl or PutObjectAcl sets: the
// x-amz-acl header or an AccessControlPolicy body, not both, and private
// either way.
func (s *Server) checkPutACL(r *http.Request, rq *request) error {
	if err := checkACLHeaders(r.Header); err != nil {
		return err
	}
	body, err := checkedBody(r, rq)
	if err != nil {
		return err
	}
	if r.Header.Get("X-Amz-Acl") != "" {
		// Read to the end even when empty: the digests are checked there.
		b, err := io.ReadAll(io.LimitReader(body, 1))
		if err != nil {
			return fmt.Errorf("put acl: %w", err)
		}
		if len(b) > 0 {
			return s3err.Newf(s3err.InvalidRequest, "Specify an ACL in the x-amz-acl header or in the body, not both.")
		}
		return nil
	}
	policy, err := s3xml.DecodeAccessControlPolicy(body)
	if err != nil {
		return fmt.Errorf("put acl: %w", err)
	}
	if policy == nil {
		return s3err.Newf(s3err.MissingRequestBodyError, "Specify an ACL: the x-amz-acl header or an AccessControlPolicy body.")
	}
	return s.checkPrivatePolicy(policy)
}

// checkPrivatePolicy accepts a policy that grants the owner FULL_CONTROL
// and nobody anything: the private ACL, spelled out.
func (s *Server) checkPrivatePolicy(p *s3xml.AccessControlPolicy) error {
	owner := s.owner()
	if p.Owner != nil && p.Owner.ID != owner.ID {
		return s3err.Newf(s3err.NotImplemented, "gridstore does not implement ACLs: the owner is %q and cannot change.", owner.ID)
	}
	grants := p.AccessControlList.Grants
	if len(grants) == 0 {
		return s3err.Newf(s3err.NotImplemented, "gridstore does not implement ACLs: the owner keeps FULL_CONTROL.")
	}
	for _, g := range grants {
		ge := g.Grantee
		if (ge.Type != "" && ge.Type != "CanonicalUser") || ge.ID != owner.ID || ge.URI != "" || ge.EmailAddress != "" || g.Permission != permissionFullControl {
			return s3err.Newf(s3err.NotImplemented, "gridstore does not implement ACLs: only FULL_CONTROL for the owner (%q) is accepted.", owner.ID)
		}
	}
	return nil
}
