package main

// grid-demo: a stand-in for `gridstore server` until the server exists. It
// starts several grid Managers in this process, each behind its own HTTP
// server on loopback, exercises every ordered pair of nodes with single
// requests and a stream, and then reports the connections' state until it is
// interrupted.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/gridstore/gridstore/grid"
	"github.com/gridstore/gridstore/node/logging"
	"github.com/gridstore/gridstore/proto"
)

// envGridSecret holds the cluster secret. Without it the demo makes a random
// one per run; it is never printed.
const envGridSecret = "GRIDSTORE_GRID_SECRET"

// demoConfig is the demo's command line.
type demoConfig struct {
	nodes          int
	host           string
	basePort       int // 0: ephemeral ports
	requests       int // single requests per pair in the burst
	concurrency    int // callers sending the burst
	streamMsgs     int // messages echoed through each pair's stream
	msgSize        int // bytes per burst request and stream message
	interval       time.Duration
	duration       time.Duration // 0: until interrupted
	connectTimeout time.Duration
}

func runGridDemo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("grid-demo", "Start N grid nodes in this process on consecutive ports, connect them, send\n"+
		"requests and a stream from every node to every other, print a summary, then\n"+
		"print each connection's state every -interval until SIGINT/SIGTERM.\n"+
		"The cluster secret is taken from "+envGridSecret+" or made at random.", stderr)
	var c demoConfig
	fs.IntVar(&c.nodes, "nodes", 3, "number of nodes (2-32)")
	fs.StringVar(&c.host, "host", "127.0.0.1", "address the nodes listen on")
	fs.IntVar(&c.basePort, "base-port", 9100, "port of the first node; the others follow (0: ephemeral ports)")
	fs.IntVar(&c.requests, "requests", 2000, "single requests per pair in the burst")
	fs.IntVar(&c.concurrency, "concurrency", 8, "concurrent callers in the burst")
	fs.IntVar(&c.streamMsgs, "stream-msgs", 1000, "messages echoed through each pair's stream")
	fs.IntVar(&c.msgSize, "msg-size", 1024, "bytes per request and stream message")
	fs.DurationVar(&c.interval, "interval", 5*time.Second, "how often to print the connections' state")
	fs.DurationVar(&c.duration, "duration", 0, "stop by itself this long after the exercise (0: run until interrupted)")
	fs.DurationVar(&c.connectTimeout, "connect-timeout", 15*time.Second, "how long to wait for every pair to connect")
	logOpts := logging.OptionsFromEnv()
	logOpts.RegisterFlags(fs)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if err := c.validate(); err != nil {
		fmt.Fprintf(stderr, "gridstore grid-demo: %v\n", err)
		return exitUsage
	}
	logOpts.Output = stderr
	log, err := logging.New(logOpts)
	if err != nil {
		fmt.Fprintf(stderr, "gridstore grid-demo: %v\n", err)
		return exitUsage
	}
	defer func() { _ = log.Sync() }()

	if err := gridDemo(ctx, c, log, stdout); err != nil {
		fmt.Fprintf(stderr, "gridstore grid-demo: %v\n", err)
		return exitError
	}
	return exitOK
}

func (c *demoConfig) validate() error {
	switch {
	case c.nodes < 2 || c.nodes > 32:
		return fmt.Errorf("-nodes %d: want 2 to 32", c.nodes)
	case c.basePort < 0 || c.basePort+c.nodes-1 > 65535:
		return fmt.Errorf("-base-port %d: ports %d..%d out of range", c.basePort, c.basePort, c.basePort+c.nodes-1)
	case c.requests < 1 || c.concurrency < 1 || c.streamMsgs < 1:
		return errors.New("-requests, -concurrency and -stream-msgs must be at least 1")
	case c.msgSize < 8 || c.msgSize > 1<<20:
		return fmt.Errorf("-msg-size %d: want 8 to 1048576", c.msgSize)
	case c.interval <= 0 || c.duration < 0 || c.connectTimeout <= 0:
		return errors.New("-interval and -connect-timeout must be positive, -duration not negative")
	}
	return nil
}

// demoNode is one grid Manager and the HTTP server it is mounted on.
type demoNode struct {
	addr string
	m    *grid.Manager
	srv  *http.Server
}

