package nslock

//go:generate go tool msgp

// The wire types of the lock handlers (proto.HandlerLock ... HandlerForceUnlock).
// Every handler takes LockArgs and answers LockReply; the handler ID says what
// to do. Field tags are part of the wire format: never rename one.
//
// The limit bounds what a decoder allocates for the resource array before it
// has seen the elements, so a garbage request cannot ask for gigabytes.

//msgp:limit arrays:10000 maps:16

// LockArgs names a lock: the holder's lock UID (random, one per Lock call, the
// same on every node) and the resources it covers, sorted and deduplicated.
// ForceUnlock ignores UID.
type LockArgs struct {
	UID       string   `msg:"u"`
	Resources []string `msg:"r"`
}

// Reset clears a for reuse but keeps the Resources array: the grid pools
// decoded requests of types that have a Reset method. The strings themselves
// are fresh allocations on every decode, so a server may keep them.
func (a *LockArgs) Reset() { *a = LockArgs{Resources: a.Resources[:0]} }

// LockReply is a lock server's answer. OK means: granted (Lock, RLock), still
// held (RefreshLock), something was released (Unlock, RUnlock, ForceUnlock).
type LockReply struct {
	OK bool `msg:"ok"`
}
