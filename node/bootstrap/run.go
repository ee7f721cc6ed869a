package bootstrap

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/gridstore/gridstore/erasure"
	"github.com/gridstore/gridstore/grid"
	"github.com/gridstore/gridstore/node/object/layout"
	"github.com/gridstore/gridstore/storage"
	"github.com/gridstore/gridstore/storage/local"
)

// Result is what a node knows once it has started: the deployment's
// identity, the same on every node, and its own drives, open.
type Result struct {
	// DeploymentID is the deployment's UUID as format records store it.
	DeploymentID string
	// ID is DeploymentID parsed: the key of object placement.
	ID layout.DeploymentID
	// Layout is the erasure set layout the endpoints give; the format
	// records agree with it.
	Layout *layout.Layout
	// Sets are the drive IDs of every set in position order.
	Sets [][]string
	// BitrotKey is the HighwayHash key of the deployment's shard files.
	BitrotKey [erasure.BitrotKeySize]byte
	// LocalDrives are this node's drives that are up, by global drive index.
	LocalDrives map[int]*local.Drive
	// Healing lists the local drives marked healing, to be filled from
	// their sets: those that were empty (new or wiped) and were just
	// formatted into the existing deployment, and those still marked from
	// an earlier start.
	Healing []int
	// Offline lists the local drives that could not be reached; the node
	// starts without them.
	Offline []int
}

// Close closes the local drives.
func (r *Result) Close() error {
	var errs []error
	for _, d := range r.LocalDrives {
		errs = append(errs, d.Close())
	}
	return errors.Join(errs...)
}

// Run brings this node's drives up: it waits for a quorum of nodes, agrees
// with them on the deployment (creating it on the first node of a new
// cluster), formats this node's empty drives, checks the others' positions
// and opens them. It returns when the node may start, with an error wrapping
// one of the package's sentinels when it must not, or with ctx's error
// (wrapped with what it was waiting for) when ctx ends first. Run once per
// Service: the drives it opens stay locked until Result.Close.
func (s *Service) Run(ctx context.Context) (*Result, error) {
	var generated *Deployment
	var lastReason string
	timer := time.NewTimer(s.cfg.PollInterval)
	defer timer.Stop()
	for {
		if err := ctx.Err(); err != nil {
			return nil, s.gaveUp(err, lastReason)
		}
		v := s.collect(ctx)
		v.Generated = generated
		d := Decide(v)
		switch d.Action {
		case Refuse:
			s.log.Error("bootstrap: refusing to start", zap.Error(d.Err))
			return nil, fmt.Errorf("bootstrap: node %s refuses to start: %w", s.selfName, d.Err)
		case Adopt:
			return s.adopt(d)
		case Generate:
			dep, err := s.generate()
			if err != nil {
				return nil, err
			}
			generated = &dep
			s.log.Info("bootstrap: creating a new deployment", zap.String("deployment", dep.ID),
				zap.Stringer("layout", s.layout), zap.String("why", d.Reason))
			s.formatCluster(ctx, dep)
			continue // see at once whether it holds
		case FormatPeers:
			s.formatCluster(ctx, *d.Deployment)
		}
		if d.Reason != lastReason {
			s.log.Info("bootstrap: waiting", zap.String("for", d.Reason))
			lastReason = d.Reason
		}
		timer.Reset(s.cfg.PollInterval)
		select {
		case <-ctx.Done():
			return nil, s.gaveUp(ctx.Err(), lastReason)
		case <-timer.C:
		case <-s.wake:
		}
	}
}

func (s *Service) gaveUp(err error, waiting string) error {
	if waiting == "" {
		return fmt.Errorf("bootstrap: node %s: %w", s.selfName, err)
	}
	return fmt.Errorf("bootstrap: node %s stopped waiting: %w; last state: %s", s.selfName, err, waiting)
}

