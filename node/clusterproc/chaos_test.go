package clusterproc

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"maps"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gridstore/gridstore/storage"
	"github.com/gridstore/gridstore/storage/local"
)

// EnvChaos turns the chaos scenarios on; `make chaos` sets it.
const EnvChaos = "GRIDSTORE_CHAOS"

// EnvNoDump=1 keeps a hang from SIGQUITting the node it hangs on (which
// ends that node, and so spoils the figures of the rest of the scenario):
// for measuring a known hang rather than finding out what it waits on.
const EnvNoDump = "GRIDSTORE_CHAOS_NODUMP"

// EnvHangAfter sets how long a request may be in flight before it counts
// as a hang (20s by default): lower it to have the goroutines of a node
// dumped while a slow request, not only a hung one, waits, to find what it
// waits on.
const EnvHangAfter = "GRIDSTORE_CHAOS_HANG_AFTER"

// Bounds the scenarios assert. Issue 12's targets (Issue12Targets: p99 under
// 3 s, no request over 5 s, no 30 s window without progress) are printed
// against the figures; the test fails only on what shows a hang or data loss,
// with margins for a shared, noisy machine and race-built servers.
const (
	maxRequest = 15 * time.Second
	maxStall   = 10 * time.Second
)

// Phases of a scenario (the load runs through all of them).
const (
	warmUp    = 6 * time.Second
	afterward = 6 * time.Second
)

// Bounds of what a scenario leaves once the cluster is whole again.
const (
	// maxRedundancyWait bounds the time until every object written has all
	// its shards on every drive again (missed-write log, heal on return,
	// rebuild of a wiped drive; the scanner for corrupt shards).
	maxRedundancyWait = 90 * time.Second
	// maxGoroutineGrowth and maxFDGrowth bound what a node holds more,
	// idle after the scenario, than it held idle before it.
	maxGoroutineGrowth = 150
	maxFDGrowth        = 40
	// buffersBackWait bounds how long, once idle, a node may still hold
	// I/O buffers (a scan or heal finishing).
	buffersBackWait = 15 * time.Second
)

func skipUnlessChaos(t *testing.T) {
	t.Helper()
	if os.Getenv(EnvChaos) != "1" {
		t.Skipf("chaos scenario on 4 server processes (about a minute): run `make chaos` or set %s=1", EnvChaos)
	}
}

// scenario is a 4-node cluster of 2 drives (one set of 8, EC 4+4) with
// the server's default timeouts, under 16 clients.
type scenario struct {
	t        testing.TB // the test's FailureEcho
	name     string
	c        *Cluster
	w        *Workload
	baseline []ProcStats // of each node, idle, before the load
	start    time.Time
	whole    time.Time // when the fault ended and the cluster was whole again
	end      time.Time // of the load; zero until it stops
	phases   []phase
	hangMu   sync.Mutex
	hang     *Sample
	dumpErr  []error
	// repaired, if set, is a further condition of full redundancy (the
	// corrupt shards rewritten): "" once met, else what is still wrong.
	repaired func() string
	verify   VerifyReport
	row      Row
}

type phase struct {
	name     string
	from, to time.Time
}

func newScenario(t *testing.T) *scenario {
	return newScenarioWith(t, Options{}, WorkloadConfig{})
}

// newScenarioWith is newScenario with other cluster options or workload
// settings (16 clients and OnHang are the scenario's).
func newScenarioWith(tt *testing.T, opts Options, cfg WorkloadConfig) *scenario {
	t := EchoFailures(tt, nil)
	s := &scenario{t: t, name: strings.TrimPrefix(t.Name(), "TestChaos")}
	s.c = Start(t, opts)
	cfg.Clients, cfg.OnHang = 16, s.onHang
	if v := os.Getenv(EnvHangAfter); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("%s=%q: %v", EnvHangAfter, v, err)
		}
		cfg.HangAfter = d
	}
	s.w = NewWorkload(t, s.c, cfg)
	for i := range s.c.Nodes() {
		st, err := s.c.Stats(i)
		if err != nil {
			t.Fatal(err)
		}
		s.baseline = append(s.baseline, st)
	}
	return s
}

