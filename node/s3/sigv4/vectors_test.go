package sigv4

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Published vectors. Two sources, both reproduced byte for byte:
//
//   - AWS's SigV4 test suite ("aws-sig-v4-test-suite", as shipped in
//     awslabs/aws-c-auth tests/aws-signing-test-suite/v4): a generic
//     service, so only the canonicalisation and signing functions are
//     checked, not the S3 Verifier (whose rules - service s3,
//     x-amz-content-sha256 - those requests do not follow).
//   - The S3 API reference's examples (AKIAIOSFODNN7EXAMPLE, 20130524):
//     GET Object with Range, PUT Object, GET bucket lifecycle, list
//     objects, the presigned GET, and the chunked (aws-chunked) PUT with its
//     seed and chunk signatures. These go through the real Verifier and
//     Signer.

const (
	suiteAccessKey = "AKIDEXAMPLE"
	suiteSecret    = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	suiteDate      = "20150830T123600Z"

	s3AccessKey = "AKIAIOSFODNN7EXAMPLE"
	s3Secret    = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

var s3ExampleTime = time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC)

// readRequest parses a raw request as net/http's server would (Host
// promoted out of the header, and so on). The head is written with bare LF
// line ends, as the test suite's files are; they become CRLF. The body
// (after the first empty line) is kept as it is.
func readRequest(t testing.TB, raw string) *http.Request {
	t.Helper()
	head, body, _ := strings.Cut(raw, "\n\n")
	wire := strings.ReplaceAll(head, "\n", "\r\n") + "\r\n\r\n" + body
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(wire)))
	if err != nil {
		t.Fatalf("parsing %q: %v", raw, err)
	}
	return r
}

// suiteSign computes the suite's canonical request, string to sign and
// signature of r (service "service", empty payload).
func suiteSign(t *testing.T, r *http.Request, signedHeaders string) (canonical, sts, sig string) {
	t.Helper()
	names, err := parseSignedHeaders(signedHeaders, "x")
	if err != nil {
		t.Fatal(err)
	}
	query, err := parseQuery(r.URL.RawQuery)
	if err != nil {
		t.Fatal(err)
	}
	in := canonicalInput{method: r.Method, escapedPath: r.URL.EscapedPath(), path: r.URL.Path, query: query,
		signedHeaders: names, payloadHash: EmptySHA256}
	c, missing := appendCanonicalRequest(nil, r, &in)
	if missing != "" {
		t.Fatalf("missing header %s", missing)
	}
	scope := scopeString(suiteDate[:8], "us-east-1", "service")
	s := appendStringToSign(nil, suiteDate, scope, c)
	key := signingKey(suiteSecret, suiteDate[:8], "us-east-1", "service")
	signed := signature(&key, s)
	return string(c), string(s), string(signed[:])
}

