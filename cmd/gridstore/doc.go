// Command gridstore is the gridstore binary: every node runs it, and it also
// carries the operator tools. It is invoked as
//
//	gridstore <command> [flags]
//
// Commands today:
//
//	version     print the version and build information
//	grid-demo   start a few grid nodes in this process and exercise them
//
// `gridstore server` (an S3 node), `admin`, `bench` and `healthcheck` come
// later; grid-demo stands in for the server until then.
//
// Each command lives in its own file and is listed in the commands table in
// commands.go; main.go only wires the process (signals, exit code) to run.
package main
