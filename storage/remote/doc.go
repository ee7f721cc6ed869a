// Package remote makes a drive on one node usable from the others: Server
// serves a node's storage.Drives to its peers, and Client is a storage.Drive
// that reaches one of them, so the object layer holds local and remote drives
// alike and never knows which is which.
//
// # Addressing
//
// A drive is addressed by its endpoint string: exactly what its Endpoint()
// returns on the serving node (by default the local drive's absolute path; a
// node that opens its drives with Options.Endpoint set to the configured URL,
// "http://node1:9000/data1", gets that). The client is built with the same
// string (NewClient) and returns it from its own Endpoint(). It is the grid
// subroute of every handler of the drive, so it is at most 255 bytes, and the
// drive parameter of range reads.
//
// # How calls travel
//
//	Drive method                        transport (handler ID in package proto)
//	DiskInfo, MakeVol, StatVol,         grid single request, msgp-typed
//	ListVols, DeleteVol, Delete,        (grid.SingleRPC), one handler ID per
//	ListDir, RenameData, ReadVersion,   method: HandlerDriveMakeVol...
//	ReadMetadata, WriteMetadata,
//	DeleteVersion, VerifyFile
//	CreateFile                          raw grid stream HandlerDriveCreateFile:
//	                                    shard bytes from the caller, result at
//	                                    the end
//	WalkDir                             typed grid stream (grid.StreamRPC)
//	                                    HandlerDriveWalkDir: batches of entries
//	                                    from the handler, flow controlled, so
//	                                    the walk pauses when the caller does
//	ReadFileStream                      signed HTTP GET on ReadPath, served
//	                                    from file to socket with sendfile(2)
//
// The request and answer types are in msgs.go (generated code in
// msgs_gen.go); the storage types that already have msgp encodings travel as
// they are. Only the verdict of VerifyFile crosses the network: shards are
// verified where they are.
//
// # Errors
//
// Every storage sentinel is registered with the grid under its code
// (storage.Error.Code), so errors.Is(err, storage.ErrFileNotFound) holds on
// the client as it did on the server, with the server's message (a
// CorruptError's position included). The read endpoint sends the same codes
// in a header and the client maps them back with the same registry. Context
// cancellation and deadlines travel with every call (for CreateFile, see
// file.go). A drive that cannot be reached — no grid connection to its node,
// a node that does not serve it, a refused HTTP dial — fails at once with
// storage.ErrDriveOffline, so callers skip it instead of waiting for a
// timeout.
//
// # Writing shards
//
// ShardWriter puts a 2 MiB ring buffer (package ringbuf) in front of any
// Drive's CreateFile, so an erasure encoder writing one shard per drive
// blocks only on a drive that is really congested. For a remote drive the
// path of a shard is: encoder -> ring buffer -> grid stream (per-stream
// credit, other streams and requests unaffected) -> remote CreateFile.
//
// # Reading shards
//
// The node mounts Server.HTTPHandler at ReadPath on the HTTP server that
// serves the grid. When the drive's stream gives access to its file (a
// FileRange() (*os.File, int64) method, as the local drive's does) the range
// goes from the file to the socket in sendfile calls of the exact range
// (scripts/sendfile-strace.sh shows it); any other stream is copied. For
// sendfile to happen the HTTP server must hand net/http the plain
// *net.TCPConn (no wrapping listener or TLS), and for long ranges it must not
// set a short WriteTimeout.
//
// # TLS
//
// When the node's grid runs over TLS, give NewServer and NewClient the
// OverTLS option and NewClient an http.Client from NewHTTPClient with the
// grid's client configuration: reads then go over https with this node's
// certificate, and the read endpoint refuses a request without a verified
// client certificate (403, grid.ErrTLSRequired at the client) before it
// checks the signature. Encryption happens in user space, so reads over TLS
// are copied, never sent with sendfile.
package remote
