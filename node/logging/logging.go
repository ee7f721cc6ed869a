package logging

import (
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Environment variables read by OptionsFromEnv.
const (
	EnvLevel  = "GRIDSTORE_LOG_LEVEL"
	EnvFormat = "GRIDSTORE_LOG_FORMAT"
)

// Flag names bound by Options.RegisterFlags.
const (
	FlagLevel  = "log-level"
	FlagFormat = "log-format"
)

// Formats.
const (
	FormatConsole = "console"
	FormatJSON    = "json"
)

// Defaults used for empty Options fields.
const (
	DefaultLevel  = "info"
	DefaultFormat = FormatConsole
)

// Levels lists the accepted level names, least severe first.
var Levels = []string{"debug", "info", "warn", "error"}

// Formats lists the accepted output formats.
var Formats = []string{FormatConsole, FormatJSON}

// Options configures New. The zero value is valid and means the defaults.
type Options struct {
	// Level is the minimum level logged: one of Levels, case-insensitive.
	// Empty means DefaultLevel.
	Level string
	// Format is one of Formats, case-insensitive. Empty means DefaultFormat.
	Format string
	// Output receives the log. Nil means os.Stderr.
	Output io.Writer
}

// OptionsFromEnv returns the defaults overridden by GRIDSTORE_LOG_LEVEL and
// GRIDSTORE_LOG_FORMAT where they are set and non-empty. Values are checked by
// New (or Validate), not here.
func OptionsFromEnv() Options {
	return optionsFrom(os.LookupEnv)
}

func optionsFrom(lookup func(string) (string, bool)) Options {
	o := Options{Level: DefaultLevel, Format: DefaultFormat}
	if v, ok := lookup(EnvLevel); ok && strings.TrimSpace(v) != "" {
		o.Level = strings.TrimSpace(v)
	}
	if v, ok := lookup(EnvFormat); ok && strings.TrimSpace(v) != "" {
		o.Format = strings.TrimSpace(v)
	}
	return o
}

// RegisterFlags binds -log-level and -log-format on fs to o. The current
// values of o (typically from OptionsFromEnv) are the flags' defaults, so a
// flag given on the command line overrides the environment. Bad values are
// rejected when the flags are parsed.
func (o *Options) RegisterFlags(fs *flag.FlagSet) {
	fs.Var(&checkedString{p: &o.Level, parse: func(s string) error { _, err := parseLevel(s); return err }},
		FlagLevel, "minimum log level: "+strings.Join(Levels, ", ")+" (env "+EnvLevel+")")
	fs.Var(&checkedString{p: &o.Format, parse: func(s string) error { _, err := parseFormat(s); return err }},
		FlagFormat, "log format: "+strings.Join(Formats, ", ")+" (env "+EnvFormat+")")
}

// checkedString is a string flag that validates its value when set.
type checkedString struct {
	p     *string
	parse func(string) error
}

func (c *checkedString) String() string {
	if c == nil || c.p == nil {
		return ""
	}
	return *c.p
}

func (c *checkedString) Set(s string) error {
	if err := c.parse(s); err != nil {
		return err
	}
	*c.p = s
	return nil
}

// Validate reports whether o's level and format are acceptable.
func (o Options) Validate() error {
	if _, err := parseLevel(o.Level); err != nil {
		return fmt.Errorf("logging: %w", err)
	}
	if _, err := parseFormat(o.Format); err != nil {
		return fmt.Errorf("logging: %w", err)
	}
	return nil
}

// New builds a logger from o. It fails, without side effects, if the level or
// format is not recognised.
func New(o Options) (*zap.Logger, error) {
	level, err := parseLevel(o.Level)
	if err != nil {
		return nil, fmt.Errorf("logging: %w", err)
	}
	format, err := parseFormat(o.Format)
	if err != nil {
		return nil, fmt.Errorf("logging: %w", err)
	}

	var enc zapcore.Encoder
	switch format {
	case FormatJSON:
		cfg := zap.NewProductionEncoderConfig()
		cfg.EncodeTime = zapcore.ISO8601TimeEncoder
		cfg.EncodeDuration = zapcore.StringDurationEncoder
		enc = zapcore.NewJSONEncoder(cfg)
	default: // FormatConsole
		cfg := zap.NewDevelopmentEncoderConfig()
		cfg.EncodeTime = zapcore.TimeEncoderOfLayout("15:04:05.000")
		cfg.EncodeDuration = zapcore.StringDurationEncoder
		enc = zapcore.NewConsoleEncoder(cfg)
	}

	var out zapcore.WriteSyncer = zapcore.Lock(os.Stderr)
	if o.Output != nil {
		out = zapcore.Lock(zapcore.AddSync(o.Output))
	}
	core := zapcore.NewCore(enc, out, level)
	return zap.New(core, zap.AddCaller(), zap.ErrorOutput(out), zap.AddStacktrace(zapcore.DPanicLevel)), nil
}

func parseLevel(in string) (zapcore.Level, error) {
	s := strings.ToLower(strings.TrimSpace(in))
	if s == "" {
		s = DefaultLevel
	}
	if s == "warning" {
		s = "warn"
	}
	if !slices.Contains(Levels, s) {
		return 0, fmt.Errorf("unknown log level %q: want one of %s", in, strings.Join(Levels, ", "))
	}
	var l zapcore.Level
	if err := l.Set(s); err != nil {
		return 0, fmt.Errorf("log level %q: %w", s, err)
	}
	return l, nil
}

func parseFormat(in string) (string, error) {
	s := strings.ToLower(strings.TrimSpace(in))
	if s == "" {
		return DefaultFormat, nil
	}
	if !slices.Contains(Formats, s) {
		return "", fmt.Errorf("unknown log format %q: want one of %s", in, strings.Join(Formats, ", "))
	}
	return s, nil
}
