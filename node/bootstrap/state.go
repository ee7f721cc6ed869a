package bootstrap

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	"github.com/gridstore/gridstore/storage"
	"github.com/gridstore/gridstore/storage/local"
)

// DriveState is the format state of one drive as its node sees it.
type DriveState uint8

const (
	// DriveUnknown: no answer about the drive (its node is unreachable or
	// did not report it).
	DriveUnknown DriveState = iota
	// DriveOffline: its node cannot reach the drive's directory (missing
	// mount point, not a directory, I/O or permission error).
	DriveOffline
	// DriveEmpty: no format record and nothing else: it may be formatted.
	DriveEmpty
	// DriveFormatted: a valid format record (DriveInfo.Format).
	DriveFormatted
	// DriveNotEmpty: no format record but other files: somebody's data,
	// never formatted over.
	DriveNotEmpty
	// DriveDamaged: a format record that does not parse, does not hold
	// together, or was written by a newer version.
	DriveDamaged
)

var driveStateNames = [...]string{"unknown", "offline", "empty", "formatted", "not empty", "damaged"}

func (s DriveState) String() string {
	if int(s) < len(driveStateNames) {
		return driveStateNames[s]
	}
	return "invalid"
}

// DriveInfo is what a node reports about one of its drives.
type DriveInfo struct {
	Index  int              // global drive index
	State  DriveState       //
	Format local.FormatSpec // the record, for DriveFormatted
	Reason string           // what was found, for the states that are not usable
}

// Deployment is the identity every drive of a deployment records: what a
// read quorum of drives must agree on.
type Deployment struct {
	ID        string
	Sets      [][]string
	BitrotKey []byte
}

// Equal reports whether d and o are the same deployment: same ID, set
// layout and bitrot key. A record with the same ID but another layout or
// key is not the deployment (damaged or tampered with).
func (d Deployment) Equal(o Deployment) bool {
	return d.ID == o.ID && bytes.Equal(d.BitrotKey, o.BitrotKey) && slices.EqualFunc(d.Sets, o.Sets, slices.Equal[[]string])
}

// spec is the format record of the drive with the given ID.
func (d Deployment) spec(driveID string) local.FormatSpec {
	return local.FormatSpec{DeploymentID: d.ID, DriveID: driveID, Sets: d.Sets, BitrotKey: d.BitrotKey}
}

func deploymentOf(f local.FormatSpec) Deployment {
	return Deployment{ID: f.DeploymentID, Sets: f.Sets, BitrotKey: f.BitrotKey}
}

// probeDrive reads the format state of the drive at path. It never writes.
func probeDrive(index int, path string) DriveInfo {
	info := DriveInfo{Index: index}
	f, err := local.LoadFormat(path)
	switch {
	case err == nil:
		info.State, info.Format = DriveFormatted, f
		return info
	case errors.Is(err, storage.ErrDriveNotEmpty):
		// Checked before ErrUnformatted, which LoadFormat wraps too.
		info.State = DriveNotEmpty
	case errors.Is(err, storage.ErrUnformatted):
		info.State = DriveEmpty
		return info
	case errors.Is(err, storage.ErrFileCorrupt), errors.Is(err, storage.ErrUnknownFormat):
		info.State = DriveDamaged
	default:
		info.State = DriveOffline
	}
	info.Reason = err.Error()
	return info
}

// drivesToWire encodes drive states, each deployment once.
func drivesToWire(drives []DriveInfo) ([]deploymentMsg, []driveMsg) {
	var deps []deploymentMsg
	out := make([]driveMsg, len(drives))
	for i, d := range drives {
		out[i] = driveMsg{Index: d.Index, State: uint8(d.State), Reason: d.Reason}
		if d.State != DriveFormatted {
			continue
		}
		dep := deploymentOf(d.Format)
		j := slices.IndexFunc(deps, func(m deploymentMsg) bool {
			return dep.Equal(Deployment(m))
		})
		if j < 0 {
			j = len(deps)
			deps = append(deps, deploymentMsg(dep))
		}
		out[i].Deployment, out[i].DriveID = j, d.Format.DriveID
	}
	return deps, out
}

// drivesFromWire decodes what drivesToWire encoded. A state this build does
// not know (a newer peer) or a record that names no deployment is
// reported as unknown: unusable, rather than guessed at.
func drivesFromWire(deps []deploymentMsg, drives []driveMsg) []DriveInfo {
	out := make([]DriveInfo, len(drives))
	for i, m := range drives {
		d := DriveInfo{Index: m.Index, State: DriveState(m.State), Reason: m.Reason}
		switch {
		case d.State > DriveDamaged:
			d.State, d.Reason = DriveUnknown, fmt.Sprintf("unknown drive state %d reported", m.State)
		case d.State == DriveFormatted && (m.Deployment < 0 || m.Deployment >= len(deps)):
			d.State, d.Reason = DriveUnknown, "formatted drive reported without its deployment"
		case d.State == DriveFormatted:
			dep := deps[m.Deployment]
			d.Format = local.FormatSpec{DeploymentID: dep.ID, DriveID: m.DriveID, Sets: dep.Sets, BitrotKey: dep.BitrotKey}
		}
		out[i] = d
	}
	return out
}
