package main

// server: run a gridstore node.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/gridstore/gridstore/internal/gcfloor"
	"github.com/gridstore/gridstore/node"
	"github.com/gridstore/gridstore/node/logging"
)

// Environment variables of `gridstore server`. A flag given on the command
// line wins over its variable.
const (
	envRootUser        = "GRIDSTORE_ROOT_USER"
	envRootPassword    = "GRIDSTORE_ROOT_PASSWORD"
	envClusterSecret   = "GRIDSTORE_CLUSTER_SECRET"
	envCertsDir        = "GRIDSTORE_CERTS_DIR"
	envAddress         = "GRIDSTORE_ADDRESS"
	envSelf            = "GRIDSTORE_SELF"
	envRegion          = "GRIDSTORE_REGION"
	envDomains         = "GRIDSTORE_DOMAINS"
	envParity          = "GRIDSTORE_PARITY"
	envReducedParity   = "GRIDSTORE_REDUCED_PARITY"
	envSetSize         = "GRIDSTORE_SET_SIZE"
	envMultipartExpiry = "GRIDSTORE_MULTIPART_EXPIRY"
	envShutdownTimeout = "GRIDSTORE_SHUTDOWN_TIMEOUT"
	envStallTimeout    = "GRIDSTORE_STALL_TIMEOUT"
	envSlowRequest     = "GRIDSTORE_SLOW_REQUEST"
	envMaxRequests     = "GRIDSTORE_MAX_REQUESTS"
	envGossipPort      = "GRIDSTORE_GOSSIP_PORT"
	envRequestMemory   = "GRIDSTORE_REQUEST_MEMORY_MIB"
	envEndpoints       = "GRIDSTORE_ENDPOINTS"
	envScanRate        = "GRIDSTORE_SCAN_RATE"
	envScanBitrotMiB   = "GRIDSTORE_SCAN_BITROT_MIB"
	envScanBitrotEvery = "GRIDSTORE_SCAN_BITROT_EVERY"
	envScanInterval    = "GRIDSTORE_SCAN_INTERVAL"
	envPprofAddress    = "GRIDSTORE_PPROF_ADDRESS"
)

const serverSynopsis = `Run a gridstore node. ENDPOINTS are the deployment's drives, the same list on
every node:
  gridstore server ./data{1...4}                          one node, four local folders
  gridstore server http://node{1...4}:9000/data{1...2}    four nodes of two drives each
Without arguments the endpoints are read from ` + envEndpoints + ` (space separated).
The root credentials come from ` + envRootUser + ` and ` + envRootPassword + ` (or the flags;
a password on the command line is visible to other users of the machine). Every
flag has an environment variable, named in its description.`

// gcHeapFloor is how much the server's heap may grow between two
// collections, at least (internal/gcfloor).
const gcHeapFloor = 32 << 20

