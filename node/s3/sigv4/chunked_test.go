package sigv4

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gridstore/gridstore/node/s3/s3err"
)

// testData is n bytes that differ from chunk to chunk, so that swapped or
// shifted chunks are noticed.
func testData(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/1000)
	}
	return b
}

// encodeChunked encodes data as an aws-chunked body with the package's own
// encoder, and returns the Auth a verified request for it would have.
func encodeChunked(t testing.TB, data []byte, chunk int, unsigned bool, trailer string) (*Auth, []byte) {
	t.Helper()
	s := testSigner()
	a := s.auth(testTime)
	copy(a.seed[:], strings.Repeat("5eed", 16))
	e := &chunkEncoder{body: bytes.NewReader(data), left: int64(len(data)), chunkSize: chunk, signed: !unsigned,
		key: a.key, amzDate: a.amzDate, scope: a.scope, prev: a.seed}
	a.Payload = PayloadStreaming
	switch {
	case unsigned:
		a.Payload = PayloadStreamingUnsignedTrailer
	case trailer != "":
		a.Payload = PayloadStreamingTrailer
	}
	if trailer != "" {
		e.algo, _ = checksumByHeader(trailer)
		e.sum = e.algo.new()
		a.Trailer = trailer
	}
	body, err := io.ReadAll(e)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(body)) != e.encodedLength(int64(len(data))) {
		t.Fatalf("encoded %d bytes, encodedLength says %d", len(body), e.encodedLength(int64(len(data))))
	}
	a.ContentLength = int64(len(data))
	return a, body
}