func gridDemo(ctx context.Context, c demoConfig, log *zap.Logger, out io.Writer) error {
	secret, secretFrom, err := clusterSecret()
	if err != nil {
		return err
	}

	// Listen first: with ephemeral ports the addresses are known only now,
	// and every Manager needs all of them.
	lns := make([]net.Listener, 0, c.nodes)
	defer func() {
		for _, ln := range lns {
			_ = ln.Close() // no-op for listeners the servers already closed
		}
	}()
	addrs := make([]string, 0, c.nodes)
	for i := range c.nodes {
		port := 0
		if c.basePort != 0 {
			port = c.basePort + i
		}
		ln, err := net.Listen("tcp", net.JoinHostPort(c.host, strconv.Itoa(port)))
		if err != nil {
			return fmt.Errorf("node %d: %w (is another demo running? try -base-port)", i, err)
		}
		lns = append(lns, ln)
		addrs = append(addrs, ln.Addr().String())
	}
	fmt.Fprintf(out, "grid-demo: starting %d nodes: %v (cluster secret %s)\n", c.nodes, addrs, secretFrom)

	nodes := make([]*demoNode, 0, c.nodes)
	defer func() { shutdownNodes(nodes, log, out) }()
	for i, addr := range addrs {
		n, err := startNode(addr, addrs, secret, lns[i], log)
		if err != nil {
			return err
		}
		nodes = append(nodes, n)
	}

	// An error after SIGINT/SIGTERM is the user asking to stop, not a failure.
	stopped := func(err error) error {
		if ctx.Err() != nil {
			fmt.Fprintf(out, "\ngrid-demo: interrupted, shutting down (%v)\n", err)
			return nil
		}
		return err
	}

	fmt.Fprintf(out, "grid-demo: waiting for the %d connection(s) between %d nodes...\n", c.nodes*(c.nodes-1)/2, c.nodes)
	start := time.Now()
	if err := waitConnected(ctx, nodes, c.connectTimeout); err != nil {
		return stopped(err)
	}
	fmt.Fprintf(out, "grid-demo: all nodes connected in %v\n\n", time.Since(start).Round(time.Millisecond))

	if err := exerciseAll(ctx, nodes, c, out); err != nil {
		return stopped(err)
	}

	if c.duration > 0 {
		fmt.Fprintf(out, "\ngrid-demo: running for %v, connection state every %v\n", c.duration, c.interval)
	} else {
		fmt.Fprintf(out, "\ngrid-demo: running, connection state every %v; press Ctrl-C to stop\n", c.interval)
	}
	reportUntilDone(ctx, nodes, c, out)
	return nil
}

// clusterSecret returns the secret from the environment or a random one, and
// a description of where it came from (never the secret itself).
func clusterSecret() (secret []byte, from string, err error) {
	if s := os.Getenv(envGridSecret); s != "" {
		if len(s) < 16 {
			return nil, "", fmt.Errorf("%s is %d bytes long, want at least 16", envGridSecret, len(s))
		}
		return []byte(s), "from " + envGridSecret, nil
	}
	secret = make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, "", fmt.Errorf("random cluster secret: %w", err)
	}
	return secret, "random for this run", nil
}

// startNode builds the Manager for addr, registers the demo's handlers,
// serves it on ln and starts connecting to the peers.
func startNode(addr string, all []string, secret []byte, ln net.Listener, log *zap.Logger) (*demoNode, error) {
	nlog := log.Named("grid") // the Manager adds a "self" field
	cfg := grid.DefaultConfig()
	cfg.Self = addr
	cfg.Peers = all
	cfg.Secret = secret
	cfg.Logger = nlog
	cfg.OnStateChange = func(peer string, s grid.State) {
		// The grid logs connects and disconnects itself; every transition
		// is shown at debug level.
		nlog.Debug("peer state", zap.String("self", addr), zap.String("peer", peer), zap.Stringer("state", s))
	}
	m, err := grid.NewManager(cfg)
	if err != nil {
		return nil, fmt.Errorf("node %s: %w", addr, err)
	}
	err = errors.Join(
		m.RegisterSingle(proto.HandlerEcho, echo),
		m.RegisterStream(proto.HandlerEchoStream, grid.StreamHandler{Handle: echoStream, InCapacity: 8}),
	)
	if err != nil {
		return nil, fmt.Errorf("node %s: %w", addr, err)
	}

	mux := http.NewServeMux()
	mux.Handle(cfg.Path, m.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			nlog.Error("http server stopped", zap.String("self", addr), zap.Error(err))
		}
	}()
	m.Start()
	return &demoNode{addr: addr, m: m, srv: srv}, nil
}

// echo answers a single request with its payload. The payload is only valid
// during the call, so the answer is a copy.
func echo(_ context.Context, p []byte) ([]byte, error) {
	return bytes.Clone(p), nil
}

