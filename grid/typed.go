package grid

import (
	"context"
	"errors"
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
	// resps holds decoded responses of a Resetter type between two
	// TypedStream.Results, with the memory of their slices.
	resps *sync.Pool
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
	if _, ok := any(newResp()).(Resetter); ok {
		r.resps = &sync.Pool{}
	}
	return r
}

// ID returns the handler ID.
func (r *StreamRPC[Payload, Req, Resp]) ID() HandlerID { return r.id }

// Register serves fn for this stream on m. in is nil when the stream takes no
// input; fn must not close out, nor send on it once it has returned.
//
// A payload or input message that does not decode ends the stream with
// ErrBadRequest (fn's context is cancelled with it). fn's error reaches the
// caller as it would from a raw handler: a registered sentinel stays itself.
//
// The values fn sends on out are encoded by another goroutine, one at a time
// and in order, so a value is fn's again only once the next send has
// returned, and while the caller is slow one more value is held than with a
// raw handler. RegisterSend has neither cost.
//
// Nothing of the wrapper outlives the call: its goroutines end before the
// grid sees the handler return, even if fn panics.
func (r *StreamRPC[Payload, Req, Resp]) Register(m *Manager, fn func(ctx context.Context, p Payload, in <-chan Req, out chan<- Resp) error, subroute ...string) error {
	return r.register(m, true, func(ctx context.Context, cancel context.CancelCauseFunc, p Payload, in <-chan Req, send func(Resp) error) error {
		out := make(chan Resp)
		var encErr error
		encoded := make(chan struct{}) // encErr is set
		go func() {
			defer close(encoded)
			for v := range out {
				if encErr != nil {
					continue // drain, so that fn never blocks on out
				}
				if encErr = send(v); encErr != nil {
					cancel(encErr)
				}
			}
		}()
		// Deferred, so that it holds when fn panics too: the encoder has
		// ended, and sent its last message, before the grid closes rawOut.
		err := func() error {
			defer func() {
				close(out)
				<-encoded
			}()
			return fn(ctx, p, in, out)
		}()
		if err == nil {
			err = encErr
		}
		return err
	}, subroute...)
}

// RegisterSend serves fn for this stream on m, like Register, except that fn
// sends its messages with send rather than on a channel. send encodes v in
// fn's goroutine and returns once the grid has taken the message, so:
//   - v is fn's again as soon as send returns (a handler can send one value
//     over and over, and allocate none);
//   - a slow caller blocks send itself, exactly as it blocks a raw handler's
//     send, with no message held in between.
//
// send fails only if v does not encode. It must not be called once fn has
// returned; calls from several goroutines are sent in the order they get in.
func (r *StreamRPC[Payload, Req, Resp]) RegisterSend(m *Manager, fn func(ctx context.Context, p Payload, in <-chan Req, send func(Resp) error) error, subroute ...string) error {
	return r.register(m, false, func(ctx context.Context, _ context.CancelCauseFunc, p Payload, in <-chan Req, send func(Resp) error) error {
		return fn(ctx, p, in, send)
	}, subroute...)
}

// register serves fn with the payload and input decoded and a send function
// that encodes onto the grid's output. When the stream takes input, or
// ownCtx is set, fn runs under a context of its own, cancelled with
// ErrBadRequest when an input message does not decode, and cancel lets fn
// end it for a reason of its own; otherwise fn gets the grid's context and
// a nil cancel. The grid's context is kept when it can be because a derived
// one hears of the caller's cancellation from a goroutine, later: a handler
// that polls ctx.Err() (a drive walk) would go on working meanwhile.
func (r *StreamRPC[Payload, Req, Resp]) register(m *Manager, ownCtx bool, fn func(ctx context.Context, cancel context.CancelCauseFunc, p Payload, in <-chan Req, send func(Resp) error) error, subroute ...string) error {
	return m.RegisterStream(r.id, StreamHandler{
		InCapacity: r.InCapacity,
		InBytes:    r.InBytes,
		Handle: func(ctx context.Context, payload []byte, rawIn <-chan []byte, rawOut chan<- []byte) error {
			p := r.newPayload()
			if err := unmarshalWhole(p, payload); err != nil {
				return fmt.Errorf("%w: stream %v: payload: %v", ErrBadRequest, r.id, err)
			}
			var cancel context.CancelCauseFunc
			if ownCtx || rawIn != nil {
				ctx, cancel = context.WithCancelCause(ctx)
				defer cancel(nil)
			}
			var in chan Req
			if rawIn != nil {
				in = make(chan Req)
				decoded := make(chan struct{})
				// The grid closes rawIn only once the handler has
				// returned, so the decoder is stopped first. Deferred, so
				// that it holds when fn panics too.
				defer func() {
					cancel(nil)
					<-decoded
				}()
				go func() {
					defer close(decoded)
					r.decodeIn(ctx, cancel, rawIn, in)
				}()
			}
			send := func(v Resp) error {
				b, err := marshal(v)
				if err != nil {
					return fmt.Errorf("grid stream %v: %w", r.id, err)
				}
				// The grid drains rawOut until the handler returns, even
				// after cancellation, so this cannot block forever.
				rawOut <- b
				return nil
			}
			err := fn(ctx, cancel, p, in, send)
			if err == nil && cancel != nil {
				// An input message that did not decode: fn saw its input
				// end and its context cancelled, and may have returned nil.
				if cause := context.Cause(ctx); cause != nil && cause != context.Canceled {
					err = cause
				}
			}
			return err
		},
	}, subroute...)
}