func TestAWSTestSuite(t *testing.T) {
	const date = "X-Amz-Date:20150830T123600Z\n"
	for _, tc := range []struct {
		name, raw, signed, sig string
		canonical, sts         string // when the suite publishes them
	}{
		{name: "get-vanilla", raw: "GET / HTTP/1.1\nHost:example.amazonaws.com\n" + date, signed: "host;x-amz-date",
			sig:       "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
			canonical: "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" + EmptySHA256,
			sts:       "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nbb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63"},
		{name: "get-vanilla-query-order-key-case", raw: "GET /?Param2=value2&Param1=value1 HTTP/1.1\nHost:example.amazonaws.com\n" + date,
			signed: "host;x-amz-date", sig: "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
		{name: "get-vanilla-empty-query-key", raw: "GET /?Param1=value1 HTTP/1.1\nHost:example.amazonaws.com\n" + date,
			signed: "host;x-amz-date", sig: "a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb"},
		{name: "get-vanilla-query-unreserved",
			raw:    "GET /?-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz HTTP/1.1\nHost:example.amazonaws.com\n" + date,
			signed: "host;x-amz-date", sig: "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197"},
		{name: "get-vanilla-utf8-query", raw: "GET /?ሴ=bar HTTP/1.1\nHost:example.amazonaws.com\n" + date,
			signed: "host;x-amz-date", sig: "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"},
		{name: "get-vanilla-query-order-encoded", raw: "GET /?Param-3=Value3&Param=Value2&%E1%88%B4=Value1 HTTP/1.1\nHost:example.amazonaws.com\n" + date,
			signed: "host;x-amz-date", sig: "371d3713e185cc334048618a97f809c9ffe339c62934c032af5a0e595648fcac"},
		{name: "get-utf8", raw: "GET /ሴ HTTP/1.1\nHost:example.amazonaws.com\n" + date,
			signed: "host;x-amz-date", sig: "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"},
		{name: "get-unreserved", raw: "GET /-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz HTTP/1.1\nHost:example.amazonaws.com\n" + date,
			signed: "host;x-amz-date", sig: "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"},
		{name: "get-header-value-trim", raw: "GET / HTTP/1.1\nHost:example.amazonaws.com\nMy-Header1: value1\nMy-Header2: \"a   b   c\"\n" + date,
			signed: "host;my-header1;my-header2;x-amz-date", sig: "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"},
		{name: "get-header-key-duplicate", raw: "GET / HTTP/1.1\nHost:example.amazonaws.com\nMy-Header1:value2\nMy-Header1:value2\nMy-Header1:value1\n" + date,
			signed: "host;my-header1;x-amz-date", sig: "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea"},
		{name: "get-header-value-order", raw: "GET / HTTP/1.1\nHost:example.amazonaws.com\nMy-Header1:value4\nMy-Header1:value1\nMy-Header1:value3\nMy-Header1:value2\n" + date,
			signed: "host;my-header1;x-amz-date", sig: "08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01"},
		{name: "post-vanilla-query", raw: "POST /?Param1=value1 HTTP/1.1\nHost:example.amazonaws.com\n" + date,
			signed: "host;x-amz-date", sig: "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := readRequest(t, tc.raw+"\n")
			canonical, sts, sig := suiteSign(t, r, tc.signed)
			if tc.canonical != "" && canonical != tc.canonical {
				t.Errorf("canonical request\n%s\nwant\n%s", canonical, tc.canonical)
			}
			if tc.sts != "" && sts != tc.sts {
				t.Errorf("string to sign\n%s\nwant\n%s", sts, tc.sts)
			}
			if sig != tc.sig {
				t.Errorf("signature %s, want %s\ncanonical request:\n%s", sig, tc.sig, canonical)
			}
		})
	}
}

// get-space-unnormalized: a path with a space, which a request line cannot
// carry raw, and S3 semantics (no normalisation, single encoding).
func TestAWSTestSuiteSpace(t *testing.T) {
	r := &http.Request{Method: "GET", URL: &url.URL{Path: "/example space/"}, Host: "example.amazonaws.com",
		Header: http.Header{"X-Amz-Date": {suiteDate}}}
	canonical, _, sig := suiteSign(t, r, "host;x-amz-date")
	if !strings.HasPrefix(canonical, "GET\n/example%20space/\n") {
		t.Errorf("canonical URI in %q", canonical)
	}
	if want := "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741"; sig != want {
		t.Errorf("signature %s, want %s", sig, want)
	}
}

// The query canonicalisation of the suite's presigned get-header-value-trim
// (X-Amz-Credential's slashes encoded, SignedHeaders' semicolons too).
func TestAWSTestSuiteCanonicalQuery(t *testing.T) {
	query, err := parseQuery("X-Amz-SignedHeaders=host%3Bmy-header1%3Bmy-header2&X-Amz-Algorithm=AWS4-HMAC-SHA256" +
		"&X-Amz-Date=20150830T123600Z&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Signature=x")
	if err != nil {
		t.Fatal(err)
	}
	got := string(appendCanonicalQuery(nil, query, querySignature))
	want := "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request" +
		"&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host%3Bmy-header1%3Bmy-header2"
	if got != want {
		t.Errorf("canonical query\n%s\nwant\n%s", got, want)
	}
}

func s3Verifier() *Verifier {
	return &Verifier{Credentials: StaticCredentials{s3AccessKey: s3Secret}, Now: func() time.Time { return s3ExampleTime }}
}

