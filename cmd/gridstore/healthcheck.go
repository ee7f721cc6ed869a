package main

// healthcheck: a probe for container runtimes, which have no curl in a
// FROM scratch image.

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

func runHealthcheck(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("healthcheck", "Ask a node's health endpoint; exit 0 if it answers 200, 1 otherwise.", stderr)
	url := fs.String("url", envOr("GRIDSTORE_HEALTHCHECK_URL", "http://127.0.0.1:9000/health/ready"), "health URL to ask (GRIDSTORE_HEALTHCHECK_URL)")
	timeout := fs.Duration("timeout", 5*time.Second, "how long to wait for the answer")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
	if err != nil {
		fmt.Fprintf(stderr, "gridstore healthcheck: %v\n", err)
		return exitUsage
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "gridstore healthcheck: %v\n", err)
		return exitError
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	fmt.Fprintf(stdout, "%s: %s", resp.Status, body)
	if resp.StatusCode != http.StatusOK {
		return exitError
	}
	return exitOK
}
