package remote

import "github.com/gridstore/gridstore/storage"

//go:generate go tool msgp -unexported -io=false

// The wire types of the drive handlers. They are part of the contract between
// nodes (see package proto): never rename a field tag or change its type; add
// fields, or a new handler ID for an incompatible change. Values that already
// have msgp types in package storage (FileInfo, DiskInfo, VolInfo,
// RenameDataResult, WalkDirOptions, MetaEntry) travel as they are.
//
// The limits bound what a decoder allocates for an array header before it has
// seen the elements, so a hostile payload cannot ask for gigabytes.

//msgp:limit arrays:65536 maps:1024

// emptyMsg is the request of DiskInfo and ListVols and the answer of every
// method that returns only an error.
type emptyMsg struct{}

// volReq names a volume: MakeVol, StatVol, DeleteVol.
type volReq struct {
	Volume string `msg:"v"`
}

// volList answers ListVols.
type volList struct {
	Vols []storage.VolInfo `msg:"v"`
}

// pathReq names a file or object: ReadMetadata.
type pathReq struct {
	Volume string `msg:"v"`
	Path   string `msg:"p"`
}

// deleteReq is Delete's request.
type deleteReq struct {
	Volume    string `msg:"v"`
	Path      string `msg:"p"`
	Recursive bool   `msg:"r"`
}

// listDirReq is ListDir's request.
type listDirReq struct {
	Volume string `msg:"v"`
	Dir    string `msg:"d"`
	Count  int    `msg:"n"`
}

// nameList answers ListDir. A directory may be large; the answer is bounded
// by the grid's message size (16 MiB by default) before this limit.
type nameList struct {
	Names []string `msg:"n,limit=1048576"`
}

// versionReq names a version: ReadVersion, DeleteVersion.
type versionReq struct {
	Volume    string `msg:"v"`
	Path      string `msg:"p"`
	VersionID string `msg:"id"`
}

// blob answers ReadMetadata with the raw record.
type blob struct {
	Data []byte `msg:"d"`
}

// fileInfoReq carries a version: WriteMetadata, VerifyFile.
type fileInfoReq struct {
	Volume string           `msg:"v"`
	Path   string           `msg:"p"`
	FI     storage.FileInfo `msg:"fi"`
}

// renameDataReq is RenameData's request.
type renameDataReq struct {
	SrcVolume string           `msg:"sv"`
	SrcPath   string           `msg:"sp"`
	FI        storage.FileInfo `msg:"fi"`
	DstVolume string           `msg:"dv"`
	DstPath   string           `msg:"dp"`
}

// walkBatch is one message of a WalkDir stream: entries in walk order, a few
// at first and then up to walkMaxBatch (see walk.go). The options that open
// the stream are a storage.WalkDirOptions.
type walkBatch struct {
	Entries []storage.MetaEntry `msg:"e"`
}

// Reset clears b for reuse and keeps the memory of Entries, but not of the
// entries: decoding into a kept record would overwrite it under a caller
// that still holds it, and a kept entry would pin its record in memory.
func (b *walkBatch) Reset() {
	clear(b.Entries)
	b.Entries = b.Entries[:0]
}

// createFileReq opens a CreateFile stream. The shard bytes follow as the
// stream's messages (raw, not msgp: see createFileHandler).
type createFileReq struct {
	Volume string `msg:"v"`
	Path   string `msg:"p"`
	Size   int64  `msg:"s"`
}
