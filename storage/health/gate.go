package health

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/gridstore/gridstore/storage"
)

// gate is how a streaming call of the wrapped drive reaches what the caller
// owns (CreateFile's reader, WalkDir's callback) without touching it from
// its own goroutine: it sends a request (Q) to the caller's goroutine, which
// serves it and answers (A). Once the call is over the gate is shut, and
// the drive's requests fail with errAbandoned: a goroutine that comes back
// from a hung system call finds nothing of the caller's to write into.
//
// The drive's side must make one request at a time (an io.Reader and a
// WalkDir callback are not for concurrent use).
type gate[Q, A any] struct {
	req   chan Q
	reply chan A // buffered: the caller never blocks answering
	shut  chan struct{}
}

func newGate[Q, A any]() *gate[Q, A] {
	return &gate[Q, A]{req: make(chan Q), reply: make(chan A, 1), shut: make(chan struct{})}
}

// ask is the drive's side. A request the caller took is always answered.
func (g *gate[Q, A]) ask(q Q) (A, bool) {
	select {
	case g.req <- q:
		return <-g.reply, true
	case <-g.shut:
		var zero A
		return zero, false
	}
}

// maxPipeRead caps each read CreateFile's drive makes through the gate, so
// that a drive whose reads are slow (a rate-limited writer, a slow disk in
// a synchronous write path) shows progress at least every maxPipeRead
// bytes instead of once per buffer of its own.
const maxPipeRead = 256 << 10

type readAnswer struct {
	n   int
	err error
}

// pipe is the reader CreateFile's drive reads: each Read hands the drive's
// own buffer to the caller's goroutine, which fills it from the caller's
// reader.
type pipe struct{ g *gate[[]byte, readAnswer] }

func (p pipe) Read(b []byte) (int, error) {
	if len(b) > maxPipeRead {
		b = b[:maxPipeRead]
	}
	a, ok := p.g.ask(b)
	if !ok {
		return 0, errAbandoned
	}
	return a.n, a.err
}

// serve waits for a streaming call of the wrapped drive (its result comes
// on done) while serving its gate's requests with handle on the caller's
// goroutine. The call is given up when the drive holds on for idle without
// asking anything (the caller's time in handle does not count), at ctx's
// deadline, or when the drive is taken out of service. When ctx is
// cancelled, the gate is shut and cancel's context with it, and serve waits
// for the drive's answer within the idle deadline. The gate is shut when
// serve returns.
func serve[Q, A any](d *Drive, ctx context.Context, cancel context.CancelCauseFunc, ep *epoch, c *call,
	g *gate[Q, A], done <-chan error, handle func(Q) A,
) error {
	reqs := g.req
	shut := func() {
		if reqs != nil {
			reqs = nil
			close(g.shut)
		}
	}
	defer shut()
	t := time.NewTimer(c.bound)
	defer t.Stop()
	ctxDone := ctx.Done()
	for {
		var w why
		select {
		case q := <-reqs:
			g.reply <- handle(q)
			// Progress: the drive asked for more. Go 1.23 timers drop a
			// fire that Reset overtakes.
			t.Reset(c.bound)
			continue
		case err := <-done:
			return d.streamAnswer(ctx, c, err)
		case <-t.C:
			w = whyTimeout
		case <-ctxDone:
			if !deadlineOnly(ctx) {
				shut()
				ctxDone = nil
				continue
			}
			w = whyDeadline
		case <-ep.faulty:
			w = whyFaulty
		}
		if !d.abandon(c, w) {
			return d.streamAnswer(ctx, c, <-done) // it has just returned
		}
		shut()
		cancel(errAbandoned)
		return d.abandonErr(ctx, c.op, c.bound, w, "no progress")
	}
}

// streamAnswer is what serve returns for the drive's answer.
func (d *Drive) streamAnswer(ctx context.Context, c *call, err error) error {
	d.answered()
	if errors.Is(err, errAbandoned) {
		// The drive stopped because the gate was shut when the caller
		// cancelled.
		return fmt.Errorf("%s on %s: %w", c.op, d.endpoint, ctx.Err())
	}
	return err
}

// CreateFile streams r into the wrapped drive's file, reading r on the
// caller's goroutine only (see gate). It fails with storage.ErrDriveTimeout
// when the drive goes StreamIdleTimeout without asking for more of r or
// returning.
func (d *Drive) CreateFile(ctx context.Context, volume, path string, size int64, r io.Reader) error {
	const op = "CreateFile"
	ep, err := d.admit(ctx, op)
	if err != nil {
		return err
	}
	inner, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	g := newGate[[]byte, readAnswer]()
	c := d.newCall(op, d.cfg.StreamIdleTimeout)
	done := make(chan error, 1)
	go func() {
		err := d.inner.CreateFile(inner, volume, path, size, pipe{g})
		if c.finish() {
			done <- err
			return
		}
		d.lateReturn(c, err)
	}()
	return serve(d, ctx, cancel, ep, c, g, done, func(b []byte) readAnswer {
		n, err := r.Read(b)
		return readAnswer{n, err}
	})
}

// WalkDir walks the wrapped drive, calling fn on the caller's goroutine
// only (see gate). It fails with storage.ErrDriveTimeout when the drive
// goes StreamIdleTimeout without an entry or returning; fn's own time does
// not count. An error from fn is returned as it is.
func (d *Drive) WalkDir(ctx context.Context, opts storage.WalkDirOptions, fn func(storage.MetaEntry) error) error {
	const op = "WalkDir"
	ep, err := d.admit(ctx, op)
	if err != nil {
		return err
	}
	inner, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	g := newGate[storage.MetaEntry, error]()
	c := d.newCall(op, d.cfg.StreamIdleTimeout)
	done := make(chan error, 1)
	go func() {
		err := d.inner.WalkDir(inner, opts, func(e storage.MetaEntry) error {
			ferr, ok := g.ask(e)
			if !ok {
				return errAbandoned
			}
			return ferr
		})
		if c.finish() {
			done <- err
			return
		}
		d.lateReturn(c, err)
	}()
	return serve(d, ctx, cancel, ep, c, g, done, fn)
}