// The S3 API reference's header-signed examples, verified by the Verifier.
func TestS3DocumentedExamples(t *testing.T) {
	const host = "Host: examplebucket.s3.amazonaws.com\n"
	const cred = "Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
	const empty = "x-amz-content-sha256:" + EmptySHA256 + "\nx-amz-date: 20130524T000000Z\n"
	for _, tc := range []struct {
		name, raw, canonicalHash, body string
	}{
		{"GET Object with Range", "GET /test.txt HTTP/1.1\n" + host +
			cred + "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41\n" +
			"Range: bytes=0-9\n" + empty,
			"7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972", ""},
		{"PUT Object", "PUT /test$file.text HTTP/1.1\n" + host + "Date: Fri, 24 May 2013 00:00:00 GMT\n" +
			cred + "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd\n" +
			"x-amz-date: 20130524T000000Z\nx-amz-storage-class: REDUCED_REDUNDANCY\n" +
			"x-amz-content-sha256: 44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072\nContent-Length: 21\n\nWelcome to Amazon S3.",
			"9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d", "Welcome to Amazon S3."},
		{"GET Bucket Lifecycle", "GET /?lifecycle HTTP/1.1\n" + host +
			cred + "SignedHeaders=host;x-amz-content-sha256;x-amz-date,Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543\n" + empty,
			"9766c798316ff2757b517bc739a67f6213b4ab36dd5da2f94eaebf79c77395ca", ""},
		{"Get Bucket (List Objects)", "GET /?max-keys=2&prefix=J HTTP/1.1\n" + host +
			cred + "SignedHeaders=host;x-amz-content-sha256;x-amz-date,Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7\n" + empty,
			"", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := readRequest(t, tc.raw)
			a, err := s3Verifier().Verify(r)
			if err != nil {
				t.Fatalf("verify: %v", err)
			}
			if a.AccessKey != s3AccessKey || !a.Time.Equal(s3ExampleTime) {
				t.Fatalf("auth %+v", a)
			}
			if tc.canonicalHash != "" {
				h, _ := parseAuthorization(r.Header.Get("Authorization"))
				query, _ := parseQuery(r.URL.RawQuery)
				c, _ := appendCanonicalRequest(nil, r, &canonicalInput{method: r.Method, escapedPath: r.URL.EscapedPath(),
					path: r.URL.Path, query: query, signedHeaders: h.signedHeaders, payloadHash: a.PayloadHash})
				if sum := sha256.Sum256(c); hex.EncodeToString(sum[:]) != tc.canonicalHash {
					t.Errorf("canonical request hash %x, want %s:\n%s", sum, tc.canonicalHash, c)
				}
			}
			got, err := io.ReadAll(a.Body(r.Body))
			if err != nil || string(got) != tc.body {
				t.Fatalf("body %q, %v", got, err)
			}
		})
	}
}

const presignedExample = "/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256" +
	"&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request" +
	"&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host" +
	"&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"

