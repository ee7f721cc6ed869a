package grid

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gridstore/gridstore/proto"
)

// Point 1: exactly one TCP connection per pair, usable both ways.
func TestOneConnectionPerPair(t *testing.T) {
	nodes := newTestCluster(t, 4, clusterOpts{register: registerEcho})
	for _, a := range nodes {
		for _, b := range nodes {
			if a == b {
				continue
			}
			msg := []byte(a.addr + "->" + b.addr)
			if got := mustRequest(t, a.conn(b), hEcho, msg); !bytes.Equal(got, msg) {
				t.Fatalf("echo %s: got %q", msg, got)
			}
		}
	}
	var accepted int64
	for _, n := range nodes {
		accepted += n.ln.accepted.Load()
		for _, ps := range n.m.Stats() {
			if ps.Connects != 1 {
				t.Errorf("%s -> %s: %d connections established, want 1", n.addr, ps.Addr, ps.Connects)
			}
		}
	}
	if accepted != 6 {
		t.Fatalf("4 nodes accepted %d TCP connections in all, want 6 (one per pair)", accepted)
	}
	// Dialing is split between the two sides of pairs, not all on one node.
	for _, n := range nodes {
		for _, p := range n.m.peers {
			other := p.addr
			if (dialerOf(n.addr, other) == n.addr) != p.dials {
				t.Fatalf("dial decision disagrees for %s/%s", n.addr, other)
			}
		}
	}
}

func TestRequestSizes(t *testing.T) {
	nodes := newTestCluster(t, 2, clusterOpts{register: registerEcho})
	c := nodes[0].conn(nodes[1])
	for _, n := range []int{0, 1, 100, 32<<10 - 1, 32 << 10, 32<<10 + 1, 100 << 10, 1 << 20, 5<<20 + 3} {
		req := make([]byte, n)
		for i := range req {
			req[i] = byte(i*7 + n)
		}
		got := mustRequest(t, c, hEcho, req)
		if !bytes.Equal(got, req) {
			t.Fatalf("echo of %d bytes came back as %d bytes, different", n, len(got))
		}
	}
	big := make([]byte, nodes[0].cfg.MaxMessageSize+1)
	if _, err := c.Request(context.Background(), hEcho, big); !errors.Is(err, ErrMessageTooLarge) {
		t.Fatalf("oversized request: %v, want ErrMessageTooLarge", err)
	}
}

// Point 2: the caller's deadline reaches the handler; none means the default.
func TestRequestDeadlineTravels(t *testing.T) {
	nodes := newTestCluster(t, 2, clusterOpts{register: func(_ int, m *Manager) {
		_ = m.RegisterSingle(hTest, func(ctx context.Context, _ []byte) ([]byte, error) {
			d, ok := ctx.Deadline()
			if !ok {
				return []byte("none"), nil
			}
			return []byte(time.Until(d).Round(time.Second).String()), nil
		})
	}})
	c := nodes[0].conn(nodes[1])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := c.Request(ctx, hTest, nil)
	if err != nil || string(resp) != "30s" {
		t.Fatalf("handler saw deadline %q (%v), want 30s", resp, err)
	}
	resp, err = c.Request(context.Background(), hTest, nil)
	if err != nil || string(resp) != nodes[0].cfg.RequestTimeout.String() {
		t.Fatalf("handler saw deadline %q (%v), want the default %v", resp, err, nodes[0].cfg.RequestTimeout)
	}
}

