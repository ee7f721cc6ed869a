package clusterproc

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
)

// partitions is the state of the iptables rules of one cluster.
type partitions struct {
	mu    sync.Mutex
	chain string // "" until the first Partition
}

// Partition cuts node i off from the other nodes: neither its grid nor its
// gossip reaches them, nor theirs it, while clients still reach every node
// (a switch port that drops the node's peers, not its load balancer). It
// needs Options.OwnUsers (packets are told apart by the user of the process
// that sends them: iptables' owner match on loopback) and root with
// iptables; it returns an error, touching nothing, where they are missing.
// Heal undoes it; the rules go when the test ends.
func (c *Cluster) Partition(i int) error {
	if !c.opts.OwnUsers {
		return errors.New("partition: the cluster was not started with Options.OwnUsers")
	}
	c.part.mu.Lock()
	defer c.part.mu.Unlock()
	if c.part.chain == "" {
		if err := c.makeChain(); err != nil {
			return err
		}
	}
	var rules [][]string
	for j, p := range c.nodes {
		if j == i {
			continue
		}
		for _, proto := range []string{"tcp", "udp"} {
			for _, port := range []int{p.port, p.port + gossipOffset} {
				// Node i to node j, and node j to node i.
				rules = append(rules, dropRule(proto, OwnUserBase+i, port))
			}
			for _, port := range []int{c.nodes[i].port, c.nodes[i].port + gossipOffset} {
				rules = append(rules, dropRule(proto, OwnUserBase+j, port))
			}
		}
	}
	for _, r := range rules {
		if err := iptables(append([]string{"-A", c.part.chain}, r...)...); err != nil {
			_ = iptables("-F", c.part.chain)
			return fmt.Errorf("partition node %d: %w", i, err)
		}
	}
	return nil
}

func dropRule(proto string, uid, dport int) []string {
	return []string{"-p", proto, "-m", "owner", "--uid-owner", strconv.Itoa(uid), "--dport", strconv.Itoa(dport), "-j", "DROP"}
}

// Heal removes every partition.
func (c *Cluster) Heal() error {
	c.part.mu.Lock()
	defer c.part.mu.Unlock()
	if c.part.chain == "" {
		return nil
	}
	return iptables("-F", c.part.chain)
}

// makeChain creates the cluster's own chain, jumped to from OUTPUT on
// loopback, and registers its removal.
func (c *Cluster) makeChain() error {
	if os.Geteuid() != 0 {
		return errors.New("partition: needs root (iptables)")
	}
	if _, err := exec.LookPath("iptables"); err != nil {
		return fmt.Errorf("partition: %w", err)
	}
	chain := fmt.Sprintf("GRIDSTORE-%d", c.nodes[0].port)
	if err := iptables("-N", chain); err != nil {
		return fmt.Errorf("partition: %w", err)
	}
	if err := iptables("-I", "OUTPUT", "-o", "lo", "-j", chain); err != nil {
		_ = iptables("-X", chain)
		return fmt.Errorf("partition: %w", err)
	}
	c.part.chain = chain
	c.t.Cleanup(func() {
		_ = iptables("-D", "OUTPUT", "-o", "lo", "-j", chain)
		_ = iptables("-F", chain)
		_ = iptables("-X", chain)
	})
	return nil
}

func iptables(args ...string) error {
	out, err := exec.Command("iptables", append([]string{"-w", "5"}, args...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("iptables %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
