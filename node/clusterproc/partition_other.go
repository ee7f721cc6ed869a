//go:build !linux

package clusterproc

import "errors"

// partitions: see partition_linux.go.
type partitions struct{}

// Partition needs iptables' owner match (Linux).
func (c *Cluster) Partition(i int) error {
	return errors.New("partition: needs Linux (iptables)")
}

// Heal: nothing to undo.
func (c *Cluster) Heal() error { return nil }
