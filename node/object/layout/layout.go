package layout

import (
	"fmt"
	"strings"
)

// Config is what a deployment may choose about its layout. The zero value
// chooses everything.
type Config struct {
	// SetSize forces the erasure set size (it must divide the number of
	// drives); 0 chooses it (see ChooseSetSize).
	SetSize int
	// Parity is the deployment's (STANDARD) parity; 0 means DefaultParity
	// of the chosen set size. When set, it also steers the choice of the set
	// size towards sizes where it makes the layout node-fault tolerant.
	Parity int
}

// Set is one erasure set.
type Set struct {
	// Drives holds the drive indexes (positions in the endpoint list) of
	// the set's drives, in set position order: Drives[p] is position p, the
	// drive that holds shard Distribution[p] of an object.
	Drives []int
	// Nodes is the number of distinct nodes the set's drives are on.
	Nodes int
	// MaxDrivesPerNode is the most drives of the set on any one node: the
	// number of shards a single node failure costs the set.
	MaxDrivesPerNode int
	// even: every node that holds drives of the set holds as many as the
	// others, so no node failure costs more than another.
	even bool
}

// Tolerates reports whether the set survives the loss of any one node when
// objects carry the given parity: no node holds more of its drives than
// parity. A set on one node never does.
func (s Set) Tolerates(parity int) bool { return s.MaxDrivesPerNode <= parity }

// Layout is the erasure set layout of a deployment: which drives form which
// set, in which order. Build it with New; treat it as read-only.
type Layout struct {
	// SetSize is the number of drives of every set.
	SetSize int
	// Parity is the deployment's (STANDARD) parity.
	Parity int
	// Nodes lists the distinct nodes in order of first appearance in the
	// drive list.
	Nodes []string
	// Sets lists the sets; an object's set index (ObjectSet) indexes it.
	Sets []Set

	drives   int
	position []setPos // per drive index
}

type setPos struct{ set, pos int }

// New builds the layout of the drives whose nodes driveNodes lists, one entry
// per drive in endpoint order (a node is any string naming it, typically
// its "host:port"; one value for every drive of a single-node deployment).
//
// The set size is cfg.SetSize or, when 0, ChooseSetSize's; the parity is
// cfg.Parity or DefaultParity of the set size. The drives are dealt to the
// sets round-robin across nodes (see the package documentation), so each set
// takes as few drives from each node as the layout allows. The result depends
// only on the arguments: every node computes the same layout.
func New(driveNodes []string, cfg Config) (*Layout, error) {
	n := len(driveNodes)
	if n == 0 {
		return nil, fmt.Errorf("%w: no drives", ErrBadArgument)
	}
	if cfg.SetSize < 0 || cfg.Parity < 0 {
		return nil, fmt.Errorf("%w: negative set size %d or parity %d", ErrBadArgument, cfg.SetSize, cfg.Parity)
	}
	nodes, order := roundRobin(driveNodes)
	size := cfg.SetSize
	if size == 0 {
		var err error
		if size, err = chooseSetSize(driveNodes, nodes, order, cfg.Parity); err != nil {
			return nil, err
		}
	} else if size < MinSetSize || size > MaxSetSize || n%size != 0 {
		return nil, fmt.Errorf("%w: sets of %d drives for %d drives, want a divisor of %d from %d to %d", ErrBadSetSize, size, n, n, MinSetSize, MaxSetSize)
	}
	parity := cfg.Parity
	if parity == 0 {
		parity = DefaultParity(size)
	}
	if err := ValidateParity(size, parity); err != nil {
		return nil, err
	}
	l := &Layout{SetSize: size, Parity: parity, Nodes: nodes, Sets: deal(driveNodes, order, size), drives: n}
	l.position = make([]setPos, n)
	for s, set := range l.Sets {
		for p, d := range set.Drives {
			l.position[d] = setPos{s, p}
		}
	}
	return l, nil
}

// CandidateSetSizes returns the set sizes a deployment of drives drives can
// use, ascending: the divisors of drives in [MinSetSize, MaxSetSize]. Every
// set has the same size, so a size must divide the drive count. None means
// the drive count cannot be deployed.
func CandidateSetSizes(drives int) []int {
	var sizes []int
	for s := MinSetSize; s <= MaxSetSize && s <= drives; s++ {
		if drives%s == 0 {
			sizes = append(sizes, s)
		}
	}
	return sizes
}

// ChooseSetSize returns the set size New picks for the drives driveNodes
// describes with the given deployment parity (0: each size's default).
// Among the candidate sizes (CandidateSetSizes) that accept the parity it
// prefers, in this order:
//
//  1. node-fault tolerant: in every set no node holds more drives than the
//     parity, so a node failure costs at most parity shards;
//  2. even: in every set each node present holds the same number of drives
//     (true when the size is at most the node count, or a multiple of it);
//  3. the largest: fewer, wider sets spend a smaller share of the drives on
//     parity (4 of 16 against 2 of 4).
//
// The criteria are measured on the actual round-robin assignment, so
// unequal drive counts per node are judged correctly too.
func ChooseSetSize(driveNodes []string, parity int) (int, error) {
	if len(driveNodes) == 0 {
		return 0, fmt.Errorf("%w: no drives", ErrBadArgument)
	}
	if parity < 0 {
		return 0, fmt.Errorf("%w: negative parity %d", ErrBadArgument, parity)
	}
	nodes, order := roundRobin(driveNodes)
	return chooseSetSize(driveNodes, nodes, order, parity)
}

