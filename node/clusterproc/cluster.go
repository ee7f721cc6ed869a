package clusterproc

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gridstore/gridstore/internal/testports"
)

// Defaults of Options.
const (
	DefaultNodes         = 4
	DefaultDrivesPerNode = 2
	DefaultReadyTimeout  = 90 * time.Second
	DefaultUser          = "clusterproc"
	DefaultPassword      = "clusterproc-password"
)

// gossipOffset is how far above a node's port its gossip listens: the
// server's default (node/cluster.GossipPort), which every peer assumes for
// every other, so the harness must keep both ports free.
const gossipOffset = 10000

// Options configure Start. The zero value is 4 nodes of 2 drives (one set
// of 8 drives, EC 4+4) with the server's default timeouts.
type Options struct {
	// Nodes and DrivesPerNode shape the cluster; 0 means the defaults.
	Nodes, DrivesPerNode int
	// Env holds extra KEY=VALUE variables for every process; they win over
	// the harness's own (credentials, cluster secret).
	Env []string
	// Args are extra flags of `gridstore server`, before the endpoints.
	Args []string
	// ReadyTimeout bounds the wait for each node to answer /health/ready
	// (at Start and Restart); 0 means DefaultReadyTimeout. Under the race
	// detector on a shared machine a start takes seconds.
	ReadyTimeout time.Duration
	// User and Password are the root credentials; empty means the defaults.
	User, Password string
	// NoRace runs a server built without the race detector even when the
	// test has it: for measuring memory (the detector multiplies it) and
	// throughput.
	NoRace bool
	// OwnUsers runs node i as a user of its own (uid and gid
	// OwnUserBase+i), so that the packets of each node can be told apart
	// by Partition. It needs root; Start fails the test without it.
	OwnUsers bool
}

// OwnUserBase is the uid (and gid) of node 0 under Options.OwnUsers.
const OwnUserBase = 47000

// Crash is a process that exited without the harness asking it to.
type Crash struct {
	Node    int
	At      time.Time
	Err     error  // what Wait returned
	LogTail string // the last lines of its log
}

func (c Crash) String() string {
	return fmt.Sprintf("node %d exited at %s: %v\n--- tail of its log ---\n%s", c.Node, c.At.Format("15:04:05.000"), c.Err, c.LogTail)
}

// Cluster is a running set of gridstore processes. Its methods take the
// node's index, 0 to Nodes-1; they are safe for concurrent use.
type Cluster struct {
	t         testing.TB
	opts      Options
	bin       string
	dir       string // logs and drives of every node
	secret    string
	endpoints []string
	nodes     []*proc

	mu      sync.Mutex
	crashes []Crash
	closed  bool

	part partitions
}

// proc is one node: its fixed port and folders, and the process currently
// running it, if any.
type proc struct {
	index   int
	port    int
	logPath string

	mu       sync.Mutex
	cmd      *exec.Cmd
	exited   chan struct{} // closed once cmd has exited
	expected bool          // the harness killed it: no crash
	stopped  bool          // SIGSTOPped and not continued
	starts   int
}

// Start starts a cluster, waits until every node answers /health/ready and
// registers Close with t.Cleanup. It fails the test if the cluster does not
// come up; a port taken between the pick and the listen is retried with
// fresh ports.
func Start(t testing.TB, opts Options) *Cluster {
	t.Helper()
	if opts.Nodes <= 0 {
		opts.Nodes = DefaultNodes
	}
	if opts.DrivesPerNode <= 0 {
		opts.DrivesPerNode = DefaultDrivesPerNode
	}
	if opts.ReadyTimeout <= 0 {
		opts.ReadyTimeout = DefaultReadyTimeout
	}
	if opts.User == "" {
		opts.User = DefaultUser
	}
	if opts.Password == "" {
		opts.Password = DefaultPassword
	}
	bin := binaryOf(t, raceEnabled && !opts.NoRace)
	dir, err := os.MkdirTemp("", "gridstore-cluster-")
	if err != nil {
		t.Fatalf("clusterproc: %v", err)
	}
	c := &Cluster{t: t, opts: opts, bin: bin, dir: dir, secret: randomSecret()}
	t.Cleanup(c.Close)
	const attempts = 3
	for attempt := 1; ; attempt++ {
		err := c.startAll()
		if err == nil {
			break
		}
		if attempt < attempts && errors.Is(err, errPortTaken) {
			t.Logf("clusterproc: %v; retrying with other ports", err)
			c.killAll()
			continue
		}
		t.Fatalf("clusterproc: start %d nodes: %v (logs in %s)", opts.Nodes, err, dir)
	}
	return c
}

