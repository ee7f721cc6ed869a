package proto

import "strconv"

// HandlerID names a grid handler on the wire. IDs are never reused or given a
// new meaning: an incompatible change gets a new ID.
type HandlerID uint16

const (
	// HandlerInvalid is the zero value and never registered, so a zeroed
	// header cannot reach a handler by accident.
	HandlerInvalid HandlerID = iota
	// HandlerEcho answers with its payload; used by health checks, the grid
	// demo and tests.
	HandlerEcho
	// HandlerEchoStream echoes every inbound message of a stream.
	HandlerEchoStream
	// HandlerTest is reserved for tests that register their own behaviour.
	HandlerTest
	// HandlerTestStream is reserved for stream tests.
	HandlerTestStream

	// handlerLast must stay last: IDs at or above it are unknown.
	handlerLast
)

var handlerNames = [...]string{
	HandlerInvalid:    "Invalid",
	HandlerEcho:       "Echo",
	HandlerEchoStream: "EchoStream",
	HandlerTest:       "Test",
	HandlerTestStream: "TestStream",
}

// Valid reports whether h is a known, registrable handler ID.
func (h HandlerID) Valid() bool { return h > HandlerInvalid && h < handlerLast }

// String returns the handler's name for logs and metrics.
func (h HandlerID) String() string {
	if int(h) < len(handlerNames) && handlerNames[h] != "" {
		return handlerNames[h]
	}
	return "Handler(" + strconv.Itoa(int(h)) + ")"
}
