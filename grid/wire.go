package grid

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/gobwas/ws"
	"github.com/zeebo/xxh3"
)

// The grid wire format (docs/grid.md has the full description).
//
// Every websocket frame is a binary, unfragmented, unmasked frame whose payload
// is a sequence of packets. A packet never straddles two frames. Each packet is
// a fixed 28-byte little-endian header followed by Len payload bytes:
//
//	off size field
//	0   1    op       what the packet does
//	1   1    flags    flagMore, flagCont, flagError, flagSubroute
//	2   2    handler  proto.HandlerID (opening packets only)
//	4   4    arg      op specific: deadline in ms, message credit
//	8   8    mux      the call or stream the packet belongs to (0: connection)
//	16  4    size     total size of the message this packet is part of;
//	                  byte credit for opCredit
//	20  4    len      payload bytes that follow in this packet
//	24  4    sum      packetSum of header bytes 0-23 and the payload; zero
//	                  and unchecked on TLS connections, whose records are
//	                  authenticated already
//
// A message larger than the fragment size is sent as several packets with the
// same op and mux; all but the last carry flagMore, all but the first flagCont. Fragments of one message
// are sent in order, but packets of other calls and streams may sit between
// them: that is what keeps small requests moving behind bulk streams.
const packetHeaderSize = 28

// packetSum is the checksum a packet carries on a connection without TLS:
// the low 32 bits of XXH3-64 of the payload, seeded with XXH3-64 of header
// bytes 0-23. XXH3 rather than CRC32C for speed: ~95 GB/s against ~27 GB/s
// here, and at CRC32C's rate the checksum alone took 10-17 % of a bulk
// stream's throughput (docs/benchmarks.md). It guards against accidents in
// transit, not attackers: those are TLS's job.
func packetSum(head, payload []byte) uint32 {
	return uint32(xxh3.HashSeed(payload, xxh3.Hash(head)))
}

// sealPackets writes the checksum of every packet in b, a run of whole
// packets. The writer calls it after the scheduler has let go of its lock,
// so senders do not wait while a full frame is hashed.
func sealPackets(b []byte) {
	for len(b) >= packetHeaderSize {
		end := packetHeaderSize + int(binary.LittleEndian.Uint32(b[20:]))
		binary.LittleEndian.PutUint32(b[sumOffset:], packetSum(b[:sumOffset], b[packetHeaderSize:end]))
		b = b[end:]
	}
}

type op uint8

const (
	opInvalid   op = iota
	opPing         // payload: 8-byte send time; answered with opPong
	opPong         // payload: the ping's 8 bytes, echoed
	opRequest      // caller opens a single request; arg = deadline ms
	opResponse     // handler side answers a single request
	opCancel       // caller abandons a request or stream; arg = cancelDeadline when its deadline passed
	opOpen         // caller opens a stream; arg = deadline ms (0: none)
	opAccept       // handler side accepted a stream; arg/size = its inbound window
	opMsg          // one stream message, either direction
	opCredit       // receiver returns flow-control credit: arg msgs, size bytes
	opCloseSend    // caller will send no more messages on the stream
	opEnd          // handler finished the stream (flagError: payload is the error)
	opLast
)

// cancelDeadline in an opCancel's arg says the caller's deadline passed: the
// handler's context ends with DeadlineExceeded rather than Canceled.
const cancelDeadline = 1

var opNames = [...]string{"invalid", "ping", "pong", "request", "response", "cancel",
	"open", "accept", "msg", "credit", "closesend", "end"}

func (o op) String() string {
	if int(o) < len(opNames) {
		return opNames[o]
	}
	return fmt.Sprintf("op(%d)", uint8(o))
}

const (
	// flagMore marks every fragment of a message but the last.
	flagMore uint8 = 1 << iota
	// flagCont marks every fragment of a message but the first. A
	// continuation whose start the receiver does not hold belongs to a
	// message that was abandoned (cancelled) and is skipped.
	flagCont
	// flagError marks a response or stream end whose payload is an encoded
	// proto.RemoteError instead of a result.
	flagError
	// flagSubroute marks an opening packet whose payload starts with a
	// one-byte length and that many bytes of subroute.
	flagSubroute

	knownFlags = flagMore | flagCont | flagError | flagSubroute
)

// packetHeader is the decoded form of the 24-byte header.
type packetHeader struct {
	op      op
	flags   uint8
	handler HandlerID
	arg     uint32
	mux     uint64
	size    uint32
	len     uint32
}

// sumOffset is where the checksum sits in the header; it covers what comes
// before it and the payload.
const sumOffset = 24