func TestS3PresignedExample(t *testing.T) {
	r := readRequest(t, "GET "+presignedExample+" HTTP/1.1\nHost: examplebucket.s3.amazonaws.com\n\n")
	a, err := s3Verifier().Verify(r)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if !a.Presigned || a.Payload != PayloadUnsigned || !a.Expires.Equal(s3ExampleTime.Add(24*time.Hour)) {
		t.Fatalf("auth %+v", a)
	}
	// And the Signer produces the documented URL.
	s := &Signer{AccessKey: s3AccessKey, SecretKey: s3Secret}
	u, err := s.Presign("GET", "https://examplebucket.s3.amazonaws.com/test.txt", nil, s3ExampleTime, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if want := "https://examplebucket.s3.amazonaws.com" + presignedExample; u != want {
		t.Errorf("presigned URL\n%s\nwant\n%s", u, want)
	}
}

func TestSignerReproducesGetObjectExample(t *testing.T) {
	r, _ := http.NewRequest("GET", "https://examplebucket.s3.amazonaws.com/test.txt", nil)
	r.Header.Set("Range", "bytes=0-9")
	s := &Signer{AccessKey: s3AccessKey, SecretKey: s3Secret}
	if err := s.Sign(r, "", s3ExampleTime); err != nil {
		t.Fatal(err)
	}
	want := "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, " +
		"SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
	if got := r.Header.Get("Authorization"); got != want {
		t.Errorf("Authorization\n%s\nwant\n%s", got, want)
	}
}

// The chunked upload example: 66560 bytes of 'a' in chunks of 65536, 1024
// and 0 bytes.
const (
	chunkedSeed   = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
	chunkedSig1   = "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"
	chunkedSig2   = "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497"
	chunkedSigEnd = "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"
)

func chunkedExampleBody() []byte {
	var b bytes.Buffer
	b.WriteString("10000;chunk-signature=" + chunkedSig1 + "\r\n")
	b.Write(bytes.Repeat([]byte("a"), 65536))
	b.WriteString("\r\n400;chunk-signature=" + chunkedSig2 + "\r\n")
	b.Write(bytes.Repeat([]byte("a"), 1024))
	b.WriteString("\r\n0;chunk-signature=" + chunkedSigEnd + "\r\n\r\n")
	return b.Bytes()
}

func chunkedExampleRequest(t testing.TB, body []byte) *http.Request {
	head := "PUT /examplebucket/chunkObject.txt HTTP/1.1\nHost: s3.amazonaws.com\n" +
		"x-amz-date: 20130524T000000Z\nx-amz-storage-class: REDUCED_REDUNDANCY\n" +
		"Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request," +
		"SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class," +
		"Signature=" + chunkedSeed + "\n" +
		"x-amz-content-sha256: STREAMING-AWS4-HMAC-SHA256-PAYLOAD\nContent-Encoding: aws-chunked\n" +
		"x-amz-decoded-content-length: 66560\nContent-Length: 66824\n\n"
	return readRequest(t, head+string(body))
}

func TestS3ChunkedExample(t *testing.T) {
	body := chunkedExampleBody()
	if len(body) != 66824 {
		t.Fatalf("example body is %d bytes, the example says 66824", len(body))
	}
	r := chunkedExampleRequest(t, body)
	a, err := s3Verifier().Verify(r)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if a.Payload != PayloadStreaming || a.ContentLength != 66560 || string(a.seed[:]) != chunkedSeed {
		t.Fatalf("auth %+v", a)
	}
	got, err := io.ReadAll(a.Body(r.Body))
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if !bytes.Equal(got, bytes.Repeat([]byte("a"), 66560)) {
		t.Fatalf("decoded %d bytes", len(got))
	}

	// The Signer produces the same request and body.
	req, _ := http.NewRequest("PUT", "https://s3.amazonaws.com/examplebucket/chunkObject.txt", nil)
	req.Header.Set("X-Amz-Storage-Class", "REDUCED_REDUNDANCY")
	s := &Signer{AccessKey: s3AccessKey, SecretKey: s3Secret}
	if err := s.SignStreaming(req, bytes.NewReader(bytes.Repeat([]byte("a"), 66560)), 66560, s3ExampleTime, StreamOptions{ChunkSize: 65536}); err != nil {
		t.Fatal(err)
	}
	if got := req.Header.Get("Authorization"); !strings.HasSuffix(got, "Signature="+chunkedSeed) {
		t.Errorf("seed: %s", got)
	}
	encoded, err := io.ReadAll(req.Body)
	if err != nil || !bytes.Equal(encoded, body) || req.ContentLength != 66824 {
		t.Errorf("encoded body differs from the example (%d bytes, content length %d, %v)", len(encoded), req.ContentLength, err)
	}
}

// The trailer signature of the aws-c-auth / aws-crt chunk signing test,
// chained from the example's final chunk signature: trailing headers
// first:1st, second:2nd, third:3rd.
func TestTrailerSignatureVector(t *testing.T) {
	key := signingKey(s3Secret, "20130524", "us-east-1", "s3")
	prev := [64]byte{}
	copy(prev[:], chunkedSigEnd)
	sts := appendTrailerStringToSign(nil, "20130524T000000Z", "20130524/us-east-1/s3/aws4_request", &prev,
		[]byte("first:1st\nsecond:2nd\nthird:3rd\n"))
	if got := signature(&key, sts); string(got[:]) != "df5735bd9f3295cd9386572292562fefc93ba94e80a0a1ddcbd652c4e0a75e6c" {
		t.Errorf("trailer signature %s", got)
	}
	// And the chunk signatures, link by link.
	copy(prev[:], chunkedSeed)
	for _, link := range []struct {
		size int
		sig  string
	}{{65536, chunkedSig1}, {1024, chunkedSig2}, {0, chunkedSigEnd}} {
		sig := signature(&key, appendChunkStringToSign(nil, "20130524T000000Z", "20130524/us-east-1/s3/aws4_request", &prev,
			sha256.Sum256(bytes.Repeat([]byte("a"), link.size))))
		if string(sig[:]) != link.sig {
			t.Fatalf("chunk of %d: %s, want %s", link.size, sig, link.sig)
		}
		prev = sig
	}
}

// The signing key derivation example of the SigV4 documentation (iam,
// 20120215): a check of the key chain alone.
func TestSigningKeyExample(t *testing.T) {
	key := signingKey("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215", "us-east-1", "iam")
	if got := hex.EncodeToString(key[:]); got != "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d" {
		t.Errorf("signing key %s", got)
	}
}