// onHang logs the first request found in flight for longer than the
// workload's HangAfter and has the node it went to write its goroutines to
// its log (SIGQUIT: that node ends, and the test fails).
func (s *scenario) onHang(sm Sample) {
	s.hangMu.Lock()
	defer s.hangMu.Unlock()
	s.hang = &sm
	s.t.Logf("HANG: %s to node %d in flight for %s (since %s)", sm.Op, sm.Node, sm.Dur.Round(time.Millisecond), sm.Start.Format("15:04:05.000"))
	if os.Getenv(EnvNoDump) == "1" {
		return
	}
	s.t.Logf("dumping node %d's goroutines into %s (%s=1 does not)", sm.Node, s.c.LogPath(sm.Node), EnvNoDump)
	if s.c.Running(sm.Node) {
		if err := s.c.DumpGoroutines(sm.Node); err != nil {
			s.dumpErr = append(s.dumpErr, err)
		}
	}
}

// run starts the load, lets it warm up, runs fault (which returns the
// phases it made), runs the load on for a while, stops it and checks.
// verifyVia is the node the verification pass reads through. The tables
// are printed even when fault fails the test.
func (s *scenario) run(fault func() []phase, verifyVia int) {
	t := s.t
	s.start = time.Now()
	s.w.Start()
	defer s.report() // also after a t.Fatal in fault
	time.Sleep(warmUp)
	s.phases = append(s.phases, phase{"warm-up", s.start, time.Now()})
	s.phases = append(s.phases, fault()...)
	s.whole = time.Now()
	time.Sleep(afterward)
	s.stopLoad()
	s.phases = append(s.phases, phase{"after", s.whole, s.end})
	s.checkLoad()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	s.verify = s.w.Verify(ctx, verifyVia)
	s.verify.Verified(t)
	s.checkAfter()
}