// Point 2: cancelling returns at once and cancels the remote handler.
func TestRequestCancelPropagates(t *testing.T) {
	started := make(chan struct{})
	handlerErr := make(chan error, 1)
	nodes := newTestCluster(t, 2, clusterOpts{register: func(_ int, m *Manager) {
		registerEcho(0, m)
		_ = m.RegisterSingle(hTest, func(ctx context.Context, _ []byte) ([]byte, error) {
			close(started)
			<-ctx.Done()
			handlerErr <- ctx.Err()
			return nil, ctx.Err()
		})
	}})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := nodes[0].conn(nodes[1]).Request(ctx, hTest, []byte("block"))
		errc <- err
	}()
	recvWithin(t, started, 10*time.Second, "started")
	cancel()
	if err := recvWithin(t, errc, 10*time.Second, "errc"); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled request returned %v", err)
	}
	if err := recvWithin(t, handlerErr, 10*time.Second, "handlerErr"); !errors.Is(err, context.Canceled) {
		t.Fatalf("remote handler context ended with %v, want Canceled", err)
	}
	// The connection is still fine.
	_ = mustRequest(t, nodes[0].conn(nodes[1]), hEcho, nil)
}

func TestRequestDefaultTimeout(t *testing.T) {
	handlerDone := make(chan error, 1)
	nodes := newTestCluster(t, 2, clusterOpts{
		tweak: func(_ int, c *Config) { c.RequestTimeout = 50 * time.Millisecond },
		register: func(_ int, m *Manager) {
			_ = m.RegisterSingle(hTest, func(ctx context.Context, _ []byte) ([]byte, error) {
				<-ctx.Done()
				handlerDone <- ctx.Err()
				return nil, ctx.Err()
			})
		}})
	_, err := nodes[0].conn(nodes[1]).Request(context.Background(), hTest, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("request without deadline: %v, want DeadlineExceeded after RequestTimeout", err)
	}
	if err := recvWithin(t, handlerDone, 10*time.Second, "the handler's context to end"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("handler context ended with %v after the caller timed out, want DeadlineExceeded", err)
	}
}

var errTestNotFound = errors.New("test: thing not found")

func init() { RegisterError("test.NotFound", errTestNotFound) }

// Point 2 and the lessons: remote errors are *RemoteErr and keep their sentinel.
func TestRemoteErrors(t *testing.T) {
	nodes := newTestCluster(t, 2, clusterOpts{register: func(_ int, m *Manager) {
		_ = m.RegisterSingle(hTest, func(ctx context.Context, p []byte) ([]byte, error) {
			switch string(p) {
			case "sentinel":
				return nil, fmt.Errorf("open /x/y: %w", errTestNotFound)
			case "plain":
				return nil, errors.New("plain failure")
			case "panic":
				panic("handler exploded")
			case "index":
				var list []int
				_ = list[len(p)] // a runtime panic, not a panic() call
			}
			return []byte("ok"), nil
		})
	}})
	c := nodes[0].conn(nodes[1])
	ctx := context.Background()

	_, err := c.Request(ctx, hTest, []byte("sentinel"))
	var re *RemoteErr
	if !errors.As(err, &re) || !errors.Is(err, errTestNotFound) || !strings.Contains(err.Error(), "open /x/y") {
		t.Fatalf("sentinel error came back as %#v", err)
	}
	_, err = c.Request(ctx, hTest, []byte("plain"))
	if !errors.As(err, &re) || re.Msg != "plain failure" || errors.Is(err, errTestNotFound) {
		t.Fatalf("plain error came back as %#v", err)
	}
	for _, p := range []string{"panic", "index"} {
		_, err = c.Request(ctx, hTest, []byte(p))
		if !errors.As(err, &re) || !errors.Is(err, ErrHandlerPanic) {
			t.Fatalf("%s: got %v, want a RemoteErr matching ErrHandlerPanic", p, err)
		}
	}
	// The node survived and the connection still works.
	if got := mustRequest(t, c, hTest, nil); string(got) != "ok" {
		t.Fatalf("after panics: %q", got)
	}
	_, err = c.Request(ctx, hTestStream, nil)
	if !errors.Is(err, ErrUnknownHandler) {
		t.Fatalf("unregistered handler: %v", err)
	}
}

