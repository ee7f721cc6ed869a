package proto

//go:generate go tool msgp -unexported=false

// RemoteError is how a handler's error crosses the grid: a stable code that
// the receiving side maps back to the same sentinel error, plus the message.
type RemoteError struct {
	Code string `msg:"c"`
	Msg  string `msg:"m"`
}

// EchoMsg is the payload of the echo handlers: the demo, the health checks and
// the typed-handler tests use it.
type EchoMsg struct {
	Seq  uint64 `msg:"s"`
	Text string `msg:"t"`
	Data []byte `msg:"d"`
}

// Reset clears m for reuse but keeps Data's memory: the grid pools decoded
// requests of types that have a Reset method.
func (m *EchoMsg) Reset() { *m = EchoMsg{Data: m.Data[:0]} }