// decodeIn decodes the caller's messages for the handler until rawIn closes
// (the grid closes it once the handler has returned) or ctx ends. A message
// that does not decode cancels ctx with ErrBadRequest and ends the input;
// what is left in rawIn the grid recycles.
func (r *StreamRPC[Payload, Req, Resp]) decodeIn(ctx context.Context, cancel context.CancelCauseFunc, rawIn <-chan []byte, in chan<- Req) {
	defer close(in)
	for {
		var b []byte
		select {
		case m, ok := <-rawIn:
			if !ok {
				return
			}
			b = m
		case <-ctx.Done():
			return
		}
		v := r.newReq()
		err := unmarshalWhole(v, b)
		PutBuffer(b)
		if err != nil {
			cancel(fmt.Errorf("%w: stream %v: message: %v", ErrBadRequest, r.id, err))
			return
		}
		select {
		case in <- v:
		case <-ctx.Done():
			return
		}
	}
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
	return &TypedStream[Req, Resp]{Stream: st, newResp: r.newResp, resps: r.resps}, nil
}

// TypedStream is the caller's side of a StreamRPC.
type TypedStream[Req, Resp Msg] struct {
	*Stream
	newResp func() Resp
	resps   *sync.Pool // non-nil when Resp is a Resetter
}

// Send encodes and sends one message to the handler.
func (t *TypedStream[Req, Resp]) Send(v Req) error {
	b, err := marshal(v)
	if err != nil {
		return err
	}
	return t.Stream.sendMsg(b)
}

// Recv returns the next decoded message, io.EOF after a clean end. The value
// is new and the caller's. A message that does not decode cancels the stream.
func (t *TypedStream[Req, Resp]) Recv() (Resp, error) {
	var zero Resp
	b, err := t.Stream.Recv()
	if err != nil {
		return zero, err
	}
	v := t.newResp()
	err = t.decode(v, b)
	PutBuffer(b)
	if err != nil {
		t.Stream.Cancel()
		return zero, err
	}
	return v, nil
}

// Results calls fn for every decoded message until the stream ends; see
// Stream.Results. A message that does not decode cancels the stream and is
// Results' error.
//
// When Resp implements Resetter, one value is decoded into again and again
// (and kept for the next Results on the same StreamRPC), so that a stream of
// many messages allocates only what they hold: the value, and any slice in
// it, is valid only until fn returns, like a raw message. Reset decides what
// survives: it must clear every field that could alias the next message.
func (t *TypedStream[Req, Resp]) Results(fn func(Resp) error) error {
	var v Resp
	if t.resps != nil {
		if pv, ok := t.resps.Get().(Resp); ok {
			v = pv
		} else {
			v = t.newResp()
		}
		defer t.resps.Put(v)
	}
	return t.Stream.Results(func(b []byte) error {
		if t.resps != nil {
			any(v).(Resetter).Reset()
		} else {
			v = t.newResp()
		}
		if err := t.decode(v, b); err != nil {
			return err
		}
		return fn(v)
	})
}

// decode decodes one message from the handler into v.
func (t *TypedStream[Req, Resp]) decode(v Resp, b []byte) error {
	if err := unmarshalWhole(v, b); err != nil {
		return fmt.Errorf("grid stream %v: undecodable message from the handler: %w", t.Stream.id, err)
	}
	return nil
}

// errTrailingBytes: a stream message holds exactly one value, so bytes left
// after it mean the two sides disagree on the message type (a handler ID
// given a new meaning), which would otherwise pass for a shorter message.
var errTrailingBytes = errors.New("bytes left after the value")

// unmarshalWhole decodes b, which must hold exactly one value, into v.
func unmarshalWhole(v Msg, b []byte) error {
	rest, err := v.UnmarshalMsg(b)
	if err == nil && len(rest) > 0 {
		err = fmt.Errorf("%w: %d of %d", errTrailingBytes, len(rest), len(b))
	}
	if err != nil {
		return fmt.Errorf("unmarshal %T: %w", v, err)
	}
	return nil
}