// checkAfter waits for every object to be held in full again and for the
// nodes to settle, and fails the test on what they leave: objects short of
// shards after maxRedundancyWait, goroutines or file descriptors grown
// beyond their bounds.
func (s *scenario) checkAfter() {
	t := s.t
	_, short := WaitRedundant(s.c.AllDriveDirs(), s.w.Config().Bucket, s.w.History().Keys(), maxRedundancyWait-time.Since(s.whole))
	for i, key := range slices.Sorted(maps.Keys(short)) {
		t.Errorf("%s after the cluster was whole again, %q is not held in full: %s", time.Since(s.whole).Round(time.Second), key, short[key])
		if i < 3 {
			s.explainShort(key)
		}
	}
	if s.repaired != nil {
		for {
			why := s.repaired()
			if why == "" {
				break
			}
			if time.Since(s.whole) > maxRedundancyWait {
				t.Errorf("%s after the cluster was whole again: %s", time.Since(s.whole).Round(time.Second), why)
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
	if len(short) == 0 && !t.Failed() {
		s.row.Redundant = time.Since(s.whole)
	}
	// Idle: the clients' connections closed, the heals done.
	CloseIdleConnections()
	time.Sleep(2 * time.Second)
	for i := range s.c.Nodes() {
		st, err := s.c.Stats(i)
		if err != nil {
			t.Errorf("node %d after the scenario: %v", i, err)
			continue
		}
		base := s.baseline[i]
		s.row.GoroutineGrowth = max(s.row.GoroutineGrowth, st.Goroutines-base.Goroutines)
		s.row.FDGrowth = max(s.row.FDGrowth, st.FDs-base.FDs)
		if st.Goroutines < 0 || st.Goroutines-base.Goroutines > maxGoroutineGrowth {
			t.Errorf("node %d holds %d goroutines idle after the scenario, %d before (bound: %d more)", i, st.Goroutines, base.Goroutines, maxGoroutineGrowth)
		}
		if st.FDs-base.FDs > maxFDGrowth {
			t.Errorf("node %d holds %d file descriptors idle after the scenario, %d before (bound: %d more)", i, st.FDs, base.FDs, maxFDGrowth)
		}
		checkBuffersBack(t, s.c, i, st)
	}
}

// checkBuffersBack fails the test if node i of c returned an I/O buffer
// twice, or still holds some once idle (st: its stats then): every buffer
// a request, a heal or a stream cut by the faults took must be back. A
// scan or heal may be running, so holding some is allowed for a while.
func checkBuffersBack(t testing.TB, c *Cluster, i int, st ProcStats) {
	t.Helper()
	deadline := time.Now().Add(buffersBackWait)
	for st.IOBufferInUse != 0 && time.Now().Before(deadline) {
		time.Sleep(250 * time.Millisecond)
		if next, err := c.Stats(i); err == nil {
			st = next
		}
	}
	if st.IOBufferBadReturns != 0 {
		t.Errorf("node %d returned %d I/O buffers twice (gridstore_io_buffer_bad_returns_total)", i, st.IOBufferBadReturns)
	}
	if st.IOBufferInUse != 0 {
		t.Errorf("node %d holds %d bytes of I/O buffers %v after the scenario went idle (gridstore_io_buffer_bytes{state=\"in_use\"}; -1: no answer)", i, st.IOBufferInUse, buffersBackWait)
	}
}

// report stops the load and prints a table per phase and one for the whole
// run against issue 12's targets.
func (s *scenario) report() {
	s.stopLoad()
	end := s.end
	stats := s.w.Stats()
	var b strings.Builder
	for _, ph := range s.phases {
		b.WriteString(stats.Summarize(ph.from, ph.to).Table("phase "+ph.name, Targets{}))
		b.WriteByte('\n')
	}
	b.WriteString(stats.Summarize(s.start, end).Table("whole run", Issue12Targets))
	acked, failed, inFlight := s.w.History().Counts()
	fmt.Fprintf(&b, "writes: %d acknowledged, %d failed or cut by the end of the load, %d in flight\n", acked, failed, inFlight)
	for i := range s.c.Nodes() {
		if st, err := s.c.Stats(i); err == nil {
			fmt.Fprintf(&b, "node %d: RSS %d MiB, %d fds, %d threads\n", i, st.RSS>>20, st.FDs, st.Threads)
		}
	}
	s.t.Logf("\n%s", b.String())
	s.explainSlowest()
	s.fillRow()
	var rb strings.Builder
	WriteRows(&rb, []Row{s.row})
	s.t.Logf("scenario row:\n%s", rb.String())
	rowsMu.Lock()
	rows = append(rows, s.row)
	rowsMu.Unlock()
}

// explainSlowest prints, when the slowest request missed its target, what
// the node it went to logged of its slow requests: each says where its
// time went (the object layer's slow steps, the time spent on the client).
func (s *scenario) explainSlowest() {
	slowest := s.w.Stats().Summarize(s.start, s.end).Max
	if slowest.Dur <= Issue12Targets.MaxRequest {
		return
	}
	lines := s.c.LogLines(slowest.Node, "slow request", 10)
	s.t.Logf("the slowest request (%s to node %d at %s, %s) missed its target of %s; the client saw: %s; node %d's last slow-request lines (%d):\n%s",
		slowest.Op, slowest.Node, slowest.Start.Format("15:04:05.000"), slowest.Dur.Round(time.Millisecond),
		Issue12Targets.MaxRequest, slowest.Client, slowest.Node, len(lines), strings.Join(lines, "\n"))
}

// fillRow fills the scenario's row from what the load, the verification
// and the cluster showed.
func (s *scenario) fillRow() {
	r := &s.row
	r.Scenario = s.name
	r.Acked, _, _ = s.w.History().Counts()
	for _, v := range append(s.w.Violations(), s.verify.Violations...) {
		switch {
		case errors.Is(v, ErrUndoneDelete):
			r.UndoneDeletes++
		case errors.Is(v, ErrStale):
			r.StaleReads++
		default: // ErrLost, ErrCorrupt
			r.Lost++
		}
	}
	r.Listing = len(s.verify.Listing)
	r.VerifyErrors = len(s.verify.Errors)
	whole := s.w.Stats().Summarize(s.start, s.end)
	r.Stall, r.Slowest = whole.LongestStall, whole.Max.Dur
	r.Crashes = len(s.c.Crashes())
	r.Failed = s.t.Failed()
}

// stopLoad stops the workload and notes when, once.
func (s *scenario) stopLoad() {
	if s.end.IsZero() {
		s.w.Stop()
		s.end = time.Now()
	}
}

// checkLoad fails the test for what the load saw of hangs and wrong reads.
func (s *scenario) checkLoad() {
	t := s.t
	whole := s.w.Stats().Summarize(s.start, s.end)
	s.hangMu.Lock()
	if s.hang != nil {
		t.Errorf("a %s to node %d was in flight for over %s (started %s); log: %s",
			s.hang.Op, s.hang.Node, s.w.Config().HangAfter, s.hang.Start.Format("15:04:05.000"), s.c.LogPath(s.hang.Node))
		for _, err := range s.dumpErr {
			t.Errorf("goroutine dump: %v", err)
		}
	}
	s.hangMu.Unlock()
	for _, v := range s.w.Violations() {
		t.Errorf("during the load: %v", v)
	}
	if whole.Max.Dur > maxRequest {
		t.Errorf("slowest request: %s to node %d at %s took %s (> %s): a hang", whole.Max.Op, whole.Max.Node,
			whole.Max.Start.Format("15:04:05.000"), whole.Max.Dur.Round(time.Millisecond), maxRequest)
	}
	if whole.LongestStall > maxStall {
		t.Errorf("no request succeeded for %s from %s (> %s): the cluster stalled", whole.LongestStall.Round(time.Millisecond),
			whole.StallStart.Format("15:04:05.000"), maxStall)
	}
	for _, cr := range s.c.Crashes() {
		t.Errorf("crash: %s", cr)
	}
}

// TestChaosPausedNode: one node of four is SIGSTOPped for 30 s under load
// (taken out of the clients' targets first, as a load balancer's health
// check would), then continued; the load goes on for 10 s more and every
// acknowledged object is checked through the node that was paused.
func TestChaosPausedNode(t *testing.T) {
	skipUnlessChaos(t)
	s := newScenario(t)
	const paused = 3
	s.run(func() []phase {
		if n := s.w.Exclude(paused, 15*time.Second); n > 0 {
			t.Errorf("%d requests to node %d still in flight 15 s after it left the targets", n, paused)
		}
		from := time.Now()
		s.c.Stop(paused)
		t.Logf("node %d (pid %d) stopped at %s", paused, s.c.PID(paused), from.Format("15:04:05.000"))
		time.Sleep(30 * time.Second)
		s.c.Cont(paused)
		to := time.Now()
		s.c.WaitNodeReady(paused)
		s.w.Include(paused)
		t.Logf("node %d continued at %s, ready and a target again at %s", paused, to.Format("15:04:05.000"), time.Now().Format("15:04:05.000"))
		return []phase{{"node paused", from, to}}
	}, paused)
}

// TestChaosTwoNodesKilled: two nodes of four are SIGKILLed for 20 s under
// load (4 of 8 drives: reads keep their quorum of 4, writes need 5 and must
// be refused fast), then restarted on their folders; the load goes on for
// 10 s more and every acknowledged object is checked through a restarted
// node.
func TestChaosTwoNodesKilled(t *testing.T) {
	skipUnlessChaos(t)
	s := newScenario(t)
	killed := []int{2, 3}
	s.run(func() []phase {
		for _, i := range killed {
			if n := s.w.Exclude(i, 15*time.Second); n > 0 {
				t.Errorf("%d requests to node %d still in flight 15 s after it left the targets", n, i)
			}
		}
		from := time.Now()
		for _, i := range killed {
			s.c.Kill(i)
		}
		t.Logf("nodes %v killed at %s", killed, from.Format("15:04:05.000"))
		time.Sleep(20 * time.Second)
		to := time.Now()
		s.c.Restart(killed...)
		back := time.Now()
		for _, i := range killed {
			s.w.Include(i)
		}
		t.Logf("nodes %v restarted at %s, ready at %s (%s)", killed, to.Format("15:04:05.000"),
			back.Format("15:04:05.000"), back.Sub(to).Round(time.Millisecond))
		return []phase{{"two nodes down", from, to}, {"restarting", to, back}}
	}, killed[0])
}

// TestChaosNodeKilled: one node of four is SIGKILLed under load with
// requests in flight through it (their clients see the connection cut),
// taken out of the targets, restarted on its folders 10 s later and put
// back; what it missed must be healed onto its drives without a read.
func TestChaosNodeKilled(t *testing.T) {
	skipUnlessChaos(t)
	s := newScenario(t)
	const killed = 1
	s.run(func() []phase { return s.killFor(killed, 10*time.Second, "node down", nil) }, killed)
}

// killFor SIGKILLs node with requests in flight through it, takes it out
// of the targets, runs meanwhile (if set) while it is down, restarts it
// on its folders once down has passed and puts it back: the phases of a
// scenario's fault.
func (s *scenario) killFor(node int, down time.Duration, name string, meanwhile func()) []phase {
	from := time.Now()
	s.c.Kill(node)
	s.w.Exclude(node, 15*time.Second)
	s.t.Logf("node %d killed at %s", node, from.Format("15:04:05.000"))
	if meanwhile != nil {
		meanwhile()
	}
	time.Sleep(time.Until(from.Add(down)))
	to := time.Now()
	s.c.Restart(node)
	s.w.Include(node)
	return []phase{{name, from, to}, {"restarting", to, time.Now()}}
}

// TestChaosPartition: one node is cut off from the other three (grid and
// gossip, both ways) for 15 s while clients still reach every node, as
// when a switch drops a node's peers but not its load balancer. Requests
// through the cut-off node must fail fast (it sees 2 of 8 drives: no
// quorum), the others go on; once the partition heals, the node rejoins
// and what it missed is healed. Needs root and iptables (the harness runs
// each node as a user of its own and drops their packets by owner).
func TestChaosPartition(t *testing.T) {
	skipUnlessChaos(t)
	if os.Geteuid() != 0 {
		t.Skip("partition: needs root to run each node as a user of its own and to set iptables rules")
	}
	if _, err := exec.LookPath("iptables"); err != nil {
		t.Skipf("partition: no iptables: %v", err)
	}
	s := newScenarioWith(t, Options{OwnUsers: true}, WorkloadConfig{})
	const cut = 2
	s.run(func() []phase {
		from := time.Now()
		if err := s.c.Partition(cut); err != nil {
			t.Fatal(err)
		}
		t.Logf("node %d cut off from its peers at %s", cut, from.Format("15:04:05.000"))
		time.Sleep(15 * time.Second)
		if err := s.c.Heal(); err != nil {
			t.Fatal(err)
		}
		to := time.Now()
		t.Logf("partition healed at %s", to.Format("15:04:05.000"))
		return []phase{{"node cut off", from, to}}
	}, cut)
}

// TestChaosKilledDuringMultipart: with multipart uploads the better part
// of the load, one node is SIGKILLed (uploads through it cut between
// parts, parts through the others written without its drives) and
// restarted 10 s later; every completed upload must read back, and every
// part's shards be healed onto the node's drives.
func TestChaosKilledDuringMultipart(t *testing.T) {
	skipUnlessChaos(t)
	s := newScenarioWith(t, Options{}, WorkloadConfig{
		Mix: [numOps]int{OpPut: 10, OpGet: 30, OpDelete: 5, OpList: 5, OpMultipart: 40},
	})
	const killed = 3
	s.run(func() []phase { return s.killFor(killed, 10*time.Second, "node down", nil) }, killed)
}

// TestChaosWipedDrive: one node is SIGKILLed under load, one of its drives
// is wiped (emptied, as a replaced disk is) and the node restarted: the
// drive must be formatted into the deployment and rebuilt with every
// object, while the load goes on.
func TestChaosWipedDrive(t *testing.T) {
	skipUnlessChaos(t)
	s := newScenario(t)
	const node = 2
	s.run(func() []phase {
		return s.killFor(node, 3*time.Second, "node down, drive wiped", func() {
			drive := s.c.DriveDirs(node)[0]
			entries, err := os.ReadDir(drive)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				if err := os.RemoveAll(filepath.Join(drive, e.Name())); err != nil {
					t.Fatal(err)
				}
			}
			t.Logf("node %d's drive %s wiped", node, drive)
		})
	}, node)
}

// TestChaosCorruptShards: under load, a shard of each of up to 32 objects
// is corrupted in place on one drive (bytes flipped in a part file, or in
// the record that holds a small object inline). No read may return wrong
// content, and every corrupted file must be rewritten: by the reads that
// trip over it, or by the scanner (here every 5 s, verifying bitrot on
// every pass, so that a parity shard no read touches is found too).
func TestChaosCorruptShards(t *testing.T) {
	skipUnlessChaos(t)
	s := newScenarioWith(t, Options{Args: []string{"--scan-interval", "5s", "--scan-bitrot-every", "1"}}, WorkloadConfig{})
	s.run(func() []phase {
		from := time.Now()
		corrupted := corruptShards(t, s.c, s.w, 32)
		t.Logf("%d shards corrupted at %s", len(corrupted), from.Format("15:04:05.000"))
		if len(corrupted) == 0 {
			t.Fatal("no shard found to corrupt")
		}
		s.repaired = func() string {
			for path, c := range corrupted {
				b, err := os.ReadFile(path)
				if err == nil && sha256.Sum256(b) == c.sum {
					return fmt.Sprintf("%s is still corrupt (%s)", path, "drive holds: "+describeCopy(c.root, s.w.Config().Bucket, c.key))
				}
			}
			return ""
		}
		time.Sleep(5 * time.Second)
		return []phase{{"shards corrupted", from, time.Now()}}
	}, 0)
}

// explainShort logs what is known of a key left short of redundancy: its
// writes as the clients saw them, each drive's record and files, and what
// the nodes' logs say of it.
func (s *scenario) explainShort(key string) {
	t := s.t
	bucket := s.w.Config().Bucket
	t.Logf("%q, writes:\n%s", key, s.w.History().Describe(key))
	t.Logf("%q, on the drives:\n%s", key, DescribeCopies(s.c.AllDriveDirs(), bucket, key))
	for i := range s.c.Nodes() {
		if lines := s.c.LogLinesAbout(i, key, 20); len(lines) > 0 {
			t.Logf("%q, in node %d's log:\n%s", key, i, strings.Join(lines, "\n"))
		}
	}
}

// corruption is a file corruptShards changed: the SHA-256 of what it left
// in it, the drive and the object.
type corruption struct {
	sum       [32]byte
	root, key string
}

// corruptShards flips bytes of one shard of up to n objects the workload
// has written, each on a drive picked at random, and returns the files it
// changed.
func corruptShards(t *testing.T, c *Cluster, w *Workload, n int) map[string]corruption {
	t.Helper()
	out := map[string]corruption{}
	roots := c.AllDriveDirs()
	bucket := w.Config().Bucket
	for _, key := range w.History().Keys() {
		if len(out) >= n {
			break
		}
		root := roots[mrand.IntN(len(roots))]
		path, at := shardToCorrupt(root, bucket, key)
		if path == "" {
			continue
		}
		b, err := os.ReadFile(path)
		if err != nil || at >= len(b) {
			continue
		}
		for i := at; i < min(at+16, len(b)); i++ {
			b[i] ^= 0xff
		}
		// In place, as rot is: the inode stays, the bytes change.
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			continue
		}
		_, werr := f.WriteAt(b[at:min(at+16, len(b))], int64(at))
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			t.Fatalf("corrupt %s: %v", path, werr)
		}
		out[path] = corruption{sum: sha256.Sum256(b), root: root, key: key}
	}
	return out
}

