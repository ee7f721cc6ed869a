package grid

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/gridstore/gridstore/proto"
)

// Local errors: the call never reached a handler's answer.
var (
	// ErrDisconnected is returned while no connection to the peer is up, and
	// to every call in flight on a connection that is lost.
	ErrDisconnected = errors.New("grid: peer disconnected")
	// ErrUnknownPeer is returned for a peer the Manager was not configured with.
	ErrUnknownPeer = errors.New("grid: unknown peer")
	// ErrClosed is returned after Manager.Close.
	ErrClosed = errors.New("grid: manager closed")
	// ErrUnauthorized means a peer presented a bad or missing token, or could
	// not prove it knows the cluster secret.
	ErrUnauthorized = errors.New("grid: unauthorized")
	// ErrTLSRequired means a node that runs its grid over TLS was reached
	// over plain HTTP, or without a verified client certificate.
	ErrTLSRequired = errors.New("grid: TLS with a verified client certificate required")
	// ErrBusy means the peer is serving as many calls from this node as it
	// allows, or as many bytes of them: the call was not run and may be
	// retried.
	ErrBusy = errors.New("grid: peer busy")
	// ErrVersionMismatch means the two sides speak different grid protocols.
	ErrVersionMismatch = errors.New("grid: protocol version mismatch")
	// ErrPeerSilent means nothing was heard from the peer within PeerTimeout.
	ErrPeerSilent = errors.New("grid: peer silent, declared dead")
	// ErrMessageTooLarge is returned for a message over Config.MaxMessageSize.
	ErrMessageTooLarge = errors.New("grid: message too large")
	// ErrNoInput is returned by Stream.Send when the handler takes no input.
	ErrNoInput = errors.New("grid: stream handler takes no input")
	// ErrSendClosed is returned by Stream.Send after CloseSend.
	ErrSendClosed = errors.New("grid: send side of stream closed")
)

// Remote error codes the grid itself produces. Handlers' own sentinel errors
// get codes through RegisterError.
const (
	CodeUnknownHandler = "grid.UnknownHandler"
	CodePanic          = "grid.HandlerPanic"
	CodeCanceled       = "grid.Canceled"
	CodeDeadline       = "grid.DeadlineExceeded"
	CodeBadRequest     = "grid.BadRequest"
	CodeBusy           = "grid.Busy"
	CodeTooLarge       = "grid.MessageTooLarge"
	codeGeneric        = ""
)

// ErrUnknownHandler is what a RemoteErr with CodeUnknownHandler matches.
var ErrUnknownHandler = errors.New("grid: unknown handler")

// ErrHandlerPanic is what a RemoteErr with CodePanic matches.
var ErrHandlerPanic = errors.New("grid: handler panicked")

// ErrBadRequest is what a RemoteErr with CodeBadRequest matches: the handler
// could not decode its input.
var ErrBadRequest = errors.New("grid: bad request payload")

// RemoteErr is an error returned by the handler on the remote side. Code maps
// back to the sentinel registered for it with RegisterError, so
// errors.Is(err, storage.ErrFileNotFound) holds on both sides of the grid.
type RemoteErr struct {
	Code string
	Msg  string
}

func (e *RemoteErr) Error() string {
	if e.Msg == "" {
		return "remote: " + e.Code
	}
	return "remote: " + e.Msg
}

// Unwrap returns the local sentinel registered for the code, if any.
func (e *RemoteErr) Unwrap() error {
	if e.Code == codeGeneric {
		return nil
	}
	return errorForCode(e.Code)
}

// NewRemoteErr builds a RemoteErr without a code, for handlers that want to
// return a plain message.
func NewRemoteErr(format string, args ...any) *RemoteErr {
	return &RemoteErr{Msg: fmt.Sprintf(format, args...)}
}

var errorCodes = struct {
	sync.RWMutex
	byCode map[string]error
	byErr  map[error]string
	order  []error // checked in registration order by errors.Is
}{
	byCode: map[string]error{},
	byErr:  map[error]string{},
}

func init() {
	RegisterError(CodeUnknownHandler, ErrUnknownHandler)
	RegisterError(CodePanic, ErrHandlerPanic)
	RegisterError(CodeBadRequest, ErrBadRequest)
	RegisterError(CodeBusy, ErrBusy)
	RegisterError(CodeTooLarge, ErrMessageTooLarge)
	RegisterError(CodeCanceled, context.Canceled)
	RegisterError(CodeDeadline, context.DeadlineExceeded)
}

// RegisterError gives a sentinel error a stable wire code. A handler error
// that errors.Is the sentinel travels with that code, and the caller's
// RemoteErr unwraps to the same sentinel. Codes must be unique and stable;
// register at init time.
func RegisterError(code string, sentinel error) {
	if code == codeGeneric || sentinel == nil {
		panic("grid: RegisterError needs a code and an error") // programming error at init
	}
	errorCodes.Lock()
	defer errorCodes.Unlock()
	if prev, ok := errorCodes.byCode[code]; ok && prev != sentinel {
		panic("grid: error code registered twice: " + code)
	}
	if _, ok := errorCodes.byErr[sentinel]; !ok {
		errorCodes.order = append(errorCodes.order, sentinel)
	}
	errorCodes.byCode[code] = sentinel
	errorCodes.byErr[sentinel] = code
}

func errorForCode(code string) error {
	errorCodes.RLock()
	defer errorCodes.RUnlock()
	return errorCodes.byCode[code]
}

// toWire turns a handler's error into what goes on the wire.
func toWire(err error) proto.RemoteError {
	var re *RemoteErr
	if errors.As(err, &re) {
		return proto.RemoteError{Code: re.Code, Msg: re.Msg}
	}
	errorCodes.RLock()
	defer errorCodes.RUnlock()
	if code, ok := errorCodes.byErr[err]; ok {
		return proto.RemoteError{Code: code, Msg: err.Error()}
	}
	for _, sentinel := range errorCodes.order {
		if errors.Is(err, sentinel) {
			return proto.RemoteError{Code: errorCodes.byErr[sentinel], Msg: err.Error()}
		}
	}
	return proto.RemoteError{Msg: err.Error()}
}

// decodeRemoteErr decodes an error payload. A payload that does not decode is
// itself reported as a remote error rather than dropped.
func decodeRemoteErr(b []byte) *RemoteErr {
	var w proto.RemoteError
	if _, err := w.UnmarshalMsg(b); err != nil {
		return &RemoteErr{Code: CodeBadRequest, Msg: fmt.Sprintf("undecodable remote error (%d bytes): %v", len(b), err)}
	}
	return &RemoteErr{Code: w.Code, Msg: w.Msg}
}
