//go:build race

package clusterproc

// raceEnabled: the test binary runs under the race detector, so the servers
// it starts are built with it too (a race in a server is then reported in its
// log, which Close checks).
const raceEnabled = true