// shardToCorrupt picks the file holding key's shard on the drive at root
// and an offset inside its data: the middle of the first part file, or of
// the record of an object held inline.
func shardToCorrupt(root, bucket, key string) (string, int) {
	rec := local.RecordFile(root, bucket, key)
	raw, err := os.ReadFile(rec)
	if err != nil {
		return "", 0
	}
	m, err := storage.DecodeObjectMeta(raw)
	if err != nil || m.Versions[0].Deleted || m.Versions[0].Size == 0 {
		return "", 0
	}
	v := m.Versions[0]
	if v.DataDir == "" {
		return rec, len(raw) / 2
	}
	if len(v.Parts) == 0 {
		return "", 0
	}
	part := filepath.Join(local.DataDirFile(root, bucket, key, v.DataDir), storage.PartFileName(v.Parts[0].Number))
	st, err := os.Stat(part)
	if err != nil || st.Size() == 0 {
		return "", 0
	}
	return part, int(st.Size() / 2)
}

// TestChaosRollingRestart: every node in turn is taken out of the targets,
// stopped gracefully (SIGTERM) and started again under load, as in an
// upgrade; each waits until the one before is ready.
func TestChaosRollingRestart(t *testing.T) {
	skipUnlessChaos(t)
	s := newScenario(t)
	s.run(func() []phase {
		var phases []phase
		for i := range s.c.Nodes() {
			from := time.Now()
			if n := s.w.Exclude(i, 15*time.Second); n > 0 {
				t.Errorf("%d requests to node %d still in flight 15 s after it left the targets", n, i)
			}
			s.c.Terminate(i, 45*time.Second)
			s.c.Restart(i)
			s.w.Include(i)
			phases = append(phases, phase{fmt.Sprintf("node %d restarting", i), from, time.Now()})
			time.Sleep(2 * time.Second)
		}
		return phases
	}, 0)
}
