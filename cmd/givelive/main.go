// Command givelive runs the GiveLive server (givelive serve, the default).
//
// Configuration comes from GIVELIVE_* environment variables; see the README
// and docs/PROTOCOL.md. This package is the one place that wires the hub,
// the ledger and the API together.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage: givelive [command] [flags]

commands:
  serve      run the server (the default); flags: --demo
  loadtest   drive a server with simulated viewers (givelive loadtest -h)
  help       show this help

Configuration is read from GIVELIVE_* environment variables (see README.md).
`

// run executes a command and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, args, stdout, stderr)
	case "loadtest":
		return loadtest(ctx, args, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "givelive: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
}
