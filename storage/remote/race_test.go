//go:build race

package remote

// raceEnabled: under the race detector sync.Pool drops a random share of what
// it is given, so allocation figures measure the detector, not the code.
const raceEnabled = true
