package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/longtailhq/longtail/directory"
	"github.com/longtailhq/longtail/httpapi"
	"github.com/longtailhq/longtail/jobs"
	"github.com/longtailhq/longtail/program"
	"github.com/longtailhq/longtail/program/letgo"
	programstore "github.com/longtailhq/longtail/program/store"
	"github.com/longtailhq/longtail/repqueue"
	"github.com/longtailhq/longtail/scoring"
)

// runProgram is `longtail program tiers|at-risk|kpis [--csv]`: the
// partner-program view over every partner, computed in this process from
// Redis at now (the same figures as GET /v1/program/...).
func runProgram(ctx context.Context, now func() time.Time, args, environ []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: program needs a subcommand: tiers, at-risk, kpis, let-go or keep", errUsage)
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "tiers", "at-risk", "kpis":
	case "let-go", "keep":
		return runProgramAction(ctx, now, sub, rest, environ, stdout, stderr)
	default:
		return fmt.Errorf("%w: unknown program subcommand %q (want tiers, at-risk, kpis, let-go or keep)", errUsage, sub)
	}
	fs := flag.NewFlagSet("program "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := configFlag(fs)
	asCSV := fs.Bool("csv", false, "print CSV (a header line, then one row per partner or cohort) instead of a table")
	if err := fs.Parse(reorder(fs, rest)); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("%w: program %s takes no arguments", errUsage, sub)
	}
	cfg, _, st, err := openTool(ctx, *cfgPath, environ, stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	dir, err := directory.New(st.rdb, directory.Config{UnassignedPartnerID: cfg.Directory.UnassignedPartner, Clock: now})
	if err != nil {
		return err
	}
	engine, err := scoring.NewEngine(st.rdb, cfg.Scoring, now)
	if err != nil {
		return err
	}
	reps, err := repqueue.New(st.rdb, dir, engine, cfg.Handoff.Config, now)
	if err != nil {
		return err
	}
	ps, err := programstore.New(st.rdb, programstore.Deps{Directory: dir, Scores: engine, Outcomes: reps, Clock: now})
	if err != nil {
		return err
	}
	at := now()
	all, err := ps.AllFacts(ctx, at)
	if err != nil {
		return err
	}
	pc := cfg.Program
	switch sub {
	case "tiers":
		rows := program.TierRows(all, pc, at)
		if *asCSV {
			return program.WriteTiersCSV(stdout, rows)
		}
		printTiers(stdout, rows, pc.WithDefaults().Currency)
	case "at-risk":
		risks := program.AtRiskAll(all, pc, at)
		if *asCSV {
			return program.WriteAtRiskCSV(stdout, risks)
		}
		printAtRisk(stdout, risks)
	case "kpis":
		k := program.KPIs(all, pc, at)
		if *asCSV {
			return program.WriteCohortsCSV(stdout, k)
		}
		printKPIs(stdout, k, pc.WithDefaults().Currency)
	}
	return nil
}

func printTiers(w io.Writer, rows []program.TierRow, currency string) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PARTNER\tSTAGE\tMOVE\tDEALS 12M\tREVENUE 12M\tSCORE\tREASON")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%.1f\t%s\n", r.PartnerID, r.Stage, r.Move, r.Deals12, program.Money(r.Revenue12, currency, "en"), r.Score, r.Reason["en"])
	}
	_ = tw.Flush()
	if len(rows) == 0 {
		fmt.Fprintln(w, "no partners")
	}
}

func printAtRisk(w io.Writer, risks []program.Risk) {
	if len(risks) == 0 {
		fmt.Fprintln(w, "no partner at risk")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PARTNER\tRULE\tSTAGE\tSINCE\tACTION\tSTATE")
	for _, r := range risks {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.PartnerID, r.Rule, r.Stage, r.Since.UTC().Format(time.DateOnly), r.Action, r.State)
	}
	_ = tw.Flush()
}

func progPct(v float64) string { return strconv.FormatFloat(100*v, 'f', 1, 64) + "%" }

func progDays(v *float64) string {
	if v == nil {
		return "-"
	}
	return strconv.FormatFloat(*v, 'f', 0, 64) + "d"
}

