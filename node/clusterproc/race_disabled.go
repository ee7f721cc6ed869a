//go:build !race

package clusterproc

// raceEnabled: see race_enabled.go.
const raceEnabled = false
