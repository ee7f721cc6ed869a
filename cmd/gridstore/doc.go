// Command gridstore is the gridstore binary: every node runs it, and it also
// carries the operator tools. It is invoked as
//
//	gridstore <command> [flags]
//
// Commands:
//
//	server       an S3 node
//	admin        administer a running deployment
//	bench        a load generator for any S3 endpoint (engine: package loadgen)
//	healthcheck  probe a node's health endpoint
//	version      print the version and build information
//	grid-demo    start a few grid nodes in this process and exercise them
//
// Each command lives in its own file and is listed in the commands table in
// commands.go; main.go only wires the process (signals, exit code) to run.
package main
