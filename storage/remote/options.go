package remote

// Option configures a Client or a Server.
type Option func(*options)

type options struct {
	tls   bool
	alive func(peer string) bool
}

func applyOptions(opts []Option) options {
	var o options
	for _, fn := range opts {
		fn(&o)
	}
	return o
}

// OverTLS says that the node's internode HTTP runs over TLS, as its grid
// does (grid.Config.TLS). A Client then reads from https://peer, through an
// http.Client that presents this node's certificate (NewHTTPClient with the
// grid's client configuration; NewClient refuses a nil one). A Server
// refuses reads that did not arrive over TLS with a verified client
// certificate, in addition to checking their signature: the same rule the
// grid applies to its upgrades, so that the read endpoint is no weaker than
// the grid beside it.
func OverTLS() Option { return func(o *options) { o.tls = true } }

// WithLiveness gives a Client the cluster's view of which nodes are alive
// (node/cluster): alive(peer) false makes Available report the drive
// unavailable at once, before the grid connection's own timeout notices.
func WithLiveness(alive func(peer string) bool) Option {
	return func(o *options) { o.alive = alive }
}
