package local

import (
	"errors"
	"sync"
	"time"

	"github.com/gridstore/gridstore/storage"
)

// Operation names, the keys of DiskInfo.Latency: the Drive methods.
const (
	opDiskInfo       = "DiskInfo"
	opMakeVol        = "MakeVol"
	opStatVol        = "StatVol"
	opListVols       = "ListVols"
	opDeleteVol      = "DeleteVol"
	opCreateFile     = "CreateFile"
	opReadFileStream = "ReadFileStream"
	opDelete         = "Delete"
	opListDir        = "ListDir"
	opRenameData     = "RenameData"
	opReadVersion    = "ReadVersion"
	opReadMetadata   = "ReadMetadata"
	opWriteMetadata  = "WriteMetadata"
	opDeleteVersion  = "DeleteVersion"
	opWalkDir        = "WalkDir"
	opVerifyFile     = "VerifyFile"
)

// latencyStats keeps a moving average of every operation's duration. One
// mutex for all: an update is a few nanoseconds next to the system calls
// of the operation it measures.
type latencyStats struct {
	mu  sync.Mutex
	ops map[string]*storage.OpLatency
}

// track records the duration of an operation that started at start and
// ended with *err; use it deferred. Durations of streaming operations
// (CreateFile, WalkDir) include the time spent by the caller's reader or
// callback.
func (d *Drive) track(op string, start time.Time, err *error) {
	elapsed := time.Since(start)
	s := &d.latency
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ops == nil {
		s.ops = make(map[string]*storage.OpLatency)
	}
	l := s.ops[op]
	if l == nil {
		l = &storage.OpLatency{Avg: elapsed}
		s.ops[op] = l
	}
	l.Count++
	if *err != nil && isDriveFault(*err) {
		l.Errors++
	}
	l.Avg += (elapsed - l.Avg) / 8
	l.Last = elapsed
}

// isDriveFault reports errors that say the drive is unwell, as opposed to
// a caller asking for something that is not there or not allowed.
func isDriveFault(err error) bool {
	for _, fault := range []error{storage.ErrFaultyDisk, storage.ErrDiskFull, storage.ErrDiskAccessDenied, storage.ErrFileCorrupt} {
		if errors.Is(err, fault) {
			return true
		}
	}
	return false
}

func (s *latencyStats) snapshot() map[string]storage.OpLatency {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]storage.OpLatency, len(s.ops))
	for op, l := range s.ops {
		out[op] = *l
	}
	return out
}
