package grid

import (
	"context"
	"fmt"
	"sync"

	"github.com/tinylib/msgp/msgp"
)

// Msg is a msgp-serializable message; in practice a pointer to a type with
// generated MarshalMsg/UnmarshalMsg/Msgsize methods.
type Msg interface {
	msgp.Marshaler
	msgp.Unmarshaler
	msgp.Sizer
}

func marshal[T Msg](v T) ([]byte, error) {
	b, err := v.MarshalMsg(GetBuffer(v.Msgsize()))
	if err != nil {
		PutBuffer(b)
		return nil, fmt.Errorf("marshal %T: %w", v, err)
	}
	return b, nil
}

func unmarshal[T Msg](newT func() T, b []byte) (T, error) {
	v := newT()
	if _, err := v.UnmarshalMsg(b); err != nil {
		var zero T
		return zero, fmt.Errorf("unmarshal %T: %w", v, err)
	}
	return v, nil
}

// SingleRPC is a typed single request: both sides use the same value, the
// server to Register and the client to Call. Declare one per handler ID,
// usually as a package-level variable next to the handler.
type SingleRPC[Req, Resp Msg] struct {
	id      HandlerID
	newReq  func() Req
	newResp func() Resp
	reqs    sync.Pool // decoded requests of Resetter types, reused on the server
}

// Resetter is implemented by message types that can be cleared for reuse.
// Typed handlers pool the requests of such types instead of allocating one
// per call; Reset must leave no field of the previous message behind (it may
// keep slices' memory).
type Resetter interface{ Reset() }

// NewSingleRPC describes a typed single request. newReq and newResp return
// new, empty values (generics cannot construct them).
func NewSingleRPC[Req, Resp Msg](id HandlerID, newReq func() Req, newResp func() Resp) *SingleRPC[Req, Resp] {
	return &SingleRPC[Req, Resp]{id: id, newReq: newReq, newResp: newResp}
}

// ID returns the handler ID.
func (r *SingleRPC[Req, Resp]) ID() HandlerID { return r.id }

// Register serves fn for this RPC on m. A request that does not decode is
// answered with ErrBadRequest without calling fn.
//
// When Req implements Resetter, request values are reused: req, and any slice
// in it, is valid only until fn returns, like a raw handler's payload. Copy
// what must outlive the call. The response may share memory with req: it is
// encoded before req is reused.
func (r *SingleRPC[Req, Resp]) Register(m *Manager, fn func(ctx context.Context, req Req) (Resp, error), subroute ...string) error {
	_, reusable := any(r.newReq()).(Resetter)
	return m.registerSingle(r.id, func(ctx context.Context, payload []byte) ([]byte, bool, error) {
		var req Req
		if reusable {
			if v, ok := r.reqs.Get().(Req); ok {
				req = v
				any(req).(Resetter).Reset()
			} else {
				req = r.newReq()
			}
			defer r.reqs.Put(req)
		} else {
			req = r.newReq()
		}
		if _, err := req.UnmarshalMsg(payload); err != nil {
			return nil, false, fmt.Errorf("%w: handler %v: unmarshal %T: %v", ErrBadRequest, r.id, req, err)
		}
		resp, err := fn(ctx, req)
		if err != nil {
			return nil, false, err
		}
		b, err := marshal(resp)
		return b, true, err
	}, subroute...)
}

// Call sends req over c and decodes the response.
func (r *SingleRPC[Req, Resp]) Call(ctx context.Context, c *Connection, req Req) (Resp, error) {
	var zero Resp
	b, err := marshal(req)
	if err != nil {
		return zero, err
	}
	out, err := c.Request(ctx, r.id, b)
	PutBuffer(b)
	if err != nil {
		return zero, err
	}
	resp, err := unmarshal(r.newResp, out)
	PutBuffer(out)
	return resp, err
}

// StreamRPC is a typed stream: an initial Payload, Req messages from the
// caller (if InCapacity > 0) and Resp messages from the handler.
type StreamRPC[Payload, Req, Resp Msg] struct {
	id         HandlerID
	newPayload func() Payload
	newReq     func() Req
	newResp    func() Resp
	// InCapacity and InBytes are the handler's receive window (see
	// StreamHandler); zero InCapacity means the handler takes no input.
	InCapacity int
	InBytes    int
	// OutWindow is the caller's receive window for responses.
	OutWindow Window
}

