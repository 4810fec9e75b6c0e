package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/longtailhq/longtail/jobs"
	"github.com/longtailhq/longtail/nurture"
)

// runFlowsEnroll is `longtail flows enroll FLOW ID|EMAIL`: the API's
// enrolment from the command line, against redis.url; a worker
// (longtail serve) runs the steps.
func runFlowsEnroll(ctx context.Context, args, environ []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("flows enroll", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stdout, flowsUsage) }
	cfgPath := configFlag(fs)
	if err := fs.Parse(reorder(fs, args)); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() != 2 {
		return fmt.Errorf("%w: flows enroll takes a flow id and a contact id or email", errUsage)
	}
	cfg, err := loadConfig(*cfgPath, environ)
	if err != nil {
		return err
	}
	log := newLogger(cfg.Log, stderr)
	st, err := openStore(ctx, cfg, log, false)
	if err != nil {
		return err
	}
	defer st.Close()
	a, err := newApp(ctx, cfg, st, log, time.Now)
	if err != nil {
		return err
	}
	defer a.Close()
	if a.nurture == nil {
		return errors.New("flows enroll: nurture sending is off: set smtp.url, smtp.from and tracking.secret")
	}
	c, err := a.dir.LookupContact(ctx, fs.Arg(1))
	if err != nil {
		return fmt.Errorf("flows enroll: contact %s: %w", fs.Arg(1), err)
	}
	res, err := a.nurture.Enroll(ctx, fs.Arg(0), c.ID)
	var nm *nurture.NotMailableError
	if errors.As(err, &nm) {
		return fmt.Errorf("flows enroll: %s may not be mailed: %s", c.ID, nm.Reason)
	}
	if err != nil {
		return fmt.Errorf("flows enroll: %w", err)
	}
	if res.Next != nil {
		if err := jobs.EnqueueNurture(ctx, a.tasks, *res.Next); err != nil {
			return fmt.Errorf("flows enroll: %w", err)
		}
	}
	en := res.Enrollment
	if res.Created {
		fmt.Fprintf(stdout, "enrolled %s in %s (enrollment %s); step %s queued for a worker\n", c.ID, en.Flow, en.ID, en.Step)
		return nil
	}
	fmt.Fprintf(stdout, "%s was already in %s (enrollment %s): %s at step %s\n", c.ID, en.Flow, en.ID, en.Status, en.Step)
	return nil
}
