package remote

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/gridstore/gridstore/grid"
	"github.com/gridstore/gridstore/storage"
)

// errUploadAborted is what a remote CreateFile's reader returns when the
// caller gave up mid-stream (its source failed or its context ended): the
// drive then discards what it wrote, and the caller reports its own error.
var errUploadAborted = errors.New("remote: upload aborted by the caller")

// codeUploadAborted lets the caller recognise its own abort echoed back in
// the handler's error, and not report it as a second failure.
const codeUploadAborted = "remote.UploadAborted"

// sentinels is storage's sentinels, looked up by the HTTP read endpoint to
// give an error its code (the grid does the same for its handlers).
var sentinels = storage.Sentinels()

func init() {
	// Every drive sentinel gets its stable code, so errors.Is(err,
	// storage.ErrFileNotFound) holds on the caller's side of the grid.
	// RegisterError accepts the same pair twice, so the node may register
	// them too.
	for _, e := range sentinels {
		grid.RegisterError(e.Code(), e)
	}
	grid.RegisterError(codeUploadAborted, errUploadAborted)
}

// offline reports whether err means the drive cannot be reached at all: no
// connection to its node, the node does not serve it, or our side is
// shutting down. Such errors are reported as storage.ErrDriveOffline, at
// once, so the object layer skips the drive instead of waiting on it.
func offline(err error) bool {
	return errors.Is(err, grid.ErrDisconnected) || errors.Is(err, grid.ErrClosed) ||
		errors.Is(err, grid.ErrUnknownPeer) || errors.Is(err, grid.ErrUnknownHandler) ||
		errors.Is(err, grid.ErrPeerSilent)
}

// codeOf returns the wire code of err: that of the first storage sentinel it
// wraps, or of a context error; "" for anything else.
func codeOf(err error) string {
	for _, e := range sentinels {
		if errors.Is(err, e) {
			return e.Code()
		}
	}
	switch {
	case errors.Is(err, context.Canceled):
		return grid.CodeCanceled
	case errors.Is(err, context.DeadlineExceeded):
		return grid.CodeDeadline
	}
	return ""
}

// errorFromCode rebuilds an error from a code and message sent by the read
// endpoint. It is a *grid.RemoteErr, so it unwraps to the sentinel the grid
// has registered for the code, exactly like an error from a grid handler.
func errorFromCode(code, msg string) error {
	return &grid.RemoteErr{Code: code, Msg: msg}
}

// httpStatus is the status the read endpoint answers an error with. The
// code header, not the status, is what the client maps back; the status is
// for people reading logs and curl output.
func httpStatus(err error) int {
	switch {
	case errors.Is(err, storage.ErrFileNotFound), errors.Is(err, storage.ErrVolumeNotFound),
		errors.Is(err, storage.ErrFileVersionNotFound):
		return http.StatusNotFound
	case errors.Is(err, storage.ErrInvalidArgument), errors.Is(err, storage.ErrInvalidPath),
		errors.Is(err, storage.ErrInvalidVolume):
		return http.StatusBadRequest
	case errors.Is(err, storage.ErrDriveOffline), errors.Is(err, storage.ErrDriveTimeout),
		errors.Is(err, storage.ErrDriveFaulty), errors.Is(err, context.Canceled),
		errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// wrap adds the operation and the drive to an error from the grid or the read
// endpoint, and turns "cannot reach the drive" into storage.ErrDriveOffline
// (keeping the cause in the chain).
func (c *Client) wrap(op string, err error) error {
	if offline(err) && !errors.Is(err, storage.ErrDriveOffline) {
		return fmt.Errorf("%s on %s: %w: %w", op, c, storage.ErrDriveOffline, err)
	}
	return fmt.Errorf("%s on %s: %w", op, c, err)
}
