package s3

import (
	"bytes"
	"fmt"
	"hash/crc32"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/gridstore/gridstore/node/s3/sigv4"
)

// minio-go (TrailingHeaders with a Checksum, as `mc` uses it) frames the
// trailer section of an aws-chunked body as "0\r\n" "name:value\n" "\r\n"
// "\r\n": the trailer line ends with a bare LF, the trailer lines with a
// CRLF, the section with another. The node once answered "malformed
// aws-chunked body: data after the end of the body" (and, in signed mode,
// "the trailer signature is missing"), so every such upload failed.
func TestPutAWSChunkedMinioTrailerFraming(t *testing.T) {
	ts := newObjectServer(t)
	data := randomBytes(70000, 77)
	crc := crc32.Checksum(data, crc32.MakeTable(crc32.Castagnoli))
	value := b64([]byte{byte(crc >> 24), byte(crc >> 16), byte(crc >> 8), byte(crc)})
	for _, tc := range []struct {
		name, trailer string
		status        int
	}{
		{"minio-go", "x-amz-checksum-crc32c:" + value + "\n\r\n\r\n", http.StatusOK},
		{"aws", "x-amz-checksum-crc32c:" + value + "\r\n\r\n", http.StatusOK},
		{"bare LF", "x-amz-checksum-crc32c:" + value + "\n\r\n", http.StatusOK},
		{"garbage after", "x-amz-checksum-crc32c:" + value + "\n\r\nxyz\r\n\r\n", http.StatusBadRequest},
		{"extra CRLF", "x-amz-checksum-crc32c:" + value + "\r\n\r\n\r\n", http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body bytes.Buffer
			for off := 0; off < len(data); off += 32 << 10 {
				chunk := data[off:min(off+32<<10, len(data))]
				fmt.Fprintf(&body, "%x\r\n", len(chunk))
				body.Write(chunk)
				body.WriteString("\r\n")
			}
			body.WriteString("0\r\n" + tc.trailer)
			path := "/" + testBucket + "/minio-trailer-" + tc.name
			r, err := http.NewRequest(http.MethodPut, ts.URL+path, bytes.NewReader(body.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			r.Header.Set("Content-Encoding", "aws-chunked")
			r.Header.Set("X-Amz-Decoded-Content-Length", strconv.Itoa(len(data)))
			r.Header.Set("X-Amz-Trailer", "x-amz-checksum-crc32c")
			r.Header.Set("Content-Length", strconv.Itoa(body.Len()))
			if err := ts.Signer.Sign(r, sigv4.StreamingUnsignedPayloadTrailer, time.Now()); err != nil {
				t.Fatal(err)
			}
			resp, got := send(t, r)
			if tc.status != http.StatusOK {
				wantStatus(t, resp, got, tc.status)
				resp, got = ts.do(t, http.MethodHead, path, nil, nil)
				wantStatus(t, resp, got, http.StatusNotFound)
				return
			}
			wantStatus(t, resp, got, http.StatusOK)
			if e := resp.Header.Get("ETag"); e != quotedMD5(data) {
				t.Fatalf("ETag %s, want %s", e, quotedMD5(data))
			}
			ts.mustGetHTTP(t, path, data)
		})
	}
}
