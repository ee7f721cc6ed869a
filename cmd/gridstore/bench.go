package main

// bench: a load generator for any S3 endpoint (the engine is the package
// loadgen).

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/gridstore/gridstore/cmd/gridstore/loadgen"
)

const benchSynopsis = `Load an S3 endpoint (gridstore or any other store) and report throughput,
latency percentiles and errors by S3 code per operation:
  gridstore bench --op put --size 4KiB --clients 32 --duration 20s
  gridstore bench --op get --size 1MiB --clients 8 --objects 256
  gridstore bench --mix put=20,get=70,stat=5,delete=5 --size 1KiB-16MiB
GET, stat, delete and list first put --objects objects (not measured). Every
byte of a GET is read; a sample (--verify) is checked against the checksum
recorded at PUT. Objects and the bucket are removed afterwards (also on
Ctrl-C) unless --keep. Credentials: the flags, else AWS_ACCESS_KEY_ID /
AWS_SECRET_ACCESS_KEY, else ` + envRootUser + ` / ` + envRootPassword + `.
The exit code is 1 when a GET returned other bytes than were put.`

const defaultMix = "put=20,get=70,stat=5,delete=5"

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("bench", benchSynopsis, stderr)
	var (
		cfg                         loadgen.Config
		endpoints, op, mix, size    string
		verify                      string
		jsonFile, csvFile, seriesTo string
		quiet                       bool
	)
	fs.StringVar(&endpoints, "endpoint", envOr("GRIDSTORE_ENDPOINT", "http://127.0.0.1:9000"),
		"S3 endpoint URL; several, comma-separated, share the clients round-robin (GRIDSTORE_ENDPOINT)")
	fs.StringVar(&cfg.AccessKey, "access-key", firstEnv("AWS_ACCESS_KEY_ID", envRootUser), "access key (AWS_ACCESS_KEY_ID, "+envRootUser+")")
	fs.StringVar(&cfg.SecretKey, "secret-key", firstEnv("AWS_SECRET_ACCESS_KEY", envRootPassword), "secret key (AWS_SECRET_ACCESS_KEY, "+envRootPassword+"; prefer the variables)")
	fs.StringVar(&cfg.Region, "region", firstEnv("AWS_REGION", envRegion), "region (AWS_REGION, "+envRegion+"; default us-east-1)")
	fs.BoolVar(&cfg.Insecure, "insecure", false, "https without verifying the server's certificate")
	fs.BoolVar(&cfg.UnsignedPayload, "unsigned-payload", false, "send PUT bodies as UNSIGNED-PAYLOAD over http too, sparing the client\na SHA-256 of every byte (over https they always are)")
	fs.StringVar(&cfg.Bucket, "bucket", "", "bucket to use (kept if it exists, else created and removed);\ndefault a fresh gridstore-bench-<random>")
	fs.StringVar(&op, "op", "put", "operation: put, get, stat, delete, list or mixed (see --mix)")
	fs.StringVar(&mix, "mix", "", "weights of a mixed run, e.g. "+defaultMix+" (the default of --op mixed);\nimplies --op mixed")
	fs.StringVar(&size, "size", "4KiB", "object size (4KiB, 1MiB, 1.5MB) or a log-uniform range (1KiB-16MiB)")
	fs.IntVar(&cfg.Clients, "clients", 8, "concurrent clients")
	fs.DurationVar(&cfg.Duration, "duration", 0, "how long to run (default 10s unless --count)")
	fs.Int64Var(&cfg.Count, "count", 0, "stop after this many operations over all clients")
	fs.IntVar(&cfg.Objects, "objects", 0, "objects to put before a get, stat, delete, list or mixed run;\ndefault from the size: up to 1000, about 1 GiB at most")
	fs.StringVar(&verify, "verify", "10%", "fraction of GETs whose data is hashed and checked (10%, 0.5, all, none)")
	fs.IntVar(&cfg.ListKeys, "list-keys", 100, "max-keys of a list operation")
	fs.BoolVar(&cfg.Keep, "keep", false, "leave the objects and the bucket")
	fs.Func("seed", "seed of the random choices and data (default random)", func(s string) error {
		v, err := strconv.ParseUint(s, 0, 64)
		cfg.Seed = v
		return err
	})
	fs.StringVar(&jsonFile, "json", "", "write the summary and the per-second series as JSON to FILE")
	fs.StringVar(&csvFile, "csv", "", "write the per-operation summary as CSV to FILE")
	fs.StringVar(&seriesTo, "series-csv", "", "write the per-second time series as CSV to FILE (for plots)")
	fs.BoolVar(&quiet, "quiet", false, "no progress line")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}

	usageErr := func(err error) int {
		fmt.Fprintf(stderr, "gridstore bench: %v\n", err)
		return exitUsage
	}
	var err error
	for e := range strings.SplitSeq(endpoints, ",") {
		if e = strings.TrimSpace(e); e != "" {
			cfg.Endpoints = append(cfg.Endpoints, e)
		}
	}
	switch {
	case mix != "":
		cfg.Mix, err = loadgen.ParseMix(mix)
	case op == "mixed":
		cfg.Mix, err = loadgen.ParseMix(defaultMix)
	default:
		var o loadgen.Op
		o, err = loadgen.ParseOp(op)
		cfg.Mix = loadgen.MixOf(o)
	}
	if err != nil {
		return usageErr(err)
	}
	if cfg.Sizes, err = loadgen.ParseSizes(size); err != nil {
		return usageErr(err)
	}
	if cfg.Verify, err = loadgen.ParseFraction(verify); err != nil {
		return usageErr(err)
	}
	if cfg.AccessKey == "" || cfg.SecretKey == "" {
		return usageErr(fmt.Errorf("no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or %s and %s)", envRootUser, envRootPassword))
	}
	if !quiet {
		cfg.Progress, cfg.ProgressTTY = stderr, isTerminal(stderr)
	}

	res, err := loadgen.Run(ctx, cfg)
	if res == nil {
		if errors.Is(err, loadgen.ErrConfig) {
			return usageErr(err)
		}
		fmt.Fprintf(stderr, "gridstore bench: %v\n", err)
		return exitError
	}
	code := exitOK
	if err != nil {
		fmt.Fprintf(stderr, "gridstore bench: %v\n", err)
		code = exitError
	}
	if werr := res.WriteTable(stdout); werr != nil {
		fmt.Fprintf(stderr, "gridstore bench: %v\n", werr)
		code = exitError
	}
	for _, out := range []struct {
		file  string
		write func(io.Writer) error
	}{{jsonFile, res.WriteJSON}, {csvFile, res.WriteSummaryCSV}, {seriesTo, res.WriteSeriesCSV}} {
		if out.file == "" {
			continue
		}
		if werr := writeFile(out.file, out.write); werr != nil {
			fmt.Fprintf(stderr, "gridstore bench: %v\n", werr)
			code = exitError
		}
	}
	for _, s := range res.Ops {
		for _, e := range s.ErrorCodes {
			if e.Code == "VerifyFailed" {
				fmt.Fprintf(stderr, "gridstore bench: %d %s operations returned other data than was put\n", e.Count, s.Op)
				code = exitError
			}
		}
	}
	return code
}

// firstEnv is the value of the first of the variables that is set.
func firstEnv(names ...string) string {
	for _, n := range names {
		if v := os.Getenv(n); v != "" {
			return v
		}
	}
	return ""
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func writeFile(name string, write func(io.Writer) error) error {
	f, err := os.Create(name)
	if err != nil {
		return fmt.Errorf("create %s: %w", name, err)
	}
	if err := write(f); err != nil {
		_ = f.Close()
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}
