package bootstrap

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
)

// Version is the version of the bootstrap protocol (the handlers' meaning
// and the decision rules). It is part of the fingerprint: nodes that would
// decide differently must not bootstrap together.
const Version = 1

// topology is what every node must agree on before trusting each other's
// drive states: the canonical endpoint list, the layout parameters it
// resolves to, and the versions that interpret them.
type topology struct {
	Endpoints        []string
	SetSize, Parity  int
	GridVersion      int
	BootstrapVersion int
	AppVersion       string
}

// fingerprint hashes the topology. Every field is length-prefixed, so no two
// topologies encode alike.
func (t topology) fingerprint() string {
	h := sha256.New()
	var buf [8]byte
	putInt := func(v int) {
		binary.BigEndian.PutUint64(buf[:], uint64(v))
		h.Write(buf[:])
	}
	putStr := func(s string) {
		putInt(len(s))
		h.Write([]byte(s))
	}
	putStr("gridstore bootstrap topology")
	putInt(t.GridVersion)
	putInt(t.BootstrapVersion)
	putStr(t.AppVersion)
	putInt(t.SetSize)
	putInt(t.Parity)
	putInt(len(t.Endpoints))
	for _, e := range t.Endpoints {
		putStr(e)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (t topology) msg() *topologyMsg {
	return &topologyMsg{
		Endpoints: t.Endpoints, SetSize: t.SetSize, Parity: t.Parity,
		GridVersion: t.GridVersion, BootstrapVersion: t.BootstrapVersion, AppVersion: t.AppVersion,
	}
}

func topologyFromMsg(m *topologyMsg) topology {
	return topology{
		Endpoints: m.Endpoints, SetSize: m.SetSize, Parity: m.Parity,
		GridVersion: m.GridVersion, BootstrapVersion: m.BootstrapVersion, AppVersion: m.AppVersion,
	}
}

// diff says what differs between our topology and a peer's, for an
// operator: the first differing endpoint is enough to find the typo.
func (t topology) diff(their topology) string {
	var d []string
	if t.GridVersion != their.GridVersion {
		d = append(d, fmt.Sprintf("grid protocol %d, ours %d", their.GridVersion, t.GridVersion))
	}
	if t.BootstrapVersion != their.BootstrapVersion {
		d = append(d, fmt.Sprintf("bootstrap protocol %d, ours %d", their.BootstrapVersion, t.BootstrapVersion))
	}
	if t.AppVersion != their.AppVersion {
		d = append(d, fmt.Sprintf("version %q, ours %q", their.AppVersion, t.AppVersion))
	}
	if len(t.Endpoints) != len(their.Endpoints) {
		d = append(d, fmt.Sprintf("%d endpoints, ours %d", len(their.Endpoints), len(t.Endpoints)))
	}
	for i := range min(len(t.Endpoints), len(their.Endpoints)) {
		if t.Endpoints[i] != their.Endpoints[i] {
			d = append(d, fmt.Sprintf("endpoint %d is %s, ours %s", i, their.Endpoints[i], t.Endpoints[i]))
			break
		}
	}
	if t.SetSize != their.SetSize {
		d = append(d, fmt.Sprintf("set size %d, ours %d", their.SetSize, t.SetSize))
	}
	if t.Parity != their.Parity {
		d = append(d, fmt.Sprintf("parity %d, ours %d", their.Parity, t.Parity))
	}
	if len(d) == 0 {
		// Same fields, different hash: a peer that hashes differently.
		return "a different topology fingerprint"
	}
	return strings.Join(d, "; ")
}
