package node

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gridstore/gridstore/node/admin"
	"github.com/gridstore/gridstore/storage"
	"github.com/gridstore/gridstore/storage/faultdrive"
	"github.com/gridstore/gridstore/storage/health"
	"github.com/minio/minio-go/v7"
)

// A local drive whose calls hang (faultdrive: they ignore their contexts,
// as a disk stuck in a system call does) is taken out of service by its
// hang guard, and the operator sees it: admin info shows it faulty with the
// reason and its timeouts, the metrics say gridstore_drive_state faulty
// and count its timeouts. Once the disk answers again a probe puts it back,
// and both show it online. Once with short hang-guard settings, once with
// the defaults (5 s a call).
func TestHungDriveShowsFaulty(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  health.Config
	}{
		{"short", health.Config{CallTimeout: 300 * time.Millisecond, ProbeInterval: 100 * time.Millisecond}},
		{"defaults", health.Config{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "defaults" && testing.Short() {
				t.Skip("the default call timeout takes 5 s a round")
			}
			hungDriveShowsFaulty(t, tc.cfg)
		})
	}
}

func hungDriveShowsFaulty(t *testing.T, cfg health.Config) {
	var fd *faultdrive.Drive
	n := startLocal(t, func(c *Config) {
		c.Timing.DriveHealth = cfg
		c.WrapLocalDrive = func(index int, d storage.Drive) storage.Drive {
			if index != 0 {
				return d
			}
			fd = faultdrive.New(d)
			return fd
		}
	})
	// Before the node stops: its calls hung in the drive must go on.
	t.Cleanup(func() { fd.Release() })
	ac := admin.Client{Endpoint: n.URL, AccessKey: testUser, SecretKey: testPassword}
	c := plainMinio(t, n)
	ctx := testCtx(t)
	if err := c.MakeBucket(ctx, "hung", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}

	fd.Set(faultdrive.Hang())
	// Traffic that reaches the drive, until it is out of service.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
			_, _ = c.PutObject(rctx, "hung", fmt.Sprintf("k%d", i), bytes.NewReader([]byte("x")), 1, minio.PutObjectOptions{})
			cancel()
		}
	})
	defer wg.Wait()
	defer close(stop)

	info := waitDriveState(t, ac, 0, admin.DriveFaulty, 40*time.Second)
	d := info.Drives[0]
	if !strings.HasPrefix(d.Error, "faulty, probing: ") || d.Timeouts < 3 || d.Total != 0 {
		t.Errorf("faulty drive: %+v", d)
	}
	var table bytes.Buffer
	if err := admin.WriteInfoTable(&table, info); err != nil || !strings.Contains(table.String(), "1 faulty") {
		t.Errorf("table (%v):\n%s", err, table.String())
	}
	t.Logf("admin info: %s", d.Error)

	_, body := get(t, n.URL+"/metrics")
	faulty := regexp.MustCompile(`(?m)^gridstore_drive_state\{drive="([^"]+)",state="faulty"\} 1$`).FindAllStringSubmatch(body, -1)
	if len(faulty) != 1 {
		t.Fatalf("metrics show %d faulty drives:\n%s", len(faulty), grepLines(body, "gridstore_drive_state"))
	}
	drive := regexp.QuoteMeta(faulty[0][1])
	m := regexp.MustCompile(`(?m)^gridstore_drive_timeouts_total\{drive="` + drive + `"\} (\d+)$`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no timeout count for %s:\n%s", faulty[0][1], grepLines(body, "gridstore_drive_timeouts_total"))
	}
	if k, _ := strconv.Atoi(m[1]); k < 3 {
		t.Errorf("drive %s: %d timeouts counted, at least 3 took it out of service", faulty[0][1], k)
	}
	if !regexp.MustCompile(`(?m)^gridstore_drive_state\{drive="` + drive + `",state="ok"\} 0$`).MatchString(body) {
		t.Errorf("the faulty drive also shows ok:\n%s", grepLines(body, "gridstore_drive_state"))
	}

	fd.Release()
	waitDriveState(t, ac, 0, admin.DriveOnline, 30*time.Second)
	_, body = get(t, n.URL+"/metrics")
	if strings.Contains(body, `state="faulty"} 1`) {
		t.Errorf("metrics still show a faulty drive:\n%s", grepLines(body, "gridstore_drive_state"))
	}
}

// waitDriveState polls admin info until drive i is in state, and returns
// that answer.
func waitDriveState(t *testing.T, ac admin.Client, i int, state string, limit time.Duration) *admin.Info {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		info, err := ac.Info(t.Context())
		if err == nil && len(info.Drives) > i && info.Drives[i].State == state {
			return info
		}
		if time.Now().After(deadline) {
			if err == nil && len(info.Drives) > i {
				t.Fatalf("drive %d still %s after %v, not %s: %+v", i, info.Drives[i].State, limit, state, info.Drives[i])
			}
			t.Fatalf("drive %d not %s after %v: %v", i, state, limit, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func grepLines(body, prefix string) string {
	var out []string
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
