package loadgen

import (
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// ErrConfig marks a configuration the run refuses (the command maps it to
// a usage error).
var ErrConfig = errors.New("loadgen: invalid configuration")

// Op is one kind of S3 operation.
type Op int

// The operations, in the order reports list them.
const (
	OpPut Op = iota
	OpGet
	OpStat
	OpDelete
	OpList
	numOps
)

var opNames = [numOps]string{"put", "get", "stat", "delete", "list"}

func (o Op) String() string {
	if o < 0 || o >= numOps {
		return "op(" + strconv.Itoa(int(o)) + ")"
	}
	return opNames[o]
}

// ParseOp parses an operation name.
func ParseOp(s string) (Op, error) {
	for i, n := range opNames {
		if strings.EqualFold(s, n) {
			return Op(i), nil
		}
	}
	if strings.EqualFold(s, "head") {
		return OpStat, nil
	}
	return 0, fmt.Errorf("%w: unknown operation %q (put, get, stat, delete, list)", ErrConfig, s)
}

// Mix is the weight of each operation; an operation of weight 0 never runs.
type Mix [numOps]int

// MixOf is the mix of a single operation.
func MixOf(op Op) Mix {
	var m Mix
	m[op] = 1
	return m
}

// ParseMix parses "put=20,get=70,stat=5,delete=5" (weights, not
// necessarily summing to 100) or a single operation name.
func ParseMix(s string) (Mix, error) {
	var m Mix
	if !strings.Contains(s, "=") {
		op, err := ParseOp(strings.TrimSpace(s))
		if err != nil {
			return m, err
		}
		return MixOf(op), nil
	}
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, weight, ok := strings.Cut(part, "=")
		if !ok {
			return m, fmt.Errorf("%w: mix %q: %q is not op=weight", ErrConfig, s, part)
		}
		op, err := ParseOp(strings.TrimSpace(name))
		if err != nil {
			return m, fmt.Errorf("mix %q: %w", s, err)
		}
		w, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(weight), "%"))
		if err != nil || w < 0 {
			return m, fmt.Errorf("%w: mix %q: weight of %s must be a whole number >= 0", ErrConfig, s, op)
		}
		m[op] += w
	}
	if m.total() == 0 {
		return m, fmt.Errorf("%w: mix %q has no operation with a weight above 0", ErrConfig, s)
	}
	return m, nil
}

func (m Mix) total() int {
	t := 0
	for _, w := range m {
		t += w
	}
	return t
}

// only reports the single operation of the mix, if it has one.
func (m Mix) only() (Op, bool) {
	found, n := Op(0), 0
	for op, w := range m {
		if w > 0 {
			found, n = Op(op), n+1
		}
	}
	return found, n == 1
}

// needsObjects reports whether an operation of the mix reads or removes
// existing objects, so the run must PUT some first.
func (m Mix) needsObjects() bool {
	return m[OpGet]+m[OpStat]+m[OpDelete]+m[OpList] > 0
}

// pick draws an operation with probability proportional to its weight.
func (m Mix) pick(rng *rand.Rand) Op {
	n := rng.IntN(m.total())
	for op, w := range m {
		if n < w {
			return Op(op)
		}
		n -= w
	}
	return OpPut // unreachable with total() > 0
}

