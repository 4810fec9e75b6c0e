package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
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
	a, closeApp, err := nurtureApp(ctx, *cfgPath, environ, stderr, "enroll")
	if err != nil {
		return err
	}
	defer closeApp()
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

// nurtureApp wires the service as serve does, for a flows command that
// needs the engine; it fails when nurture is off.
func nurtureApp(ctx context.Context, cfgPath string, environ []string, stderr io.Writer, sub string) (*app, func(), error) {
	cfg, log, st, err := openTool(ctx, cfgPath, environ, stderr)
	if err != nil {
		return nil, nil, err
	}
	a, err := newApp(ctx, cfg, st, log, time.Now)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	closeAll := func() { a.Close(); st.Close() }
	if a.nurture == nil {
		closeAll()
		return nil, nil, fmt.Errorf("flows %s: nurture sending is off: set smtp.url, smtp.from and tracking.secret", sub)
	}
	return a, closeAll, nil
}

// runFlowsPreview is `longtail flows preview FLOW STEP --contact ID|EMAIL
// [--html]`: the email a send step would send the contact now, built as a
// send builds it (sender, links, headers), printed and not sent.
func runFlowsPreview(ctx context.Context, args, environ []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("flows preview", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stdout, flowsUsage) }
	cfgPath := configFlag(fs)
	contact := fs.String("contact", "", "the contact, by id or email (required)")
	html := fs.Bool("html", false, "print the HTML part instead of the plain one")
	if err := fs.Parse(reorder(fs, args)); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() != 2 || *contact == "" {
		return fmt.Errorf("%w: flows preview takes a flow id, a step id and --contact ID|EMAIL", errUsage)
	}
	a, closeApp, err := nurtureApp(ctx, *cfgPath, environ, stderr, "preview")
	if err != nil {
		return err
	}
	defer closeApp()
	c, err := a.dir.LookupContact(ctx, *contact)
	if err != nil {
		return fmt.Errorf("flows preview: contact %s: %w", *contact, err)
	}
	m, err := a.nurture.Preview(ctx, fs.Arg(0), fs.Arg(1), c.ID)
	if err != nil {
		return fmt.Errorf("flows preview: %w", err)
	}
	fmt.Fprintf(stdout, "From: %s\nReply-To: %s\nTo: %s\nSubject: %s\n", m.From, strings.Join(m.ReplyTo, ", "), strings.Join(m.To, ", "), m.Subject)
	for _, k := range []string{"Message-Id", "List-Unsubscribe", "List-Unsubscribe-Post"} {
		if v := m.Headers.Get(k); v != "" {
			fmt.Fprintf(stdout, "%s: %s\n", k, v)
		}
	}
	fmt.Fprintln(stdout)
	body := m.Text
	if *html {
		if len(m.HTML) == 0 {
			return fmt.Errorf("flows preview: the template of step %s has no HTML part", fs.Arg(1))
		}
		body = m.HTML
	}
	_, err = stdout.Write(body)
	return err
}
