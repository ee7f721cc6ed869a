package admin

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/gridstore/gridstore/node/object/healqueue"
	"github.com/gridstore/gridstore/node/object/missedlog"
	"github.com/gridstore/gridstore/node/object/scanner"
	"github.com/gridstore/gridstore/node/s3/s3err"
	"github.com/gridstore/gridstore/node/s3/sigv4"
)

// testHeal is a node rebuilding one drive, scanning set 0 (a bitrot pass
// under way) and not set 1, with entries waiting.
func testHeal() HealInfo {
	end := time.Date(2026, 3, 1, 4, 5, 6, 0, time.UTC)
	return HealInfo{
		Node:         "node1:9000",
		Queue:        healqueue.Stats{Queued: 40, Healed: 35, Failed: 2, Waiting: 3},
		MissedLog:    missedlog.Stats{Waiting: 12, Recorded: 50, Done: 38},
		MissedHealer: missedlog.HealerStats{Passes: 9, Healed: 38},
		Healed: []HealCount{
			{Reason: "read", Objects: 35, Bytes: 12 << 20, Failed: 2},
			{Reason: "missed-write", Objects: 38, Bytes: 3 << 20},
			{Reason: "scanner", Objects: 4, Bytes: 1 << 20},
			{Reason: "rebuild", Objects: 1500, Bytes: 6 << 30, Failed: 1},
		},
		Rebuilds: []scanner.RebuildStatus{{
			Drive: 4, Endpoint: "/data2", Set: 1, Pos: 0, State: scanner.RebuildRunning, Pass: 1,
			Started: end.Add(-time.Hour), ObjectsDone: 1500, TotalObjects: 6000, BytesDone: 24 << 30, TotalBytes: 96 << 30,
			ObjectsHealed: 1500, BytesHealed: 6 << 30, Failed: 1, LastError: "bucket/x: drive 0 not healed",
			Bucket: "photos", Object: "2025/07/img_0042.jpg", Progress: 0.25, ETA: 3 * time.Hour,
		}},
		Scan: []scanner.SetStatus{
			{Set: 0, Owned: true, Scanning: true, Deep: true, Bucket: "photos", Object: "2024/a.jpg", Passes: 6,
				PassStarted: end, PassObjects: 4200, LastPassEnd: end.Add(-24 * time.Hour), LastPassTook: 2 * time.Hour,
				LastPassObjects: 8000},
			{Set: 1, Owned: false},
		},
		ScanStats: scanner.Stats{Scanned: 52000, Verified: 3 << 30, Healed: 4, HealedBytes: 1 << 20, Paused: 90 * time.Second},
	}
}

func TestWriteHealTable(t *testing.T) {
	info := testHeal()
	var buf bytes.Buffer
	if err := WriteHealTable(&buf, &info); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "heal.golden", buf.Bytes())
}

func TestWriteHealTableEmpty(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteHealTable(&buf, &HealInfo{ScanOff: true}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "Scanner: off") || !strings.Contains(buf.String(), "Drive rebuilds: 0") {
		t.Errorf("empty heal info:\n%s", buf.String())
	}
}

// TestClientHeal: the client gets the node's HealInfo through the signed
// API, and a wrong secret is refused.
func TestClientHeal(t *testing.T) {
	src := testSources(t)
	src.Heal = testHeal
	srv := httptest.NewServer(NewHandler(src, sigv4.StaticCredentials{testAccessKey: testSecretKey}, "", zaptest.NewLogger(t)))
	defer srv.Close()
	c := &Client{Endpoint: srv.URL, AccessKey: testAccessKey, SecretKey: testSecretKey}
	got, err := c.Heal(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := testHeal()
	if got.Node != want.Node || len(got.Rebuilds) != 1 || got.Rebuilds[0] != want.Rebuilds[0] ||
		len(got.Scan) != 2 || !got.Scan[0].PassStarted.Equal(want.Scan[0].PassStarted) || got.ScanStats != want.ScanStats ||
		got.MissedLog != want.MissedLog || len(got.Healed) != 4 || got.Healed[3] != want.Healed[3] {
		t.Fatalf("heal info through the API:\n%+v\nwant\n%+v", got, want)
	}
	c.SecretKey = "wrong"
	if _, err := c.Heal(context.Background()); !errors.Is(err, s3err.SignatureDoesNotMatch) {
		t.Fatalf("wrong secret: %v", err)
	}
	resp := send(t, http.MethodPost, srv.URL+PathPrefix+"heal", testSecretKey)
	wantError(t, resp, http.StatusMethodNotAllowed, "MethodNotAllowed")
}
