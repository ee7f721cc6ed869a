package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/gridstore/gridstore/node/admin"
	"github.com/gridstore/gridstore/node/clusterproc"
)

// envChaos turns TestComposeChaos on (`make chaos-docker` sets it; the same
// variable turns node/clusterproc's scenarios on for `make chaos`), so that
// `make test` stays fast. GRIDSTORE_DOCKER_TESTS=0 still skips it.
const envChaos = "GRIDSTORE_CHAOS"

// envChaosNoDump=1 keeps a hang from SIGQUITting the container it hangs on
// (as in node/clusterproc).
const envChaosNoDump = "GRIDSTORE_CHAOS_NODUMP"

// What TestComposeChaos asserts, as node/clusterproc's scenarios do: a
// request over chaosMaxRequest is a hang, a window of chaosMaxStall without
// any successful request is a stall.
const (
	chaosMaxRequest = 15 * time.Second
	chaosMaxStall   = 10 * time.Second
)

// The scenarios' phases and load.
const (
	chaosClients = 12
	chaosWarmUp  = 5 * time.Second
	chaosAfter   = 5 * time.Second
	// chaosKilledFor is how long a killed node stays down before it is
	// started again.
	chaosKilledFor = 5 * time.Second
	// chaosFaultFor is how long a node stays paused or cut off: longer
	// than gossip takes to call it dead (1-2 s) and than the
	// healthcheck's three failed probes.
	chaosFaultFor = 15 * time.Second
	// chaosRecover bounds the wait for a node to answer /health/ready
	// and /health/cluster again, and for every node to see the
	// deployment whole.
	chaosRecover = 90 * time.Second
)

