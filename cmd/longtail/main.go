// Command longtail is the longtail service and its operator tools.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `longtail finds the partners worth a phone call in a long tail of thousands.

Usage:
  longtail serve   [--config FILE] [--listen ADDR] [--role all|api|worker|scheduler]
  longtail import  partners|contacts|reps FILE.csv [--config FILE]
  longtail score   explain PARTNER_ID [--json]
  longtail score   dump CONTACT_ID [--json]
  longtail score   rfm [--inline]
  longtail simulate --events FILE [--threshold N[,N...]] [--json]
  longtail reps    token REP_ID | tokens REP_ID | revoke REP_ID TOKEN_ID
  longtail handoff sweep | stats [REP_ID]
  longtail version

Configuration comes from a YAML file (--config, default ./longtail.yaml when
present) plus environment overrides LONGTAIL_<KEY_PATH> (redis.url is
LONGTAIL_REDIS_URL). See longtail.example.yaml.
`

// errUsage marks a command-line mistake: exit status 2 with the usage.
var errUsage = errors.New("usage")

// exitError carries a specific exit status (e.g. 1 when an import rejected
// rows) without printing anything more.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Environ(), os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

func exitCode(err error, stderr io.Writer) int {
	var ee exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.code
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "longtail: %v\n\n%s", err, usage)
		return 2
	default:
		fmt.Fprintf(stderr, "longtail: %v\n", err)
		return 1
	}
}

// run dispatches a subcommand. It takes its environment and streams as
// arguments so tests can run it in-process.
func run(ctx context.Context, args, environ []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: no command given", errUsage)
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return runServe(ctx, rest, environ, stdout, stderr)
	case "import":
		return runImport(ctx, rest, environ, stdout, stderr)
	case "score":
		return runScore(ctx, rest, environ, stdout, stderr)
	case "simulate":
		return runSimulate(ctx, rest, environ, stdout, stderr)
	case "reps":
		return runReps(ctx, rest, environ, stdout, stderr)
	case "handoff":
		return runHandoff(ctx, rest, environ, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "longtail", version())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		return fmt.Errorf("%w: unknown command %q", errUsage, cmd)
	}
}
