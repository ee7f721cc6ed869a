// Package drivetest is the conformance suite of storage.Drive: one set of
// tests of every method's contract, run against every implementation (the
// local drive in storage/local, the remote drive over the grid), so that the
// object layer can rely on the same behaviour from both.
//
// The suite works only through the interface: it writes shard files with
// CreateFile, publishes them with RenameData, and checks what the other
// methods report, including the typed errors (errors.Is against the storage
// sentinels, which survive a grid round trip). Behaviour that needs the file
// system underneath (crashes, a full disk, corrupt records on disk) is
// tested by the implementation's own tests.
//
// Usage, from an implementation's tests:
//
//	func TestConformance(t *testing.T) {
//		drivetest.Run(t, func(t *testing.T) storage.Drive {
//			return newFormattedDrive(t, drivetest.BitrotKey)
//		})
//	}
package drivetest
