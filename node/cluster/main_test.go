package cluster

import (
	"fmt"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestMain fails the run if goroutines are left behind. memberlist's
// Shutdown does not wait for a probe in flight: that goroutine ends when
// the probe's ack deadline passes, up to ProbeInterval ×
// AwarenessMaxMultiplier (1.6 s with DefaultConfig) later — longer than
// goleak's own retries — so it gets a generous 5 s before the verdict.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		deadline := time.Now().Add(5 * time.Second)
		err := goleak.Find()
		for err != nil && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
			err = goleak.Find()
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}