// errPortTaken: a node could not listen on the port picked for it.
var errPortTaken = errors.New("port taken")

// startAll picks ports, lays out fresh folders and starts every node.
func (c *Cluster) startAll() error {
	ports, err := testports.Pairs(c.opts.Nodes, gossipOffset)
	if err != nil {
		return err
	}
	c.nodes = make([]*proc, len(ports))
	c.endpoints = c.endpoints[:0]
	for i, port := range ports {
		nodeDir := filepath.Join(c.dir, fmt.Sprintf("node%d", i))
		if err := os.RemoveAll(nodeDir); err != nil {
			return fmt.Errorf("clear %s: %w", nodeDir, err)
		}
		for j := range c.opts.DrivesPerNode {
			c.endpoints = append(c.endpoints, fmt.Sprintf("http://127.0.0.1:%d%s", port, filepath.Join(nodeDir, fmt.Sprintf("d%d", j))))
		}
		c.nodes[i] = &proc{index: i, port: port, logPath: filepath.Join(c.dir, fmt.Sprintf("node%d.log", i))}
	}
	if c.opts.OwnUsers {
		if err := c.giveFolders(); err != nil {
			return err
		}
	}
	for _, p := range c.nodes {
		if err := c.spawn(p); err != nil {
			return err
		}
	}
	for i := range c.nodes {
		if err := c.waitReady(i, c.opts.ReadyTimeout); err != nil {
			return err
		}
	}
	return nil
}

// giveFolders makes each node's folder its own user's (Options.OwnUsers),
// and the folders above it and the binary's reachable by every user.
func (c *Cluster) giveFolders() error {
	if os.Geteuid() != 0 {
		return errors.New("Options.OwnUsers needs root (it runs each node as a user of its own)")
	}
	for _, dir := range []string{c.dir, filepath.Dir(c.bin)} {
		if err := os.Chmod(dir, 0o755); err != nil {
			return fmt.Errorf("own users: %w", err)
		}
	}
	for i := range c.nodes {
		nodeDir := filepath.Join(c.dir, fmt.Sprintf("node%d", i))
		if err := os.MkdirAll(nodeDir, 0o750); err != nil {
			return fmt.Errorf("own users: %w", err)
		}
		if err := os.Chown(nodeDir, OwnUserBase+i, OwnUserBase+i); err != nil {
			return fmt.Errorf("own users: %w", err)
		}
	}
	return nil
}

// randomSecret is a cluster secret for the grid: explicit, so that no node
// spends a second of Argon2id deriving one from the credentials.
func randomSecret() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// environ is the environment of every node: the test's own without any
// GRIDSTORE_ setting a developer may have exported (it would change the
// cluster under test), then the harness's, then Options.Env.
func (c *Cluster) environ() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GRIDSTORE_") {
			env = append(env, kv)
		}
	}
	env = append(env,
		"GRIDSTORE_ROOT_USER="+c.opts.User,
		"GRIDSTORE_ROOT_PASSWORD="+c.opts.Password,
		"GRIDSTORE_CLUSTER_SECRET="+c.secret,
		// SIGQUIT (DumpGoroutines) shows every goroutine.
		"GOTRACEBACK=all",
	)
	return append(env, c.opts.Env...)
}

