package s3

import (
	"net/url"
	"testing"

	"github.com/gridstore/gridstore/node/s3/limits"
)

// FuzzListQuery feeds raw query strings (what a client controls and
// s3xml's fuzzers do not see) to the parsers of listing, multipart and
// copy-range parameters: they must refuse or accept, never panic, and what
// they accept must be within the bounds the layer is given.
func FuzzListQuery(f *testing.F) {
	for _, s := range []string{
		"", "list-type=2&max-keys=7&prefix=a%2F&delimiter=%2F", "max-keys=-1", "max-keys=99999999999999999999",
		"encoding-type=URL&marker=x", "continuation-token=", "partNumber=10000&uploadId=x", "partNumber=0",
		"max-parts=5&part-number-marker=3", "key-marker=a&version-id-marker=null", "version-id-marker=null", "key-marker=a&version-id-marker=v1", "max-uploads=1001", "r=bytes%3D0-1", "r=bytes%3D-5", "r=bytes%3D9223372036854775807-9223372036854775807",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		for _, kind := range []listKind{kindV1, kindV2, kindVersions} {
			lq, err := parseListQuery(q, kind)
			if err != nil {
				continue
			}
			if lq.maxKeys < 0 || (lq.encodingType != "" && lq.encodingType != "url") ||
				(lq.versionIDMarker != "" && (lq.versionIDMarker != nullVersionID || lq.marker == "")) {
				t.Fatalf("accepted %+v", lq)
			}
			if o := lq.options(); o.MaxKeys < 0 || o.MaxKeys > limits.MaxListKeys {
				t.Fatalf("layer asked for %d keys", o.MaxKeys)
			}
		}
		if _, n, err := partParams(q); err == nil && (n < 1 || n > limits.MaxPartNumber) {
			t.Fatalf("accepted part number %d", n)
		}
		for _, name := range []string{"max-parts", "part-number-marker", "max-uploads"} {
			if n, err := intParam(q, name, 0); err == nil && n < 0 {
				t.Fatalf("accepted %s=%d", name, n)
			}
		}
		if rng, err := parseCopySourceRange(q.Get("r")); err == nil && rng != nil && (rng.First < 0 || rng.First > rng.Last) {
			t.Fatalf("accepted range %+v", rng)
		}
	})
}
