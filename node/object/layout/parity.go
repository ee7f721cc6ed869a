package layout

import (
	"fmt"
	"strconv"
	"strings"
)

// Bounds of an erasure set, in drives. Below 4 drives erasure coding
// protects too little to be worth its cost; above 16 every write fans out to
// too many drives and the Reed-Solomon matrix grows (package erasure codes at
// most 16 shards).
const (
	MinSetSize = 4
	MaxSetSize = 16
)

// DefaultParity is the parity of a set of setSize drives when the deployment
// does not choose one (DESIGN §5): 4–5 drives → 2, 6–7 → 3, 8–16 → 4. It is 0
// for a size outside [MinSetSize, MaxSetSize].
func DefaultParity(setSize int) int {
	switch {
	case setSize < MinSetSize || setSize > MaxSetSize:
		return 0
	case setSize < 6:
		return 2
	case setSize < 8:
		return 3
	default:
		return 4
	}
}

// ValidateParity reports whether parity is usable on a set of setSize drives:
// 1 <= parity <= setSize/2. More parity than data would not add safety that a
// smaller set could not give more cheaply, and the coder needs data >= parity.
func ValidateParity(setSize, parity int) error {
	if setSize < MinSetSize || setSize > MaxSetSize {
		return fmt.Errorf("%w: %d drives, want %d to %d", ErrBadSetSize, setSize, MinSetSize, MaxSetSize)
	}
	if parity < 1 || parity > setSize/2 {
		return fmt.Errorf("%w: parity %d on sets of %d drives, want 1 to %d", ErrBadParity, parity, setSize, setSize/2)
	}
	return nil
}

// ReadQuorum is the number of drives of a set that must agree for a read:
// the data shard count. Meaningful for inputs ValidateParity accepts.
func ReadQuorum(setSize, parity int) int { return setSize - parity }

// WriteQuorum is the number of drives of a set that must commit a write
// before it is acknowledged: the data shard count, plus one when data ==
// parity, because two halves that each reached "data" drives could otherwise
// both believe they won (split brain). Meaningful for inputs ValidateParity
// accepts.
func WriteQuorum(setSize, parity int) int {
	data := setSize - parity
	if data == parity {
		return data + 1
	}
	return data
}

// AdjustParity raises the parity of one write when offline drives of its set
// are known at write time, so that the object is stored with the durability
// the deployment asked for despite the missing drives (as MinIO does): the new
// parity is min(parity+offline, setSize/2). ok is false when even that parity
// leaves fewer online drives than its write quorum, i.e. the write must fail,
// and for inputs that describe no valid set (newParity is parity then).
func AdjustParity(setSize, parity, offline int) (newParity int, ok bool) {
	if ValidateParity(setSize, parity) != nil || offline < 0 || offline > setSize {
		return parity, false
	}
	newParity = min(parity+offline, setSize/2)
	return newParity, setSize-offline >= WriteQuorum(setSize, newParity)
}

// Storage class names a client may send in x-amz-storage-class.
const (
	// Standard objects get the deployment's parity.
	Standard = "STANDARD"
	// ReducedRedundancy objects get less parity (2 by default, never more
	// than Standard): cheaper, for data that can be recreated.
	ReducedRedundancy = "REDUCED_REDUNDANCY"
)

// ParseParity parses the configuration form of a parity, "EC:N" (case
// insensitive "EC"), as MinIO's storage class settings write it. The empty
// string is 0, meaning "the default".
func ParseParity(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	prefix, num, found := strings.Cut(s, ":")
	if !found || !strings.EqualFold(prefix, "EC") {
		return 0, fmt.Errorf("%w: %q, want EC:N", ErrBadParity, s)
	}
	// Atoi would accept "+2"; only plain digits are a parity.
	if num == "" || len(num) > 2 || strings.Trim(num, "0123456789") != "" {
		return 0, fmt.Errorf("%w: %q, want EC:N with N a small number", ErrBadParity, s)
	}
	n, _ := strconv.Atoi(num) // at most two digits: cannot fail
	if n < 1 {
		return 0, fmt.Errorf("%w: %q, parity must be at least 1", ErrBadParity, s)
	}
	return n, nil
}

// StorageClasses maps storage classes to parities for one set size. Build it
// with NewStorageClasses.
type StorageClasses struct {
	SetSize  int
	Standard int // parity of STANDARD objects: the deployment's parity
	Reduced  int // parity of REDUCED_REDUNDANCY objects
}

// NewStorageClasses validates the parities of a deployment whose sets have
// setSize drives. standard 0 means DefaultParity(setSize); reduced 0 means
// min(2, standard). Reduced may not exceed standard: a class named "reduced"
// that stored more parity would surprise.
func NewStorageClasses(setSize, standard, reduced int) (StorageClasses, error) {
	if standard == 0 {
		standard = DefaultParity(setSize)
	}
	if err := ValidateParity(setSize, standard); err != nil {
		return StorageClasses{}, fmt.Errorf("storage class %s: %w", Standard, err)
	}
	if reduced == 0 {
		reduced = min(2, standard)
	}
	if err := ValidateParity(setSize, reduced); err != nil {
		return StorageClasses{}, fmt.Errorf("storage class %s: %w", ReducedRedundancy, err)
	}
	if reduced > standard {
		return StorageClasses{}, fmt.Errorf("%w: %s parity %d above %s parity %d", ErrBadParity, ReducedRedundancy, reduced, Standard, standard)
	}
	return StorageClasses{SetSize: setSize, Standard: standard, Reduced: reduced}, nil
}

// Parity returns the parity for an object of the given storage class: ""
// and STANDARD get Standard, REDUCED_REDUNDANCY gets Reduced. Any other class
// (GLACIER, EC:N, ...) is ErrUnknownStorageClass: clients choose among the
// classes the operator configured, never a raw parity, so nobody can store
// data with less protection than the operator allowed.
func (c StorageClasses) Parity(class string) (int, error) {
	switch class {
	case "", Standard:
		return c.Standard, nil
	case ReducedRedundancy:
		return c.Reduced, nil
	default:
		return 0, fmt.Errorf("%w: %q, want %s or %s", ErrUnknownStorageClass, class, Standard, ReducedRedundancy)
	}
}
