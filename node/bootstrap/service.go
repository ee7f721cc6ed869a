package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"go.uber.org/zap"

	"github.com/gridstore/gridstore/grid"
	"github.com/gridstore/gridstore/node/endpoint"
	"github.com/gridstore/gridstore/node/object/layout"
	"github.com/gridstore/gridstore/proto"
	"github.com/gridstore/gridstore/storage"
	"github.com/gridstore/gridstore/storage/local"
)

var (
	infoRPC = grid.NewSingleRPC(proto.HandlerBootstrapInfo,
		func() *infoReq { return &infoReq{} }, func() *infoResp { return &infoResp{} })
	formatRPC = grid.NewSingleRPC(proto.HandlerBootstrapFormat,
		func() *formatReq { return &formatReq{} }, func() *formatResp { return &formatResp{} })
)

// Service is one node's start-up: the Info and Format handlers it serves to
// the other nodes, and Run, which brings its drives up. The handlers keep
// serving after Run returns, for nodes that start later.
type Service struct {
	cfg       Config
	log       *zap.Logger
	topo      topology
	fp        string
	layout    *layout.Layout
	nodes     []endpoint.Node
	self      int
	selfName  string
	local     []endpoint.Endpoint // this node's drives
	endpoints []string            // every drive's URL, by global index
	wake      chan struct{}

	// mu serialises reading and formatting this node's drives, so that a
	// Format request and this node's own formatting of a wiped drive never
	// interleave, and an Info answer is a consistent snapshot.
	mu sync.Mutex

	warnMu sync.Mutex
	warned map[string]string // kind and peer -> key of the last warning
}

// New checks cfg, computes the layout and topology fingerprint, and
// registers the bootstrap handlers on cfg.Grid (call it before Grid.Start).
func New(cfg Config) (*Service, error) {
	t := cfg.Topology
	if len(t.Nodes) == 0 || len(t.Endpoints) == 0 {
		return nil, errors.New("bootstrap: empty topology")
	}
	self := slices.IndexFunc(t.Nodes, func(n endpoint.Node) bool { return n.IsLocal })
	if self < 0 {
		return nil, fmt.Errorf("bootstrap: %w: resolve the topology with this node's address first", endpoint.ErrSelfNotFound)
	}
	l, err := layout.New(t.DriveNodes(), cfg.Layout)
	if err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	if cfg.PollInterval <= 0 || cfg.CallTimeout <= 0 {
		return nil, errors.New("bootstrap: PollInterval and CallTimeout must be positive")
	}
	log := cfg.Logger
	if log == nil {
		log = zap.NewNop()
	}
	s := &Service{
		cfg: cfg, layout: l, nodes: t.Nodes, self: self, selfName: nodeName(t.Nodes[self]),
		wake: make(chan struct{}, 1), warned: map[string]string{},
	}
	s.log = log.With(zap.String("node", s.selfName))
	for _, e := range t.Endpoints {
		s.endpoints = append(s.endpoints, e.URL)
		if e.IsLocal {
			s.local = append(s.local, e)
		}
	}
	s.topo = topology{
		Endpoints: s.endpoints, SetSize: l.SetSize, Parity: l.Parity,
		GridVersion: grid.ProtocolVersion, BootstrapVersion: Version, AppVersion: cfg.AppVersion,
	}
	s.fp = s.topo.fingerprint()

	if len(t.Nodes) > 1 {
		if cfg.Grid == nil {
			return nil, errors.New("bootstrap: a topology of several nodes needs a grid Manager")
		}
		if cfg.Grid.Self() != t.Nodes[self].Host {
			return nil, fmt.Errorf("bootstrap: the grid's address %s is not this node's %s in the endpoints", cfg.Grid.Self(), t.Nodes[self].Host)
		}
		peers := cfg.Grid.Peers()
		for i, n := range t.Nodes {
			if _, found := slices.BinarySearch(peers, n.Host); i != self && !found {
				return nil, fmt.Errorf("bootstrap: node %s of the endpoints is not a peer of the grid", n.Host)
			}
		}
	}
	if cfg.Grid != nil {
		if err := infoRPC.Register(cfg.Grid, s.handleInfo); err != nil {
			return nil, fmt.Errorf("bootstrap: register Info: %w", err)
		}
		if err := formatRPC.Register(cfg.Grid, s.handleFormat); err != nil {
			return nil, fmt.Errorf("bootstrap: register Format: %w", err)
		}
		// A peer that connects may be the one we wait for: ask again at
		// once rather than at the next poll.
		cfg.Grid.Subscribe(func(_ string, st grid.State) {
			if st == grid.StateConnected {
				select {
				case s.wake <- struct{}{}:
				default:
				}
			}
		})
	}
	return s, nil
}

// Fingerprint returns the topology fingerprint: a hash of the endpoint list,
// set size, parity and protocol and build versions. Nodes bootstrap together
// only when theirs are equal.
func (s *Service) Fingerprint() string { return s.fp }

// Layout returns the erasure set layout the endpoints give.
func (s *Service) Layout() *layout.Layout { return s.layout }

func nodeName(n endpoint.Node) string {
	if n.Host == "" {
		return "local"
	}
	return n.Host
}

