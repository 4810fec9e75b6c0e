package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/hibiken/asynq"

	"github.com/longtailhq/longtail/csvimport"
	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/jobs"
)

func runImport(ctx context.Context, args, environ []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := configFlag(fs)
	quiet := fs.Bool("quiet", false, "no progress output")
	if err := fs.Parse(reorder(fs, args)); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() != 2 {
		return fmt.Errorf("%w: import needs a kind (partners, contacts or reps) and a CSV file", errUsage)
	}
	kind, err := csvimport.ParseKind(fs.Arg(0))
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	path := fs.Arg(1)
	cfg, err := loadConfig(*cfgPath, environ)
	if err != nil {
		return err
	}
	log := newLogger(cfg.Log, stderr)
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := openStore(ctx, cfg, log, false)
	if err != nil {
		return err
	}
	defer st.Close()
	dir, err := directory.New(st.rdb, directory.Config{UnassignedPartnerID: cfg.Directory.UnassignedPartner})
	if err != nil {
		return err
	}

	var progress func(int)
	var bar *progressbar.ProgressBar
	if !*quiet {
		if isTerminal(stderr) {
			bar = progressbar.NewOptions(-1, progressbar.OptionSetWriter(stderr), progressbar.OptionSetDescription("importing "+string(kind)),
				progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetItsString("rows"), progressbar.OptionThrottle(100_000_000))
			progress = func(n int) { _ = bar.Set(n) }
		} else {
			last := 0
			progress = func(n int) {
				if n-last >= 10000 {
					fmt.Fprintf(stderr, "importing %s: %d rows read\n", path, n)
					last = n
				}
			}
		}
	}
	// New contacts fire nurture's contact.created trigger, as a task the
	// workers run (this process does not run nurture).
	tasks := asynq.NewClientFromRedisClient(st.rdb)
	defer tasks.Close()
	triggers := jobs.NewNurtureTriggerQueue(tasks)
	created := func(ctx context.Context, ids []string) error { return triggers.ContactsCreated(ctx, ids...) }
	// Partners whose joined_at or left_at changed get their stage
	// recomputed (program:stage), by the workers too.
	stages := jobs.NewProgramStageQueue(tasks)
	changed := func(ctx context.Context, cs []directory.PartnerChange) error {
		return stages.PartnersChanged(ctx, cs...)
	}
	rep, err := csvimport.Import(ctx, dir, kind, f, csvimport.Options{Name: path, Progress: progress, Created: created, PartnersChanged: changed})
	if bar != nil {
		_ = bar.Finish()
		fmt.Fprintln(stderr)
	}
	if err != nil {
		return err
	}
	for _, re := range rep.Errors {
		fmt.Fprintf(stderr, "%s:%d: %s\n", path, re.Line, re.Reason)
	}
	fmt.Fprintf(stdout, "imported %d, rejected %d (%d already up to date)\n", rep.Imported, rep.Rejected, rep.Unchanged)
	if rep.Rejected > 0 {
		return exitError{1}
	}
	return nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// reorder moves the flags that follow positional arguments in front of
// them, so `longtail import contacts file.csv --config x.yaml` works as
// people type it. fs says which flags take a value: a boolean flag never
// swallows the next argument.
func reorder(fs *flag.FlagSet, args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			pos = append(pos, a)
			continue
		}
		flags = append(flags, a)
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if f := fs.Lookup(name); f != nil && !hasValue && !isBoolFlag(f) && i+1 < len(args) {
			flags = append(flags, args[i+1])
			i++
		}
	}
	// "--" ends the flags, so a positional argument that starts with "-"
	// (a file named "-x.csv") is never read as one.
	return append(append(flags, "--"), pos...)
}

func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}