// NewStreamRPC describes a typed stream. newReq may be nil for a stream that
// takes no input.
func NewStreamRPC[Payload, Req, Resp Msg](id HandlerID, newPayload func() Payload, newReq func() Req, newResp func() Resp) *StreamRPC[Payload, Req, Resp] {
	r := &StreamRPC[Payload, Req, Resp]{id: id, newPayload: newPayload, newReq: newReq, newResp: newResp}
	if newReq != nil {
		r.InCapacity = DefaultWindowMsgs
	}
	return r
}

// ID returns the handler ID.
func (r *StreamRPC[Payload, Req, Resp]) ID() HandlerID { return r.id }

// Register serves fn for this stream on m. in is nil when the stream takes no
// input; fn must not close out.
func (r *StreamRPC[Payload, Req, Resp]) Register(m *Manager, fn func(ctx context.Context, p Payload, in <-chan Req, out chan<- Resp) error, subroute ...string) error {
	return m.RegisterStream(r.id, StreamHandler{
		InCapacity: r.InCapacity,
		InBytes:    r.InBytes,
		Handle: func(ctx context.Context, payload []byte, rawIn <-chan []byte, rawOut chan<- []byte) error {
			p, err := unmarshal(r.newPayload, payload)
			if err != nil {
				return fmt.Errorf("%w: stream %v payload: %v", ErrBadRequest, r.id, err)
			}
			ctx, cancel := context.WithCancelCause(ctx)
			defer cancel(nil)
			// The decoder ends when the grid closes rawIn, which it does as
			// soon as this function returns; it is not waited for here.
			var in chan Req
			if rawIn != nil {
				in = make(chan Req)
				go func() {
					defer close(in)
					for b := range rawIn {
						v, err := unmarshal(r.newReq, b)
						PutBuffer(b)
						if err != nil {
							cancel(fmt.Errorf("%w: stream %v message: %v", ErrBadRequest, r.id, err))
							for b := range rawIn { // drain so the grid is never blocked
								PutBuffer(b)
							}
							return
						}
						select {
						case in <- v:
						case <-ctx.Done():
						}
					}
				}()
			}
			out := make(chan Resp)
			encodeDone := make(chan error, 1)
			go func() {
				var encErr error
				for v := range out {
					if encErr != nil {
						continue
					}
					b, err := marshal(v)
					if err != nil {
						encErr = err
						cancel(err)
						continue
					}
					rawOut <- b
				}
				encodeDone <- encErr
			}()
			err = fn(ctx, p, in, out)
			close(out)
			encErr := <-encodeDone
			if err == nil {
				err = encErr
			}
			if err == nil {
				if cause := context.Cause(ctx); cause != nil && cause != context.Canceled {
					err = cause
				}
			}
			return err
		},
	}, subroute...)
}

// Call opens the stream on c with payload p.
func (r *StreamRPC[Payload, Req, Resp]) Call(ctx context.Context, c *Connection, p Payload) (*TypedStream[Req, Resp], error) {
	b, err := marshal(p)
	if err != nil {
		return nil, err
	}
	st, err := c.NewStreamWindow(ctx, r.id, b, r.OutWindow)
	PutBuffer(b)
	if err != nil {
		return nil, err
	}
	return &TypedStream[Req, Resp]{Stream: st, newResp: r.newResp}, nil
}

// TypedStream is the caller's side of a StreamRPC.
type TypedStream[Req, Resp Msg] struct {
	*Stream
	newResp func() Resp
}

// Send encodes and sends one message to the handler.
func (t *TypedStream[Req, Resp]) Send(v Req) error {
	b, err := marshal(v)
	if err != nil {
		return err
	}
	return t.Stream.sendMsg(b)
}

// Recv returns the next decoded message, io.EOF after a clean end.
func (t *TypedStream[Req, Resp]) Recv() (Resp, error) {
	var zero Resp
	b, err := t.Stream.Recv()
	if err != nil {
		return zero, err
	}
	v, err := unmarshal(t.newResp, b)
	PutBuffer(b)
	if err != nil {
		t.Stream.Cancel()
		return zero, err
	}
	return v, nil
}

// Results calls fn for every decoded message until the stream ends; see
// Stream.Results.
func (t *TypedStream[Req, Resp]) Results(fn func(Resp) error) error {
	return t.Stream.Results(func(b []byte) error {
		v, err := unmarshal(t.newResp, b)
		if err != nil {
			return err
		}
		return fn(v)
	})
}