func (h *packetHeader) put(b []byte) {
	_ = b[packetHeaderSize-1]
	b[0] = byte(h.op)
	b[1] = h.flags
	binary.LittleEndian.PutUint16(b[2:], uint16(h.handler))
	binary.LittleEndian.PutUint32(b[4:], h.arg)
	binary.LittleEndian.PutUint64(b[8:], h.mux)
	binary.LittleEndian.PutUint32(b[16:], h.size)
	binary.LittleEndian.PutUint32(b[20:], h.len)
	binary.LittleEndian.PutUint32(b[sumOffset:], 0)
}

func (h *packetHeader) parse(b []byte) {
	_ = b[packetHeaderSize-1]
	h.op = op(b[0])
	h.flags = b[1]
	h.handler = HandlerID(binary.LittleEndian.Uint16(b[2:]))
	h.arg = binary.LittleEndian.Uint32(b[4:])
	h.mux = binary.LittleEndian.Uint64(b[8:])
	h.size = binary.LittleEndian.Uint32(b[16:])
	h.len = binary.LittleEndian.Uint32(b[20:])
}

// errPeerClosed means the peer closed the connection in an orderly way (a
// websocket close frame): it is shutting down, not failing.
var errPeerClosed = errors.New("peer closed the connection")

// closeFrame is a websocket close frame with status 1001 (going away).
var closeFrame = []byte{0x88, 2, 0x03, 0xe9}

// errProtocol is wrapped by every error that means the peer broke the wire
// format; the connection carrying it is closed.
var errProtocol = errors.New("grid protocol violation")

func protocolErrorf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errProtocol}, args...)...)
}

// validate checks what can be checked from the header alone, before any
// payload byte is read or any buffer is allocated for it.
func (h *packetHeader) validate(maxMessage uint32) error {
	if h.op == opInvalid || h.op >= opLast {
		return protocolErrorf("unknown op %d", uint8(h.op))
	}
	if h.flags&^knownFlags != 0 {
		return protocolErrorf("unknown flags %#x on %v", h.flags, h.op)
	}
	switch h.op {
	case opCredit:
		if h.len != 0 {
			return protocolErrorf("credit packet with %d payload bytes", h.len)
		}
		return nil
	case opPing, opPong:
		if h.len != 8 || h.size != 8 || h.mux != 0 {
			return protocolErrorf("malformed %v", h.op)
		}
		return nil
	}
	if h.mux == 0 {
		return protocolErrorf("%v on mux 0", h.op)
	}
	if h.size > maxMessage {
		return protocolErrorf("%v message of %d bytes exceeds limit %d", h.op, h.size, maxMessage)
	}
	if h.len > h.size {
		return protocolErrorf("%v fragment of %d bytes in a message of %d", h.op, h.len, h.size)
	}
	if h.flags&(flagMore|flagCont) == 0 && h.len != h.size {
		return protocolErrorf("unfragmented %v of %d bytes claims size %d", h.op, h.len, h.size)
	}
	if h.flags&flagMore != 0 && h.len == 0 {
		return protocolErrorf("empty fragment of %v", h.op)
	}
	return nil
}

// frameReader reads grid frames from a connection and yields their packets.
// It never allocates on its own: payloads are read straight into buffers the
// caller chooses, so bulk data is copied once, from the socket buffer into its
// final place.
type frameReader struct {
	r          *bufio.Reader
	remaining  int64 // bytes of the current websocket frame not yet consumed
	maxFrame   int64
	maxMessage uint32
	// checksums makes every packet's packetSum checked before its payload
	// is handed on: on a connection without TLS a flipped bit then closes
	// the connection instead of reaching a handler.
	checksums bool
	seed      uint64 // XXH3 of the current packet's header, seeding its sum
	want      uint32 // what the current packet's header says its sum is
	left      uint32 // payload bytes of the current packet not yet read
	scratch   [packetHeaderSize]byte
	wsScratch [ws.MaxHeaderSize - 2]byte
}