func printKPIs(w io.Writer, k program.KPIReport, currency string) {
	fmt.Fprintf(w, "partners %d (and %d without a join date), productive %d, churned %d: churn rate %s\n",
		k.Partners, k.WithoutCohort, k.Productive, k.Churned, progPct(k.ChurnRate))
	for _, s := range []struct {
		name string
		b    program.ByOrigin
	}{{"deals", k.Sourcing.Deals}, {"purchases", k.Sourcing.Purchases}} {
		share := "-"
		if s.b.PartnerShare != nil {
			share = progPct(*s.b.PartnerShare)
		}
		fmt.Fprintf(w, "%s in 12 months: partner-sourced %d (%s), vendor-sourced %d (%s), origin unknown %d (%s); partner share %s\n",
			s.name, s.b.Partner.Count, program.Money(s.b.Partner.Value, currency, "en"), s.b.Vendor.Count, program.Money(s.b.Vendor.Value, currency, "en"),
			s.b.Unknown.Count, program.Money(s.b.Unknown.Value, currency, "en"), share)
	}
	fmt.Fprintf(w, "median deal-to-purchase cycle: %s (partner deals %s, vendor deals %s)\n\n",
		progDays(k.DealCycle.All.MedianDays), progDays(k.DealCycle.Partner.MedianDays), progDays(k.DealCycle.Vendor.MedianDays))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "COHORT\tPARTNERS\tPRODUCTIVE\tMEDIAN TO PRODUCTIVE\tCHURNED\tREVENUE\tPER PARTNER")
	for _, c := range k.Cohorts {
		fmt.Fprintf(tw, "%s\t%d\t%d (%s)\t%s\t%d (%s)\t%s\t%s\n", c.Quarter, c.Partners, c.Productive, progPct(c.ProductiveShare),
			progDays(c.MedianDays), c.Churned, progPct(c.ChurnRate), program.Money(c.Revenue, currency, "en"), program.Money(c.RevenuePerPartner, currency, "en"))
	}
	_ = tw.Flush()
}

// runProgramAction is `longtail program let-go|keep PARTNER_ID`: the
// at-risk actions of POST /v1/program/at-risk/{id}/let-go and …/keep,
// from the command line against redis.url; a worker (longtail serve)
// runs the flow's steps.
func runProgramAction(ctx context.Context, now func() time.Time, sub string, args, environ []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("program "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := configFlag(fs)
	if err := fs.Parse(reorder(fs, args)); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: program %s takes one partner id", errUsage, sub)
	}
	pid := fs.Arg(0)
	cfg, log, st, err := openTool(ctx, *cfgPath, environ, stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	a, err := newApp(ctx, cfg, st, log, now)
	if err != nil {
		return err
	}
	defer a.Close()
	acts := a.programActions()
	if acts == nil {
		return fmt.Errorf("program %s: nurture sending is off: set smtp.url, smtp.from and tracking.secret", sub)
	}
	act := acts.LetGo
	if sub == "keep" {
		act = acts.Keep
	}
	res, err := act(ctx, pid)
	switch {
	case errors.Is(err, directory.ErrNotFound):
		return fmt.Errorf("program %s: no partner %q", sub, pid)
	case errors.Is(err, letgo.ErrNotAtRisk):
		return fmt.Errorf("program %s: partner %q is not on the at-risk list: nothing to let go", sub, pid)
	case err != nil:
		return fmt.Errorf("program %s: %w", sub, err)
	}
	if res.Changed {
		fmt.Fprintf(stdout, "%s: %s\n", pid, res.State)
	} else {
		fmt.Fprintf(stdout, "%s: already %s\n", pid, res.State)
	}
	return nil
}

// letGoActions are the API's and the CLI's let go and keep: the let-go
// service, with the nurture steps it asks for queued for a worker.
type letGoActions struct{ a *app }

// programActions is the let-go actions, nil when nurture sending is off.
func (a *app) programActions() httpapi.ProgramActions {
	if a.letgo == nil {
		return nil
	}
	return letGoActions{a}
}

func (l letGoActions) LetGo(ctx context.Context, pid string) (letgo.Result, error) {
	res, next, err := l.a.letgo.LetGo(ctx, pid)
	// Steps the engine committed before an error are queued all the same;
	// a repeat finds them enrolled and answers with nothing new.
	if qerr := jobs.EnqueueNurture(ctx, l.a.tasks, next...); qerr != nil && err == nil {
		err = qerr
	}
	return res, err
}

func (l letGoActions) Keep(ctx context.Context, pid string) (letgo.Result, error) {
	return l.a.letgo.Keep(ctx, pid)
}