func runServer(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: gridstore server [flags] ENDPOINTS...\n\n%s\n\nFlags:\n", serverSynopsis)
		fs.PrintDefaults()
	}
	cfg := node.DefaultConfig()
	var domains string
	fs.StringVar(&cfg.Address, "address", envOr(envAddress, cfg.Address), "listen address host:port ("+envAddress+")")
	fs.StringVar(&cfg.Self, "self", os.Getenv(envSelf), "this node's host:port as the endpoints write it; found from the\nmachine's addresses and -address's port when empty ("+envSelf+")")
	fs.StringVar(&cfg.RootUser, "root-user", os.Getenv(envRootUser), "root access key ("+envRootUser+")")
	fs.StringVar(&cfg.RootPassword, "root-password", os.Getenv(envRootPassword), "root secret key ("+envRootPassword+"; prefer the variable)")
	fs.StringVar(&cfg.ClusterSecret, "cluster-secret", os.Getenv(envClusterSecret), "secret of the grid between nodes; derived from the root\ncredentials when empty ("+envClusterSecret+")")
	fs.StringVar(&cfg.CertsDir, "certs-dir", os.Getenv(envCertsDir), "directory of "+node.CertFileName+", "+node.KeyFileName+" and optionally "+node.CAFileName+
		":\nserve https and run the grid over TLS with peer certificates ("+envCertsDir+")")
	fs.StringVar(&cfg.Region, "region", envOr(envRegion, "us-east-1"), "S3 region ("+envRegion+")")
	fs.StringVar(&domains, "domain", os.Getenv(envDomains), "comma-separated domains for virtual-host-style requests\n(bucket.domain) ("+envDomains+")")
	var envErrs []error
	intFlag(fs, &envErrs, &cfg.Parity, "parity", envParity, "parity drives per erasure set; 0 chooses by set size")
	intFlag(fs, &envErrs, &cfg.ReducedParity, "reduced-parity", envReducedParity, "parity of REDUCED_REDUNDANCY objects; 0 is min(2, parity)")
	intFlag(fs, &envErrs, &cfg.SetSize, "set-size", envSetSize, "drives per erasure set; 0 chooses from the drive count")
	durationFlag(fs, &envErrs, &cfg.MultipartExpiry, "multipart-expiry", envMultipartExpiry, "age after which unfinished multipart uploads are removed")
	durationFlag(fs, &envErrs, &cfg.ShutdownTimeout, "shutdown-timeout", envShutdownTimeout, "how long SIGTERM waits for in-flight requests")
	durationFlag(fs, &envErrs, &cfg.StallTimeout, "stall-timeout", envStallTimeout, "how long an S3 request may send or take nothing before it is cut")
	durationFlag(fs, &envErrs, &cfg.SlowRequest, "slow-request", envSlowRequest, "how long an S3 request may take before it is logged with where its time went (negative: never)")
	intFlag(fs, &envErrs, &cfg.GossipPort, "gossip-port", envGossipPort, "UDP and TCP port of the liveness gossip; 0 is the node's port + 10000, -1 turns gossip off")
	intFlag(fs, &envErrs, &cfg.MaxRequests, "max-requests", envMaxRequests, "S3 requests in flight beyond which more are refused with SlowDown")
	var requestMemoryMiB int
	intFlag(fs, &envErrs, &requestMemoryMiB, "request-memory-mib", envRequestMemory, "MiB of request buffers beyond which more requests are refused with SlowDown (default 96 per CPU, 128 at least, a quarter of the memory at most)")
	var scanRate, scanBitrotMiB int
	intFlag(fs, &envErrs, &scanRate, "scan-rate", envScanRate, "objects a second the background scanner checks (default 100)")
	intFlag(fs, &envErrs, &scanBitrotMiB, "scan-bitrot-mib", envScanBitrotMiB, "MiB a second of objects a bitrot scan pass verifies (default 32); -1 never checks bitrot")
	intFlag(fs, &envErrs, &cfg.Timing.Heal.ScanBitrotEvery, "scan-bitrot-every", envScanBitrotEvery, "one scan pass in this many checks bitrot (default 7)")
	durationFlag(fs, &envErrs, &cfg.Timing.Heal.ScanInterval, "scan-interval", envScanInterval, "least time between the starts of two scan passes of a set (0: 24h); negative turns the scanner off")
	var pprofAddress string
	fs.StringVar(&pprofAddress, "pprof-address", os.Getenv(envPprofAddress), "serve Go's CPU, heap, allocation, block and mutex profiles at\nhttp://ADDRESS/debug/pprof/, unauthenticated: use a loopback address ("+envPprofAddress+")")
	logOpts := logging.OptionsFromEnv()
	logOpts.RegisterFlags(fs)
	if err := errors.Join(envErrs...); err != nil {
		fmt.Fprintf(stderr, "gridstore server: %v\n", err)
		return exitUsage
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	cfg.RequestMemory = int64(requestMemoryMiB) << 20
	switch {
	case scanRate < 0:
		fmt.Fprintf(stderr, "gridstore server: -scan-rate %d: must be positive (0: the default)\n", scanRate)
		return exitUsage
	case scanBitrotMiB < 0:
		cfg.Timing.Heal.ScanBitrotRate = -1
	default:
		cfg.Timing.Heal.ScanBitrotRate = float64(scanBitrotMiB) * (1 << 20)
	}
	cfg.Timing.Heal.ScanRate = float64(scanRate)
	cfg.Endpoints = fs.Args()
	if len(cfg.Endpoints) == 0 {
		cfg.Endpoints = strings.Fields(os.Getenv(envEndpoints))
	}
	if len(cfg.Endpoints) == 0 {
		fmt.Fprintln(stderr, "gridstore server: no endpoints given")
		fs.Usage()
		return exitUsage
	}
	for d := range strings.SplitSeq(domains, ",") {
		if d = strings.TrimSpace(d); d != "" {
			cfg.Domains = append(cfg.Domains, d)
		}
	}
	if cfg.RootUser == "" || cfg.RootPassword == "" {
		fmt.Fprintf(stderr, "gridstore server: set %s and %s (the S3 root credentials)\n", envRootUser, envRootPassword)
		return exitUsage
	}
	logOpts.Output = stderr
	log, err := logging.New(logOpts)
	if err != nil {
		fmt.Fprintf(stderr, "gridstore server: %v\n", err)
		return exitUsage
	}
	defer func() { _ = log.Sync() }()
	cfg.Logger, cfg.AppVersion = log, version
	if pprofAddress != "" {
		_, stop, err := startPprof(pprofAddress, log)
		if err != nil {
			log.Error("cannot start", zap.Error(err))
			return exitUsage
		}
		defer stop()
	}

	if os.Getenv("GOGC") == "" {
		// The large buffers live outside the heap (internal/iobuf): without
		// a floor the collector would run every few MB of small requests'
		// garbage.
		defer gcfloor.Start(gcHeapFloor).Stop()
	}
	n, err := node.Start(ctx, cfg)
	if err != nil {
		log.Error("cannot start", zap.Error(err))
		if errors.Is(err, node.ErrConfig) {
			return exitUsage
		}
		return exitError
	}
	log.Info("listening", zap.String("address", n.Addr()), zap.Strings("endpoints", cfg.Endpoints))

	code := exitOK
	select {
	case <-n.Ready():
		printBanner(stdout, n.Scheme(), n.Addr(), cfg)
		select {
		case <-ctx.Done():
		case <-n.Failed():
			code = exitError
		}
	case <-n.Failed():
		code = exitError
	case <-ctx.Done():
	}
	if code == exitOK {
		log.Info("signal received: shutting down")
	}
	if err := n.Shutdown(context.Background()); err != nil {
		log.Warn("shutdown", zap.Error(err))
	}
	return code
}

