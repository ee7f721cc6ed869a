// Package grid is gridstore's internode RPC: one authenticated, multiplexed
// websocket per pair of nodes that carries small single requests and
// long-lived, flow-controlled streams side by side.
//
// A Manager per node knows its own address and every peer's. It keeps exactly
// one connection per peer (which side dials is decided from the two addresses),
// reconnects with jittered backoff, pings to detect dead peers, and serves the
// handlers registered on it. Callers get a *Connection from Manager.Connection
// and issue Request (a []byte in, a []byte or an error out) or NewStream (an
// initial payload, then messages both ways under per-stream credit-based flow
// control). SingleRPC and StreamRPC wrap both in msgp-typed generics.
//
// What the grid guarantees:
//   - a deadline on the caller's context travels to the handler (single
//     requests default to one minute); cancelling returns at once and cancels
//     the handler's context on the remote side;
//   - a stream never has more unconsumed messages or bytes in flight than its
//     receiver granted, so a slow consumer stalls only its own stream;
//   - large messages are cut into fragments that are interleaved with other
//     traffic, so a bulk stream does not hold up small requests;
//   - a handler's error reaches the caller as *RemoteErr carrying a code that
//     maps back to the same sentinel error (RegisterError);
//   - losing the connection fails every call in flight on it promptly with
//     ErrDisconnected; a handler that panics fails its call, not the node;
//   - legitimate load never breaks a connection: each side keeps within the
//     limits the other announced at the handshake, and a peer asking for more
//     than a connection may hold (Config.MaxServed, MaxServedBytes) gets
//     ErrBusy, which may be retried;
//   - without TLS every packet is checksummed; with Config.TLS the grid runs
//     over wss with certificates verified both ways.
//
// The wire format, flow-control rules, lifecycle and security model are
// described in docs/grid.md.
package grid
