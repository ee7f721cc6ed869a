package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string // substring; "" means stdout must be empty
		wantStderr string // substring; "" means stderr must be empty
	}{
		{name: "no command", args: nil, wantCode: exitUsage, wantStderr: "Usage: gridstore <command>"},
		{name: "help", args: []string{"help"}, wantCode: exitOK, wantStdout: "grid-demo"},
		{name: "-h", args: []string{"-h"}, wantCode: exitOK, wantStdout: "version"},
		{name: "unknown command", args: []string{"frobnicate"}, wantCode: exitUsage, wantStderr: `unknown command "frobnicate"`},
		{name: "version", args: []string{"version"}, wantCode: exitOK, wantStdout: "gridstore " + version},
		{name: "version -h", args: []string{"version", "-h"}, wantCode: exitOK, wantStderr: "Usage: gridstore version"},
		{name: "version extra args", args: []string{"version", "now"}, wantCode: exitUsage, wantStderr: "unexpected arguments: now"},
		{name: "bad flag", args: []string{"grid-demo", "-no-such-flag"}, wantCode: exitUsage, wantStderr: "flag provided but not defined"},
		{name: "bad flag value", args: []string{"grid-demo", "-nodes", "1"}, wantCode: exitUsage, wantStderr: "-nodes 1"},
		{name: "bad log level", args: []string{"grid-demo", "-log-level", "loud"}, wantCode: exitUsage, wantStderr: `unknown log level "loud"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tt.args, &stdout, &stderr)
			if code != tt.wantCode {
				t.Errorf("exit code %d, want %d\nstdout: %s\nstderr: %s", code, tt.wantCode, &stdout, &stderr)
			}
			check := func(stream, got, want string) {
				if want == "" && got != "" {
					t.Errorf("%s = %q, want empty", stream, got)
				}
				if !strings.Contains(got, want) {
					t.Errorf("%s does not contain %q:\n%s", stream, want, got)
				}
			}
			check("stdout", stdout.String(), tt.wantStdout)
			check("stderr", stderr.String(), tt.wantStderr)
		})
	}
}

// TestUsageListsEveryCommand keeps the usage text and the command table in step.
func TestUsageListsEveryCommand(t *testing.T) {
	var b bytes.Buffer
	usage(&b)
	for _, c := range commands() {
		if !strings.Contains(b.String(), "  "+c.name+" ") {
			t.Errorf("usage does not list %q:\n%s", c.name, &b)
		}
	}
}