// collect asks every node, this one included, for its drives' state.
func (s *Service) collect(ctx context.Context) View {
	v := View{Layout: s.layout, Endpoints: s.endpoints, Self: s.self, Nodes: make([]NodeView, len(s.nodes))}
	for i, n := range s.nodes {
		v.Nodes[i] = NodeView{Addr: nodeName(n), DriveIndexes: n.Drives}
	}
	s.mu.Lock()
	v.Nodes[s.self].Status, v.Nodes[s.self].Drives = NodeReachable, s.probeLocal()
	s.mu.Unlock()

	var wg sync.WaitGroup
	for i := range s.nodes {
		if i == s.self {
			continue
		}
		wg.Add(1)
		go func(nv *NodeView) {
			defer wg.Done()
			s.askInfo(ctx, nv)
		}(&v.Nodes[i])
	}
	wg.Wait()
	return v
}

// askInfo fills in one node's view from its Info answer.
func (s *Service) askInfo(ctx context.Context, nv *NodeView) {
	cctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
	defer cancel()
	resp, err := infoRPC.Call(cctx, s.cfg.Grid.Connection(nv.Addr), &infoReq{Fingerprint: s.fp})
	switch {
	case err != nil:
		nv.Status, nv.Detail = NodeUnreachable, err.Error()
		if !errors.Is(err, grid.ErrDisconnected) {
			// Not connected is the normal state of a node that is not up
			// yet; anything else is worth a line.
			s.log.Debug("bootstrap: node did not answer", zap.String("peer", nv.Addr), zap.Error(err))
		}
	case resp.Fingerprint != s.fp:
		nv.Status, nv.Detail = NodeMismatch, "a different topology fingerprint"
		if resp.Topology != nil {
			nv.Detail = s.topo.diff(topologyFromMsg(resp.Topology))
		}
		s.warnOnce("topology", nv.Addr, nv.Detail, "a node runs with another topology; it is not counted", zap.String("differs", nv.Detail))
	default:
		nv.Status, nv.Drives = NodeReachable, drivesFromWire(resp.Deployments, resp.Drives)
	}
}

// generate creates a new deployment's identity: a UUID for it and for each
// drive, and a bitrot key, all from crypto/rand.
func (s *Service) generate() (Deployment, error) {
	id, err := uuid.NewRandom()
	if err != nil {
		return Deployment{}, fmt.Errorf("bootstrap: deployment ID: %w", err)
	}
	ids := make([]string, s.layout.DriveCount())
	for i := range ids {
		did, err := uuid.NewRandom()
		if err != nil {
			return Deployment{}, fmt.Errorf("bootstrap: drive ID: %w", err)
		}
		ids[i] = did.String()
	}
	sets, err := s.layout.FormatSets(ids)
	if err != nil {
		return Deployment{}, fmt.Errorf("bootstrap: %w", err)
	}
	key := make([]byte, erasure.BitrotKeySize)
	if _, err := rand.Read(key); err != nil {
		return Deployment{}, fmt.Errorf("bootstrap: bitrot key: %w", err)
	}
	return Deployment{ID: id.String(), Sets: sets, BitrotKey: key}, nil
}

// formatCluster formats this node's empty drives with dep and asks every
// other node to format theirs. Failures are logged, not returned: the next
// round of collecting shows where the deployment stands.
func (s *Service) formatCluster(ctx context.Context, dep Deployment) {
	if done, err := s.formatDrives(dep); err != nil {
		s.log.Warn("bootstrap: formatting local drives", zap.String("deployment", dep.ID), zap.Ints("formatted", done), zap.Error(err))
	} else if len(done) > 0 {
		s.log.Info("bootstrap: formatted local drives", zap.String("deployment", dep.ID), zap.Ints("drives", done))
	}
	var wg sync.WaitGroup
	for i, n := range s.nodes {
		if i == s.self {
			continue
		}
		wg.Add(1)
		go func(addr string) {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
			defer cancel()
			req := &formatReq{Fingerprint: s.fp, DeploymentID: dep.ID, Sets: dep.Sets, BitrotKey: dep.BitrotKey}
			_, err := formatRPC.Call(cctx, s.cfg.Grid.Connection(addr), req)
			var re *grid.RemoteErr
			switch {
			case errors.As(err, &re):
				s.log.Warn("bootstrap: a node refused to format its drives", zap.String("peer", addr), zap.Error(err))
			case err != nil:
				s.log.Debug("bootstrap: format request failed", zap.String("peer", addr), zap.Error(err))
			}
		}(n.Host)
	}
	wg.Wait()
}

