package limits

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/gridstore/gridstore/node/s3/s3err"
)

func wantCode(t *testing.T, what string, err error, code s3err.Code) {
	t.Helper()
	if code == "" {
		if err != nil {
			t.Errorf("%s: unexpected error %v", what, err)
		}
		return
	}
	var e *s3err.Error
	if !errors.Is(err, code) || !errors.As(err, &e) {
		t.Errorf("%s: error %v, want %s", what, err, code)
	}
}

func TestCheckObjectName(t *testing.T) {
	for key, want := range map[string]s3err.Code{
		"a":                       "",
		"photos/2026/img.jpg":     "",
		"dir/":                    "",
		"a b+c!'()*~":             "",
		"ሴ/ü":                     "",
		"...":                     "",
		"a..b/.c/d.":              "",
		strings.Repeat("k", 1024): "",
		strings.Repeat("k", 1025): s3err.KeyTooLongError,
		strings.Repeat("ሴ", 342):  s3err.KeyTooLongError, // 1026 bytes
		"":                        s3err.InvalidArgument,
		"bad\xffutf8":             s3err.InvalidObjectName,
		// Stored as they are: the drives map keys to paths of their own.
		"nul\x00": "",
		"..":      "",
		"a/../b":  "",
		"./a":     "",
		"a/.":     "",
		"a//b":    "",
		"/":       "",
		"\x01\n":  "",
	} {
		wantCode(t, key, CheckObjectName(key), want)
	}
}

func TestCheckBucketName(t *testing.T) {
	for name, want := range map[string]s3err.Code{
		"abc": "", "my-bucket.2026": "", strings.Repeat("a", 63): "", "1bucket": "", "a.b.c.d.e": "", "192.168.5.4x": "",
		"ab": s3err.InvalidBucketName, strings.Repeat("a", 64): s3err.InvalidBucketName, "My-Bucket": s3err.InvalidBucketName,
		"-abc": s3err.InvalidBucketName, "abc-": s3err.InvalidBucketName, ".abc": s3err.InvalidBucketName, "a..b": s3err.InvalidBucketName,
		"a.-b": s3err.InvalidBucketName, "a-.b": s3err.InvalidBucketName, "a_b": s3err.InvalidBucketName, "192.168.5.4": s3err.InvalidBucketName,
		"xn--abc": s3err.InvalidBucketName, "sthree-x": s3err.InvalidBucketName, "abc-s3alias": s3err.InvalidBucketName,
		"abc--ol-s3": s3err.InvalidBucketName, "a b": s3err.InvalidBucketName, "": s3err.InvalidBucketName,
	} {
		wantCode(t, name, CheckBucketName(name), want)
	}
}

func TestCheckUserMetadata(t *testing.T) {
	// 11 bytes of prefix + 1 of name + value.
	fits := http.Header{"X-Amz-Meta-A": {strings.Repeat("v", MaxUserMetadataSize-12)}, "Content-Type": {strings.Repeat("x", 5000)}}
	wantCode(t, "fits", CheckUserMetadata(fits), "")
	over := http.Header{"X-Amz-Meta-A": {strings.Repeat("v", MaxUserMetadataSize-11)}}
	wantCode(t, "over", CheckUserMetadata(over), s3err.MetadataTooLarge)
	split := http.Header{"X-Amz-Meta-A": {strings.Repeat("v", 1000)}, "X-Amz-Meta-B": {strings.Repeat("v", 1000), "x"}, "x-amz-meta-c": {strings.Repeat("v", 40)}}
	wantCode(t, "over in parts", CheckUserMetadata(split), s3err.MetadataTooLarge)
	wantCode(t, "no name", CheckUserMetadata(http.Header{"X-Amz-Meta-": {"v"}}), s3err.InvalidArgument)
}

func TestCheckHeaders(t *testing.T) {
	r, _ := http.NewRequest("GET", "http://s3.local/b/k", nil)
	r.Header.Set("X-Amz-Meta-A", strings.Repeat("v", 1000))
	wantCode(t, "small", CheckHeaders(r), "")
	if n := HeaderSectionSize(r); n != len("Host: s3.local\r\n")+len("X-Amz-Meta-A: \r\n")+1000 {
		t.Errorf("size %d", n)
	}
	for i := range 10 {
		r.Header.Add("X-Pad", strings.Repeat("p", 1000+i))
	}
	wantCode(t, "large", CheckHeaders(r), s3err.RequestHeaderSectionTooLarge)
}

func TestCheckContentLength(t *testing.T) {
	wantCode(t, "ok", CheckContentLength(0, MaxPutObjectSize), "")
	wantCode(t, "max", CheckContentLength(MaxPutObjectSize, MaxPutObjectSize), "")
	wantCode(t, "over", CheckContentLength(MaxPutObjectSize+1, MaxPutObjectSize), s3err.EntityTooLarge)
	wantCode(t, "unknown", CheckContentLength(-1, MaxPutObjectSize), s3err.MissingContentLength)
	if s3err.MissingContentLength.Status() != 411 {
		t.Fatal("411")
	}
}