// printBanner tells a person where the S3 API is and how to log in. The
// secret itself is not printed: it is in the variable the operator set.
func printBanner(w io.Writer, scheme, addr string, cfg node.Config) {
	host, port, _ := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	base := scheme + "://" + net.JoinHostPort(host, port)
	fmt.Fprintf(w, "gridstore %s is up\n", version)
	fmt.Fprintf(w, "  S3 endpoint: %s\n", base)
	fmt.Fprintf(w, "  Access key:  %s\n", cfg.RootUser)
	fmt.Fprintf(w, "  Secret key:  (the value of %s)\n", envRootPassword)
	fmt.Fprintf(w, "  Region:      %s\n", cfg.Region)
	fmt.Fprintf(w, "  Health:      %s%s\n", base, node.PathReady)
}

// envOr returns the environment variable's value, or def if it is unset.
func envOr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}

// intFlag defines an int flag whose default comes from an environment
// variable; a malformed variable is added to errs (the server refuses to
// start rather than run with a setting the operator did not mean).
func intFlag(fs *flag.FlagSet, errs *[]error, p *int, name, env, usage string) {
	fs.Func(name, fmt.Sprintf("%s (%s)", usage, env), func(s string) error {
		v, err := strconv.Atoi(s)
		if err != nil {
			return fmt.Errorf("not a number: %q", s)
		}
		*p = v
		return nil
	})
	setFromEnv(fs, errs, name, env)
}

// durationFlag is intFlag for durations; the default is *p.
func durationFlag(fs *flag.FlagSet, errs *[]error, p *time.Duration, name, env, usage string) {
	fs.DurationVar(p, name, *p, fmt.Sprintf("%s (%s)", usage, env))
	setFromEnv(fs, errs, name, env)
}

func setFromEnv(fs *flag.FlagSet, errs *[]error, name, env string) {
	if v := os.Getenv(env); v != "" {
		if err := fs.Set(name, v); err != nil {
			*errs = append(*errs, fmt.Errorf("%s=%q: %w", env, v, err))
		}
	}
}