// TestComposeChaos runs fault scenarios on the docker-compose.yml cluster
// (4 containers x 2 drives, one EC 4+4 set, the image's default
// configuration) under a workload of 12 S3 clients that reach every
// container by its address on the compose network, one scenario after
// another on the same cluster, each beginning with the deployment whole:
//
//   - kill: node2's container is SIGKILLed (`docker kill`) with requests in
//     flight to it, taken out of the clients' targets, left down 5 s or
//     more and started again (`docker start`);
//   - pause: node3 is taken out of the targets, then frozen (`docker
//     pause`) for 15 s and thawed;
//   - partition: node4 is taken out of the targets, disconnected from the
//     compose network for 15 s and connected again under its alias, where
//     the others must find it by name.
//
// Each runs 5 s of load before the fault and 5 s after the node is back
// (and a target again: once its /health/cluster answers 200, as a load
// balancer would have it), then reads every key the load wrote through the
// node that was hit and compares the listing with what was acknowledged.
// It fails on a lost, corrupt or stale read (during the load or in the
// check), a listing that disagrees, a request over 15 s, 10 s without any
// successful request, and a container that stopped, or was restarted by the
// engine, without the test telling it to. One row per scenario is printed
// at the end.
func TestComposeChaos(tt *testing.T) {
	if os.Getenv(envChaos) != "1" {
		tt.Skipf("chaos scenarios on the docker-compose cluster (a few minutes): run `make chaos-docker` or set %s=1", envChaos)
	}
	requireCompose(tt, "the docker-compose chaos test")
	// The table and the failures come last, after the containers' logs.
	var x *composeChaos
	t := clusterproc.EchoFailures(tt, func() {
		if x != nil {
			x.printRows()
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 9*time.Minute)
	defer cancel()
	start := time.Now()
	c := startCompose(ctx, t, "gridstore-chaos-test-")
	c.logTail = 80
	x = newComposeChaos(ctx, t, c)
	t.Logf("cluster up after %s; node addresses %v on network %s", time.Since(start).Round(time.Second), x.addrs, x.network)

	x.run(ctx, "kill node2, start it again", 1, x.killAndStart)
	x.run(ctx, "pause node3 for 15 s", 2, x.pause)
	x.run(ctx, "partition node4 for 15 s", 3, x.partition)
	t.Logf("TestComposeChaos: %s in all", time.Since(start).Round(time.Second))
}

// composeChaos is the compose cluster as the scenarios see it: a
// clusterproc.Servers of its containers' addresses on the compose network.
type composeChaos struct {
	t       testing.TB
	c       *composeCluster
	network string   // the compose network's name
	ids     []string // container of each node
	addrs   []string // ip:9000 of each node on the network

	mu     sync.Mutex
	rows   []chaosRow
	dumped map[int]bool // nodes SIGQUITted for a hang
}

// chaosRow is what a scenario prints.
type chaosRow struct {
	name                   string
	acked                  int
	lost, corrupt, stale   int // violations of the check after the load
	verifyErrors           int
	wrongReads             int // violations seen during the load
	stall, slowest         time.Duration
	containers             string
	verified, loadMeasured bool
}

func newComposeChaos(ctx context.Context, t testing.TB, c *composeCluster) *composeChaos {
	x := &composeChaos{t: t, c: c, dumped: map[int]bool{}}
	for _, s := range composeServices {
		id, err := c.compose(ctx, "ps", "-q", s)
		if err != nil || strings.TrimSpace(id) == "" {
			t.Fatalf("docker-compose ps -q %s: %v %s", s, err, id)
		}
		x.ids = append(x.ids, strings.TrimSpace(id))
	}
	for i := range x.ids {
		ci := x.container(ctx, i)
		if len(ci.NetworkSettings.Networks) != 1 {
			t.Fatalf("%s is on %d networks, want the compose network only", composeServices[i], len(ci.NetworkSettings.Networks))
		}
		for name, n := range ci.NetworkSettings.Networks {
			if x.network != "" && name != x.network {
				t.Fatalf("%s is on network %s, %s on %s", composeServices[i], name, composeServices[0], x.network)
			}
			x.network = name
			if n.IPAddress == "" {
				t.Fatalf("%s has no address on %s", composeServices[i], name)
			}
			x.addrs = append(x.addrs, net.JoinHostPort(n.IPAddress, "9000"))
		}
	}
	// The clients dial the containers directly: on Linux the host routes to
	// its bridge networks. Where it does not (Docker Desktop), say so
	// rather than time every request out.
	for i, a := range x.addrs {
		conn, err := net.DialTimeout("tcp", a, 5*time.Second)
		if err != nil {
			t.Fatalf("the test reaches the containers by their addresses on the compose network, but %s (%s): %v", composeServices[i], a, err)
		}
		conn.Close()
	}
	return x
}

// Nodes and Client make composeChaos a clusterproc.Servers.
func (x *composeChaos) Nodes() int { return len(x.addrs) }

// Client is an S3 client of node i's container.
func (x *composeChaos) Client(i int) *minio.Client {
	return clusterproc.NewClient(x.t, x.addrs[i], x.c.user, x.c.secret)
}

// containerInfo is the part of `docker inspect` the scenarios look at.
type containerInfo struct {
	RestartCount int
	State        struct {
		Status                string
		Running, Paused       bool
		OOMKilled, Dead       bool
		ExitCode              int
		Error                 string
		StartedAt, FinishedAt string
	}
	NetworkSettings struct {
		Networks map[string]struct {
			IPAddress string
			Aliases   []string
		}
	}
}

func (x *composeChaos) container(ctx context.Context, i int) containerInfo {
	x.t.Helper()
	out, err := exec.CommandContext(ctx, "docker", "inspect", x.ids[i]).Output()
	if err != nil {
		x.t.Fatalf("docker inspect %s: %v", composeServices[i], err)
	}
	var cis []containerInfo
	if err := json.Unmarshal(out, &cis); err != nil || len(cis) != 1 {
		x.t.Fatalf("docker inspect %s: %d answers, %v", composeServices[i], len(cis), err)
	}
	return cis[0]
}

func (x *composeChaos) containers(ctx context.Context) []containerInfo {
	x.t.Helper()
	var cis []containerInfo
	for i := range x.ids {
		cis = append(cis, x.container(ctx, i))
	}
	return cis
}

// docker runs a docker command, failing the test if it fails.
func (x *composeChaos) docker(ctx context.Context, args ...string) {
	x.t.Helper()
	if out, err := exec.CommandContext(ctx, "docker", args...).CombinedOutput(); err != nil {
		x.t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// dockerPause freezes container i. runc's cgroup freezer gives up ("unable
// to freeze") when a task of the container stays in an uninterruptible
// system call for longer than its few hundred milliseconds of tries — a
// node in a syncfs of a busy disk does — so a refusal is tried again, for
// up to pauseTries, and fails the test only when the freeze never takes.
func (x *composeChaos) dockerPause(ctx context.Context, i int) {
	x.t.Helper()
	const pauseTries = 20
	var out []byte
	var err error
	for try := 1; try <= pauseTries; try++ {
		out, err = exec.CommandContext(ctx, "docker", "pause", x.ids[i]).CombinedOutput()
		if err == nil {
			if try > 1 {
				x.t.Logf("docker pause %s took %d tries", composeServices[i], try)
			}
			return
		}
		x.t.Logf("docker pause %s, try %d of %d: %v: %s", composeServices[i], try, pauseTries, err, strings.TrimSpace(string(out)))
		select {
		case <-ctx.Done():
			x.t.Fatalf("docker pause %s: %v", composeServices[i], ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
	x.t.Fatalf("docker pause %s: %d tries failed, the last: %v\n%s", composeServices[i], pauseTries, err, out)
}

// fault is one scenario's fault on node i: it returns the nodes it
// restarted on purpose, once node i answers /health/cluster again and is
// a target of the clients again.
type fault func(ctx context.Context, w *clusterproc.Workload, i int) (restarted []int)

// run runs one scenario: the load on a bucket of its own, warm-up, the
// fault, the load for a while after, the checks, and the wait for the
// deployment to be whole again.
func (x *composeChaos) run(ctx context.Context, name string, node int, f fault) {
	t := x.t
	t.Logf("=== scenario %q", name)
	failedBefore := t.Failed()
	row := chaosRow{name: name, containers: "?"}
	before := x.containers(ctx)
	w := clusterproc.NewWorkload(t, x, clusterproc.WorkloadConfig{
		Clients: chaosClients,
		Bucket:  fmt.Sprintf("chaos-%d", len(x.rows)+1),
		OnHang:  x.onHang,
	})
	start := time.Now()
	var end time.Time
	stop := func() {
		if end.IsZero() {
			w.Stop()
			end = time.Now()
		}
	}
	defer func() {
		// Also after a t.Fatal in the fault: the row says what was seen.
		stop()
		if !row.loadMeasured {
			row.fill(w, start, end)
		}
		x.mu.Lock()
		x.rows = append(x.rows, row)
		x.mu.Unlock()
		if t.Failed() && !failedBefore {
			t.Logf("scenario %q failed", name)
		}
	}()
	w.Start()
	time.Sleep(chaosWarmUp)
	faultAt := time.Now()
	restarted := f(ctx, w, node)
	backAt := time.Now()
	time.Sleep(chaosAfter)
	stop()
	row.fill(w, start, end)
	stats := w.Stats()
	t.Logf("\n%s\n%s", stats.Summarize(faultAt, backAt).Table("fault until "+composeServices[node]+" is back", clusterproc.Targets{}),
		stats.Summarize(start, end).Table("whole load", clusterproc.Issue12Targets))
	t.Logf("failed requests by node: %s", errorsByNode(stats.Samples(start, end)))
	for _, v := range w.Violations() {
		t.Errorf("during the load: %v", v)
	}
	whole := stats.Summarize(start, end)
	if whole.Max.Dur > chaosMaxRequest {
		t.Errorf("slowest request: %s to %s at %s took %s (> %s): a hang", whole.Max.Op, composeServices[whole.Max.Node],
			whole.Max.Start.Format("15:04:05.000"), whole.Max.Dur.Round(time.Millisecond), chaosMaxRequest)
	}
	if whole.LongestStall > chaosMaxStall {
		t.Errorf("no request succeeded for %s from %s (> %s): the cluster stalled", whole.LongestStall.Round(time.Millisecond),
			whole.StallStart.Format("15:04:05.000"), chaosMaxStall)
	}

	vctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	rep := w.Verify(vctx, node)
	cancel()
	rep.Verified(t)
	row.verified = true
	row.verifyErrors = len(rep.Errors)
	for _, v := range rep.Violations {
		switch {
		case errors.Is(v, clusterproc.ErrLost):
			row.lost++
		case errors.Is(v, clusterproc.ErrStale):
			row.stale++
		default:
			row.corrupt++
		}
	}

	x.waitWhole(ctx)
	row.containers = x.checkContainers(ctx, before, restarted)
}

// fill takes the load's figures into the row.
func (row *chaosRow) fill(w *clusterproc.Workload, start, end time.Time) {
	row.loadMeasured = true
	row.acked, _, _ = w.History().Counts()
	row.wrongReads = len(w.Violations())
	sum := w.Stats().Summarize(start, end)
	row.stall, row.slowest = sum.LongestStall, sum.Max.Dur
}

// onHang logs the first request in flight for longer than the workload's
// HangAfter and, unless GRIDSTORE_CHAOS_NODUMP=1, has the container it went
// to write its goroutines to its log (SIGQUIT, which ends it: its log tail
// is printed at the end, the test having failed on the slow request).
func (x *composeChaos) onHang(sm clusterproc.Sample) {
	x.t.Logf("HANG: %s to %s in flight for %s (since %s)", sm.Op, composeServices[sm.Node], sm.Dur.Round(time.Millisecond), sm.Start.Format("15:04:05.000"))
	if os.Getenv(envChaosNoDump) == "1" {
		return
	}
	x.t.Logf("dumping %s's goroutines into its log (%s=1 does not)", composeServices[sm.Node], envChaosNoDump)
	x.mu.Lock()
	x.dumped[sm.Node] = true
	x.mu.Unlock()
	if out, err := exec.Command("docker", "kill", "--signal", "QUIT", x.ids[sm.Node]).CombinedOutput(); err != nil {
		x.t.Logf("docker kill --signal QUIT %s: %v: %s", composeServices[sm.Node], err, out)
	}
}

// killAndStart SIGKILLs node i's container with the load on it, takes the
// node out of the targets (a load balancer's health check would), starts
// the container again after chaosKilledFor and puts it back once it is
// ready.
func (x *composeChaos) killAndStart(ctx context.Context, w *clusterproc.Workload, i int) []int {
	t := x.t
	x.docker(ctx, "kill", "--signal", "KILL", x.ids[i])
	at := time.Now()
	t.Logf("%s SIGKILLed at %s", composeServices[i], at.Format("15:04:05.000"))
	// The requests in flight to it end with a connection error, or within
	// the client's dial timeout.
	if n := w.Exclude(i, 15*time.Second); n > 0 {
		t.Errorf("%d requests to the killed %s still in flight 15 s later", n, composeServices[i])
	}
	if ci := x.container(ctx, i); ci.State.Running || ci.RestartCount != 0 {
		// `docker kill` counts as stopped on purpose: the restart
		// policy (unless-stopped) must leave it down.
		t.Errorf("%s after docker kill: status %s, restart count %d; want it down", composeServices[i], ci.State.Status, ci.RestartCount)
	}
	time.Sleep(time.Until(at.Add(chaosKilledFor)))
	from := time.Now()
	x.docker(ctx, "start", x.ids[i])
	t.Logf("%s started again at %s, %s after the kill (docker start took %s)", composeServices[i],
		time.Now().Format("15:04:05.000"), time.Since(at).Round(time.Millisecond), time.Since(from).Round(time.Millisecond))
	x.back(ctx, w, i)
	return []int{i}
}

// pause freezes node i's container (cgroup freezer: its sockets accept
// connections, nothing answers) for chaosFaultFor, out of the targets.
func (x *composeChaos) pause(ctx context.Context, w *clusterproc.Workload, i int) []int {
	t := x.t
	if n := w.Exclude(i, 15*time.Second); n > 0 {
		t.Errorf("%d requests to %s still in flight 15 s after it left the targets", n, composeServices[i])
	}
	x.dockerPause(ctx, i)
	paused := true
	defer func() {
		if paused { // a t.Fatal on the way: thaw it for the cleanup
			_ = exec.Command("docker", "unpause", x.ids[i]).Run()
		}
	}()
	if ci := x.container(ctx, i); !ci.State.Paused {
		t.Fatalf("%s after docker pause: status %s, not paused", composeServices[i], ci.State.Status)
	}
	t.Logf("%s paused at %s", composeServices[i], time.Now().Format("15:04:05.000"))
	time.Sleep(chaosFaultFor)
	x.docker(ctx, "unpause", x.ids[i])
	paused = false
	t.Logf("%s unpaused at %s", composeServices[i], time.Now().Format("15:04:05.000"))
	x.back(ctx, w, i)
	return nil
}

// partition disconnects node i's container from the compose network for
// chaosFaultFor, out of the targets, and connects it again under its
// service name, which the others know it by.
func (x *composeChaos) partition(ctx context.Context, w *clusterproc.Workload, i int) []int {
	t := x.t
	if n := w.Exclude(i, 15*time.Second); n > 0 {
		t.Errorf("%d requests to %s still in flight 15 s after it left the targets", n, composeServices[i])
	}
	x.docker(ctx, "network", "disconnect", x.network, x.ids[i])
	connected := false
	defer func() {
		if !connected {
			_ = exec.Command("docker", "network", "connect", "--alias", composeServices[i], x.network, x.ids[i]).Run()
		}
	}()
	t.Logf("%s disconnected from %s at %s", composeServices[i], x.network, time.Now().Format("15:04:05.000"))
	if n := len(x.container(ctx, i).NetworkSettings.Networks); n != 0 {
		t.Fatalf("%s still on %d networks after docker network disconnect", composeServices[i], n)
	}
	time.Sleep(chaosFaultFor)
	x.docker(ctx, "network", "connect", "--alias", composeServices[i], x.network, x.ids[i])
	connected = true
	t.Logf("%s connected again at %s", composeServices[i], time.Now().Format("15:04:05.000"))
	x.back(ctx, w, i)
	return nil
}

// back checks that node i's container came back with its address and
// alias on the network, waits until it answers /health/ready, then
// /health/cluster (as a load balancer would), and makes it a target again.
func (x *composeChaos) back(ctx context.Context, w *clusterproc.Workload, i int) {
	t := x.t
	t.Helper()
	n, ok := x.container(ctx, i).NetworkSettings.Networks[x.network]
	switch {
	case !ok:
		t.Fatalf("%s is not on %s", composeServices[i], x.network)
	case net.JoinHostPort(n.IPAddress, "9000") != x.addrs[i]:
		// The workload's clients know the first address only.
		t.Fatalf("%s came back as %s on %s, was %s", composeServices[i], n.IPAddress, x.network, x.addrs[i])
	case !slices.Contains(n.Aliases, composeServices[i]):
		t.Fatalf("%s came back on %s without its alias %s (aliases %q): the others cannot find it", composeServices[i], x.network, composeServices[i], n.Aliases)
	}
	from := time.Now()
	x.waitHealth(ctx, i, "/health/ready")
	ready := time.Since(from)
	x.waitHealth(ctx, i, "/health/cluster")
	w.Include(i)
	t.Logf("%s answers /health/ready %s later, /health/cluster (write quorum on every set, in its view) %s later: a target again",
		composeServices[i], ready.Round(time.Millisecond), time.Since(from).Round(time.Millisecond))
}

// waitHealth waits until node i answers path with 200. /health/ready says
// the node has joined the deployment; /health/cluster, what a load
// balancer should ask, that it sees a write quorum on every set (after a
// partition it may be ready and still refuse requests for want of one,
// until it finds the others again).
func (x *composeChaos) waitHealth(ctx context.Context, i int, path string) {
	t := x.t
	t.Helper()
	hc := &http.Client{Timeout: 2 * time.Second}
	defer hc.CloseIdleConnections()
	deadline := time.Now().Add(chaosRecover)
	var last string
	for {
		resp, err := hc.Get("http://" + x.addrs[i] + path)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("%s: %s not 200 %s after the fault ended: %s", composeServices[i], path, chaosRecover, last)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitWhole waits until every node sees every node up (grid connection
// and gossip) and every drive online: the next scenario starts from a
// whole deployment.
func (x *composeChaos) waitWhole(ctx context.Context) {
	t := x.t
	t.Helper()
	from := time.Now()
	for i, a := range x.addrs {
		last, ok := x.c.pollAdmin(ctx, "http://"+a, time.Until(from.Add(chaosRecover)), func(info *admin.Info) bool {
			for _, n := range info.Nodes {
				if n.State != admin.NodeUp || (n.Gossip != "" && n.Gossip != "alive") {
					return false
				}
			}
			return len(info.Nodes) == len(x.addrs) && countDrives(info, admin.DriveOnline) == 2*len(x.addrs)
		})
		if !ok {
			t.Fatalf("%s does not see the deployment whole %s after the scenario; its last answer:\n%s", composeServices[i], chaosRecover, last)
		}
	}
	t.Logf("every node sees every node up and every drive online (%s)", time.Since(from).Round(time.Millisecond))
}

// checkContainers compares the containers with before the scenario: each
// must be running, started no more often than the test started it (the
// restarted nodes: once more), and not restarted by the engine. It fails
// the test for each one that is not, starts any that is down so the next
// scenario has a cluster, and says what it found.
func (x *composeChaos) checkContainers(ctx context.Context, before []containerInfo, restarted []int) string {
	t := x.t
	var notes []string
	for i, ci := range x.containers(ctx) {
		s := composeServices[i]
		x.mu.Lock()
		dumped := x.dumped[i]
		delete(x.dumped, i)
		x.mu.Unlock()
		var bad []string
		if !ci.State.Running || ci.State.Paused {
			bad = append(bad, fmt.Sprintf("%s (exit code %d at %s%s)", ci.State.Status, ci.State.ExitCode, ci.State.FinishedAt, orNone(", error ", ci.State.Error)))
		}
		if ci.RestartCount != before[i].RestartCount {
			bad = append(bad, fmt.Sprintf("restarted by the engine (restart count %d, was %d)", ci.RestartCount, before[i].RestartCount))
		} else if ci.State.StartedAt != before[i].State.StartedAt && !slices.Contains(restarted, i) {
			bad = append(bad, fmt.Sprintf("started again at %s, unasked (exit code %d at %s)", ci.State.StartedAt, ci.State.ExitCode, ci.State.FinishedAt))
		} else if ci.State.StartedAt == before[i].State.StartedAt && slices.Contains(restarted, i) {
			bad = append(bad, "not started again although the test started it")
		}
		if ci.State.OOMKilled {
			bad = append(bad, "OOM-killed")
		}
		switch {
		case len(bad) == 0 && slices.Contains(restarted, i):
			notes = append(notes, s+" killed+started by the test")
		case len(bad) > 0 && dumped:
			notes = append(notes, s+" SIGQUITted for a hang")
		case len(bad) > 0:
			t.Errorf("crash: %s: %s", s, strings.Join(bad, "; "))
			notes = append(notes, s+" CRASHED: "+strings.Join(bad, "; "))
		}
		if !ci.State.Running {
			// Start it again so the next scenario has a cluster; the test
			// has failed already.
			_ = exec.CommandContext(ctx, "docker", "start", x.ids[i]).Run()
		}
	}
	if len(notes) == 0 {
		return "all running, none restarted"
	}
	return strings.Join(notes, "; ")
}

// errorsByNode renders the failed requests of samples by node and code,
// with when the first and the last of each were sent.
func errorsByNode(samples []clusterproc.Sample) string {
	type key struct {
		node int
		code string
	}
	type span struct {
		n           int
		first, last time.Time
	}
	m := map[key]*span{}
	var keys []key
	for _, sm := range samples {
		if sm.Code == "" {
			continue
		}
		k := key{sm.Node, sm.Code}
		sp := m[k]
		if sp == nil {
			sp = &span{first: sm.Start}
			m[k] = sp
			keys = append(keys, k)
		}
		sp.n++
		if sm.Start.Before(sp.first) {
			sp.first = sm.Start
		}
		if sm.Start.After(sp.last) {
			sp.last = sm.Start
		}
	}
	if len(keys) == 0 {
		return "none"
	}
	slices.SortFunc(keys, func(a, b key) int {
		if a.node != b.node {
			return a.node - b.node
		}
		return strings.Compare(a.code, b.code)
	})
	var parts []string
	for _, k := range keys {
		sp := m[k]
		parts = append(parts, fmt.Sprintf("%s %s %d (sent %s..%s)", composeServices[k.node], k.code, sp.n,
			sp.first.Format("15:04:05.0"), sp.last.Format("15:04:05.0")))
	}
	return strings.Join(parts, ", ")
}

func orNone(prefix, s string) string {
	if s == "" {
		return ""
	}
	return prefix + s
}

// printRows prints one row per scenario run.
func (x *composeChaos) printRows() {
	x.mu.Lock()
	defer x.mu.Unlock()
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\tacked writes\tverify lost/corrupt/stale\tverify errors\twrong reads in load\tlongest stall\tslowest request\tcontainers")
	for _, r := range x.rows {
		verify, verrs := "not run", "-"
		if r.verified {
			verify, verrs = fmt.Sprintf("%d/%d/%d", r.lost, r.corrupt, r.stale), fmt.Sprint(r.verifyErrors)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%d\t%.1fs\t%.1fs\t%s\n", r.name, r.acked, verify, verrs, r.wrongReads,
			r.stall.Seconds(), r.slowest.Seconds(), r.containers)
	}
	_ = tw.Flush()
	x.t.Logf("compose chaos (bounds: no lost/corrupt/stale read, no request over %s, no stall over %s, no crash):\n%s",
		chaosMaxRequest, chaosMaxStall, b.String())
}
