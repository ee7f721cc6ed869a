package main

// admin: talk to a running deployment's signed admin API.

import (
	"context"
	"encoding/json"
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
          erasure sets and their parity, as seen from the node asked
  heal    what the node asked is healing and why: heal queue and missed-write log,
          its drives being rebuilt (progress, ETA), the scanner's sets (position,
          last full pass), objects and bytes healed by reason, failures
--json prints the node's answer as JSON instead of tables.`

func runAdmin(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "info" && args[0] != "heal") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help") {
			fmt.Fprintf(stdout, "Usage: gridstore admin info|heal [flags]\n\n%s\n", adminSynopsis)
			return exitOK
		}
		fmt.Fprintf(stderr, "Usage: gridstore admin info|heal [flags]\n\n%s\n", adminSynopsis)
		return exitUsage
	}
	sub := args[0]
	fs := newFlagSet("admin "+sub, adminSynopsis, stderr)
	c := admin.Client{HTTP: &http.Client{Timeout: 30 * time.Second}}
	fs.StringVar(&c.Endpoint, "endpoint", envOr("GRIDSTORE_ENDPOINT", "http://127.0.0.1:9000"), "URL of any node (GRIDSTORE_ENDPOINT)")
	fs.StringVar(&c.AccessKey, "access-key", os.Getenv(envRootUser), "root access key ("+envRootUser+")")
	fs.StringVar(&c.SecretKey, "secret-key", os.Getenv(envRootPassword), "root secret key ("+envRootPassword+"; prefer the variable)")
	fs.StringVar(&c.Region, "region", envOr(envRegion, "us-east-1"), "region the node expects ("+envRegion+")")
	asJSON := fs.Bool("json", false, "print the answer as JSON")
	if code, ok := parseFlags(fs, args[1:]); !ok {
		return code
	}
	if c.AccessKey == "" || c.SecretKey == "" {
		fmt.Fprintf(stderr, "gridstore admin: set %s and %s\n", envRootUser, envRootPassword)
		return exitUsage
	}
	var answer any
	var table func(io.Writer) error
	switch sub {
	case "info":
		info, err := c.Info(ctx)
		if err != nil {
			fmt.Fprintf(stderr, "gridstore admin info: %v\n", err)
			return exitError
		}
		answer, table = info, func(w io.Writer) error { return admin.WriteInfoTable(w, info) }
	case "heal":
		info, err := c.Heal(ctx)
		if err != nil {
			fmt.Fprintf(stderr, "gridstore admin heal: %v\n", err)
			return exitError
		}
		answer, table = info, func(w io.Writer) error { return admin.WriteHealTable(w, info) }
	}
	var err error
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(answer)
	} else {
		err = table(stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "gridstore admin %s: %v\n", sub, err)
		return exitError
	}
	return exitOK
}
