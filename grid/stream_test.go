package grid

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gridstore/gridstore/proto"
)

// echoStream sends back every inbound message, then a final "bye".
func echoStream(ctx context.Context, payload []byte, in <-chan []byte, out chan<- []byte) error {
	out <- append([]byte("hello "), payload...)
	for msg := range in {
		out <- msg
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	out <- []byte("bye")
	return nil
}

func registerEchoStream(_ int, m *Manager) {
	registerEcho(0, m)
	if err := m.RegisterStream(hStream, StreamHandler{Handle: echoStream, InCapacity: 4}); err != nil {
		panic(err)
	}
}

// Point 3: a two-way stream delivers everything in order and ends cleanly.
func TestStreamEcho(t *testing.T) {
	nodes := newTestCluster(t, 2, clusterOpts{register: registerEchoStream})
	for _, dir := range [][2]*testNode{{nodes[0], nodes[1]}, {nodes[1], nodes[0]}} {
		st, err := dir[0].conn(dir[1]).NewStream(context.Background(), hStream, []byte("there"))
		if err != nil {
			t.Fatal(err)
		}
		const n = 200
		sendErr := make(chan error, 1)
		go func() {
			for i := range n {
				// Mixed sizes, some fragmented.
				msg := bytes.Repeat([]byte{byte(i)}, 1+(i*7919)%(100<<10))
				if err := st.Send(msg); err != nil {
					sendErr <- err
					return
				}
			}
			sendErr <- st.CloseSend()
		}()
		first, err := st.Recv()
		if err != nil || string(first) != "hello there" {
			t.Fatalf("first message %q, %v", first, err)
		}
		for i := range n {
			msg, err := st.Recv()
			if err != nil {
				t.Fatalf("message %d: %v", i, err)
			}
			if want := 1 + (i*7919)%(100<<10); len(msg) != want || msg[0] != byte(i) {
				t.Fatalf("message %d: %d bytes starting %d, want %d bytes of %d", i, len(msg), msg[0], want, byte(i))
			}
		}
		if last, err := st.Recv(); err != nil || string(last) != "bye" {
			t.Fatalf("last message %q, %v", last, err)
		}
		if _, err := st.Recv(); err != io.EOF {
			t.Fatalf("after the end: %v, want io.EOF", err)
		}
		if err := recvWithin(t, sendErr, 10*time.Second, "sendErr"); err != nil {
			t.Fatal(err)
		}
	}
}

// Point 3: a stream without input; Send is refused.
func TestStreamNoInput(t *testing.T) {
	nodes := newTestCluster(t, 2, clusterOpts{register: func(_ int, m *Manager) {
		_ = m.RegisterStream(hTestStream, StreamHandler{Handle: func(ctx context.Context, p []byte, in <-chan []byte, out chan<- []byte) error {
			if in != nil {
				return errors.New("handler without input got an input channel")
			}
			for i := range 10 {
				out <- []byte(fmt.Sprint(i))
			}
			return nil
		}})
	}})
	st, err := nodes[0].conn(nodes[1]).NewStream(context.Background(), hTestStream, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Send([]byte("x")); !errors.Is(err, ErrNoInput) {
		t.Fatalf("Send on a no-input stream: %v", err)
	}
	var got []string
	if err := st.Results(func(b []byte) error { got = append(got, string(b)); return nil }); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != "0,1,2,3,4,5,6,7,8,9" {
		t.Fatalf("results %v", got)
	}
}

// Point 3: a handler error ends the caller's stream with that error, after
// every message the handler sent before it.
func TestStreamHandlerError(t *testing.T) {
	nodes := newTestCluster(t, 2, clusterOpts{register: func(_ int, m *Manager) {
		_ = m.RegisterStream(hTestStream, StreamHandler{Handle: func(ctx context.Context, p []byte, in <-chan []byte, out chan<- []byte) error {
			for i := range 50 {
				out <- bytes.Repeat([]byte{byte(i)}, 40<<10)
			}
			return fmt.Errorf("disk gone: %w", errTestNotFound)
		}})
	}})
	st, err := nodes[0].conn(nodes[1]).NewStream(context.Background(), hTestStream, nil)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	err = st.Results(func(b []byte) error {
		if len(b) != 40<<10 || b[0] != byte(n) {
			return fmt.Errorf("message %d wrong", n)
		}
		n++
		return nil
	})
	if n != 50 || !errors.Is(err, errTestNotFound) {
		t.Fatalf("got %d messages and %v; want all 50 and then the handler's error", n, err)
	}
	var re *RemoteErr
	if !errors.As(err, &re) {
		t.Fatalf("handler error is %T, want *RemoteErr", err)
	}
}

func TestStreamUnknownHandler(t *testing.T) {
	nodes := newTestCluster(t, 2, clusterOpts{register: registerEcho})
	_, err := nodes[0].conn(nodes[1]).NewStream(context.Background(), hTestStream, nil)
	if !errors.Is(err, ErrUnknownHandler) {
		t.Fatalf("unknown stream handler: %v", err)
	}
}

// Point 3: cancellation propagates caller -> handler, and the deadline
// travels.
func TestStreamCancelAndDeadline(t *testing.T) {
	handlerSaw := make(chan error, 1)
	deadlines := make(chan time.Duration, 1)
	nodes := newTestCluster(t, 2, clusterOpts{register: func(_ int, m *Manager) {
		_ = m.RegisterStream(hTestStream, StreamHandler{InCapacity: 1, Handle: func(ctx context.Context, p []byte, in <-chan []byte, out chan<- []byte) error {
			d, ok := ctx.Deadline()
			if ok {
				deadlines <- time.Until(d).Round(time.Minute)
			} else {
				deadlines <- 0
			}
			out <- []byte("started")
			<-ctx.Done()
			handlerSaw <- ctx.Err()
			return ctx.Err()
		}})
	}})
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	st, err := nodes[0].conn(nodes[1]).NewStream(ctx, hTestStream, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d := recvWithin(t, deadlines, 10*time.Second, "deadlines"); d != time.Hour {
		t.Fatalf("handler saw deadline in %v, want 1h", d)
	}
	if msg, err := st.Recv(); err != nil || string(msg) != "started" {
		t.Fatalf("%q %v", msg, err)
	}
	cancel()
	if err := recvWithin(t, handlerSaw, 10*time.Second, "handlerSaw"); !errors.Is(err, context.Canceled) {
		t.Fatalf("handler context: %v", err)
	}
	if _, err := st.Recv(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Recv after cancel: %v", err)
	}
	if err := st.Send([]byte("x")); !errors.Is(err, context.Canceled) {
		t.Fatalf("Send after cancel: %v", err)
	}

	// A deadline that passes ends the stream on both sides.
	ctx2, cancel2 := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel2()
	st2, err := nodes[0].conn(nodes[1]).NewStream(ctx2, hTestStream, nil)
	if err != nil {
		t.Fatal(err)
	}
	<-deadlines
	_, _ = st2.Recv()
	if _, err := st2.Recv(); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Recv after deadline: %v", err)
	}
	if err := recvWithin(t, handlerSaw, 10*time.Second, "handlerSaw"); err == nil {
		t.Fatal("handler not cancelled after the caller's deadline")
	}
}

// A clean end received before a cancellation stays a clean end: every final
// message is delivered.
func TestStreamEndThenCancelKeepsMessages(t *testing.T) {
	nodes := newTestCluster(t, 2, clusterOpts{register: func(_ int, m *Manager) {
		_ = m.RegisterStream(hTestStream, StreamHandler{Handle: func(ctx context.Context, p []byte, in <-chan []byte, out chan<- []byte) error {
			for i := range 5 {
				out <- []byte{byte(i)}
			}
			return nil
		}})
	}})
	ctx, cancel := context.WithCancel(context.Background())
	st, err := nodes[0].conn(nodes[1]).NewStream(ctx, hTestStream, nil)
	if err != nil {
		t.Fatal(err)
	}
	<-st.done // the end has arrived
	cancel()
	for i := range 5 {
		msg, err := st.Recv()
		if err != nil || msg[0] != byte(i) {
			t.Fatalf("message %d after end+cancel: %v %v", i, msg, err)
		}
	}
	if _, err := st.Recv(); err != io.EOF {
		t.Fatalf("got %v, want io.EOF: a finished stream is not turned into a cancelled one", err)
	}
}

// Point 3: a consumer that stops reading stalls only its own stream: the
// producer is held to the window, and other streams and requests flow.
func TestSlowConsumerStallsAlone(t *testing.T) {
	var produced atomic.Int64
	blocked := make(chan struct{})
	nodes := newTestCluster(t, 2, clusterOpts{register: func(_ int, m *Manager) {
		registerEchoStream(0, m)
		_ = m.RegisterStream(hTestStream, StreamHandler{Handle: func(ctx context.Context, p []byte, in <-chan []byte, out chan<- []byte) error {
			var once sync.Once
			for {
				msg := make([]byte, 64<<10)
				select {
				case out <- msg:
					produced.Add(1)
				case <-ctx.Done():
					return nil
				case <-time.After(200 * time.Millisecond):
					// Blocked on out for a while: the window is full.
					once.Do(func() { close(blocked) })
					select {
					case out <- msg:
						produced.Add(1)
					case <-ctx.Done():
						return nil
					}
				}
			}
		}})
	}})
	c := nodes[0].conn(nodes[1])
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	window := Window{Msgs: 4, Bytes: 1 << 20}
	stalled, err := c.NewStreamWindow(ctx, hTestStream, nil, window)
	if err != nil {
		t.Fatal(err)
	}
	recvWithin(t, blocked, 10*time.Second, "blocked")
	// The producer is held: at most the window is in flight, plus the one
	// message its forwarder holds while it waits for credit.
	if p := produced.Load(); p > int64(window.Msgs)+1 {
		t.Fatalf("producer got %d messages out against a window of %d", p, window.Msgs)
	}
	// Meanwhile other traffic on the same connection flows.
	for i := range 50 {
		msg := []byte(fmt.Sprint("req ", i))
		if got := mustRequest(t, c, hEcho, msg); !bytes.Equal(got, msg) {
			t.Fatal("echo mismatch")
		}
	}
	other, err := c.NewStream(ctx, hStream, []byte("other"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if err := other.Send(bytes.Repeat([]byte{1}, 256<<10)); err != nil {
			t.Fatalf("other stream send %d: %v", i, err)
		}
		if i == 0 {
			_, _ = other.Recv() // hello
		}
		if _, err := other.Recv(); err != nil {
			t.Fatalf("other stream recv %d: %v", i, err)
		}
	}
	_ = other.CloseSend()
	// Reading the stalled stream lets it move again.
	before := produced.Load()
	for range 20 {
		if _, err := stalled.Recv(); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 5*time.Second, "producer to resume", func() bool { return produced.Load() > before })
	stalled.Cancel()
}

// Point 3: a caller that sends faster than the handler reads is held to the
// handler's window too.
func TestSendBlocksOnHandlerWindow(t *testing.T) {
	release := make(chan struct{})
	nodes := newTestCluster(t, 2, clusterOpts{register: func(_ int, m *Manager) {
		_ = m.RegisterStream(hTestStream, StreamHandler{InCapacity: 3, Handle: func(ctx context.Context, p []byte, in <-chan []byte, out chan<- []byte) error {
			<-release
			n := 0
			for range in {
				n++
			}
			out <- []byte(fmt.Sprint(n))
			return nil
		}})
	}})
	st, err := nodes[0].conn(nodes[1]).NewStream(context.Background(), hTestStream, nil)
	if err != nil {
		t.Fatal(err)
	}
	var sent atomic.Int64
	done := make(chan error, 1)
	go func() {
		for range 20 {
			if err := st.Send([]byte("x")); err != nil {
				done <- err
				return
			}
			sent.Add(1)
		}
		done <- st.CloseSend()
	}()
	waitFor(t, 5*time.Second, "sender to fill the window", func() bool { return sent.Load() >= 3 })
	// Give the sender every chance to overrun; it must not.
	time.Sleep(50 * time.Millisecond)
	if s := sent.Load(); s != 3 {
		t.Fatalf("sender got %d messages out against a handler window of 3", s)
	}
	close(release)
	if err := recvWithin(t, done, 10*time.Second, "done"); err != nil {
		t.Fatal(err)
	}
	msg, err := st.Recv()
	if err != nil || string(msg) != "20" {
		t.Fatalf("handler counted %q (%v), want 20", msg, err)
	}
}

// Typed streams over msgp types.
func TestTypedStream(t *testing.T) {
	newMsg := func() *proto.EchoMsg { return &proto.EchoMsg{} }
	rpc := NewStreamRPC(hTestStream, newMsg, newMsg, newMsg)
	nodes := newTestCluster(t, 2, clusterOpts{register: func(_ int, m *Manager) {
		_ = rpc.Register(m, func(ctx context.Context, p *proto.EchoMsg, in <-chan *proto.EchoMsg, out chan<- *proto.EchoMsg) error {
			var sum uint64
			for v := range in {
				sum += v.Seq
				out <- &proto.EchoMsg{Seq: v.Seq * 2, Text: p.Text}
			}
			out <- &proto.EchoMsg{Seq: sum, Text: "sum"}
			return nil
		})
	}})
	st, err := rpc.Call(context.Background(), nodes[1].conn(nodes[0]), &proto.EchoMsg{Text: "typed"})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for i := uint64(1); i <= 10; i++ {
			_ = st.Send(&proto.EchoMsg{Seq: i})
		}
		_ = st.CloseSend()
	}()
	var got []uint64
	err = st.Results(func(v *proto.EchoMsg) error {
		got = append(got, v.Seq)
		if v.Text != "typed" && v.Text != "sum" {
			return fmt.Errorf("text %q", v.Text)
		}
		return nil
	})
	if err != nil || len(got) != 11 || got[0] != 2 || got[9] != 20 || got[10] != 55 {
		t.Fatalf("typed stream results %v, %v", got, err)
	}
}
