package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/longtailhq/longtail/nurture"
	"github.com/longtailhq/longtail/nurture/flow"
	"github.com/longtailhq/longtail/scoring"
)

const flowsUsage = `Usage:
  longtail flows validate [DIR] [--templates DIR] [--config FILE]
  longtail flows list [--config FILE]
  longtail flows enroll FLOW ID|EMAIL [--config FILE]
  longtail flows preview FLOW STEP --contact ID|EMAIL [--html] [--config FILE]

validate checks every flow file (*.yaml) of DIR (default: nurture.flows_dir,
else the flows shipped in the binary) and every template (--templates,
default: nurture.templates_dir, else the shipped ones), renders each template
against sample data, and prints every problem as file:line:col: field:
message. It exits 1 when there is any.

list prints the flows: id, name, audience, triggers and number of steps.

enroll enrols a contact (by id or email) in a flow, as POST
/v1/flows/{id}/enrollments does, and queues its first step for a worker
(longtail serve). It needs redis.url, smtp.url, smtp.from and tracking.secret.

preview prints the email send step STEP of FLOW would send the contact now
(headers, then the plain part, or the HTML part with --html), built as a
send builds it, and sends nothing. It needs the same settings as enroll.
`

// runFlows is `longtail flows`: the nurture flow files, checked and listed
// without touching Redis.
func runFlows(ctx context.Context, args, environ []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: flows needs a subcommand: validate [DIR] or list", errUsage)
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, flowsUsage)
		return nil
	case "validate", "list":
	case "enroll":
		return runFlowsEnroll(ctx, rest, environ, stdout, stderr)
	case "preview":
		return runFlowsPreview(ctx, rest, environ, stdout, stderr)
	default:
		return fmt.Errorf("%w: unknown flows subcommand %q (validate, list, enroll, preview)", errUsage, sub)
	}
	fs := flag.NewFlagSet("flows "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stdout, flowsUsage) }
	cfgPath := configFlag(fs)
	templatesDir := fs.String("templates", "", "validate: the templates directory (default nurture.templates_dir, else the shipped templates)")
	if err := fs.Parse(reorder(fs, rest)); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if sub == "list" && (fs.NArg() != 0 || *templatesDir != "") {
		return fmt.Errorf("%w: flows list takes no arguments but --config", errUsage)
	}
	if fs.NArg() > 1 {
		return fmt.Errorf("%w: flows validate takes at most one directory", errUsage)
	}
	cfg, err := loadConfig(*cfgPath, environ)
	if err != nil {
		return err
	}
	flowSrc := cfg.Nurture.FlowsSource()
	if fs.NArg() == 1 {
		if flowSrc, err = dirSource(fs.Arg(0)); err != nil {
			return err
		}
	}
	tmplSrc, err := cfg.Nurture.TemplatesSource()
	if err != nil {
		return err
	}
	if *templatesDir != "" {
		if tmplSrc, err = dirSource(*templatesDir); err != nil {
			return err
		}
	}
	lib, err := nurture.LoadLibrary(flowSrc, tmplSrc, segmentNames(cfg.Scoring))
	var problems flow.ErrorList
	if errors.As(err, &problems) {
		for _, p := range problems {
			fmt.Fprintln(stderr, p)
		}
		fmt.Fprintf(stderr, "%d %s in %s and %s\n", len(problems), plural(len(problems), "problem", "problems"), flowSrc.Name, tmplSrc.Name)
		return exitError{1}
	}
	if err != nil {
		return err
	}
	if sub == "validate" {
		fmt.Fprintf(stdout, "ok: %d %s (%s) and %d %s (%s) are valid\n",
			lib.Flows.Len(), plural(lib.Flows.Len(), "flow", "flows"), flowSrc.Name,
			len(lib.Templates.Names()), plural(len(lib.Templates.Names()), "template", "templates"), tmplSrc.Name)
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tAUDIENCE\tTRIGGERS\tSTEPS")
	for _, f := range lib.Flows.Flows() {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\n", f.ID, f.Name, audienceSummary(f.Audience), triggerSummary(f.Triggers), len(f.Steps))
	}
	return tw.Flush()
}

// dirSource is a directory named on the command line, which must exist.
func dirSource(dir string) (nurture.Source, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nurture.Source{}, fmt.Errorf("flows: %w", err)
	}
	if !st.IsDir() {
		return nurture.Source{}, fmt.Errorf("flows: %s is not a directory", dir)
	}
	return nurture.DirSource(dir), nil
}

// segmentNames are the RFM segments scoring names partners with: the only
// ones a flow may name.
func segmentNames(c scoring.Config) []string {
	rules := c.RFM.Segments
	if rules == nil {
		rules = scoring.DefaultSegments()
	}
	names := make([]string, 0, len(rules))
	for _, r := range rules {
		names = append(names, r.Name)
	}
	return names
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// audienceSummary is an audience in one short line: "personas
// owner-manager; tiers registered,silver; score ≤29", or "everyone".
func audienceSummary(a flow.Audience) string {
	if a.Everyone() {
		return "everyone"
	}
	var parts []string
	add := func(name string, list []string) {
		if len(list) > 0 {
			parts = append(parts, name+" "+strings.Join(list, ","))
		}
	}
	add("personas", a.Personas)
	add("types", a.PartnerTypes)
	add("tiers", a.Tiers)
	add("segments", a.Segments)
	if r := a.Score; r != nil {
		switch {
		case r.Min != nil && r.Max != nil:
			parts = append(parts, fmt.Sprintf("score %g–%g", *r.Min, *r.Max))
		case r.Min != nil:
			parts = append(parts, fmt.Sprintf("score ≥%g", *r.Min))
		default:
			parts = append(parts, fmt.Sprintf("score ≤%g", *r.Max))
		}
	}
	add("tags", a.Tags)
	add("locales", a.Locales)
	return strings.Join(parts, "; ")
}

func triggerSummary(ts []flow.Trigger) string {
	if len(ts) == 0 {
		return "API only"
	}
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = t.String()
	}
	return strings.Join(s, ", ")
}
