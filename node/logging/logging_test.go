package logging

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"strings"
	"testing"

	"go.uber.org/zap"
)

func TestNewLevels(t *testing.T) {
	tests := []struct {
		level     string
		wantDebug bool
		wantInfo  bool
		wantWarn  bool
	}{
		{"", false, true, true}, // default: info
		{"debug", true, true, true},
		{"info", false, true, true},
		{"INFO", false, true, true},
		{" warn ", false, false, true},
		{"warning", false, false, true},
		{"error", false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.level, func(t *testing.T) {
			var buf bytes.Buffer
			log, err := New(Options{Level: tt.level, Format: FormatJSON, Output: &buf})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			log.Debug("d")
			log.Info("i")
			log.Warn("w")
			log.Error("e")
			got := buf.String()
			for _, c := range []struct {
				msg  string
				want bool
			}{{`"msg":"d"`, tt.wantDebug}, {`"msg":"i"`, tt.wantInfo}, {`"msg":"w"`, tt.wantWarn}, {`"msg":"e"`, true}} {
				if strings.Contains(got, c.msg) != c.want {
					t.Errorf("level %q: output contains %s = %v, want %v\n%s", tt.level, c.msg, !c.want, c.want, got)
				}
			}
		})
	}
}

func TestNewFormats(t *testing.T) {
	tests := []struct {
		format   string
		wantJSON bool
	}{
		{"", false},
		{"console", false},
		{"Console", false},
		{"json", true},
		{"JSON", true},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			var buf bytes.Buffer
			log, err := New(Options{Format: tt.format, Output: &buf})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			log.Info("hello", zap.String("peer", "127.0.0.1:9100"))
			line := strings.TrimSpace(buf.String())
			var m map[string]any
			isJSON := json.Unmarshal([]byte(line), &m) == nil
			if isJSON != tt.wantJSON {
				t.Fatalf("format %q: JSON output = %v, want %v: %s", tt.format, isJSON, tt.wantJSON, line)
			}
			if isJSON {
				if m["msg"] != "hello" || m["peer"] != "127.0.0.1:9100" || m["level"] != "info" {
					t.Errorf("unexpected JSON entry: %v", m)
				}
			} else if !strings.Contains(line, "INFO") || !strings.Contains(line, "hello") || !strings.Contains(line, "127.0.0.1:9100") {
				t.Errorf("unexpected console line: %s", line)
			}
		})
	}
}

func TestNewBadValues(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		wantErr string
	}{
		{"bad level", Options{Level: "loud"}, `unknown log level "loud"`},
		{"panic level not offered", Options{Level: "panic"}, `unknown log level "panic"`},
		{"bad format", Options{Format: "xml"}, `unknown log format "xml"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log, err := New(tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New(%+v) = %v, %v; want error containing %q", tt.opts, log, err, tt.wantErr)
			}
			if err := tt.opts.Validate(); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate(%+v) = %v; want error containing %q", tt.opts, err, tt.wantErr)
			}
		})
	}
}

func TestPrecedence(t *testing.T) {
	tests := []struct {
		name       string
		env        map[string]string
		args       []string
		wantLevel  string
		wantFormat string
		wantErr    string // from flag parsing
	}{
		{name: "defaults", wantLevel: "info", wantFormat: "console"},
		{name: "env", env: map[string]string{EnvLevel: "debug", EnvFormat: "json"}, wantLevel: "debug", wantFormat: "json"},
		{name: "empty env is unset", env: map[string]string{EnvLevel: " ", EnvFormat: ""}, wantLevel: "info", wantFormat: "console"},
		{name: "flags", args: []string{"-log-level=warn", "-log-format=json"}, wantLevel: "warn", wantFormat: "json"},
		{name: "flags override env", env: map[string]string{EnvLevel: "debug", EnvFormat: "json"},
			args: []string{"-log-level", "error", "-log-format", "console"}, wantLevel: "error", wantFormat: "console"},
		{name: "env kept when one flag given", env: map[string]string{EnvLevel: "debug", EnvFormat: "json"},
			args: []string{"-log-level=warn"}, wantLevel: "warn", wantFormat: "json"},
		{name: "bad flag level", args: []string{"-log-level=verbose"}, wantErr: `unknown log level "verbose"`},
		{name: "bad flag format", args: []string{"-log-format=yaml"}, wantErr: `unknown log format "yaml"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lookup := func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok }
			o := optionsFrom(lookup)
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			o.RegisterFlags(fs)
			err := fs.Parse(tt.args)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Parse(%q) = %v, want error containing %q", tt.args, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.args, err)
			}
			if o.Level != tt.wantLevel || o.Format != tt.wantFormat {
				t.Errorf("got level %q format %q, want %q %q", o.Level, o.Format, tt.wantLevel, tt.wantFormat)
			}
			if _, err := New(o); err != nil {
				t.Errorf("New: %v", err)
			}
		})
	}
}

// TestOptionsFromEnv checks the real environment is read (the table above
// covers the rules through an injected lookup).
func TestOptionsFromEnv(t *testing.T) {
	t.Setenv(EnvLevel, "warn")
	t.Setenv(EnvFormat, "json")
	if o := OptionsFromEnv(); o.Level != "warn" || o.Format != "json" {
		t.Fatalf("OptionsFromEnv() = %+v", o)
	}
}
