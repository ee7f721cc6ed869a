package remote

import (
	"github.com/gridstore/gridstore/grid"
	"github.com/gridstore/gridstore/proto"
	"github.com/gridstore/gridstore/storage"
)

// The typed single requests, shared by the server (Register) and the client
// (Call). The streams are in file.go (CreateFile) and walk.go (WalkDir).
var (
	rpcDiskInfo      = grid.NewSingleRPC(proto.HandlerDriveDiskInfo, newEmpty, func() *storage.DiskInfo { return new(storage.DiskInfo) })
	rpcMakeVol       = grid.NewSingleRPC(proto.HandlerDriveMakeVol, func() *volReq { return new(volReq) }, newEmpty)
	rpcStatVol       = grid.NewSingleRPC(proto.HandlerDriveStatVol, func() *volReq { return new(volReq) }, func() *storage.VolInfo { return new(storage.VolInfo) })
	rpcListVols      = grid.NewSingleRPC(proto.HandlerDriveListVols, newEmpty, func() *volList { return new(volList) })
	rpcDeleteVol     = grid.NewSingleRPC(proto.HandlerDriveDeleteVol, func() *volReq { return new(volReq) }, newEmpty)
	rpcDelete        = grid.NewSingleRPC(proto.HandlerDriveDelete, func() *deleteReq { return new(deleteReq) }, newEmpty)
	rpcListDir       = grid.NewSingleRPC(proto.HandlerDriveListDir, func() *listDirReq { return new(listDirReq) }, func() *nameList { return new(nameList) })
	rpcRenameData    = grid.NewSingleRPC(proto.HandlerDriveRenameData, func() *renameDataReq { return new(renameDataReq) }, func() *storage.RenameDataResult { return new(storage.RenameDataResult) })
	rpcReadVersion   = grid.NewSingleRPC(proto.HandlerDriveReadVersion, func() *versionReq { return new(versionReq) }, func() *storage.FileInfo { return new(storage.FileInfo) })
	rpcReadMetadata  = grid.NewSingleRPC(proto.HandlerDriveReadMetadata, func() *pathReq { return new(pathReq) }, func() *blob { return new(blob) })
	rpcWriteMetadata = grid.NewSingleRPC(proto.HandlerDriveWriteMetadata, func() *fileInfoReq { return new(fileInfoReq) }, newEmpty)
	rpcDeleteVersion = grid.NewSingleRPC(proto.HandlerDriveDeleteVersion, func() *versionReq { return new(versionReq) }, newEmpty)
	rpcVerifyFile    = grid.NewSingleRPC(proto.HandlerDriveVerifyFile, func() *fileInfoReq { return new(fileInfoReq) }, newEmpty)
)

// empty is the one emptyMsg every handler answers with: it has no state, and
// the grid only reads it to encode the answer.
var empty = new(emptyMsg)

func newEmpty() *emptyMsg { return new(emptyMsg) }
