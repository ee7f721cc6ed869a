package main

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

// failureEcho is a testing.TB that remembers every failure it reports, so
// that a test whose last output is long (the containers' logs, a table)
// can say them again at the very end: a CI log shows its tail, and the
// reason a test failed must be in it.
type failureEcho struct {
	testing.TB
	mu       sync.Mutex
	failures []string
}

// echoFailures wraps t and registers the echo as t's first cleanup, so it
// runs last, after every cleanup registered later (startCompose's logs).
// then, if not nil, runs just before it (a summary table).
func echoFailures(t *testing.T, then func()) *failureEcho {
	f := &failureEcho{TB: t}
	t.Cleanup(func() {
		if then != nil {
			then()
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		if len(f.failures) == 0 {
			if t.Failed() {
				t.Logf("%s failed; its failures are above", t.Name())
			}
			return
		}
		t.Logf("%s failed (%d failures, repeated from above):\n  - %s", t.Name(), len(f.failures),
			strings.Join(f.failures, "\n  - "))
	})
	return f
}

func (f *failureEcho) note(msg string) {
	f.mu.Lock()
	f.failures = append(f.failures, msg)
	f.mu.Unlock()
}

func (f *failureEcho) Error(args ...any) {
	f.TB.Helper()
	f.note(fmt.Sprint(args...))
	f.TB.Error(args...)
}

func (f *failureEcho) Errorf(format string, args ...any) {
	f.TB.Helper()
	f.note(fmt.Sprintf(format, args...))
	f.TB.Errorf(format, args...)
}

func (f *failureEcho) Fatal(args ...any) {
	f.TB.Helper()
	f.note(fmt.Sprint(args...))
	f.TB.Fatal(args...)
}

func (f *failureEcho) Fatalf(format string, args ...any) {
	f.TB.Helper()
	f.note(fmt.Sprintf(format, args...))
	f.TB.Fatalf(format, args...)
}
