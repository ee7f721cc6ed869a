package proto

import "strconv"

// HandlerID names a grid handler on the wire. IDs are never reused or given a
// new meaning: an incompatible change gets a new ID.
//
// IDs are grouped in ranges, one per subsystem, so that subsystems add
// handlers without touching each other's lines:
//
//	1–99     grid itself, demo and tests
//	100–199  drives (storage/remote)
//	200–249  namespace locks (node/object/nslock)
//	250–299  node bootstrap: format agreement at start-up (node/bootstrap)
//	300–65535 free
type HandlerID uint16

// Grid, demo and tests.
const (
	// HandlerInvalid is the zero value and never registered, so a zeroed
	// header cannot reach a handler by accident.
	HandlerInvalid HandlerID = 0
	// HandlerEcho answers with its payload; used by health checks, the grid
	// demo and tests.
	HandlerEcho HandlerID = 1
	// HandlerEchoStream echoes every inbound message of a stream.
	HandlerEchoStream HandlerID = 2
	// HandlerTest is reserved for tests that register their own behaviour.
	HandlerTest HandlerID = 3
	// HandlerTestStream is reserved for stream tests.
	HandlerTestStream HandlerID = 4
)

// Drives (storage/remote). Each is registered once per drive, on a subroute
// that is the drive's endpoint string.
const (
	// HandlerDriveDiskInfo serves Drive.DiskInfo.
	HandlerDriveDiskInfo HandlerID = 100
	// HandlerDriveMakeVol serves Drive.MakeVol.
	HandlerDriveMakeVol HandlerID = 101
	// HandlerDriveStatVol serves Drive.StatVol.
	HandlerDriveStatVol HandlerID = 102
	// HandlerDriveListVols serves Drive.ListVols.
	HandlerDriveListVols HandlerID = 103
	// HandlerDriveDeleteVol serves Drive.DeleteVol.
	HandlerDriveDeleteVol HandlerID = 104
	// HandlerDriveCreateFile serves Drive.CreateFile: a stream of shard
	// bytes from the caller; the stream's end carries the result.
	HandlerDriveCreateFile HandlerID = 105
	// HandlerDriveDelete serves Drive.Delete.
	HandlerDriveDelete HandlerID = 106
	// HandlerDriveListDir serves Drive.ListDir.
	HandlerDriveListDir HandlerID = 107
	// HandlerDriveRenameData serves Drive.RenameData.
	HandlerDriveRenameData HandlerID = 108
	// HandlerDriveReadVersion serves Drive.ReadVersion.
	HandlerDriveReadVersion HandlerID = 109
	// HandlerDriveReadMetadata serves Drive.ReadMetadata.
	HandlerDriveReadMetadata HandlerID = 110
	// HandlerDriveWriteMetadata serves Drive.WriteMetadata.
	HandlerDriveWriteMetadata HandlerID = 111
	// HandlerDriveDeleteVersion serves Drive.DeleteVersion.
	HandlerDriveDeleteVersion HandlerID = 112
	// 113 served Drive.WalkDir with messages of MetaEntry values back to
	// back; retired for HandlerDriveWalkDir (a message is now one msgp
	// map), never to be registered again: each format reads the other as
	// empty batches or nameless entries, not as an error.

	// HandlerDriveVerifyFile serves Drive.VerifyFile.
	HandlerDriveVerifyFile HandlerID = 114
	// HandlerDriveWalkDir serves Drive.WalkDir: a typed stream of batches
	// of entries (storage/remote walkBatch) from the handler.
	HandlerDriveWalkDir HandlerID = 115
)

// Namespace locks.
const (
	// HandlerLock asks a lock server for a write lock.
	HandlerLock HandlerID = 200
	// HandlerRLock asks a lock server for a read lock.
	HandlerRLock HandlerID = 201
	// HandlerUnlock releases a write lock.
	HandlerUnlock HandlerID = 202
	// HandlerRUnlock releases a read lock.
	HandlerRUnlock HandlerID = 203
	// HandlerRefreshLock tells a lock server a lock is still held.
	HandlerRefreshLock HandlerID = 204
	// HandlerForceUnlock drops a lock whatever its owner (admin, tests).
	HandlerForceUnlock HandlerID = 205
)

// Node bootstrap.
const (
	// HandlerBootstrapInfo returns a node's view of the deployment: its
	// topology fingerprint, version and the format state of its drives.
	HandlerBootstrapInfo HandlerID = 250
	// HandlerBootstrapFormat asks a node to format its empty drives with a
	// deployment's format records.
	HandlerBootstrapFormat HandlerID = 251
)

var handlerNames = map[HandlerID]string{
	HandlerEcho:       "Echo",
	HandlerEchoStream: "EchoStream",
	HandlerTest:       "Test",
	HandlerTestStream: "TestStream",

	HandlerDriveDiskInfo:      "DriveDiskInfo",
	HandlerDriveMakeVol:       "DriveMakeVol",
	HandlerDriveStatVol:       "DriveStatVol",
	HandlerDriveListVols:      "DriveListVols",
	HandlerDriveDeleteVol:     "DriveDeleteVol",
	HandlerDriveCreateFile:    "DriveCreateFile",
	HandlerDriveDelete:        "DriveDelete",
	HandlerDriveListDir:       "DriveListDir",
	HandlerDriveRenameData:    "DriveRenameData",
	HandlerDriveReadVersion:   "DriveReadVersion",
	HandlerDriveReadMetadata:  "DriveReadMetadata",
	HandlerDriveWriteMetadata: "DriveWriteMetadata",
	HandlerDriveDeleteVersion: "DriveDeleteVersion",
	HandlerDriveWalkDir:       "DriveWalkDir",
	HandlerDriveVerifyFile:    "DriveVerifyFile",

	HandlerLock:        "Lock",
	HandlerRLock:       "RLock",
	HandlerUnlock:      "Unlock",
	HandlerRUnlock:     "RUnlock",
	HandlerRefreshLock: "RefreshLock",
	HandlerForceUnlock: "ForceUnlock",

	HandlerBootstrapInfo:   "BootstrapInfo",
	HandlerBootstrapFormat: "BootstrapFormat",
}

// Valid reports whether h is a known, registrable handler ID.
func (h HandlerID) Valid() bool {
	_, ok := handlerNames[h]
	return ok
}

// String returns the handler's name for logs and metrics.
func (h HandlerID) String() string {
	if n, ok := handlerNames[h]; ok {
		return n
	}
	return "Handler(" + strconv.Itoa(int(h)) + ")"
}
