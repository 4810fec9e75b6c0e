// Command longtail is the longtail service and its operator tools.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

const usage = `longtail finds the partners worth a phone call in a long tail of thousands.

Usage:
  longtail serve   [--config FILE] [--listen ADDR] [--role all|api|worker|scheduler]
  longtail demo    [--listen ADDR] [--partners N] [--speed X]
  longtail import  partners|contacts|reps FILE.csv [--config FILE] [--quiet]
  longtail score   explain PARTNER_ID [--json] [--config FILE]
  longtail score   dump CONTACT_ID [--json] [--config FILE]
  longtail score   rfm [--inline] [--config FILE]
  longtail simulate --events FILE [--threshold N[,N...]] [--json] [--config FILE]
  longtail reps    token REP_ID | link REP_ID [--ttl D] | tokens REP_ID | revoke REP_ID TOKEN_ID [--config FILE]
  longtail handoff sweep | stats [REP_ID] [--json] [--config FILE]
  longtail flows   validate [DIR] [--templates DIR] | list [--config FILE]
  longtail program tiers|at-risk|kpis [--csv] [--config FILE]
  longtail program let-go|keep PARTNER_ID [--config FILE]
  longtail version

--quiet (import) shows no progress. Every command takes --help.

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

// run dispatches a subcommand on the wall clock. It takes its environment
// and streams as arguments so tests can run it in-process.
func run(ctx context.Context, args, environ []string, stdout, stderr io.Writer) error {
	return runAt(ctx, time.Now, args, environ, stdout, stderr)
}

// runAt is run on the clock now, which the commands that keep time (serve,
// reps, handoff) hand to every component: decay, SLAs, sessions and
// timestamps. The binary always passes time.Now; in-process tests pass a
// testclock so they move time instead of waiting for it.
func runAt(ctx context.Context, now func() time.Time, args, environ []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: no command given", errUsage)
	}
	cmd, rest := args[0], args[1:]
	if wantsHelp(rest) {
		return printHelp(stdout, cmd)
	}
	switch cmd {
	case "serve":
		return runServe(ctx, now, rest, environ, stdout, stderr)
	case "demo":
		return runDemo(ctx, now, rest, environ, stdout, stderr)
	case "import":
		return runImport(ctx, rest, environ, stdout, stderr)
	case "score":
		return runScore(ctx, rest, environ, stdout, stderr)
	case "simulate":
		return runSimulate(ctx, rest, environ, stdout, stderr)
	case "reps":
		return runReps(ctx, now, rest, environ, stdout, stderr)
	case "handoff":
		return runHandoff(ctx, now, rest, environ, stdout, stderr)
	case "flows":
		return runFlows(ctx, rest, environ, stdout, stderr)
	case "program":
		return runProgram(ctx, now, rest, environ, stdout, stderr)
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

// wantsHelp reports whether a command's arguments ask for help (before any
// "--"): help is an answer, exit status 0, for every verb, whatever else
// is on the line.
func wantsHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help":
			return true
		}
	}
	return false
}

// printHelp prints the usage lines of cmd, or all of them for an unknown
// command (which the dispatch would refuse anyway).
func printHelp(w io.Writer, cmd string) error {
	if cmd == "flows" {
		// flows has two subcommands with their own flags: its own usage
		// says more than its summary lines.
		fmt.Fprint(w, flowsUsage)
		return nil
	}
	var lines []string
	for _, l := range strings.Split(usage, "\n") {
		if f := strings.Fields(l); len(f) > 1 && f[0] == "longtail" && f[1] == cmd {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		fmt.Fprint(w, usage)
		return nil
	}
	fmt.Fprintf(w, "Usage:\n%s\n\nRun `longtail help` for every command and the configuration.\n", strings.Join(lines, "\n"))
	return nil
}
