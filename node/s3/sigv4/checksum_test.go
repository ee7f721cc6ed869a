package sigv4

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/binary"
	"io"
	"strings"
	"testing"

	"github.com/gridstore/gridstore/node/s3/s3err"
)

// Check values of the CRC algorithms ("123456789"), from the CRC catalogue;
// CRC-64/NVME is the one S3 calls CRC64NVME.
func TestChecksumCheckValues(t *testing.T) {
	for _, tc := range []struct {
		header string
		want   uint64
	}{
		{"x-amz-checksum-crc32", 0xcbf43926},
		{"x-amz-checksum-crc32c", 0xe3069283},
		{"x-amz-checksum-crc64nvme", 0xae8b14860a799888},
	} {
		c, ok := checksumByHeader(tc.header)
		if !ok {
			t.Fatalf("%s unknown", tc.header)
		}
		h := c.new()
		h.Write([]byte("123456789"))
		sum := h.Sum(nil)
		var got uint64
		if len(sum) == 4 {
			got = uint64(binary.BigEndian.Uint32(sum))
		} else {
			got = binary.BigEndian.Uint64(sum)
		}
		if got != tc.want || len(sum) != c.size {
			t.Errorf("%s: %x (%d bytes), want %x", tc.header, got, len(sum), tc.want)
		}
	}
	if len(ChecksumAlgorithms()) != 5 {
		t.Errorf("algorithms %v", ChecksumAlgorithms())
	}
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func TestContentMD5Reader(t *testing.T) {
	body := "Welcome to Amazon S3."
	sum := md5.Sum([]byte(body))
	good := b64(sum[:])
	for _, tc := range []struct {
		name, header, body string
		atNew, atEOF       s3err.Code
	}{
		{"match", good, body, "", ""},
		{"mismatch", good, body + "!", "", s3err.BadDigest},
		{"empty body", b64(func() []byte { s := md5.Sum(nil); return s[:] }()), "", "", ""},
		{"not base64", "not base64!", body, s3err.InvalidDigest, ""},
		{"hex instead", "5eb63bbbe01eeed093cb22bb8f5acdc3", body, s3err.InvalidDigest, ""},
		{"short", b64(sum[:8]), body, s3err.InvalidDigest, ""},
		{"empty", "", body, s3err.InvalidDigest, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := NewContentMD5Reader(strings.NewReader(tc.body), tc.header)
			wantCode(t, err, tc.atNew)
			if err != nil {
				return
			}
			got, err := io.ReadAll(r)
			wantCode(t, err, tc.atEOF)
			if string(got) != tc.body {
				t.Fatalf("body %q", got)
			}
			// The error is sticky.
			if _, err2 := r.Read(make([]byte, 1)); (err == nil) != (err2 == io.EOF) {
				t.Fatalf("second read: %v", err2)
			}
		})
	}
	if b, err := ParseContentMD5(good); err != nil || len(b) != 16 {
		t.Fatalf("ParseContentMD5: %x %v", b, err)
	}
}

func TestChecksumReader(t *testing.T) {
	body := "some object data"
	for _, name := range ChecksumAlgorithms() {
		c, _ := checksumByHeader(name)
		h := c.new()
		h.Write([]byte(body))
		good := b64(h.Sum(nil))
		for _, tc := range []struct {
			name, header, value, body string
			atNew, atEOF              s3err.Code
		}{
			{"match", name, good, body, "", ""},
			{"upper-case header", strings.ToUpper(name), good, body, "", ""},
			{"mismatch", name, good, body + ".", "", s3err.BadDigest},
			{"bad value", name, "@@@", body, s3err.InvalidDigest, ""},
			{"unknown algorithm", "x-amz-checksum-md4", good, body, s3err.InvalidRequest, ""},
		} {
			t.Run(name+"/"+tc.name, func(t *testing.T) {
				r, err := NewChecksumReader(strings.NewReader(tc.body), tc.header, tc.value)
				wantCode(t, err, tc.atNew)
				if err != nil {
					return
				}
				_, err = io.ReadAll(r)
				wantCode(t, err, tc.atEOF)
			})
		}
	}
}