// next returns the next packet header. Its payload must be consumed with
// readPayload or skip before next is called again.
func (fr *frameReader) next() (packetHeader, error) {
	var h packetHeader
	for fr.remaining == 0 {
		wh, err := ws.ReadHeaderBuffer(fr.r, fr.wsScratch[:])
		if err != nil {
			return h, fmt.Errorf("read frame header: %w", err)
		}
		switch {
		case wh.OpCode == ws.OpClose:
			return h, errPeerClosed
		case wh.OpCode.IsControl():
			// Websocket pings are not part of the grid (it has its own), but
			// tolerate them: discard the payload.
			if wh.Length > 125 {
				return h, protocolErrorf("control frame of %d bytes", wh.Length)
			}
			if _, err := fr.r.Discard(int(wh.Length)); err != nil {
				return h, fmt.Errorf("discard control frame: %w", err)
			}
			continue
		case wh.OpCode != ws.OpBinary:
			return h, protocolErrorf("websocket opcode %d", wh.OpCode)
		case !wh.Fin:
			return h, protocolErrorf("fragmented websocket frame")
		case wh.Masked:
			return h, protocolErrorf("masked websocket frame")
		case wh.Rsv != 0:
			return h, protocolErrorf("websocket extension bits %#x", wh.Rsv)
		case wh.Length > fr.maxFrame:
			return h, protocolErrorf("frame of %d bytes exceeds limit %d", wh.Length, fr.maxFrame)
		case wh.Length > 0 && wh.Length < packetHeaderSize:
			return h, protocolErrorf("frame of %d bytes cannot hold a packet", wh.Length)
		}
		fr.remaining = wh.Length
	}
	if fr.remaining < packetHeaderSize {
		return h, protocolErrorf("%d trailing bytes in frame", fr.remaining)
	}
	if _, err := io.ReadFull(fr.r, fr.scratch[:]); err != nil {
		return h, fmt.Errorf("read packet header: %w", noEOF(err))
	}
	fr.remaining -= packetHeaderSize
	h.parse(fr.scratch[:])
	if int64(h.len) > fr.remaining {
		return h, protocolErrorf("packet of %d bytes overruns its frame (%d left)", h.len, fr.remaining)
	}
	if fr.checksums {
		fr.seed = xxh3.Hash(fr.scratch[:sumOffset])
		fr.want = binary.LittleEndian.Uint32(fr.scratch[sumOffset:])
		fr.left = h.len
		if h.len == 0 {
			if err := fr.check(nil); err != nil {
				return h, err
			}
		}
	}
	if err := h.validate(fr.maxMessage); err != nil {
		return h, err
	}
	return h, nil
}

// check verifies the current packet's checksum against its whole payload.
func (fr *frameReader) check(payload []byte) error {
	if got := uint32(xxh3.HashSeed(payload, fr.seed)); got != fr.want {
		return protocolErrorf("packet checksum %#08x, header says %#08x: corrupted in transit", got, fr.want)
	}
	return nil
}

// readPayload reads the current packet's payload into dst. With checksums on,
// dst must take the whole payload (the sum is computed in one pass, which is
// what makes it cheap); every caller reads a packet whole before acting on
// it, so a packet whose checksum fails is never acted upon.
func (fr *frameReader) readPayload(dst []byte) error {
	if fr.checksums && uint32(len(dst)) != fr.left {
		return fmt.Errorf("grid: reading %d of a packet's %d payload bytes with checksums on", len(dst), fr.left)
	}
	if _, err := io.ReadFull(fr.r, dst); err != nil {
		return fmt.Errorf("read packet payload: %w", noEOF(err))
	}
	fr.remaining -= int64(len(dst))
	if fr.checksums && len(dst) > 0 {
		fr.left = 0
		return fr.check(dst)
	}
	return nil
}

// skip discards the current packet's n payload bytes. With checksums on they
// are still read and checked: a corrupted stream is closed even when the
// packet it corrupted was not wanted.
func (fr *frameReader) skip(n int) error {
	if !fr.checksums {
		if _, err := fr.r.Discard(n); err != nil {
			return fmt.Errorf("skip packet payload: %w", noEOF(err))
		}
		fr.remaining -= int64(n)
		return nil
	}
	if n == 0 && fr.left == 0 {
		return nil
	}
	b := GetBuffer(n)[:n]
	defer PutBuffer(b)
	return fr.readPayload(b)
}

// noEOF turns a clean EOF in the middle of a frame into ErrUnexpectedEOF: the
// peer went away mid-message.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// maxWSHeader is the largest websocket header the writer produces (unmasked,
// 64-bit length).
const maxWSHeader = 10

// putWSHeader writes a FIN+binary websocket header for a payload of n bytes so
// that it ends exactly at b[maxWSHeader], and returns where it starts. Frames
// are built with the header space reserved in front, so header and payload go
// out in one write.
func putWSHeader(b []byte, n int) int {
	switch {
	case n < 126:
		b[8] = 0x80 | byte(ws.OpBinary)
		b[9] = byte(n)
		return 8
	case n <= 0xffff:
		b[6] = 0x80 | byte(ws.OpBinary)
		b[7] = 126
		binary.BigEndian.PutUint16(b[8:], uint16(n))
		return 6
	default:
		b[0] = 0x80 | byte(ws.OpBinary)
		b[1] = 127
		binary.BigEndian.PutUint64(b[2:], uint64(n))
		return 0
	}
}