// spawn starts p's process and a goroutine that notices its exit.
func (c *Cluster) spawn(p *proc) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		return fmt.Errorf("node %d is already running (pid %d)", p.index, p.cmd.Process.Pid)
	}
	logf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("node %d log: %w", p.index, err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(p.port))
	args := append([]string{"server", "--address", addr, "--self", addr}, c.opts.Args...)
	args = append(args, c.endpoints...)
	p.starts++
	fmt.Fprintf(logf, "=== clusterproc: start %d of node %d at %s: %s %s\n", p.starts, p.index, time.Now().Format(time.RFC3339Nano), c.bin, strings.Join(args, " "))
	cmd := exec.Command(c.bin, args...)
	cmd.Env = c.environ()
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = sysProcAttr()
	if c.opts.OwnUsers {
		id := uint32(OwnUserBase + p.index)
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: id, Gid: id, NoSetGroups: true}
	}
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		return fmt.Errorf("start node %d: %w", p.index, err)
	}
	exited := make(chan struct{})
	p.cmd, p.exited, p.expected, p.stopped = cmd, exited, false, false
	go func() {
		err := cmd.Wait()
		_ = logf.Close()
		p.mu.Lock()
		expected := p.expected
		if p.cmd == cmd {
			p.cmd, p.stopped = nil, false
		}
		p.mu.Unlock()
		if !expected {
			c.mu.Lock()
			c.crashes = append(c.crashes, Crash{Node: p.index, At: time.Now(), Err: err, LogTail: tail(p.logPath, 40)})
			c.mu.Unlock()
		}
		close(exited)
	}()
	return nil
}

// Nodes is the number of nodes.
func (c *Cluster) Nodes() int { return len(c.nodes) }

// Addr is node i's host:port.
func (c *Cluster) Addr(i int) string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(c.nodes[i].port))
}

// Endpoint is node i's base URL, http://127.0.0.1:port.
func (c *Cluster) Endpoint(i int) string { return "http://" + c.Addr(i) }

// Credentials are the root access and secret keys.
func (c *Cluster) Credentials() (user, password string) { return c.opts.User, c.opts.Password }

// LogPath is the file node i's output goes to (every start appends to it).
func (c *Cluster) LogPath(i int) string { return c.nodes[i].logPath }

// Dir is the folder holding every node's drives and logs.
func (c *Cluster) Dir() string { return c.dir }

// PID is node i's process id, 0 when it is not running.
func (c *Cluster) PID(i int) int {
	p := c.nodes[i]
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// Running reports whether node i's process is alive (possibly stopped).
func (c *Cluster) Running(i int) bool { return c.PID(i) != 0 }

// WaitReady waits until every running node answers /health/ready, failing
// the test if one does not within Options.ReadyTimeout or exits.
func (c *Cluster) WaitReady() {
	c.t.Helper()
	for i := range c.nodes {
		if !c.Running(i) {
			continue
		}
		c.WaitNodeReady(i)
	}
}

// WaitNodeReady is WaitReady for node i alone.
func (c *Cluster) WaitNodeReady(i int) {
	c.t.Helper()
	if err := c.waitReady(i, c.opts.ReadyTimeout); err != nil {
		c.t.Fatalf("clusterproc: %v", err)
	}
}

// waitReady polls node i's /health/ready until it answers 200.
func (c *Cluster) waitReady(i int, timeout time.Duration) error {
	p := c.nodes[i]
	p.mu.Lock()
	exited := p.exited
	p.mu.Unlock()
	if exited == nil {
		return fmt.Errorf("node %d was never started", i)
	}
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	url := c.Endpoint(i) + "/health/ready"
	deadline := time.Now().Add(timeout)
	for {
		resp, err := client.Get(url)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-exited:
			logTail := tail(p.logPath, 40)
			if strings.Contains(logTail, "address already in use") {
				return fmt.Errorf("node %d on port %d: %w", i, p.port, errPortTaken)
			}
			return fmt.Errorf("node %d exited before it was ready; tail of %s:\n%s", i, p.logPath, logTail)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("node %d not ready after %s (last: %v); tail of %s:\n%s", i, timeout, err, p.logPath, tail(p.logPath, 40))
		}
	}
}

// signal sends sig to node i's process, failing the test if it is not
// running.
func (c *Cluster) signal(i int, sig syscall.Signal) {
	c.t.Helper()
	if err := c.trySignal(i, sig); err != nil {
		c.t.Fatalf("clusterproc: %v", err)
	}
}