// echoStream sends back every message it receives, until the caller closes
// its side. It stays a raw stream (not a grid.StreamRPC): its messages are
// opaque bytes the demo measures throughput with, which have no structure to
// type, and handing each received buffer straight back keeps the echo free
// of a decode and a copy.
func echoStream(ctx context.Context, _ []byte, in <-chan []byte, out chan<- []byte) error {
	for msg := range in {
		select {
		case out <- msg: // the grid owns msg now
		case <-ctx.Done():
			grid.PutBuffer(msg)
			return ctx.Err()
		}
	}
	return ctx.Err() // nil when the caller closed its side, set if cancelled
}

// waitConnected waits until every node reports every peer connected.
func waitConnected(ctx context.Context, nodes []*demoNode, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		var waiting []string
		for _, n := range nodes {
			for _, ps := range n.m.Stats() {
				if ps.State != grid.StateConnected {
					waiting = append(waiting, fmt.Sprintf("%s->%s %v", n.addr, ps.Addr, ps.State))
				}
			}
		}
		if len(waiting) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for connections: %w; still not connected: %v", context.Cause(ctx), waiting)
		case <-tick.C:
		}
	}
}

// pairResult is what exercising one ordered pair of nodes measured.
type pairResult struct {
	rtt        time.Duration // median round trip of a small request
	reqPerSec  float64
	streamMsgs int
	streamMBps float64 // payload MB/s echoed through the stream (each way)
}

// exerciseAll exercises every ordered pair in turn and prints one line each.
func exerciseAll(ctx context.Context, nodes []*demoNode, c demoConfig, out io.Writer) error {
	fmt.Fprintf(out, "%-21s  %-21s  %9s  %9s  %s\n", "FROM", "TO", "RTT", "REQ/S", "STREAM ECHO")
	for _, from := range nodes {
		for _, to := range nodes {
			if from == to {
				continue
			}
			r, err := exercisePair(ctx, from.m.Connection(to.addr), c)
			if err != nil {
				return fmt.Errorf("%s -> %s: %w", from.addr, to.addr, err)
			}
			fmt.Fprintf(out, "%-21s  %-21s  %9v  %9.0f  %d msgs x %d B, %.1f MB/s\n",
				from.addr, to.addr, r.rtt.Round(time.Microsecond), r.reqPerSec, r.streamMsgs, c.msgSize, r.streamMBps)
		}
	}
	return nil
}

func exercisePair(ctx context.Context, conn *grid.Connection, c demoConfig) (pairResult, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var r pairResult
	var err error
	if r.rtt, err = measureRTT(ctx, conn, 21); err != nil {
		return r, fmt.Errorf("rtt: %w", err)
	}
	if r.reqPerSec, err = burst(ctx, conn, c.requests, c.concurrency, c.msgSize); err != nil {
		return r, fmt.Errorf("burst: %w", err)
	}
	if r.streamMBps, err = streamEcho(ctx, conn, c.streamMsgs, c.msgSize); err != nil {
		return r, fmt.Errorf("stream: %w", err)
	}
	r.streamMsgs = c.streamMsgs
	return r, nil
}

// measureRTT returns the median round trip of n small sequential requests.
func measureRTT(ctx context.Context, conn *grid.Connection, n int) (time.Duration, error) {
	req := []byte("ping")
	rtts := make([]time.Duration, 0, n)
	for range n {
		t0 := time.Now()
		resp, err := conn.Request(ctx, proto.HandlerEcho, req)
		if err != nil {
			return 0, err
		}
		rtts = append(rtts, time.Since(t0))
		if !bytes.Equal(resp, req) {
			return 0, fmt.Errorf("echo returned %q, sent %q", resp, req)
		}
		grid.PutBuffer(resp)
	}
	slices.Sort(rtts)
	return rtts[len(rtts)/2], nil
}