func TestSubroutes(t *testing.T) {
	nodes := newTestCluster(t, 2, clusterOpts{register: func(_ int, m *Manager) {
		for _, sub := range []string{"", "drive1", "drive2"} {
			sub := sub
			subs := []string{}
			if sub != "" {
				subs = append(subs, sub)
			}
			if err := m.RegisterSingle(hTest, func(ctx context.Context, p []byte) ([]byte, error) {
				return []byte(sub + ":" + SubrouteFromContext(ctx) + ":" + string(p)), nil
			}, subs...); err != nil {
				panic(err)
			}
		}
	}})
	c := nodes[0].conn(nodes[1])
	for _, sub := range []string{"", "drive1", "drive2"} {
		cc := c
		if sub != "" {
			cc = c.Subroute(sub)
		}
		got := string(mustRequest(t, cc, hTest, []byte("x")))
		if want := sub + ":" + sub + ":x"; got != want {
			t.Fatalf("subroute %q: got %q want %q", sub, got, want)
		}
	}
	if _, err := c.Subroute("drive3").Request(context.Background(), hTest, nil); !errors.Is(err, ErrUnknownHandler) {
		t.Fatalf("unknown subroute: %v", err)
	}
	if err := nodes[0].m.RegisterSingle(hTest, echo, "drive1"); err == nil {
		t.Fatal("registering a subroute twice succeeded")
	}
}

func TestCallerFromContext(t *testing.T) {
	nodes := newTestCluster(t, 2, clusterOpts{register: func(_ int, m *Manager) {
		_ = m.RegisterSingle(hTest, func(ctx context.Context, _ []byte) ([]byte, error) {
			return []byte(CallerFromContext(ctx)), nil
		})
	}})
	if got := string(mustRequest(t, nodes[0].conn(nodes[1]), hTest, nil)); got != nodes[0].addr {
		t.Fatalf("caller %q, want %q", got, nodes[0].addr)
	}
}

// 1,000 concurrent requests on one connection, both directions, mixed sizes.
func TestConcurrentRequests(t *testing.T) {
	nodes := newTestCluster(t, 2, clusterOpts{register: registerEcho})
	var wg sync.WaitGroup
	errs := make(chan error, 1000)
	for i := range 1000 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			from, to := nodes[i%2], nodes[1-i%2]
			n := rand.IntN(4096)
			if i%100 == 0 {
				n = 200 << 10 // a few fragmented ones among them
			}
			req := bytes.Repeat([]byte{byte(i)}, n)
			resp, err := from.conn(to).Request(context.Background(), hEcho, req)
			if err == nil && !bytes.Equal(resp, req) {
				err = fmt.Errorf("request %d: wrong echo", i)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// Typed single requests over msgp types.
func TestTypedSingle(t *testing.T) {
	rpc := NewSingleRPC(hTest, func() *proto.EchoMsg { return &proto.EchoMsg{} }, func() *proto.EchoMsg { return &proto.EchoMsg{} })
	nodes := newTestCluster(t, 2, clusterOpts{register: func(_ int, m *Manager) {
		_ = rpc.Register(m, func(ctx context.Context, req *proto.EchoMsg) (*proto.EchoMsg, error) {
			if req.Text == "fail" {
				return nil, errTestNotFound
			}
			return &proto.EchoMsg{Seq: req.Seq + 1, Text: strings.ToUpper(req.Text), Data: req.Data}, nil
		})
	}})
	c := nodes[1].conn(nodes[0])
	resp, err := rpc.Call(context.Background(), c, &proto.EchoMsg{Seq: 41, Text: "hello", Data: []byte{1, 2, 3}})
	if err != nil || resp.Seq != 42 || resp.Text != "HELLO" || !bytes.Equal(resp.Data, []byte{1, 2, 3}) {
		t.Fatalf("typed call: %+v, %v", resp, err)
	}
	if _, err := rpc.Call(context.Background(), c, &proto.EchoMsg{Text: "fail"}); !errors.Is(err, errTestNotFound) {
		t.Fatalf("typed error: %v", err)
	}
	// A payload that is not the handler's type is a clean bad-request error.
	if _, err := c.Request(context.Background(), hTest, []byte{0xc1, 0xff}); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("undecodable typed request: %v", err)
	}
}