// readInSteps reads a body step bytes at a time, as a handler with a small
// buffer would.
func readInSteps(r io.Reader, step int) ([]byte, error) {
	var out []byte
	buf := make([]byte, step)
	for {
		n, err := r.Read(buf)
		out = append(out, buf[:n]...)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

func TestChunkedRoundTrip(t *testing.T) {
	for _, size := range []int{0, 1, 999, 1000, 1001, 5000, 70000} {
		for _, mode := range []struct {
			name     string
			unsigned bool
			trailer  string
		}{
			{"signed", false, ""},
			{"signed-crc32", false, "x-amz-checksum-crc32"},
			{"signed-sha256", false, "x-amz-checksum-sha256"},
			{"unsigned", true, ""},
			{"unsigned-crc32c", true, "x-amz-checksum-crc32c"},
			{"unsigned-crc64nvme", true, "x-amz-checksum-crc64nvme"},
			{"unsigned-sha1", true, "x-amz-checksum-sha1"},
		} {
			t.Run(fmt.Sprintf("%s/%d", mode.name, size), func(t *testing.T) {
				data := testData(size)
				a, body := encodeChunked(t, data, 1000, mode.unsigned, mode.trailer)
				for _, step := range []int{1, 7, 1000, 1 << 20} {
					if size > 5000 && step < 1000 {
						continue
					}
					b := a.Body(bytes.NewReader(body))
					got, err := readInSteps(b, step)
					if err != nil || !bytes.Equal(got, data) {
						t.Fatalf("step %d: %d bytes, %v", step, len(got), err)
					}
					name, value := b.Checksum()
					if name != mode.trailer || (mode.trailer != "" && value == "") {
						t.Fatalf("checksum %q %q", name, value)
					}
					if n, err := b.Read(make([]byte, 1)); n != 0 || err != io.EOF {
						t.Fatalf("read after EOF: %d, %v", n, err)
					}
				}
			})
		}
	}
}

// A chunk whose data or signature was changed fails before any of its bytes
// is returned; the chunks before it were returned whole.
func TestChunkedTamperedChunkNeverReturned(t *testing.T) {
	data := testData(5000)
	a, body := encodeChunked(t, data, 1000, false, "")
	chunkLen := len(fmt.Sprintf("3e8;chunk-signature=%064d\r\n", 0)) + 1000 + 2
	for chunk := range 5 {
		for _, what := range []string{"data", "signature", "size"} {
			t.Run(fmt.Sprintf("%s-%d", what, chunk), func(t *testing.T) {
				bad := bytes.Clone(body)
				start := chunk * chunkLen
				switch what {
				case "data":
					bad[start+chunkLen-3] ^= 1 // last data byte
				case "signature":
					i := start + len("3e8;chunk-signature=")
					bad[i] = "01"[bad[i]&1^1]
				case "size":
					copy(bad[start:], "3e7") // one byte less: the data no longer matches
				}
				got, err := readInSteps(a.Body(bytes.NewReader(bad)), 13)
				if err == nil {
					t.Fatal("a tampered body was accepted")
				}
				if what != "size" {
					wantCode(t, err, s3err.SignatureDoesNotMatch)
				}
				if !bytes.Equal(got, data[:chunk*1000]) {
					t.Fatalf("returned %d bytes, want exactly the %d of the chunks before", len(got), chunk*1000)
				}
			})
		}
	}
	// Swapped chunks, a dropped chunk, a repeated chunk.
	swapped := bytes.Clone(body)
	copy(swapped[chunkLen:], body[2*chunkLen:3*chunkLen])
	copy(swapped[2*chunkLen:], body[chunkLen:2*chunkLen])
	dropped := append(bytes.Clone(body[:chunkLen]), body[2*chunkLen:]...)
	repeated := append(bytes.Clone(body[:2*chunkLen]), body[chunkLen:]...)
	for name, tc := range map[string]struct {
		body []byte
		good int // bytes before the first bad link
	}{"swapped": {swapped, 1000}, "dropped": {dropped, 1000}, "repeated": {repeated, 2000}} {
		got, err := readInSteps(a.Body(bytes.NewReader(tc.body)), 4096)
		if !errors.Is(err, s3err.SignatureDoesNotMatch) || len(got) != tc.good {
			t.Errorf("%s: %d bytes, %v", name, len(got), err)
		}
	}
	// The chain is bound to the seed: the same body under another seed fails.
	other := *a
	other.seed[0] ^= 1
	if _, err := io.ReadAll(other.Body(bytes.NewReader(body))); !errors.Is(err, s3err.SignatureDoesNotMatch) {
		t.Errorf("another seed: %v", err)
	}
}

// Every truncation of a body fails, with IncompleteBody, and a signed body
// never yields a partial chunk.
func TestChunkedTruncated(t *testing.T) {
	for _, mode := range []struct {
		unsigned bool
		trailer  string
	}{{false, ""}, {false, "x-amz-checksum-crc32"}, {true, "x-amz-checksum-crc32"}, {true, ""}} {
		data := testData(2500)
		a, body := encodeChunked(t, data, 1000, mode.unsigned, mode.trailer)
		for cut := range len(body) {
			got, err := readInSteps(a.Body(bytes.NewReader(body[:cut])), 512)
			if !errors.Is(err, s3err.IncompleteBody) {
				t.Fatalf("%+v cut at %d of %d: %v", mode, cut, len(body), err)
			}
			if !bytes.Equal(got, data[:len(got)]) || (!mode.unsigned && len(got)%1000 != 0 && len(got) != 2500) {
				t.Fatalf("%+v cut at %d: returned %d bytes", mode, cut, len(got))
			}
		}
		// An early error of the connection passes through as it is.
		reset := errors.New("connection reset")
		_, err := io.ReadAll(a.Body(io.MultiReader(bytes.NewReader(body[:100]), errReader{reset})))
		if !errors.Is(err, reset) {
			t.Fatalf("connection error: %v", err)
		}
	}
}

func TestChunkedDecodedLength(t *testing.T) {
	for _, unsigned := range []bool{false, true} {
		a, body := encodeChunked(t, testData(2500), 1000, unsigned, "")
		long := *a
		long.ContentLength = 2501
		_, err := io.ReadAll(long.Body(bytes.NewReader(body)))
		wantCode(t, err, s3err.IncompleteBody)
		short := *a
		short.ContentLength = 2499
		_, err = io.ReadAll(short.Body(bytes.NewReader(body)))
		wantCode(t, err, s3err.InvalidRequest)
		if unsigned {
			unknown := *a
			unknown.ContentLength = -1
			if got, err := io.ReadAll(unknown.Body(bytes.NewReader(body))); err != nil || len(got) != 2500 {
				t.Fatalf("unknown length: %d, %v", len(got), err)
			}
		}
	}
}

func TestChunkedMalformed(t *testing.T) {
	sig := ";chunk-signature=" + strings.Repeat("0", 64)
	signed, _ := encodeChunked(t, nil, 1000, false, "")
	unsigned, _ := encodeChunked(t, nil, 1000, true, "")
	signed.ContentLength, unsigned.ContentLength = -1, -1 // no length check in the way
	for _, tc := range []struct {
		name string
		a    *Auth
		body string
		want s3err.Code
	}{
		{"empty", signed, "", s3err.IncompleteBody},
		{"no signature", signed, "3\r\nabc\r\n", s3err.InvalidRequest},
		{"short signature", signed, "3;chunk-signature=abc\r\nabc\r\n", s3err.InvalidRequest},
		{"other extension", signed, "3;chunk-signatur=" + strings.Repeat("0", 64) + "\r\nabc\r\n", s3err.InvalidRequest},
		{"bad size", signed, "x3" + sig + "\r\nabc\r\n", s3err.InvalidRequest},
		{"empty size", signed, sig + "\r\nabc\r\n", s3err.InvalidRequest},
		{"size too long", signed, "000000003" + sig + "\r\nabc\r\n", s3err.InvalidRequest},
		{"chunk too large", signed, "1000001" + sig + "\r\n", s3err.InvalidRequest},
		{"LF only", signed, "3" + sig + "\nabc\r\n", s3err.InvalidRequest},
		{"line too long", signed, strings.Repeat("1", 5000) + "\r\n", s3err.InvalidRequest},
		{"signature mismatch", signed, "3" + sig + "\r\nabc\r\n", s3err.SignatureDoesNotMatch},
		{"unsigned with signature", unsigned, "3" + sig + "\r\nabc\r\n", s3err.InvalidRequest},
		{"unsigned data without CRLF", unsigned, "3\r\nabcd\r\n0\r\n\r\n", s3err.InvalidRequest},
		{"unsigned data after end", unsigned, "0\r\n\r\nmore", s3err.InvalidRequest},
		{"unsigned undeclared trailer", unsigned, "0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n", s3err.MalformedTrailerError},
		{"unsigned trailer without colon", unsigned, "0\r\nnocolon\r\n\r\n", s3err.MalformedTrailerError},
		{"unsigned many trailers", unsigned, "0\r\n" + strings.Repeat("a:b\r\n", 20) + "\r\n", s3err.MalformedTrailerError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := io.ReadAll(tc.a.Body(strings.NewReader(tc.body)))
			wantCode(t, err, tc.want)
		})
	}
}

// A declared 16 MiB chunk whose data never comes costs about one growth
// step, not 16 MiB.
func TestChunkedMemoryBounded(t *testing.T) {
	a, _ := encodeChunked(t, nil, 1000, false, "")
	a.ContentLength = MaxChunkSize
	body := fmt.Sprintf("%x;chunk-signature=%064d\r\n", MaxChunkSize, 0) + "only a few bytes"
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := io.ReadAll(a.Body(strings.NewReader(body)))
	runtime.ReadMemStats(&after)
	wantCode(t, err, s3err.IncompleteBody)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 3*growStep {
		t.Fatalf("allocated %d bytes for a chunk that sent 16 bytes", grew)
	}
}

func TestChunkedTrailers(t *testing.T) {
	data := testData(2500)
	const name = "x-amz-checksum-crc32"
	good := base64.StdEncoding.EncodeToString(crc32.NewIEEE().Sum(nil)) // the crc32 of nothing: wrong for data
	for _, unsigned := range []bool{true, false} {
		a, body := encodeChunked(t, data, 1000, unsigned, name)
		text := string(body)
		i := strings.Index(text, name+":")
		j := i + strings.Index(text[i:], "\r\n") + 2
		trailerLine := text[i:j]
		value := strings.TrimSuffix(strings.TrimPrefix(trailerLine, name+":"), "\r\n")
		for _, tc := range []struct {
			name     string
			body     string
			unsigned s3err.Code // expected in unsigned mode
			signed   s3err.Code // expected in signed mode
		}{
			{"as sent", text, "", ""},
			{"wrong value", strings.Replace(text, value, good, 1), s3err.BadDigest, s3err.SignatureDoesNotMatch},
			{"bad base64", strings.Replace(text, value, "!!!!!!==", 1), s3err.InvalidDigest, s3err.SignatureDoesNotMatch},
			{"too short", strings.Replace(text, value, "AAA=", 1), s3err.InvalidDigest, s3err.SignatureDoesNotMatch},
			{"missing", strings.Replace(text, trailerLine, "", 1), s3err.MalformedTrailerError, s3err.SignatureDoesNotMatch},
			{"undeclared extra", strings.Replace(text, trailerLine, trailerLine+"x-amz-meta-a:b\r\n", 1), s3err.MalformedTrailerError, s3err.MalformedTrailerError},
			{"given twice", strings.Replace(text, trailerLine, trailerLine+trailerLine, 1), s3err.MalformedTrailerError, s3err.MalformedTrailerError},
			{"upper-case name", strings.Replace(text, name, strings.ToUpper(name), 1), "", ""},
			{"LF line ends", strings.Replace(text, trailerLine, strings.TrimSuffix(trailerLine, "\r\n")+"\n", 1), "", ""},
			// minio-go's framing: "name:value\n\r\n", then the signature
			// line (signed) and the final CRLF.
			{"minio-go LF CRLF", strings.Replace(text, trailerLine, strings.TrimSuffix(trailerLine, "\r\n")+"\n\r\n", 1), "", ""},
			{"minio-go LF CRLF then garbage", strings.Replace(text, trailerLine, strings.TrimSuffix(trailerLine, "\r\n")+"\n\r\nxyz\r\n", 1), s3err.MalformedTrailerError, s3err.MalformedTrailerError},
			{"CRLF CRLF", strings.Replace(text, trailerLine, trailerLine+"\r\n", 1), s3err.InvalidRequest, s3err.MalformedTrailerError},
			{"no final CRLF", strings.TrimSuffix(text, "\r\n"), s3err.IncompleteBody, s3err.IncompleteBody},
		} {
			t.Run(fmt.Sprintf("unsigned=%v/%s", unsigned, tc.name), func(t *testing.T) {
				b := a.Body(strings.NewReader(tc.body))
				got, err := io.ReadAll(b)
				want := tc.signed
				if unsigned {
					want = tc.unsigned
				}
				wantCode(t, err, want)
				if err == nil {
					if !bytes.Equal(got, data) {
						t.Fatal("data differs")
					}
					if h, v := b.Checksum(); h != name || v != value {
						t.Fatalf("checksum %s %s", h, v)
					}
				}
			})
		}
		if !unsigned {
			sigLine := text[j : j+strings.Index(text[j:], "\r\n")+2]
			for _, tc := range []struct {
				name string
				body string
				want s3err.Code
			}{
				{"no trailer signature", strings.Replace(text, sigLine, "", 1), s3err.MalformedTrailerError},
				{"bad trailer signature", strings.Replace(text, sigLine, trailerSignatureHeader+":"+strings.Repeat("a", 64)+"\r\n", 1), s3err.SignatureDoesNotMatch},
				{"short trailer signature", strings.Replace(text, sigLine, trailerSignatureHeader+":abc\r\n", 1), s3err.MalformedTrailerError},
				{"trailer after signature", strings.Replace(text, sigLine, sigLine+"x:y\r\n", 1), s3err.MalformedTrailerError},
			} {
				t.Run("signed/"+tc.name, func(t *testing.T) {
					_, err := io.ReadAll(a.Body(strings.NewReader(tc.body)))
					wantCode(t, err, tc.want)
				})
			}
		}
	}
	// Trailers are refused in the plain streaming mode.
	a, body := encodeChunked(t, data, 1000, false, "")
	text := strings.TrimSuffix(string(body), "\r\n") + "x-amz-checksum-crc32:AAAAAA==\r\n\r\n"
	_, err := io.ReadAll(a.Body(strings.NewReader(text)))
	wantCode(t, err, s3err.InvalidRequest)
}

// End to end through net/http: what the server hands a handler verifies,
// for each form the signer produces.
func TestHTTPServer(t *testing.T) {
	v := &Verifier{Credentials: StaticCredentials{testAccessKey: testSecret}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, err := v.Verify(r)
		if err != nil {
			s3err.Write(w, r, err, "req")
			return
		}
		b := a.Body(r.Body)
		data, err := io.ReadAll(b)
		if err != nil {
			s3err.Write(w, r, err, "req")
			return
		}
		h, _ := b.Checksum()
		fmt.Fprintf(w, "%d %s %s", len(data), a.Payload, h)
	}))
	defer srv.Close()
	data := testData(200000)
	s := testSigner()
	send := func(r *http.Request) string {
		t.Helper()
		resp, err := srv.Client().Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return fmt.Sprintf("%d %s", resp.StatusCode, body)
	}
	when := time.Now()

	r, _ := http.NewRequest("GET", srv.URL+"/b/k?list-type=2&prefix=a%20b", nil)
	_ = s.Sign(r, UnsignedPayload, when)
	if got := send(r); got != "200 0 UNSIGNED-PAYLOAD " {
		t.Errorf("GET: %s", got)
	}
	r, _ = http.NewRequest("PUT", srv.URL+"/b/k", bytes.NewReader(data))
	r.Header.Set("Expect", "100-continue")
	_ = s.Sign(r, PayloadSHA256Hex(data), when)
	if got := send(r); got != "200 200000 SHA256 " {
		t.Errorf("PUT sha256: %s", got)
	}
	for _, o := range []StreamOptions{{}, {Checksum: "x-amz-checksum-crc32c"}, {Unsigned: true, Checksum: "x-amz-checksum-sha256"}, {ChunkSize: 8192}} {
		r, _ = http.NewRequest("PUT", srv.URL+"/b/k", nil)
		if err := s.SignStreaming(r, bytes.NewReader(data), int64(len(data)), when, o); err != nil {
			t.Fatal(err)
		}
		if got := send(r); !strings.HasPrefix(got, "200 200000 STREAMING-") || !strings.HasSuffix(got, o.Checksum) {
			t.Errorf("streaming %+v: %s", o, got)
		}
	}
	u, _ := s.Presign("GET", srv.URL+"/b/k%2Bx", nil, when, time.Hour)
	r, _ = http.NewRequest("GET", u, nil)
	if got := send(r); got != "200 0 UNSIGNED-PAYLOAD " {
		t.Errorf("presigned: %s", got)
	}
	bad := &Signer{AccessKey: testAccessKey, SecretKey: "wrong"}
	r, _ = http.NewRequest("GET", srv.URL+"/b/k", nil)
	_ = bad.Sign(r, UnsignedPayload, when)
	if got := send(r); !strings.HasPrefix(got, "403 ") || !strings.Contains(got, "<Code>SignatureDoesNotMatch</Code>") {
		t.Errorf("bad secret: %s", got)
	}
}
