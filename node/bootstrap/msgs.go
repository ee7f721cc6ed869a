package bootstrap

//go:generate go tool msgp -unexported -io=false

// The wire types of the bootstrap handlers (proto.HandlerBootstrapInfo and
// proto.HandlerBootstrapFormat). They are part of the contract between nodes:
// never rename a field tag or change its type; add fields, or a new handler
// ID for an incompatible change.
//
// The limits bound what a decoder allocates for an array header before it
// has seen the elements, so a hostile payload cannot ask for gigabytes.

//msgp:limit arrays:65536 maps:1024

// infoReq asks a node for its view. The caller's fingerprint lets the node
// send its full topology only when the two differ: the common case stays a
// few hundred bytes however many drives there are.
type infoReq struct {
	Fingerprint string `msg:"f"`
}

// Reset clears the request for reuse by the typed handler's pool.
func (m *infoReq) Reset() { *m = infoReq{} }

// infoResp is a node's answer: its fingerprint, its topology when the
// caller's fingerprint differs (so the caller can say what differs), and
// the format state of each of its drives. The deployments its drives'
// records name are sent once each, not once per drive: a record's set
// layout lists every drive ID of the cluster (37 KiB for 1024 drives).
type infoResp struct {
	Fingerprint string          `msg:"f"`
	Topology    *topologyMsg    `msg:"t"`
	Deployments []deploymentMsg `msg:"deps"`
	Drives      []driveMsg      `msg:"d"`
}

// deploymentMsg is a deployment's identity (Deployment on the wire).
type deploymentMsg struct {
	ID        string     `msg:"id"`
	Sets      [][]string `msg:"sets"`
	BitrotKey []byte     `msg:"key"`
}

// topologyMsg is everything the fingerprint covers, in clear.
type topologyMsg struct {
	Endpoints        []string `msg:"e"`
	SetSize          int      `msg:"s"`
	Parity           int      `msg:"p"`
	GridVersion      int      `msg:"g"`
	BootstrapVersion int      `msg:"b"`
	AppVersion       string   `msg:"a"`
}

// driveMsg is one drive's format state (DriveInfo on the wire). A
// formatted drive's record is Deployments[Deployment] of the answer with
// DriveID.
type driveMsg struct {
	Index      int    `msg:"i"`
	State      uint8  `msg:"s"`
	Deployment int    `msg:"dep"`
	DriveID    string `msg:"id"`
	Reason     string `msg:"r"`
}

// formatReq asks a node to format its empty drives as drives of a new
// deployment. Each drive's ID is the one Sets holds at the drive's
// position, which the node computes from the endpoints as the caller did.
type formatReq struct {
	Fingerprint  string     `msg:"f"`
	DeploymentID string     `msg:"dep"`
	Sets         [][]string `msg:"sets"`
	BitrotKey    []byte     `msg:"key"`
}

// Reset clears the request for reuse by the typed handler's pool.
func (m *formatReq) Reset() { *m = formatReq{} }

// formatResp answers a successful Format with the drives it formatted.
type formatResp struct {
	Formatted []int `msg:"d"`
}
