package node

import (
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/gridstore/gridstore/node/s3"
)

// TestSlowRequestLog: a request slower than Config.SlowRequest is logged
// once at warn with what it was and where its time went; a quicker one is
// not; a negative threshold turns the log off.
func TestSlowRequestLog(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	n := &Node{cfg: Config{SlowRequest: time.Second}, log: zap.New(core)}
	slow := n.slowRequestLogger()
	slow(s3.RequestInfo{API: "GetObject", Duration: 900 * time.Millisecond})
	slow(s3.RequestInfo{
		API: "GetObject", ID: "id-1", Bucket: "b", Key: "k", Status: 200,
		Duration: 7 * time.Second, FirstByte: 6 * time.Second, ResponseWrite: 800 * time.Millisecond,
		Steps: "read lock at 1ms took 5.9s",
	})
	entries := logs.AllUntimed()
	if len(entries) != 1 {
		t.Fatalf("%d lines logged, want 1: %v", len(entries), entries)
	}
	e := entries[0]
	fields := e.ContextMap()
	if e.Level != zapcore.WarnLevel || e.Message != "slow request" || fields["request_id"] != "id-1" ||
		fields["key"] != "k" || fields["took"] != 7*time.Second || fields["response_write"] != 800*time.Millisecond ||
		!strings.Contains(fields["steps"].(string), "read lock") {
		t.Fatalf("logged %s %q %v", e.Level, e.Message, fields)
	}
	if (&Node{cfg: Config{SlowRequest: -1}, log: zap.New(core)}).slowRequestLogger() != nil {
		t.Fatal("a negative SlowRequest still logs")
	}
	if d := (&Node{log: zap.New(core)}).slowRequestLogger(); d == nil {
		t.Fatal("the default config logs no slow request")
	}
}
