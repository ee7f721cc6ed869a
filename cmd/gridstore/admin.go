package main

// admin: talk to a running deployment's signed admin API.

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/gridstore/gridstore/node/admin"
)

const adminSynopsis = `Administer a running deployment through a node's admin API, signed with the
root credentials (` + envRootUser + ` and ` + envRootPassword + `, or the flags).
Subcommands:
  info    nodes (up/down), drives (online, free space, healing), grid connections,
          erasure sets and their parity, as seen from the node asked`

func runAdmin(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "info" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help") {
			fmt.Fprintf(stdout, "Usage: gridstore admin info [flags]\n\n%s\n", adminSynopsis)
			return exitOK
		}
		fmt.Fprintf(stderr, "Usage: gridstore admin info [flags]\n\n%s\n", adminSynopsis)
		return exitUsage
	}
	fs := newFlagSet("admin info", adminSynopsis, stderr)
	c := admin.Client{HTTP: &http.Client{Timeout: 30 * time.Second}}
	fs.StringVar(&c.Endpoint, "endpoint", envOr("GRIDSTORE_ENDPOINT", "http://127.0.0.1:9000"), "URL of any node (GRIDSTORE_ENDPOINT)")
	fs.StringVar(&c.AccessKey, "access-key", os.Getenv(envRootUser), "root access key ("+envRootUser+")")
	fs.StringVar(&c.SecretKey, "secret-key", os.Getenv(envRootPassword), "root secret key ("+envRootPassword+"; prefer the variable)")
	fs.StringVar(&c.Region, "region", envOr(envRegion, "us-east-1"), "region the node expects ("+envRegion+")")
	if code, ok := parseFlags(fs, args[1:]); !ok {
		return code
	}
	if c.AccessKey == "" || c.SecretKey == "" {
		fmt.Fprintf(stderr, "gridstore admin: set %s and %s\n", envRootUser, envRootPassword)
		return exitUsage
	}
	info, err := c.Info(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "gridstore admin info: %v\n", err)
		return exitError
	}
	if err := admin.WriteInfoTable(stdout, info); err != nil {
		fmt.Fprintf(stderr, "gridstore admin info: %v\n", err)
		return exitError
	}
	return exitOK
}
