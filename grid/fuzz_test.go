package grid

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap"
)

// seedFrames returns well-formed grid traffic of every kind, as a peer that
// dialed would send it (odd mux IDs), for the fuzz corpora.
func seedFrames() [][]byte {
	req := packet(packetHeader{op: opRequest, handler: hEcho, mux: 1, arg: 1000}, []byte("hello"))
	sub := packet(packetHeader{op: opRequest, handler: hEcho, mux: 3, flags: flagSubroute}, append([]byte{2, 'd', '1'}, "x"...))
	var win [8]byte
	binary.LittleEndian.PutUint32(win[0:], 4)
	binary.LittleEndian.PutUint32(win[4:], 1<<20)
	open := packet(packetHeader{op: opOpen, handler: hStream, mux: 5}, append(win[:], "payload"...))
	msg := packet(packetHeader{op: opMsg, mux: 5}, []byte("in-stream"))
	closeSend := packet(packetHeader{op: opCloseSend, mux: 5}, nil)
	credit := packet(packetHeader{op: opCredit, mux: 5, arg: 1, size: 3}, nil)
	ping := packet(packetHeader{op: opPing}, make([]byte, 8))
	cancel := packet(packetHeader{op: opCancel, mux: 1}, nil)
	// A fragmented request: two packets in two frames.
	frag1 := packet(packetHeader{op: opRequest, handler: hEcho, mux: 7, size: 6, flags: flagMore}, []byte("abc"))
	frag2 := packet(packetHeader{op: opRequest, handler: hEcho, mux: 7, size: 6, flags: flagCont}, []byte("def"))
	join := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	return [][]byte{
		frame(req),
		frame(join(req, sub, ping)),
		join(frame(open), frame(join(msg, msg, closeSend)), frame(credit)),
		join(frame(frag1), frame(frag2)),
		join(frame(req), frame(cancel)),
		{0x89, 0x00}, // a websocket ping
		{0x88, 0x00}, // a websocket close
	}
}

// FuzzFrameReader: no input makes the frame decoder panic, loop, or read past
// what a header announced, with checksums checked (as without TLS) or not
// (as with TLS, and so that mutated inputs get past the checksum).
func FuzzFrameReader(f *testing.F) {
	for _, s := range seedFrames() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		readFrames(t, data, true)
		readFrames(t, data, false)
	})
}

func readFrames(t *testing.T, data []byte, checksums bool) {
	{
		fr := frameReader{r: bufio.NewReader(bytes.NewReader(data)), maxFrame: maxIncomingFrame, maxMessage: 1 << 20, checksums: checksums}
		for range len(data) + 1 {
			h, err := fr.next()
			if err != nil {
				return
			}
			if int64(h.len) > int64(len(data)) {
				t.Fatalf("header announces %d payload bytes, input has %d", h.len, len(data))
			}
			if h.len > h.size && h.op != opCredit {
				t.Fatalf("validated header with len %d > size %d", h.len, h.size)
			}
			if err := fr.skip(int(h.len)); err != nil {
				return
			}
		}
		t.Fatal("decoder did not end on finite input")
	}
}

// FuzzSession feeds arbitrary bytes to a live session, as a peer would, with
// real handlers registered: nothing may panic, hang, or leak; the session
// just ends. Checksums are off, as on a TLS connection: with them on, almost
// every mutation would stop at the first checksum, which FuzzFrameReader
// covers.
func FuzzSession(f *testing.F) {
	for _, s := range seedFrames() {
		f.Add(s)
	}
	cfg := LocalConfig()
	cfg.Self, cfg.Peers, cfg.Secret = "127.0.0.1:1", []string{"127.0.0.1:1", "127.0.0.1:2"}, testSecret
	cfg.Logger = zap.NewNop()
	m, err := NewManager(cfg)
	if err != nil {
		f.Fatal(err)
	}
	registerEchoStream(0, m)
	_ = m.RegisterSingle(hTest, echo, "d1")
	p := m.peers["127.0.0.1:2"]
	f.Fuzz(func(t *testing.T, data []byte) {
		ours, theirs := net.Pipe()
		s := newSession(m, p, ours, nil, false, ownLimits(&m.cfg))
		s.fr.checksums, s.checksums = false, false
		p.install(s)
		go func() { _, _ = drain(theirs) }() // take what the session answers
		_ = theirs.SetWriteDeadline(time.Now().Add(5 * time.Second))
		_, _ = theirs.Write(data)
		_ = theirs.Close()
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			t.Fatal("session did not end after its peer went away")
		}
		s.wg.Wait()
	})
	if err := m.Close(); err != nil {
		f.Fatal(err)
	}
}

func drain(c net.Conn) (int64, error) {
	buf := make([]byte, 32<<10)
	var n int64
	for {
		k, err := c.Read(buf)
		n += int64(k)
		if err != nil {
			return n, err
		}
	}
}

// TestWriteFuzzCorpus regenerates the committed seed corpora when asked:
// GRID_WRITE_CORPUS=1 go test -run TestWriteFuzzCorpus ./grid/
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("GRID_WRITE_CORPUS") == "" {
		t.Skip("set GRID_WRITE_CORPUS=1 to rewrite testdata/fuzz")
	}
	for _, target := range []string{"FuzzFrameReader", "FuzzSession"} {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for i, s := range seedFrames() {
			body := "go test fuzz v1\n[]byte(" + quoteBytes(s) + ")\n"
			if err := os.WriteFile(filepath.Join(dir, "seed"+string(rune('a'+i))), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func quoteBytes(b []byte) string {
	var buf bytes.Buffer
	buf.WriteByte('"')
	for _, c := range b {
		buf.WriteString(`\x`)
		buf.WriteByte("0123456789abcdef"[c>>4])
		buf.WriteByte("0123456789abcdef"[c&15])
	}
	buf.WriteByte('"')
	return buf.String()
}
