package clusterproc

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

// FailureEcho is a testing.TB that remembers every failure reported
// through it, so that a test whose last output is long (server or container
// logs, tables) can say them again at its very end, under a line of its
// own (EchoMarker) that .ci/run collects from a failed run: a CI log is
// read from its tail, and the reason a test failed must be there.
type FailureEcho struct {
	testing.TB
	mu       sync.Mutex
	failures []string
}

// EchoMarker begins the line under which a failed test's failures are
// said again.
const EchoMarker = "FAILURES OF "

// EchoFailures wraps t and registers the echo as t's first cleanup, so it
// runs last, after every cleanup registered later (a cluster's logs). then,
// if not nil, runs just before it (a summary table).
func EchoFailures(t *testing.T, then func()) *FailureEcho {
	f := &FailureEcho{TB: t}
	t.Cleanup(func() {
		if then != nil {
			then()
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		if len(f.failures) == 0 {
			if t.Failed() {
				t.Logf("%s%s: failed, not through the echo; its failures are above", EchoMarker, t.Name())
			}
			return
		}
		t.Logf("%s%s (%d, repeated from above):\n  - %s", EchoMarker, t.Name(), len(f.failures),
			strings.Join(f.failures, "\n  - "))
	})
	return f
}

func (f *FailureEcho) note(msg string) {
	f.mu.Lock()
	f.failures = append(f.failures, msg)
	f.mu.Unlock()
}

func (f *FailureEcho) Error(args ...any) {
	f.TB.Helper()
	f.note(fmt.Sprint(args...))
	f.TB.Error(args...)
}

func (f *FailureEcho) Errorf(format string, args ...any) {
	f.TB.Helper()
	f.note(fmt.Sprintf(format, args...))
	f.TB.Errorf(format, args...)
}

func (f *FailureEcho) Fatal(args ...any) {
	f.TB.Helper()
	f.note(fmt.Sprint(args...))
	f.TB.Fatal(args...)
}

func (f *FailureEcho) Fatalf(format string, args ...any) {
	f.TB.Helper()
	f.note(fmt.Sprintf(format, args...))
	f.TB.Fatalf(format, args...)
}