// trySignal sends sig to node i's process and notes what it means for the
// process's state; it touches no testing.TB, so any goroutine may call it.
func (c *Cluster) trySignal(i int, sig syscall.Signal) error {
	p := c.nodes[i]
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return fmt.Errorf("signal %v to node %d: not running", sig, i)
	}
	switch sig {
	case syscall.SIGKILL, syscall.SIGTERM, syscall.SIGQUIT:
		p.expected = true
	case syscall.SIGSTOP:
		p.stopped = true
	case syscall.SIGCONT:
		p.stopped = false
	}
	if err := p.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("signal %v to node %d: %w", sig, i, err)
	}
	return nil
}

// waitExit waits for node i's process to end, up to timeout.
func (c *Cluster) waitExit(i int, timeout time.Duration) error {
	p := c.nodes[i]
	p.mu.Lock()
	exited := p.exited
	p.mu.Unlock()
	select {
	case <-exited:
		return nil
	case <-time.After(timeout):
		return fmt.Errorf("node %d (pid %d) still running %s after it was told to end", i, c.PID(i), timeout)
	}
}

// Kill SIGKILLs node i and waits for it to be gone.
func (c *Cluster) Kill(i int) {
	c.t.Helper()
	c.signal(i, syscall.SIGKILL)
	if err := c.waitExit(i, 10*time.Second); err != nil {
		c.t.Fatalf("clusterproc: %v", err)
	}
}

// Terminate sends SIGTERM (a graceful shutdown) to node i and waits up to
// timeout for it to end.
func (c *Cluster) Terminate(i int, timeout time.Duration) {
	c.t.Helper()
	c.signal(i, syscall.SIGTERM)
	if err := c.waitExit(i, timeout); err != nil {
		c.t.Fatalf("clusterproc: %v", err)
	}
}

// Stop SIGSTOPs node i: its sockets stay open and accept connections, and
// nothing answers, as with a machine that hangs.
func (c *Cluster) Stop(i int) {
	c.t.Helper()
	c.signal(i, syscall.SIGSTOP)
}

// Cont SIGCONTs node i.
func (c *Cluster) Cont(i int) {
	c.t.Helper()
	c.signal(i, syscall.SIGCONT)
}

// DumpGoroutines SIGQUITs node i (continuing it first if it is stopped):
// the Go runtime writes every goroutine's stack to its log, and the process
// ends. For finding what a hang waits on. It touches no testing.TB, so a
// watchdog goroutine may call it.
func (c *Cluster) DumpGoroutines(i int) error {
	if err := c.trySignal(i, syscall.SIGCONT); err != nil {
		return err
	}
	if err := c.trySignal(i, syscall.SIGQUIT); err != nil {
		return err
	}
	return c.waitExit(i, 10*time.Second)
}

// Restart starts the given nodes again on their ports and folders (after
// Kill or Terminate; a running node is killed first) and waits until every
// one is ready. Nodes that must come back together (a node waits at start
// for a quorum of nodes to agree on the deployment) are restarted in one
// call.
func (c *Cluster) Restart(nodes ...int) {
	c.t.Helper()
	for _, i := range nodes {
		if c.Running(i) {
			c.Kill(i)
		}
		if err := c.spawn(c.nodes[i]); err != nil {
			c.t.Fatalf("clusterproc: %v", err)
		}
	}
	for _, i := range nodes {
		c.WaitNodeReady(i)
	}
}

// Crashes returns the processes that exited on their own so far.
func (c *Cluster) Crashes() []Crash {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Crash(nil), c.crashes...)
}

// ProcStats is what the kernel says about a node's process, and what its
// /metrics says of its goroutines and I/O buffers (-1 each when /metrics
// did not answer).
type ProcStats struct {
	RSS        int64 // resident memory, bytes
	FDs        int   // open file descriptors
	Threads    int
	Goroutines int
	// IOBufferInUse is bytes of the data path's buffers held by requests
	// (internal/iobuf); IOBufferBadReturns counts buffers returned twice.
	IOBufferInUse, IOBufferBadReturns int64
}

