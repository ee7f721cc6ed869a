// Package missedlog remembers, durably, the writes that succeeded without
// some drives of their set, and heals them there once those drives are
// back, without waiting for anyone to read the objects (DESIGN §7: "what a
// node or drive missed while away is healed when it returns").
//
// # The log
//
// Every node keeps one Log, with one file per local drive, in the drive's
// system directory (DirOf: <drive>/.gridstore.sys/missed/missed-writes.log),
// where no bucket reaches and which the drive's own start-up wipes leave
// alone. A PUT, multipart Complete or DELETE (and so CopyObject's write)
// that reached its quorum without some drives (offline, timed out, a
// straggler given up, a failed write), or a failed write whose rollback
// missed some, calls RememberMissed (object.MissedWrites) with the object,
// the version and the set positions it missed, before it is acknowledged.
//
// A record is appended to every file; RememberMissed returns once one
// file has synced it. Each file has a writer goroutine that takes what was
// appended while it was syncing the last batch and writes and syncs it at
// once (group commit): a burst of degraded writes shares syncs, and
// healthy writes never touch the log. The records are framed with a length
// and a CRC-32C (record.go); at Open, the entries of all files are joined,
// minus those any file marks done, and each file is rewritten with only the
// waiting entries (a file also is rewritten once it outgrows CompactBytes).
// A record cut short at the end of a file, or whole but wrong and with
// nothing but zeros after it, is a crash during its append: it was never
// acknowledged, and it is dropped. Done marks are appended without waiting
// for a sync: a lost one only makes an object be healed (found healthy)
// once more.
//
// # When the log may be incomplete
//
// The log is incomplete when a file is damaged anywhere but at its tail, a
// record could be stored in no file (every file failed, or none synced
// within the write's 5 s), or more than MaxEntries entries wait. The write
// is still acknowledged: its data has its quorum, and losing its heal
// record risks redundancy, never the object. Instead the log marks itself
// incomplete (durably, with a loss record, when it can), and the node walks
// every set (Healer, HealerConfig.Walk: object.Layer.HealWalk) until one
// walk has completed after the loss. A log lost whole with its drives is
// not seen as incomplete by itself: such drives come back fresh, marked
// healing, and the node then walks every set too.
//
// The other node's log is out of reach when that node is down, and a node
// that was away long may have missed writes whose writers lost their logs
// or were down too. So, besides the logs, a return after an absence of at
// least the node's HealTiming.WalkAfter (10 minutes by default) is followed
// by a walk of the sets holding the returning node's drives (by one node:
// the first in topology order that gossip holds alive), or of a local
// drive's set when it comes back into service. A walk lists each bucket of
// the set by the read rules (node/object/listing) and heals every object
// that some available drive does not hold as its current version; it does
// not find an object deleted while a drive was away that only that drive
// still holds (the delete's own record does, and so does any read).
//
// # Healing
//
// A Healer takes the waiting entries, oldest first, at most Rate (50) a
// second, and heals each that is at least Settle old (the node's: twice
// its drive timeout; a commit the write gave up on may land until then,
// after a heal that found the drive as it was) and whose drives are not
// all known to be down
// (object.Set.KnownDown) with object.Layer.HealObject: an entry goes once
// every drive it names was healed or found up to date. It runs at start (a
// restarted node heals what its log holds), when woken (Kick: a node's
// memberlist return, a grid reconnect, a local drive back in service), and
// every Interval (1 minute); a pass that left entries unhealed is retried
// after 1 s, then 2, 4 ... up to Interval, since a node that just returned
// may take a moment to serve its drives.
package missedlog