func (m Mix) String() string {
	if op, ok := m.only(); ok {
		return op.String()
	}
	var b strings.Builder
	for op, w := range m {
		if w == 0 {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=%d", Op(op), w)
	}
	return b.String()
}

// Sizes is the distribution of object sizes: Min == Max is a fixed size,
// otherwise sizes are log-uniform in [Min, Max] (as many objects from 1 KiB
// to 2 KiB as from 8 MiB to 16 MiB), which is how object stores' sizes
// tend to spread.
type Sizes struct{ Min, Max int64 }

// ParseSizes parses "4KiB" or "1KiB-16MiB".
func ParseSizes(s string) (Sizes, error) {
	lo, hi, isRange := strings.Cut(s, "-")
	smallest, err := ParseBytes(lo)
	if err != nil {
		return Sizes{}, err
	}
	largest := smallest
	if isRange {
		if largest, err = ParseBytes(hi); err != nil {
			return Sizes{}, err
		}
	}
	if smallest < 1 || largest < smallest {
		return Sizes{}, fmt.Errorf("%w: size %q: need 1 <= min <= max", ErrConfig, s)
	}
	return Sizes{smallest, largest}, nil
}

// sample draws a size.
func (z Sizes) sample(rng *rand.Rand) int64 {
	if z.Min == z.Max {
		return z.Min
	}
	lo, hi := math.Log(float64(z.Min)), math.Log(float64(z.Max))
	v := int64(math.Round(math.Exp(lo + rng.Float64()*(hi-lo))))
	return max(z.Min, min(z.Max, v))
}

// mean is the distribution's expected size.
func (z Sizes) mean() float64 {
	if z.Min == z.Max {
		return float64(z.Min)
	}
	// The mean of a log-uniform distribution on [a, b]: (b-a)/ln(b/a).
	a, b := float64(z.Min), float64(z.Max)
	return (b - a) / math.Log(b/a)
}

func (z Sizes) String() string {
	if z.Min == z.Max {
		return FormatBytes(z.Min)
	}
	return FormatBytes(z.Min) + "-" + FormatBytes(z.Max)
}

var byteUnits = []struct {
	suffix string
	mult   int64
}{
	// Longest suffixes first, so "KiB" is not read as "B".
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40},
	{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"tb", 1e12},
	{"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30}, {"t", 1 << 40},
	{"b", 1},
}

// ParseBytes parses a byte count: "4096", "4KiB", "4k" (binary, as fio
// reads it), "4KB" (decimal), "1.5MiB".
func ParseBytes(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range byteUnits {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) || v*float64(mult) > 1<<50 {
		return 0, fmt.Errorf("%w: %q is not a size (e.g. 4096, 4KiB, 16MiB)", ErrConfig, s)
	}
	return int64(math.Round(v * float64(mult))), nil
}

// FormatBytes writes n with the largest binary unit that keeps it whole,
// else with one decimal.
func FormatBytes(n int64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	i, v := 0, float64(n)
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	if v == math.Trunc(v) {
		return fmt.Sprintf("%d%s", int64(v), units[i])
	}
	return fmt.Sprintf("%.1f%s", v, units[i])
}

// ParseFraction parses "10%", "0.1" or "all"/"none" into [0, 1].
func ParseFraction(s string) (float64, error) {
	t := strings.TrimSpace(strings.ToLower(s))
	switch t {
	case "all":
		return 1, nil
	case "none", "off":
		return 0, nil
	}
	scale := 1.0
	if strings.HasSuffix(t, "%") {
		t, scale = strings.TrimSuffix(t, "%"), 100
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || v/scale < 0 || v/scale > 1 {
		return 0, fmt.Errorf("%w: %q is not a fraction (e.g. 10%%, 0.1, all, none)", ErrConfig, s)
	}
	return v / scale, nil
}

// Config is one run.
type Config struct {
	// Endpoints are the S3 endpoints' URLs (http://host:port); clients are
	// spread over them round-robin. A bare host:port is http.
	Endpoints []string
	AccessKey string
	SecretKey string
	Region    string // default us-east-1
	// Insecure skips TLS certificate verification.
	Insecure bool
	// UnsignedPayload sends PUT bodies as UNSIGNED-PAYLOAD over http too
	// (over https they always are).
	UnsignedPayload bool

	// Bucket is used if it exists (and kept), created if not (and removed
	// afterwards); empty is a fresh bucket of a random name.
	Bucket string
	Mix    Mix
	Sizes  Sizes
	// Clients is the number of concurrent clients (default 8).
	Clients int
	// Duration ends the run; Count ends it after that many operations
	// (over all clients). With neither, the run lasts 10 s.
	Duration time.Duration
	Count    int64
	// Objects is how many objects the prepare phase PUTs (not measured)
	// when the mix reads, stats, lists or deletes; 0 picks a default from
	// the size and clients.
	Objects int
	// Verify is the fraction of GETs whose bytes are hashed and compared
	// with the checksum recorded at PUT.
	Verify float64
	// ListKeys is the max-keys of a list operation (default 100).
	ListKeys int
	// Keep leaves the objects and the bucket in place.
	Keep bool
	// Seed makes the random choices repeatable; 0 is a random seed.
	Seed uint64

	// Progress receives a line a second while the run goes (nil: none);
	// ProgressTTY rewrites one line with \r instead of printing lines.
	Progress    io.Writer
	ProgressTTY bool
	// Interval is the time between progress lines and series points
	// (default 1 s).
	Interval time.Duration
	// CleanupTimeout bounds the cleanup after the run (default 5 min).
	CleanupTimeout time.Duration
}

const (
	defaultClients        = 8
	defaultDuration       = 10 * time.Second
	defaultListKeys       = 100
	defaultCleanupTimeout = 5 * time.Minute
	// The prepare phase writes at most this many bytes by default, so a
	// GET of large objects does not wait minutes for its objects.
	defaultPrepareBytes = 1 << 30
	maxDefaultObjects   = 1000
)

func (c *Config) setDefaults() error {
	if len(c.Endpoints) == 0 {
		return fmt.Errorf("%w: no endpoint", ErrConfig)
	}
	if c.AccessKey == "" || c.SecretKey == "" {
		return fmt.Errorf("%w: no credentials (access key and secret key)", ErrConfig)
	}
	if c.Mix.total() == 0 {
		return fmt.Errorf("%w: no operation", ErrConfig)
	}
	for _, w := range c.Mix {
		if w < 0 {
			return fmt.Errorf("%w: negative weight in mix", ErrConfig)
		}
	}
	if c.Sizes.Min == 0 && c.Sizes.Max == 0 {
		c.Sizes = Sizes{4 << 10, 4 << 10}
	}
	if c.Sizes.Min < 1 || c.Sizes.Max < c.Sizes.Min {
		return fmt.Errorf("%w: size %d-%d", ErrConfig, c.Sizes.Min, c.Sizes.Max)
	}
	if c.Region == "" {
		c.Region = "us-east-1"
	}
	if c.Clients == 0 {
		c.Clients = defaultClients
	}
	if c.Clients < 0 || c.Count < 0 || c.Duration < 0 || c.Objects < 0 || c.ListKeys < 0 {
		return fmt.Errorf("%w: clients, count, duration, objects and list keys cannot be negative", ErrConfig)
	}
	if c.Verify < 0 || c.Verify > 1 {
		return fmt.Errorf("%w: verify fraction %v outside [0, 1]", ErrConfig, c.Verify)
	}
	if c.Duration == 0 && c.Count == 0 {
		c.Duration = defaultDuration
	}
	if c.Objects == 0 && c.Mix.needsObjects() {
		byBytes := int(defaultPrepareBytes / c.Sizes.mean())
		c.Objects = min(maxDefaultObjects, max(2*c.Clients, byBytes))
	}
	if c.ListKeys == 0 {
		c.ListKeys = defaultListKeys
	}
	if c.Interval <= 0 {
		c.Interval = time.Second
	}
	if c.CleanupTimeout <= 0 {
		c.CleanupTimeout = defaultCleanupTimeout
	}
	return nil
}