// adopt carries out an Adopt decision: format this node's empty drives at
// their positions (marked healing), open all, and describe the deployment.
func (s *Service) adopt(d Decision) (*Result, error) {
	dep := *d.Deployment
	res := &Result{DeploymentID: dep.ID, Layout: s.layout, Sets: dep.Sets, LocalDrives: map[int]*local.Drive{}}
	id, err := layout.ParseDeploymentID(dep.ID)
	if err != nil {
		return nil, fmt.Errorf("bootstrap: deployment %s: %w", dep.ID, err)
	}
	res.ID = id
	if len(dep.BitrotKey) != len(res.BitrotKey) {
		return nil, fmt.Errorf("bootstrap: deployment %s has a bitrot key of %d bytes", dep.ID, len(dep.BitrotKey))
	}
	copy(res.BitrotKey[:], dep.BitrotKey)

	s.mu.Lock()
	defer s.mu.Unlock()
	fail := func(err error) (*Result, error) {
		_ = res.Close()
		s.log.Error("bootstrap: refusing to start", zap.Error(err))
		return nil, fmt.Errorf("bootstrap: node %s refuses to start: %w", s.selfName, err)
	}
	for _, st := range d.Local {
		e := s.cfg.Topology.Endpoints[st.Index]
		skip := func(why string) {
			res.Offline = append(res.Offline, st.Index)
			s.log.Warn("bootstrap: starting without a drive", zap.Int("drive", st.Index), zap.String("endpoint", e.URL), zap.String("why", why))
		}
		if st.Op == OpSkip {
			skip(st.Reason)
			continue
		}
		heal := false
		if st.Op == OpFormat {
			err := local.Format(e.Path, dep.spec(st.DriveID))
			switch {
			case err == nil:
				heal = true
			case errors.Is(err, storage.ErrAlreadyFormatted):
				// Formatted since we looked (a Format request of the first
				// node raced with us): Open checks it is the right drive.
			case errors.Is(err, storage.ErrDriveOffline):
				skip(err.Error())
				continue
			default:
				return fail(&DriveError{Index: st.Index, Endpoint: e.URL, Err: err, Detail: "formatting the empty drive failed"})
			}
		}
		opts := s.cfg.DriveOptions
		if !s.cfg.Topology.IsLocalForm() {
			opts.Endpoint = e.URL
		}
		drv, err := local.Open(e.Path, local.ExpectedFor(dep.spec(""), st.Set, st.Pos), opts)
		if errors.Is(err, storage.ErrDriveOffline) {
			skip(err.Error())
			continue
		}
		if err != nil {
			return fail(&DriveError{Index: st.Index, Endpoint: e.URL, Err: err, Detail: "open failed"})
		}
		res.LocalDrives[st.Index] = drv
		if heal {
			if err := drv.SetHealing(true); err != nil {
				return fail(&DriveError{Index: st.Index, Endpoint: e.URL, Err: err, Detail: "marking the new drive healing failed"})
			}
		}
		if info, err := drv.DiskInfo(context.Background()); heal || (err == nil && info.Healing) {
			res.Healing = append(res.Healing, st.Index)
		}
	}
	s.log.Info("bootstrap: started", zap.String("deployment", dep.ID), zap.Stringer("layout", s.layout),
		zap.Int("local drives", len(res.LocalDrives)), zap.Ints("healing", res.Healing), zap.Ints("offline", res.Offline),
		zap.String("why", d.Reason))
	return res, nil
}