// Stats reads node i's /proc entries (Linux).
func (c *Cluster) Stats(i int) (ProcStats, error) {
	pid := c.PID(i)
	if pid == 0 {
		return ProcStats{}, fmt.Errorf("node %d is not running", i)
	}
	var s ProcStats
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, fmt.Errorf("node %d stats: %w", i, err)
	}
	for line := range strings.SplitSeq(string(status), "\n") {
		key, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		fields := strings.Fields(val)
		if len(fields) == 0 {
			continue
		}
		n, _ := strconv.ParseInt(fields[0], 10, 64)
		switch key {
		case "VmRSS":
			s.RSS = n << 10 // kB
		case "Threads":
			s.Threads = int(n)
		}
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return s, fmt.Errorf("node %d fds: %w", i, err)
	}
	s.FDs = len(fds)
	m := c.scrape(i, "go_goroutines", `gridstore_io_buffer_bytes{state="in_use"}`, "gridstore_io_buffer_bad_returns_total")
	s.Goroutines, s.IOBufferInUse, s.IOBufferBadReturns = int(m[0]), m[1], m[2]
	return s, nil
}

// scrape reads the named samples (name and labels as the exposition
// writes them) from node i's /metrics, -1 for each it cannot.
func (c *Cluster) scrape(i int, names ...string) []int64 {
	vals := make([]int64, len(names))
	for k := range vals {
		vals[k] = -1
	}
	client := http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(c.Endpoint(i) + "/metrics")
	if err != nil {
		return vals
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return vals
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		for k, name := range names {
			if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
				if n, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					vals[k] = int64(n)
				}
			}
		}
	}
	return vals
}

// killAll continues and kills every running process and waits for them.
func (c *Cluster) killAll() {
	for _, p := range c.nodes {
		p.mu.Lock()
		if p.cmd != nil {
			p.expected = true
			_ = p.cmd.Process.Signal(syscall.SIGCONT)
			_ = p.cmd.Process.Signal(syscall.SIGKILL)
		}
		exited := p.exited
		p.mu.Unlock()
		if exited != nil {
			select {
			case <-exited:
			case <-time.After(10 * time.Second):
			}
		}
	}
}

// Close kills every process (continuing stopped ones first), then fails the
// test for every crash and every data race a server reported. The folder
// of drives and logs is removed, except the logs when the test failed.
// Start registers it with t.Cleanup; calling it again does nothing.
func (c *Cluster) Close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.mu.Unlock()
	c.killAll()
	for _, cr := range c.Crashes() {
		c.t.Errorf("clusterproc: crash: %s", cr)
	}
	for _, p := range c.nodes {
		if races := countRaces(p.logPath); races > 0 {
			c.t.Errorf("clusterproc: node %d reported %d data races; see %s", p.index, races, p.logPath)
		}
	}
	if !c.t.Failed() {
		_ = os.RemoveAll(c.dir)
		return
	}
	// Keep the logs for a post-mortem, not the drives (they can be large).
	for i, p := range c.nodes {
		_ = os.RemoveAll(filepath.Join(c.dir, fmt.Sprintf("node%d", i)))
		c.t.Logf("clusterproc: node %d (port %d) log kept: %s", i, p.port, p.logPath)
	}
}

// raceMarker starts every report of the race detector.
var raceMarker = []byte("WARNING: DATA RACE")

func countRaces(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	return bytes.Count(b, raceMarker)
}

// LogLines returns the last n lines of node i's log that contain substr
// (such as the servers' "slow request" lines).
func (c *Cluster) LogLines(i int, substr string, n int) []string {
	lines, err := lastLines(c.nodes[i].logPath, n, 0, func(l string) bool { return strings.Contains(l, substr) })
	if err != nil {
		return []string{err.Error()}
	}
	return lines
}

// tail returns the last n lines of the file at path.
func tail(path string, n int) string {
	// The end of a log is what matters; read at most its last 64 KiB.
	lines, err := lastLines(path, n, 64<<10, nil)
	if err != nil {
		return err.Error()
	}
	return strings.Join(lines, "\n")
}

// lastLines returns the last n lines of the file at path that keep
// accepts (every line if nil), reading only its last within bytes if
// within is positive.
func lastLines(path string, n int, within int64, keep func(string) bool) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("(cannot read %s: %v)", path, err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && within > 0 && st.Size() > within {
		_, _ = f.Seek(-within, io.SeekEnd)
	}
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if keep != nil && !keep(sc.Text()) {
			continue
		}
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return lines, nil
}