func chooseSetSize(driveNodes, nodes []string, order []int, parity int) (int, error) {
	n := len(driveNodes)
	sizes := CandidateSetSizes(n)
	if len(sizes) == 0 {
		return 0, fmt.Errorf("%w: %d drives on %d nodes: no set size from %d to %d divides %d", ErrNoSetSize, n, len(nodes), MinSetSize, MaxSetSize, n)
	}
	best, bestScore := 0, -1
	for _, s := range sizes {
		p := parity
		if p == 0 {
			p = DefaultParity(s)
		}
		if ValidateParity(s, p) != nil {
			continue
		}
		tolerant, even := true, true
		for _, set := range deal(driveNodes, order, s) {
			tolerant = tolerant && set.Tolerates(p)
			even = even && set.even
		}
		// Sizes ascend, so on a tie the later (larger) size wins.
		score := 2*b2i(tolerant) + b2i(even)
		if score >= bestScore {
			best, bestScore = s, score
		}
	}
	if best == 0 {
		return 0, fmt.Errorf("%w: parity %d fits none of the set sizes %v possible for %d drives (parity is at most half a set)", ErrBadParity, parity, sizes, n)
	}
	return best, nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// roundRobin returns the distinct nodes in order of first appearance and the
// drive indexes in round-robin order: the first drive of every node (in node
// order), then the second of every node, and so on; a node that has run out
// of drives is skipped. Any window of k consecutive drives of this order
// holds ceil(k/nodes) or fewer drives of each node, which is what makes
// consecutive slices good sets.
func roundRobin(driveNodes []string) (nodes []string, order []int) {
	index := map[string]int{}
	var perNode [][]int
	for d, node := range driveNodes {
		i, ok := index[node]
		if !ok {
			i = len(nodes)
			index[node] = i
			nodes = append(nodes, node)
			perNode = append(perNode, nil)
		}
		perNode[i] = append(perNode[i], d)
	}
	order = make([]int, 0, len(driveNodes))
	for round := 0; len(order) < len(driveNodes); round++ {
		for _, drives := range perNode {
			if round < len(drives) {
				order = append(order, drives[round])
			}
		}
	}
	return nodes, order
}

// deal cuts the round-robin order into consecutive sets of size drives.
func deal(driveNodes []string, order []int, size int) []Set {
	sets := make([]Set, 0, len(order)/size)
	for start := 0; start+size <= len(order); start += size {
		drives := append([]int(nil), order[start:start+size]...)
		count := map[string]int{}
		for _, d := range drives {
			count[driveNodes[d]]++
		}
		set := Set{Drives: drives, Nodes: len(count), even: true}
		minimum := size
		for _, c := range count {
			set.MaxDrivesPerNode = max(set.MaxDrivesPerNode, c)
			minimum = min(minimum, c)
		}
		set.even = minimum == set.MaxDrivesPerNode
		sets = append(sets, set)
	}
	return sets
}

// DriveCount is the number of drives of the deployment.
func (l *Layout) DriveCount() int { return l.drives }

// Position returns the set of drive index d and its position in the set; ok
// is false for an index outside the drive list.
func (l *Layout) Position(d int) (set, pos int, ok bool) {
	if d < 0 || d >= len(l.position) {
		return 0, 0, false
	}
	p := l.position[d]
	return p.set, p.pos, true
}

// NodeFaultTolerant reports whether every set survives the loss of any one
// node at the deployment parity (Set.Tolerates): reads stay possible with a
// node down. Writes additionally need WriteQuorum drives, which a set whose
// data == parity does not keep when a node holding parity of its drives is down.
func (l *Layout) NodeFaultTolerant() bool {
	for _, s := range l.Sets {
		if !s.Tolerates(l.Parity) {
			return false
		}
	}
	return true
}

// NodeFaultTolerantWrites reports whether every set still accepts writes
// with any one node down: the drives left make a write quorum at the parity
// AdjustParity raises the write to. Stricter than NodeFaultTolerant: a set
// of 4 on 2 nodes keeps serving reads with a node down but not writes.
func (l *Layout) NodeFaultTolerantWrites() bool {
	for _, s := range l.Sets {
		if _, ok := AdjustParity(l.SetSize, l.Parity, s.MaxDrivesPerNode); !ok {
			return false
		}
	}
	return true
}

// ReadQuorum is ReadQuorum(l.SetSize, l.Parity).
func (l *Layout) ReadQuorum() int { return ReadQuorum(l.SetSize, l.Parity) }

// WriteQuorum is WriteQuorum(l.SetSize, l.Parity).
func (l *Layout) WriteQuorum() int { return WriteQuorum(l.SetSize, l.Parity) }

// String summarises the layout for logs, e.g.
// "2 sets of 8 drives on 4 nodes, EC 4+4, quorum read 4 write 5, node-fault tolerant".
func (l *Layout) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s of %d drives on %s, EC %d+%d, quorum read %d write %d, ",
		plural(len(l.Sets), "set"), l.SetSize, plural(len(l.Nodes), "node"), l.SetSize-l.Parity, l.Parity, l.ReadQuorum(), l.WriteQuorum())
	switch {
	case l.NodeFaultTolerantWrites():
		b.WriteString("node-fault tolerant")
	case l.NodeFaultTolerant():
		b.WriteString("node-fault tolerant for reads only")
	default:
		b.WriteString("NOT node-fault tolerant")
	}
	return b.String()
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
