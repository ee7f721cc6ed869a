package loadgen

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestParseBytes(t *testing.T) {
	for in, want := range map[string]int64{
		"4096": 4096, "4KiB": 4096, "4kib": 4096, "4k": 4096, "4KB": 4000, "1MiB": 1 << 20,
		"16MiB": 16 << 20, "1.5MiB": 3 << 19, "2GiB": 2 << 30, "1m": 1 << 20, "7B": 7, " 8 KiB ": 8192, "0": 0,
	} {
		got, err := ParseBytes(in)
		if err != nil || got != want {
			t.Errorf("ParseBytes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "KiB", "-1", "4XB", "abc", "1e30", "NaN"} {
		if _, err := ParseBytes(in); !errors.Is(err, ErrConfig) {
			t.Errorf("ParseBytes(%q): err %v, want ErrConfig", in, err)
		}
	}
}

func TestParseSizes(t *testing.T) {
	z, err := ParseSizes("4KiB")
	if err != nil || z != (Sizes{4096, 4096}) {
		t.Fatalf("ParseSizes(4KiB) = %v, %v", z, err)
	}
	z, err = ParseSizes("1KiB-16MiB")
	if err != nil || z != (Sizes{1 << 10, 16 << 20}) {
		t.Fatalf("ParseSizes(1KiB-16MiB) = %v, %v", z, err)
	}
	if z.String() != "1KiB-16MiB" {
		t.Errorf("String() = %q", z.String())
	}
	for _, in := range []string{"0", "16MiB-1KiB", "1KiB-", "-4KiB", "x-y"} {
		if _, err := ParseSizes(in); !errors.Is(err, ErrConfig) {
			t.Errorf("ParseSizes(%q): err %v, want ErrConfig", in, err)
		}
	}
}

// A log-uniform range puts as many sizes in each factor of two, so the
// median is the geometric mean of the bounds; every size is within them.
func TestSizesSampleLogUniform(t *testing.T) {
	z := Sizes{1 << 10, 16 << 20}
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 20000
	s := make([]int64, n)
	for i := range s {
		s[i] = z.sample(rng)
		if s[i] < z.Min || s[i] > z.Max {
			t.Fatalf("sample %d outside %v", s[i], z)
		}
	}
	slices.Sort(s)
	geo := math.Sqrt(float64(z.Min) * float64(z.Max)) // 128 KiB
	if med := float64(s[n/2]); med < geo/1.2 || med > geo*1.2 {
		t.Errorf("median %v, want about %v", med, geo)
	}
	// A quarter of the log range (1 KiB..8 KiB is 3 of 14 doublings).
	below8k := 0
	for _, v := range s {
		if v <= 8<<10 {
			below8k++
		}
	}
	if f := float64(below8k) / n; math.Abs(f-3.0/14) > 0.02 {
		t.Errorf("%.3f of sizes <= 8 KiB, want %.3f", f, 3.0/14)
	}
	var sum float64
	for _, v := range s {
		sum += float64(v)
	}
	if mean := sum / n; math.Abs(mean-z.mean())/z.mean() > 0.05 {
		t.Errorf("sample mean %.0f, mean() %.0f", mean, z.mean())
	}
	if got := (Sizes{4096, 4096}).sample(rng); got != 4096 {
		t.Errorf("fixed size sampled %d", got)
	}
}

func TestParseMix(t *testing.T) {
	m, err := ParseMix("put=20,get=70,stat=5,delete=5")
	if err != nil || m != (Mix{20, 70, 5, 5, 0}) {
		t.Fatalf("ParseMix = %v, %v", m, err)
	}
	if m.String() != "put=20,get=70,stat=5,delete=5" {
		t.Errorf("String() = %q", m.String())
	}
	if m, err := ParseMix("GET"); err != nil || m != MixOf(OpGet) || m.String() != "get" {
		t.Errorf("ParseMix(GET) = %v, %v", m, err)
	}
	if m, err := ParseMix("head=1, list=3%"); err != nil || m != (Mix{0, 0, 1, 0, 3}) {
		t.Errorf("ParseMix(head=1, list=3%%) = %v, %v", m, err)
	}
	for _, in := range []string{"", "put=0", "put", "copy=5", "put=-1", "put=x", "put:5", "mixed"} {
		if in == "put" {
			continue
		}
		if _, err := ParseMix(in); !errors.Is(err, ErrConfig) {
			t.Errorf("ParseMix(%q): err %v, want ErrConfig", in, err)
		}
	}
}

// pick draws operations in proportion to their weights, never one of
// weight 0.
func TestMixPick(t *testing.T) {
	m := Mix{20, 70, 5, 5, 0}
	rng := rand.New(rand.NewPCG(3, 4))
	var got [numOps]int
	const n = 100000
	for range n {
		got[m.pick(rng)]++
	}
	for op, w := range m {
		f := float64(got[op]) / n
		if math.Abs(f-float64(w)/100) > 0.01 {
			t.Errorf("%s drawn %.3f of the time, weight %d%%", Op(op), f, w)
		}
	}
	if got[OpList] != 0 {
		t.Errorf("list drawn %d times with weight 0", got[OpList])
	}
}

func TestParseFraction(t *testing.T) {
	for in, want := range map[string]float64{"10%": 0.1, "0.25": 0.25, "all": 1, "none": 0, "100%": 1, "0": 0} {
		if got, err := ParseFraction(in); err != nil || math.Abs(got-want) > 1e-12 {
			t.Errorf("ParseFraction(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"150%", "-0.1", "2", "some"} {
		if _, err := ParseFraction(in); !errors.Is(err, ErrConfig) {
			t.Errorf("ParseFraction(%q): err %v, want ErrConfig", in, err)
		}
	}
}

func TestConfigDefaults(t *testing.T) {
	c := Config{Endpoints: []string{"x"}, AccessKey: "a", SecretKey: "b", Mix: MixOf(OpGet), Sizes: Sizes{16 << 20, 16 << 20}}
	if err := c.setDefaults(); err != nil {
		t.Fatal(err)
	}
	// 1 GiB of 16 MiB objects.
	if c.Objects != 64 || c.Clients != defaultClients || c.Duration != defaultDuration {
		t.Errorf("defaults: objects %d, clients %d, duration %v", c.Objects, c.Clients, c.Duration)
	}
	c = Config{Endpoints: []string{"x"}, AccessKey: "a", SecretKey: "b", Mix: MixOf(OpPut), Count: 10}
	if err := c.setDefaults(); err != nil || c.Objects != 0 || c.Duration != 0 || c.Sizes.Min != 4096 {
		t.Errorf("put defaults: %+v, %v", c, err)
	}
	for _, bad := range []Config{
		{AccessKey: "a", SecretKey: "b", Mix: MixOf(OpPut)},
		{Endpoints: []string{"x"}, Mix: MixOf(OpPut)},
		{Endpoints: []string{"x"}, AccessKey: "a", SecretKey: "b"},
		{Endpoints: []string{"x"}, AccessKey: "a", SecretKey: "b", Mix: MixOf(OpPut), Clients: -1},
		{Endpoints: []string{"x"}, AccessKey: "a", SecretKey: "b", Mix: MixOf(OpPut), Verify: 2},
	} {
		if err := bad.setDefaults(); !errors.Is(err, ErrConfig) {
			t.Errorf("setDefaults(%+v) = %v, want ErrConfig", bad, err)
		}
	}
}