// probeLocal reads the format state of every local drive. Callers hold mu.
func (s *Service) probeLocal() []DriveInfo {
	out := make([]DriveInfo, len(s.local))
	for i, e := range s.local {
		out[i] = probeDrive(e.Index, e.Path)
	}
	return out
}

func (s *Service) handleInfo(ctx context.Context, req *infoReq) (*infoResp, error) {
	resp := &infoResp{Fingerprint: s.fp}
	if req.Fingerprint != s.fp {
		resp.Topology = s.topo.msg()
		s.warnOnce("info", grid.CallerFromContext(ctx), req.Fingerprint,
			"a node with another topology asked for our drives' state; it refuses to count us, and says what differs")
	}
	s.mu.Lock()
	drives := s.probeLocal()
	s.mu.Unlock()
	resp.Deployments, resp.Drives = drivesToWire(drives)
	return resp, nil
}

func (s *Service) handleFormat(ctx context.Context, req *formatReq) (*formatResp, error) {
	caller := grid.CallerFromContext(ctx)
	if req.Fingerprint != s.fp {
		return nil, fmt.Errorf("%w: format request from %s, whose topology fingerprint differs from ours", ErrTopologyMismatch, caller)
	}
	// Only the first node creates a deployment: a second source of format
	// requests is how two deployment IDs would be born.
	if first := s.nodes[0].Host; caller != first {
		return nil, fmt.Errorf("%w: format request from %s, the first node is %s", ErrNotFirstNode, caller, first)
	}
	dep := Deployment{ID: req.DeploymentID, Sets: cloneSets(req.Sets), BitrotKey: slices.Clone(req.BitrotKey)}
	formatted, err := s.formatDrives(dep)
	if len(formatted) > 0 {
		s.log.Info("bootstrap: formatted drives for a new deployment at the first node's request",
			zap.String("deployment", dep.ID), zap.Ints("drives", formatted), zap.String("from", caller))
	}
	if err != nil {
		return nil, fmt.Errorf("format request from %s for deployment %s: %w", caller, dep.ID, err)
	}
	return &formatResp{Formatted: formatted}, nil
}

// formatDrives formats this node's empty drives as drives of dep, each at
// its position. It is idempotent: a drive already formatted for dep at its
// position is fine. If any drive is formatted for something else, nothing
// is formatted. Drives that are not empty, damaged or offline are left
// alone (their node refuses to start or starts without them). It returns
// the drives it formatted.
func (s *Service) formatDrives(dep Deployment) ([]int, error) {
	if err := s.layout.CheckFormat(dep.Sets, nil); err != nil {
		return nil, fmt.Errorf("%w: deployment %s: %w", storage.ErrInvalidArgument, dep.ID, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var todo []endpoint.Endpoint
	var errs []error
	for _, e := range s.local {
		st := probeDrive(e.Index, e.Path)
		switch st.State {
		case DriveEmpty:
			todo = append(todo, e)
		case DriveFormatted:
			if err := s.checkFormatted(e, st.Format, dep); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	var done []int
	for _, e := range todo {
		set, pos, _ := s.layout.Position(e.Index)
		err := local.Format(e.Path, dep.spec(dep.Sets[set][pos]))
		if errors.Is(err, storage.ErrAlreadyFormatted) {
			// Formatted since we looked, by another process: fine only if it
			// is the same deployment at the same place.
			f, lerr := local.LoadFormat(e.Path)
			if lerr != nil {
				err = lerr
			} else {
				err = s.checkFormatted(e, f, dep)
			}
		} else if err == nil {
			done = append(done, e.Index)
		}
		if err != nil {
			errs = append(errs, &DriveError{Index: e.Index, Endpoint: e.URL, Err: err, Detail: "format failed"})
		}
	}
	return done, errors.Join(errs...)
}

// checkFormatted says why a drive formatted with f is not dep's drive at its
// position, or nil.
func (s *Service) checkFormatted(e endpoint.Endpoint, f local.FormatSpec, dep Deployment) error {
	set, pos, _ := s.layout.Position(e.Index)
	switch {
	case !deploymentOf(f).Equal(dep):
		return &DriveError{Index: e.Index, Endpoint: e.URL, Err: ErrForeignDrive,
			Detail: fmt.Sprintf("already formatted for deployment %s, not %s", f.DeploymentID, dep.ID)}
	case f.DriveID != dep.Sets[set][pos]:
		return &DriveError{Index: e.Index, Endpoint: e.URL, Err: ErrDrivePosition,
			Detail: fmt.Sprintf("holds drive %s, set %d position %d is drive %s", f.DriveID, set, pos, dep.Sets[set][pos])}
	}
	return nil
}

// warnOnce logs a warning of a kind about peer, unless the last one of
// that kind about it had the same key: once per change, not once per poll.
func (s *Service) warnOnce(kind, peer, key, msg string, fields ...zap.Field) {
	s.warnMu.Lock()
	seen := s.warned[kind+" "+peer] == key
	s.warned[kind+" "+peer] = key
	s.warnMu.Unlock()
	if !seen {
		s.log.Warn("bootstrap: "+msg, append(fields, zap.String("peer", peer))...)
	}
}

func cloneSets(sets [][]string) [][]string {
	out := make([][]string, len(sets))
	for i, s := range sets {
		out[i] = slices.Clone(s)
	}
	return out
}
