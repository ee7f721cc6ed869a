package node

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A client that sends a large body without "Expect: 100-continue" to a
// request refused before its body is read can send the whole body and then
// read the refusal: the node drains it, rather than closing the connection
// under the client's writes (which clients report as a broken pipe, not as
// the answer).
func TestRefusedUploadIsDrained(t *testing.T) {
	n := startLocal(t, nil)
	conn, err := net.Dial("tcp", n.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const size = 16 << 20
	// A signature of an unknown key: refused before the body is read.
	head := refusedPutHead(n.Addr(), size, "")
	_ = conn.SetDeadline(time.Now().Add(time.Minute))
	if _, err := conn.Write([]byte(head)); err != nil {
		t.Fatal(err)
	}
	// Give the node time to answer and, without draining, to give up on
	// the connection (Go's server waits 500 ms before it resets it).
	time.Sleep(time.Second)
	chunk := make([]byte, 256<<10)
	for sent := 0; sent < size; sent += len(chunk) {
		if _, err := conn.Write(chunk); err != nil {
			t.Fatalf("after %d of %d bytes of the body: %v; the node must read the body of a request it refused", sent, size, err)
		}
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("got %s, want 403 for an unknown access key", resp.Status)
	}
}

// refusedPutHead is the head of a PUT signed with an unknown access key.
func refusedPutHead(host string, size int, extra string) string {
	return fmt.Sprintf("PUT /bucket/key HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n%s"+
		"X-Amz-Date: 20261205T000000Z\r\nX-Amz-Content-Sha256: UNSIGNED-PAYLOAD\r\n"+
		"Authorization: AWS4-HMAC-SHA256 Credential=nobody/20261205/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=%s\r\n\r\n",
		host, size, extra, strings.Repeat("0", 64))
}

// A client that asked "Expect: 100-continue" and so sends no body before
// the node says so gets the refusal at once, and the node does not wait
// for a body that will not come: it closes the connection rather than
// holding it for the drain's time.
func TestRefusedExpectContinueIsNotDrained(t *testing.T) {
	n := startLocal(t, nil)
	conn, err := net.Dial("tcp", n.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Minute))
	if _, err := conn.Write([]byte(refusedPutHead(n.Addr(), 16<<20, "Expect: 100-continue\r\n"))); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("got %s, want 403 without a 100 Continue", resp.Status)
	}
	start := time.Now()
	_ = conn.SetReadDeadline(time.Now().Add(drainTimeout / 2))
	if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
		t.Fatalf("after the refusal the connection gave %v after %v; want it closed at once", err, time.Since(start).Round(time.Millisecond))
	}
}
