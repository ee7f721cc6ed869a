package cluster

import (
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
)

// fakeNet sits between the test nodes' real UDP/TCP transports and can cut
// a node off (a SIGSTOPped process or a partition: nothing in, nothing out)
// or hold its traffic up (a busy node). Every rule is applied by the
// sending side, which knows both ends; all nodes of a test share one
// fakeNet.
type fakeNet struct {
	mu    sync.Mutex
	cut   map[string]bool                          // gossip addr -> no traffic to or from it
	delay map[string]func(time.Time) time.Duration // gossip addr -> hold-up of its traffic, either way
}

func newFakeNet() *fakeNet {
	return &fakeNet{cut: map[string]bool{}, delay: map[string]func(time.Time) time.Duration{}}
}

func (n *fakeNet) setCut(addr string, on bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.cut[addr] = on
}

func (n *fakeNet) setDelay(addr string, f func(time.Time) time.Duration) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if f == nil {
		delete(n.delay, addr)
		return
	}
	n.delay[addr] = f
}

// rule says whether traffic from -> to is lost, and how long it is held.
func (n *fakeNet) rule(from, to string) (lost bool, hold time.Duration) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cut[from] || n.cut[to] {
		return true, 0
	}
	now := time.Now()
	for _, addr := range []string{from, to} {
		if f := n.delay[addr]; f != nil {
			hold += f(now)
		}
	}
	return false, hold
}

// wrap is a Config.wrapTransport for a node on this network.
func (n *fakeNet) wrap(self string, t memberlist.NodeAwareTransport) memberlist.NodeAwareTransport {
	return &fakeTransport{NodeAwareTransport: t, self: self, net: n, done: make(chan struct{})}
}

type fakeTransport struct {
	memberlist.NodeAwareTransport
	self string
	net  *fakeNet
	done chan struct{}
	once sync.Once
	wg   sync.WaitGroup // packets held up, so Shutdown leaves no goroutine behind
}

func (t *fakeTransport) WriteTo(b []byte, addr string) (time.Time, error) {
	return t.WriteToAddress(b, memberlist.Address{Addr: addr})
}

func (t *fakeTransport) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	lost, hold := t.net.rule(t.self, a.Addr)
	if lost {
		return time.Now(), nil // UDP: the sender never knows
	}
	if hold <= 0 {
		return t.NodeAwareTransport.WriteToAddress(b, a)
	}
	b = append([]byte(nil), b...)
	t.wg.Go(func() {
		select {
		case <-time.After(hold):
			_, _ = t.NodeAwareTransport.WriteToAddress(b, a)
		case <-t.done:
		}
	})
	return time.Now(), nil
}

func (t *fakeTransport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	return t.DialAddressTimeout(memberlist.Address{Addr: addr}, timeout)
}

// DialAddressTimeout to or from a cut node hangs until the timeout, as a
// connection to a stopped process does; a held-up node connects late.
func (t *fakeTransport) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	lost, hold := t.net.rule(t.self, a.Addr)
	if lost {
		hold = timeout
	}
	if hold > 0 {
		select {
		case <-time.After(min(hold, timeout)):
		case <-t.done:
			return nil, fmt.Errorf("dial %s: transport shut down", a.Addr)
		}
	}
	if lost || hold >= timeout {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: os.ErrDeadlineExceeded}
	}
	return t.NodeAwareTransport.DialAddressTimeout(a, timeout-hold)
}

func (t *fakeTransport) Shutdown() error {
	t.once.Do(func() { close(t.done) })
	err := t.NodeAwareTransport.Shutdown()
	t.wg.Wait()
	return err
}