// burst sends n requests of size bytes from concurrency callers and returns
// the rate achieved.
func burst(ctx context.Context, conn *grid.Connection, n, concurrency, size int) (float64, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next sync.Mutex // hands out request numbers
	sent := 0
	var wg sync.WaitGroup
	t0 := time.Now()
	for range concurrency {
		wg.Go(func() {
			req := make([]byte, size)
			for {
				next.Lock()
				i := sent
				sent++
				next.Unlock()
				if i >= n || ctx.Err() != nil {
					return
				}
				binary.LittleEndian.PutUint64(req, uint64(i))
				resp, err := conn.Request(ctx, proto.HandlerEcho, req)
				if err != nil {
					cancel(fmt.Errorf("request %d: %w", i, err))
					return
				}
				if !bytes.Equal(resp, req) {
					cancel(fmt.Errorf("request %d: echo differs from request", i))
					return
				}
				grid.PutBuffer(resp)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(t0)
	if err := context.Cause(ctx); err != nil {
		return 0, err
	}
	return float64(n) / elapsed.Seconds(), nil
}

// streamEcho sends n numbered messages of size bytes through an echo stream
// while reading them back, checks they return intact and in order, and
// returns the payload throughput in MB/s.
func streamEcho(ctx context.Context, conn *grid.Connection, n, size int) (float64, error) {
	t0 := time.Now()
	st, err := conn.NewStream(ctx, proto.HandlerEchoStream, nil)
	if err != nil {
		return 0, fmt.Errorf("open: %w", err)
	}
	sendErr := make(chan error, 1)
	go func() {
		for i := range n {
			msg := grid.GetBuffer(size)[:size] // Send takes ownership of msg
			fillMessage(msg, i)
			if err := st.Send(msg); err != nil {
				st.Cancel()
				sendErr <- fmt.Errorf("send %d: %w", i, err)
				return
			}
		}
		sendErr <- st.CloseSend()
	}()

	want := make([]byte, size)
	got := 0
	for {
		msg, err := st.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			if serr := <-sendErr; serr != nil {
				return 0, serr
			}
			return 0, fmt.Errorf("recv %d: %w", got, err)
		}
		fillMessage(want, got)
		ok := bytes.Equal(msg, want)
		grid.PutBuffer(msg)
		if !ok {
			st.Cancel()
			<-sendErr
			return 0, fmt.Errorf("message %d came back altered or out of order", got)
		}
		got++
	}
	if err := <-sendErr; err != nil {
		return 0, err
	}
	if got != n {
		return 0, fmt.Errorf("sent %d messages, %d came back", n, got)
	}
	return float64(n*size) / 1e6 / time.Since(t0).Seconds(), nil
}

// fillMessage writes message number i's content into b: its number, then a
// pattern derived from it, so reordering or corruption shows.
func fillMessage(b []byte, i int) {
	binary.LittleEndian.PutUint64(b, uint64(i))
	for j := 8; j < len(b); j++ {
		b[j] = byte(i + j)
	}
}

// reportUntilDone prints every connection's state every c.interval until ctx
// is done or c.duration has passed.
func reportUntilDone(ctx context.Context, nodes []*demoNode, c demoConfig, out io.Writer) {
	var deadline <-chan time.Time
	if c.duration > 0 {
		t := time.NewTimer(c.duration)
		defer t.Stop()
		deadline = t.C
	}
	tick := time.NewTicker(c.interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			fmt.Fprintln(out, "\ngrid-demo: interrupted, shutting down")
			return
		case <-deadline:
			fmt.Fprintf(out, "\ngrid-demo: %v elapsed, shutting down\n", c.duration)
			return
		case now := <-tick.C:
			printState(out, nodes, now)
		}
	}
}

func printState(out io.Writer, nodes []*demoNode, now time.Time) {
	fmt.Fprintf(out, "\n[%s] %-21s  %-21s  %-12s  %9s  %8s  %8s\n", now.Format("15:04:05"),
		"NODE", "PEER", "STATE", "PING RTT", "CONNECTS", "INFLIGHT")
	for _, n := range nodes {
		for _, ps := range n.m.Stats() {
			rtt := "-" // no ping answered yet on this connection
			if ps.RTT > 0 {
				rtt = ps.RTT.Round(time.Microsecond).String()
			}
			fmt.Fprintf(out, "           %-21s  %-21s  %-12v  %9s  %8d  %8d\n",
				n.addr, ps.Addr, ps.State, rtt, ps.Connects, ps.InFlight)
		}
	}
}

// shutdownNodes closes every Manager (its connections and handlers), then
// every HTTP server.
func shutdownNodes(nodes []*demoNode, log *zap.Logger, out io.Writer) {
	if len(nodes) == 0 {
		return
	}
	var errs []error
	for _, n := range nodes {
		if err := n.m.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close grid of %s: %w", n.addr, err))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, n := range nodes {
		if err := n.srv.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("shut down http server of %s: %w", n.addr, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		log.Error("grid-demo: shutdown", zap.Error(err))
		return
	}
	fmt.Fprintf(out, "grid-demo: %d nodes closed cleanly\n", len(nodes))
}
