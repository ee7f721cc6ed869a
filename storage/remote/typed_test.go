package remote

// Tests of the grid's typed streams (grid.StreamRPC), for the guarantees
// WalkDir relies on: a value handed to send is free again when send returns,
// Results decodes into one reused value, and neither a panicking handler nor
// an undecodable message leaves a goroutine behind (goleak, in TestMain) or
// a caller waiting. They use the public API only, over the same loopback
// cluster as the drive tests, on the handler ID reserved for tests.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/gridstore/gridstore/grid"
	"github.com/gridstore/gridstore/proto"
	"github.com/gridstore/gridstore/storage"
)

func newEcho() *proto.EchoMsg { return new(proto.EchoMsg) }

// testStream is a typed stream with input, on the test handler ID.
func testStream() *grid.StreamRPC[*proto.EchoMsg, *proto.EchoMsg, *proto.EchoMsg] {
	return grid.NewStreamRPC(proto.HandlerTestStream, newEcho, newEcho, newEcho)
}

// TestTypedStreamSendReuse: a handler sends one value over and over,
// changing it between sends (the race detector would see the grid still
// reading it), and the caller's Results gets every message right, decoded
// into one value (EchoMsg is a grid.Resetter).
func TestTypedStreamSendReuse(t *testing.T) {
	c := newTestCluster(t)
	const n = 200
	rpc := grid.NewStreamRPC[*proto.EchoMsg, *proto.EchoMsg](proto.HandlerTestStream, newEcho, nil, newEcho)
	rpc.OutWindow = grid.Window{Msgs: 2, Bytes: 1 << 20} // the handler waits for the caller
	err := rpc.RegisterSend(c.server.m, func(_ context.Context, p *proto.EchoMsg, _ <-chan *proto.EchoMsg, send func(*proto.EchoMsg) error) error {
		var v proto.EchoMsg
		for i := range uint64(n) {
			v.Seq, v.Text = i, fmt.Sprint(p.Text, i)
			v.Data = append(v.Data[:0], byte(i))
			if err := send(&v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	st, err := rpc.Call(t.Context(), c.client.m.Connection(c.server.addr), &proto.EchoMsg{Text: "m"})
	if err != nil {
		t.Fatal(err)
	}
	var first *proto.EchoMsg
	got := 0
	err = st.Results(func(v *proto.EchoMsg) error {
		if first == nil {
			first = v
		} else if v != first {
			return errors.New("Results decoded into a new value")
		}
		i := uint64(got)
		if v.Seq != i || v.Text != fmt.Sprint("m", i) || len(v.Data) != 1 || v.Data[0] != byte(i) {
			return fmt.Errorf("message %d is %+v", i, v)
		}
		got++
		return nil
	})
	if err != nil || got != n {
		t.Fatalf("got %d messages, then %v", got, err)
	}
}

// TestTypedStreamHandlerPanic: a channel handler that panics after sending
// fails the call with ErrHandlerPanic, after what it sent; its encoder
// goroutine ends with it (goleak).
func TestTypedStreamHandlerPanic(t *testing.T) {
	c := newTestCluster(t)
	rpc := testStream()
	err := rpc.Register(c.server.m, func(_ context.Context, _ *proto.EchoMsg, _ <-chan *proto.EchoMsg, out chan<- *proto.EchoMsg) error {
		for i := range uint64(3) {
			out <- &proto.EchoMsg{Seq: i}
		}
		panic("handler bug")
	})
	if err != nil {
		t.Fatal(err)
	}
	st, err := rpc.Call(t.Context(), c.client.m.Connection(c.server.addr), newEcho())
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	for {
		v, err := st.Recv()
		if err != nil {
			if !errors.Is(err, grid.ErrHandlerPanic) || got != 3 {
				t.Fatalf("after %d messages: %v, want 3 then ErrHandlerPanic", got, err)
			}
			break
		}
		if v.Seq != uint64(got) {
			t.Fatalf("message %d has Seq %d", got, v.Seq)
		}
		got++
	}
}

// TestTypedStreamBadInput: an input message that does not decode ends the
// stream with ErrBadRequest, through either kind of handler, even one that
// takes its input's end for a clean one; the handler's context says why.
func TestTypedStreamBadInput(t *testing.T) {
	for _, kind := range []string{"channel", "send"} {
		t.Run(kind, func(t *testing.T) {
			c := newTestCluster(t)
			rpc := testStream()
			cause := make(chan error, 1)
			handle := func(ctx context.Context, in <-chan *proto.EchoMsg) {
				for range in {
				}
				cause <- context.Cause(ctx)
			}
			var err error
			if kind == "channel" {
				err = rpc.Register(c.server.m, func(ctx context.Context, _ *proto.EchoMsg, in <-chan *proto.EchoMsg, _ chan<- *proto.EchoMsg) error {
					handle(ctx, in)
					return nil
				})
			} else {
				err = rpc.RegisterSend(c.server.m, func(ctx context.Context, _ *proto.EchoMsg, in <-chan *proto.EchoMsg, _ func(*proto.EchoMsg) error) error {
					handle(ctx, in)
					return nil
				})
			}
			if err != nil {
				t.Fatal(err)
			}
			st, err := rpc.Call(t.Context(), c.client.m.Connection(c.server.addr), newEcho())
			if err != nil {
				t.Fatal(err)
			}
			if err := st.Send(&proto.EchoMsg{Seq: 1}); err != nil {
				t.Fatal(err)
			}
			if err := st.Stream.Send(append(grid.GetBuffer(1), 0xc1)); err != nil {
				t.Fatal(err)
			}
			if _, err := st.Recv(); err == io.EOF || !errors.Is(err, grid.ErrBadRequest) {
				t.Fatalf("stream with a bad message ended with %v, want ErrBadRequest", err)
			}
			if err := <-cause; !errors.Is(err, grid.ErrBadRequest) {
				t.Fatalf("handler's context ended with %v, want ErrBadRequest", err)
			}
		})
	}
}

// TestTypedStreamReturnsEarly: a handler with input that returns without
// reading it, with a storage sentinel, ends the stream with that sentinel on
// the caller's side, through either kind of handler.
func TestTypedStreamReturnsEarly(t *testing.T) {
	for _, kind := range []string{"channel", "send"} {
		t.Run(kind, func(t *testing.T) {
			c := newTestCluster(t)
			rpc := testStream()
			fail := fmt.Errorf("handler on test: %w", storage.ErrFileNotFound)
			var err error
			if kind == "channel" {
				err = rpc.Register(c.server.m, func(context.Context, *proto.EchoMsg, <-chan *proto.EchoMsg, chan<- *proto.EchoMsg) error {
					return fail
				})
			} else {
				err = rpc.RegisterSend(c.server.m, func(context.Context, *proto.EchoMsg, <-chan *proto.EchoMsg, func(*proto.EchoMsg) error) error {
					return fail
				})
			}
			if err != nil {
				t.Fatal(err)
			}
			st, err := rpc.Call(t.Context(), c.client.m.Connection(c.server.addr), newEcho())
			if err != nil {
				t.Fatal(err)
			}
			_ = st.Send(&proto.EchoMsg{Seq: 1}) // may find the stream ended
			if _, err := st.Recv(); !errors.Is(err, storage.ErrFileNotFound) {
				t.Fatalf("stream ended with %v, want ErrFileNotFound", err)
			}
		})
	}
}
