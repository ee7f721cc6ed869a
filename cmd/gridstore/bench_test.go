package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gridstore/gridstore/node"
)

func TestBenchUsageErrors(t *testing.T) {
	for _, v := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", envRootUser, envRootPassword} {
		t.Setenv(v, "")
	}
	creds := []string{"--access-key", "ak", "--secret-key", "secret-key"}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no credentials", nil, "no credentials"},
		{"bad size", append([]string{"--size", "4XB"}, creds...), `"4XB" is not a size`},
		{"bad range", append([]string{"--size", "16MiB-1KiB"}, creds...), "min <= max"},
		{"bad op", append([]string{"--op", "copy"}, creds...), `unknown operation "copy"`},
		{"bad mix", append([]string{"--mix", "put=x"}, creds...), "weight of put"},
		{"bad verify", append([]string{"--verify", "150%"}, creds...), "not a fraction"},
		{"bad endpoint", append([]string{"--endpoint", "ftp://x"}, creds...), "want http(s)://host:port"},
		{"extra args", append([]string{"now"}, creds...), "unexpected arguments"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(context.Background(), append([]string{"bench"}, tc.args...), &stdout, &stderr); code != exitUsage {
				t.Errorf("exit code %d, want %d; stderr: %s", code, exitUsage, &stderr)
			}
			if !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("stderr does not say %q: %s", tc.want, &stderr)
			}
		})
	}
}

// The command end to end against an in-process node: a mixed run by
// count, with the table on stdout and the three files written.
func TestBenchCommand(t *testing.T) {
	defer goleak.VerifyNone(t)
	cfg := node.LocalConfig()
	cfg.Endpoints = []string{filepath.Join(t.TempDir(), "data{1...4}")}
	cfg.RootUser, cfg.RootPassword = "bench-user", "bench-password"
	n, err := node.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = n.Shutdown(context.Background()) }()
	select {
	case <-n.Ready():
	case <-n.Failed():
		t.Fatal(n.Err())
	case <-time.After(60 * time.Second):
		t.Fatal("node not ready")
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	t.Setenv(envRootUser, cfg.RootUser) // the fallback after the AWS_ variables
	t.Setenv(envRootPassword, cfg.RootPassword)
	dir := t.TempDir()
	jsonFile, csvFile, seriesFile := filepath.Join(dir, "r.json"), filepath.Join(dir, "r.csv"), filepath.Join(dir, "s.csv")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"bench", "--endpoint", n.Addr(), "--mix", "put=1,get=3", "--size", "1KiB-64KiB",
		"--clients", "3", "--count", "60", "--objects", "10", "--verify", "all",
		"--json", jsonFile, "--csv", csvFile, "--series-csv", seriesFile}, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit code %d\nstdout: %s\nstderr: %s", code, &stdout, &stderr)
	}
	for _, want := range []string{"p99 ms", "put=1,get=3", "cleaned up: "} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, &stdout)
		}
	}
	if !strings.Contains(stderr.String(), "[done") {
		t.Errorf("no progress on stderr: %s", &stderr)
	}
	var res struct {
		Ops []struct {
			Op       string `json:"op"`
			Ops      int64  `json:"ops"`
			Verified int64  `json:"verified"`
		} `json:"ops"`
	}
	b, err := os.ReadFile(jsonFile)
	if err != nil || json.Unmarshal(b, &res) != nil || len(res.Ops) != 2 {
		t.Fatalf("json %s: %v", b, err)
	}
	if total := res.Ops[0].Ops + res.Ops[1].Ops; total != 60 || res.Ops[1].Verified != res.Ops[1].Ops {
		t.Errorf("json ops %+v, want 60 in all, every get verified", res.Ops)
	}
	for file, minRows := range map[string]int{csvFile: 3, seriesFile: 2} {
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(f).ReadAll()
		_ = f.Close()
		if err != nil || len(rows) < minRows {
			t.Errorf("%s: %d rows, %v", file, len(rows), err)
		}
	}
}
